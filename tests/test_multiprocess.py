"""One model trained by several processes: JAX over loopback, and what the other backends say.

The two-process test starts 2 processes on 127.0.0.1 (a free port, gloo
CPU collectives), one device each, and compares them with one process of 2
devices fitting the same global batches (``_multiprocess_worker.py``).
Keras picks one backend per process, so the test runs under
``KERAS_BACKEND=jax`` only (CI's JAX step) and the workers are processes of
their own.
"""

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

BACKEND = keras.backend.backend()
WORKER = Path(__file__).with_name("_multiprocess_worker.py")
# One run of the workers, JAX's start included, takes about 30 s on 2 shared cores.
TIME_LIMIT = 240
# The processes sum the same gradients in another order than one process's
# two devices: float32 round-off, nothing more.
TOLERANCE = 1e-5

only_jax = pytest.mark.skipif(BACKEND != "jax", reason="multi-process training is JAX's (keras.distribution)")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_workers(case, n_processes, out, **env):
    """Run ``n_processes`` workers of ``case`` at once; return their results, in process order."""
    environment = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu", "TF_CPP_MIN_LOG_LEVEL": "3", **env}
    environment["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(Path(__file__).parents[1]), os.environ.get("PYTHONPATH")])
    )
    port = free_port()
    procs = []
    try:
        for i in range(n_processes):
            spec = {"process_id": i, "n_processes": n_processes, "port": port, "case": case, "out": str(out)}
            procs.append(
                subprocess.Popen(
                    [sys.executable, str(WORKER), json.dumps(spec)],
                    env=environment,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                    text=True,
                    start_new_session=True,
                )
            )
        logs = [proc.communicate(timeout=TIME_LIMIT)[1] for proc in procs]
    finally:
        # A worker that hangs (a peer that died in a collective) is killed
        # with whatever it started.
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    results = []
    for i, (proc, log) in enumerate(zip(procs, logs, strict=True)):
        assert proc.returncode == 0, f"worker {i} of {case}: {log[-3000:]}"
        results.append(json.loads((out / f"result_{i}.json").read_text()))
    return results


@pytest.fixture(scope="module")
def fits(tmp_path_factory):
    """Two processes of one device each, and the reference: one process of two devices."""
    two = run_workers("fit", 2, tmp_path_factory.mktemp("two"))
    one = run_workers("fit", 1, tmp_path_factory.mktemp("one"), XLA_FLAGS="--xla_force_host_platform_device_count=2")
    for result in two + one:
        assert "error" not in result, result.get("traceback")
    return two, one[0]


@only_jax
@pytest.mark.backends
@pytest.mark.slow
def test_two_processes_train_the_model_one_process_trains(fits):
    two, one = fits
    assert [(r["local_devices"], r["devices"]) for r in two] == [(1, 2), (1, 2)]
    assert (one["local_devices"], one["devices"]) == (2, 2)
    # One process reads every epoch's 202 rows (203 less the one that waits
    # for the next shuffle), 3 epochs, and Keras reads a first batch again
    # to learn its shape; each of two processes reads half: the work is divided.
    assert one["rows_read"] >= 3 * 202
    assert [2 * r["rows_read"] for r in two] == [one["rows_read"]] * 2
    for result in two:
        for key in (
            "loss",
            "codes",
            "score",
            "partial_loss",
            "partial_codes",
            "loaded_codes",
            "val_loss",
            "own_codes",
            "dec_codes",
            "weighted_loss",
            "weighted_codes",
            "weighted_offset",
            "weighted_dec_codes",
        ):
            np.testing.assert_allclose(result[key], one[key], rtol=TOLERANCE, atol=TOLERANCE, err_msg=key)
        assert result["dec_labels"] == one["dec_labels"]
        assert result["weighted_dec_labels"] == one["weighted_dec_labels"]
        assert 2 * result["dec_rows_read"] == one["dec_rows_read"]
    np.testing.assert_array_equal(two[0]["unseeded_codes"], two[1]["unseeded_codes"])
    assert two[0]["unseeded_dec_labels"] == two[1]["unseeded_dec_labels"]
    # The model trains: the loss falls, and early stopping saw a validation loss each epoch.
    assert one["loss"][-1] < one["loss"][0]
    assert len(one["val_loss"]) == 4


@only_jax
@pytest.mark.backends
@pytest.mark.slow
def test_a_process_with_other_data_is_named(tmp_path):
    results = run_workers("differ", 2, tmp_path)
    for result in results:
        assert "different X in process 1 than in process 0" in result.get("error", ""), result
        assert "the same shape, but other values" in result["error"]


@only_jax
@pytest.mark.backends
def test_a_process_that_has_not_joined_is_told_to_initialize(monkeypatch, digits):
    import skae

    monkeypatch.setenv("KERAS_DISTRIBUTION_NUM_PROCESSES", "2")
    with pytest.raises(ValueError, match=r"asks for 2 processes.*Call keras.distribution.initialize\(\)"):
        skae.DenseAutoencoder(epochs=1, distribute_strategy="mirrored").fit(digits[0][:50])


@pytest.mark.skipif(BACKEND != "tensorflow", reason="TensorFlow's multi-worker strategy")
def test_tensorflow_multi_worker_names_the_upstream_issues(monkeypatch, digits):
    import skae

    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": {"worker": ["a:1", "b:2"]}, "task": {"index": 0}}))
    est = skae.DenseAutoencoder(epochs=1, distribute_strategy="mirrored")
    with pytest.raises(ValueError, match=r"keras-team/keras#20585, tensorflow/tensorflow#72388.*KERAS_BACKEND=jax"):
        est.fit(digits[0][:50])
    assert not hasattr(est, "network_")


@pytest.mark.skipif(BACKEND == "tensorflow", reason="a strategy object is TensorFlow's own")
@pytest.mark.backends
def test_a_tensorflow_strategy_object_is_refused_elsewhere(digits):
    import skae

    class Strategy:
        def scope(self):
            pass

    with pytest.raises(ValueError, match=f"{BACKEND} backend"):
        skae.DenseAutoencoder(epochs=1, distribute_strategy=Strategy()).fit(digits[0][:50])


@pytest.mark.skipif(BACKEND != "torch", reason="PyTorch's multi-process support")
@pytest.mark.backends
def test_torch_names_the_upstream_issue(digits):
    import skae

    with pytest.raises(ValueError, match=r"keras-team/keras#23052.*KERAS_BACKEND=jax"):
        skae.DenseAutoencoder(epochs=1, distribute_strategy="mirrored").fit(digits[0][:50])


@pytest.mark.parametrize(
    "params",
    [
        {"noise": "gaussian", "noise_level": 0.2},
        {"noise": "mask", "noise_level": 0.3, "image_shape": (8, 8), "shift": (1, 2)},
        {"image_shape": (8, 8), "shift": (1, 1), "rotation": 15.0},
        {"shuffle": False},
    ],
)
def test_the_processes_shares_make_the_one_process_batch(params):
    from _helpers import training_batches

    # 203 rows over 2 devices in batches of 32: the last batch holds 10 rows.
    x = np.random.default_rng(0).random((203, 64), dtype=np.float32)
    whole = training_batches(x, batch_size=32, seed=7, multiple_of=2, **params)
    halves = [
        training_batches(
            x, batch_size=32, seed=7, multiple_of=2, part=lambda n, i=i: slice(i * n // 2, (i + 1) * n // 2), **params
        )
        for i in range(2)
    ]
    for _ in range(2):  # two epochs: a fresh shuffle, noise and moves
        assert [len(h) for h in halves] == [len(whole)] * 2 == [7] * 2
        for index in range(len(whole)):
            inputs, targets = whole[index]
            shares = [h[index] for h in halves]
            assert [len(s[0]) for s in shares] == [len(inputs) // 2] * 2
            np.testing.assert_array_equal(np.concatenate([s[0] for s in shares]), inputs)
            np.testing.assert_array_equal(np.concatenate([s[1] for s in shares]), targets)
        for batches in (whole, *halves):
            batches.on_epoch_end()


@only_jax
@pytest.mark.backends
def test_a_distribution_made_before_the_processes_joined_is_refused(monkeypatch):
    import jax

    from skae import _distribution

    # Made in this one process, then seen as if a second process had joined.
    made_alone = keras.distribution.DataParallel(devices=keras.distribution.list_devices())
    monkeypatch.setattr(jax, "process_count", lambda: 2)
    with pytest.raises(ValueError, match=r"made for 1 process\(es\), but 2 have joined since.*initialize\(\)"):
        _distribution.placement(made_alone)


@only_jax
@pytest.mark.backends
def test_model_parallel_over_processes_is_refused(monkeypatch):
    import jax

    from skae import _distribution

    mesh = keras.distribution.DeviceMesh((1,), ["model"], keras.distribution.list_devices()[:1])
    layouts = keras.distribution.LayoutMap(mesh)
    model_parallel = keras.distribution.ModelParallel(layout_map=layouts, batch_dim_name="model")
    monkeypatch.setattr(jax, "process_count", lambda: 2)
    model_parallel._num_processes = 2  # as if made after initialize()
    with pytest.raises(
        ValueError, match=r"ModelParallel over 2 processes: skae trains over several processes with data"
    ):
        _distribution.placement(model_parallel)
