"""skae on TensorFlow, JAX and PyTorch: what needs a process of its own per backend.

Keras picks its backend once per process, from ``KERAS_BACKEND``, so each
test here runs a short script in a fresh interpreter with the backend set.
A backend whose package is not installed is skipped. The rest of the suite
runs under whichever backend the environment names (``.ci/run`` runs a set
of test files under each one).
"""

import importlib.util
import json
import os
import subprocess
import sys
import textwrap

import pytest

BACKENDS = ["tensorflow", "jax", "torch"]


def installed(backend):
    return importlib.util.find_spec(backend) is not None


def backend_params(backends=BACKENDS, slow=()):
    """One parameter per backend, skipped when not installed; those in ``slow`` are marked slow."""
    return [
        pytest.param(
            b,
            marks=[pytest.mark.skipif(not installed(b), reason=f"{b} is not installed")]
            + ([pytest.mark.slow] if b in slow else []),
        )
        for b in backends
    ]


def run(backend, *parts, **env):
    """Run the code ``parts`` under ``backend`` in a fresh process; return what it printed last, as JSON."""
    environment = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3", **env}
    code = "\n".join(textwrap.dedent(part) for part in parts)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environment, timeout=600)
    assert result.returncode == 0, f"{backend}: {result.stderr[-3000:]}"
    return json.loads(result.stdout.strip().splitlines()[-1])


PRELUDE = """
import json, pickle, sys
import numpy as np
from sklearn.datasets import load_digits
import skae
X = (load_digits().data[:400] / 16.0).astype(np.float32)
MAKERS = {
    "dense": lambda: skae.DenseAutoencoder(hidden_layer_sizes=(16,), latent_dim=4, epochs=2, random_state=0),
    "conv": lambda: skae.ConvAutoencoder(filters=(4, 8), latent_dim=4, epochs=2, random_state=0),
    "vae": lambda: skae.VariationalAutoencoder(hidden_layer_sizes=(16,), latent_dim=3, epochs=2, random_state=0),
}


def sized_encoder(input_shape, units=16, depth=1):
    import keras

    hidden = [keras.layers.Dense(units, activation="relu") for _ in range(depth)]
    return keras.Sequential([keras.Input(input_shape), *hidden, keras.layers.Dense(4)])


def sized_decoder(latent_shape, output_shape, units=16):
    import keras

    hidden = keras.layers.Dense(units, activation="relu")
    return keras.Sequential([keras.Input(latent_shape), hidden, keras.layers.Dense(output_shape[0])])


def routed_search():
    # A user's own network tuned by routed names; its best estimator is refit
    # here, so the candidates fit here too (tests/test_routing.py runs such
    # searches in worker processes, on every backend).
    from sklearn.model_selection import GridSearchCV

    ae = skae.AutoencoderTransformer(sized_encoder, sized_decoder, epochs=2, random_state=0)
    grid = {"encoder__units": [4, 16], "decoder__units": [16]}
    return GridSearchCV(ae, grid, cv=2).fit(X)
"""


# Each test here starts a fresh interpreter per backend (tens of seconds each
# with JAX or TensorFlow), so the fast set keeps one backend of a feature and
# the slow set (CI runs it) the rest.


@pytest.mark.parametrize("backend", backend_params(["jax", "torch"], slow=["jax"]))
@pytest.mark.slow
def test_no_tensorflow_unless_it_is_the_backend(backend, tmp_path):
    imported = run(
        backend,
        PRELUDE,
        f"""
        steps = {{"import skae": "tensorflow" in sys.modules}}
        for kind, make in MAKERS.items():
            est = make().fit(X)
            steps[kind + " fit"] = "tensorflow" in sys.modules
            est.transform(X[:1]), est.transform(X), est.inverse_transform(est.transform(X[:3]))
            est.score(X), est.decision_function(X[:5])
            steps[kind + " transform"] = "tensorflow" in sys.modules
            est.save({str(tmp_path)!r} + "/" + kind + ".skae")
            steps[kind + " save"] = "tensorflow" in sys.modules
            skae.load({str(tmp_path)!r} + "/" + kind + ".skae").transform(X[:2])
            steps[kind + " load"] = "tensorflow" in sys.modules
            pickle.loads(pickle.dumps(est)).transform(X[:2])
            steps[kind + " pickle"] = "tensorflow" in sys.modules
        print(json.dumps(steps))
        """,
    )
    assert not any(imported.values()), [step for step, loaded in imported.items() if loaded]


@pytest.mark.parametrize("backend", backend_params())
def test_cross_entropy_on_values_above_one(backend):
    # PyTorch's kernel refuses such targets mid-fit; skae says so before
    # training there, and TensorFlow and JAX train (with a warning).
    outcome = run(
        backend,
        PRELUDE,
        """
        import warnings
        vae = MAKERS["vae"]()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                vae.fit(X * 16)
                said = "fitted" if hasattr(vae, "network_") else "not fitted"
            except ValueError as exc:
                said = str(exc)
        print(json.dumps({"said": said, "warned": any("cannot reach them" in str(w.message) for w in caught)}))
        """,
    )
    if backend == "torch":
        assert outcome["said"].startswith("X holds values from 0 to 16, but VariationalAutoencoder's "), outcome
        assert "loss='binary_crossentropy' needs values in [0, 1]" in outcome["said"], outcome
    else:
        assert outcome == {"said": "fitted", "warned": True}


@pytest.fixture(scope="module")
def saved_files(tmp_path_factory):
    """One fitted file of each kind per installed backend, and the codes each gave."""
    folder = tmp_path_factory.mktemp("files")
    for backend in BACKENDS:
        if not installed(backend):
            continue
        run(
            backend,
            PRELUDE,
            f"""
            import skops.io as sio

            fitted = {{kind: make().fit(X) for kind, make in MAKERS.items()}}
            fitted["routed"] = routed_search().best_estimator_
            for kind, est in fitted.items():
                est.save({str(folder)!r} + "/{backend}-" + kind + ".skae")
                np.save({str(folder)!r} + "/{backend}-" + kind + ".npy", est.transform(X))
            sio.dump(fitted["routed"], {str(folder)!r} + "/{backend}-routed.skops")
            print("{{}}")
            """,
        )
    return folder


@pytest.mark.slow
@pytest.mark.parametrize("backend", backend_params())
def test_files_load_under_every_backend(backend, saved_files):
    written = sorted(p.stem for p in saved_files.glob("*.skae"))
    assert written, "no backend wrote a file"
    errors = run(
        backend,
        PRELUDE,
        f"""
        import skops.io as sio

        out = {{}}
        for name in {written!r}:
            expected = np.load({str(saved_files)!r} + "/" + name + ".npy")
            est = skae.load({str(saved_files)!r} + "/" + name + ".skae")
            out[name] = float(np.abs(est.transform(X) - expected).max())
            if name.endswith("routed"):
                path = {str(saved_files)!r} + "/" + name + ".skops"
                est = sio.load(path, trusted=sio.get_untrusted_types(file=path))
                out[name + " skops"] = float(np.abs(est.transform(X) - expected).max())
                out[name + " routed"] = sorted(est.get_params(deep=True)) == sorted(
                    {{*est.get_params(deep=False), "encoder__units", "decoder__units"}}
                )
        print(json.dumps(out))
        """,
    )
    assert {name for name in errors if " " not in name} == set(written)
    assert all(errors[name] is True for name in errors if name.endswith(" routed")), errors
    assert max(value for value in errors.values() if value is not True) <= 1e-5, errors


# --- data-parallel training over two virtual CPU devices ----------------------

TWO_DEVICES = {
    "tensorflow": """
        import tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        assert len(tf.config.list_logical_devices("CPU")) == 2
    """,
    "jax": """
        import jax
        assert jax.device_count() == 2, jax.devices()
    """,
}


@pytest.mark.slow
@pytest.mark.parametrize("backend", backend_params(["tensorflow", "jax"]))
def test_mirrored_training_on_two_devices(backend):
    # 401 rows and batches of 64: the last batch does not split evenly.
    code = (
        TWO_DEVICES[backend],
        PRELUDE,
        """
        X = (load_digits().data[:401] / 16.0).astype(np.float32)
        errors = {}
        for strategy in (None, "mirrored"):
            est = skae.DenseAutoencoder(hidden_layer_sizes=(32,), latent_dim=8, epochs=30, batch_size=64,
                                        random_state=0, distribute_strategy=strategy).fit(X)
            errors[str(strategy)] = -est.score(X)
            errors[str(strategy) + " rows"] = len(est.transform(X[:7])) + len(est.transform(X))
        print(json.dumps(errors))
        """,
    )
    errors = run(backend, *code, XLA_FLAGS="--xla_force_host_platform_device_count=2")
    assert errors["None rows"] == errors["mirrored rows"] == 408
    assert errors["mirrored"] <= 1.1 * errors["None"], errors
