"""Serving and interchange: ONNX Runtime against skae, ONNX export cost, and sparse input's peak memory.

Usage, from the repository root::

    python benchmarks/serving.py                  # 5,000 MNIST images: about 5 minutes on 2 busy cores
    python benchmarks/serving.py --quick          # smoke test on tiny sizes
    python benchmarks/serving.py --output /tmp/serving.md

Needs ``skae[serve]`` (onnx, onnxruntime, skl2onnx, tf2onnx) on the
TensorFlow backend. It prints one Markdown section, pasted into
``results.md``; everything is timed side by side in this one run:

* the tutorial dense model (``DenseAutoencoder()``, its defaults) fitted
  for one epoch on ``--n-train`` MNIST images (timing does not depend on
  how well it is trained): a 1-row encode by ONNX Runtime
  (``skl2onnx.to_onnx(ae, X[:1])``), by ``transform`` and by the direct
  Keras call ``encoder_(x, training=False)``, interleaved call by call, and
  by ONNX Runtime alone in a fresh process without TensorFlow (a server's view),
  ``--calls`` calls each after 20 warm-up calls;
* ``Pipeline(ConvAutoencoder(), KMeans(10))`` (the tutorial conv model)
  fitted the same way: its whole graph in ONNX Runtime against
  ``pipe.predict`` on 1 row (``--calls`` calls) and on 10,000 rows (median
  of 5 after a warm-up), with a check that the labels agree;
* the ONNX file size and ``to_onnx`` export time of both;
* the peak resident memory (``ru_maxrss``) of a child process that fits
  and transforms a 200,000 x 5,000 CSR matrix at 1% density with a small
  ``DenseAutoencoder`` (one epoch), against one that densifies it first
  (``X.toarray()``, float32); each in a fresh process so peaks do not mix.

The 1-minute load average is read from ``os.getloadavg()`` before and after.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(HERE.parent))

import numpy as np  # noqa: E402
from _common import Config, interleaved_times, load_mnist, table  # noqa: E402

SPARSE_CHILD = r"""
import json, resource, sys, time
import numpy as np, scipy.sparse as sp
from skae import DenseAutoencoder
rows, cols, density, mode = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
# Built row by row: scipy.sparse.random draws its positions without
# replacement from all rows * cols cells (8 GB of indices here).
per_row = round(cols * density)
rng = np.random.default_rng(0)
indices = np.sort(rng.integers(0, cols, (rows, per_row)), axis=1).ravel()
data = rng.random(rows * per_row, dtype=np.float32)
X = sp.csr_matrix((data, indices, np.arange(0, rows * per_row + 1, per_row)), shape=(rows, cols))
if mode == "dense":
    X = X.toarray()
ae = DenseAutoencoder(hidden_layer_sizes=(64,), latent_dim=16, epochs=1, batch_size=1024, random_state=0)
start = time.perf_counter()
codes = ae.fit(X).transform(X)
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"peak_mib": peak, "seconds": seconds, "codes": list(codes.shape)}))
"""


ORT_ALONE = """
import json, statistics, sys, time
import numpy as np
import onnxruntime as ort
session = ort.InferenceSession(sys.argv[1])
name = session.get_inputs()[0].name
rows, calls = np.load(sys.argv[2]), int(sys.argv[3])
for i in range(20):
    session.run(None, {name: rows[i % len(rows)][None]})
times = []
for i in range(calls):
    start = time.perf_counter()
    session.run(None, {name: rows[i % len(rows)][None]})
    times.append(time.perf_counter() - start)
print(json.dumps([statistics.median(times), min(times), max(times), "tensorflow" in sys.modules]))
"""


def _ort_alone(data, rows, calls):
    """Time 1-row calls in a fresh process that imports ONNX Runtime and NumPy only, as a server would.

    In the benchmark's own process the calls interleave with TensorFlow's,
    whose worker threads keep spinning for a while after each call and take
    the cores ONNX Runtime's next call needs.
    """
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        model, batch = Path(tmp) / "model.onnx", Path(tmp) / "rows.npy"
        model.write_bytes(data)
        np.save(batch, np.concatenate(rows))
        result = subprocess.run(
            [sys.executable, "-c", ORT_ALONE, str(model), str(batch), str(calls)],
            capture_output=True,
            text=True,
            check=True,
        )
    median, low, high, tensorflow = json.loads(result.stdout.strip().splitlines()[-1])
    assert not tensorflow
    return median, low, high


def _interleaved(calls, functions, warmup=20):
    times = interleaved_times(functions, repeats=calls, warmup=warmup)
    return {name: (statistics.median(t), min(t), max(t)) for name, t in times.items()}


def _export(estimator, X):
    import skl2onnx

    import skae.onnx  # noqa: F401  (registers the converters)

    start = time.perf_counter()
    model = skl2onnx.to_onnx(estimator, X[:1])
    return time.perf_counter() - start, model.SerializeToString()


def _session(data):
    import onnxruntime as ort

    # ONNX Runtime's defaults (an intra-op thread per core), as the serving
    # page and the gallery example create their sessions; skae's transform
    # uses every core too. On one thread the dense model's 1-row encode
    # took three times as long here (0.106 ms against 0.036 ms).
    session = ort.InferenceSession(data)
    name = session.get_inputs()[0].name
    return lambda x: session.run(None, {name: x})


def _sparse_peak(rows, cols, density, mode):
    result = subprocess.run(
        [sys.executable, "-c", SPARSE_CHILD, str(rows), str(cols), str(density), mode],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--n-train", type=int, default=5_000)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--sparse-rows", type=int, default=200_000)
    parser.add_argument("--sparse-cols", type=int, default=5_000)
    parser.add_argument("--output", type=Path)
    args = parser.parse_args(argv)
    if args.quick:
        args.n_train, args.calls, args.sparse_rows, args.sparse_cols = 500, 20, 2_000, 500
    import keras
    from sklearn.cluster import KMeans
    from sklearn.pipeline import Pipeline

    from skae import ConvAutoencoder, DenseAutoencoder

    load_start = os.getloadavg()[0]
    started = datetime.datetime.now(datetime.timezone.utc)
    cfg = Config(n_train=args.n_train, n_test=10_000)
    X, _, X_test, _ = load_mnist(cfg)
    rows = [X_test[i : i + 1] for i in range(64)]

    # The tutorial dense model, 1 row.
    ae = DenseAutoencoder(epochs=1, random_state=0).fit(X)
    dense_export, dense_bytes = _export(ae, X)
    dense_ort = _session(dense_bytes)
    encoder = ae.encoder_
    pick = iter(range(10**9))

    def row():
        return rows[next(pick) % len(rows)]

    dense = _interleaved(
        args.calls,
        {
            "ONNX Runtime (skl2onnx graph)": lambda: dense_ort(row()),
            "skae `transform`": lambda: ae.transform(row()),
            "direct call `encoder_(x)`": lambda: keras.ops.convert_to_numpy(encoder(row(), training=False)),
        },
    )
    dense["ONNX Runtime, own process (no TensorFlow)"] = _ort_alone(dense_bytes, rows, args.calls)
    np.testing.assert_allclose(dense_ort(X_test[:100])[0], ae.transform(X_test[:100]), atol=1e-4)

    # The whole Pipeline(ConvAutoencoder, KMeans).
    pipe = Pipeline(
        [
            ("ae", ConvAutoencoder(epochs=1, random_state=0)),
            ("kmeans", KMeans(n_clusters=10, n_init=1, random_state=0)),
        ]
    ).fit(X)
    conv_export, conv_bytes = _export(pipe, X)
    conv_ort = _session(conv_bytes)
    many = X_test[:10_000]
    labels_agree = float(np.mean(conv_ort(many)[0] == pipe.predict(many)))
    conv_one = _interleaved(
        args.calls, {"ONNX Runtime": lambda: conv_ort(row()), "`pipe.predict`": lambda: pipe.predict(row())}
    )
    conv_one["ONNX Runtime, own process (no TensorFlow)"] = _ort_alone(conv_bytes, rows, args.calls)
    conv_many = _interleaved(
        5, {"ONNX Runtime": lambda: conv_ort(many), "`pipe.predict`": lambda: pipe.predict(many)}, warmup=1
    )

    sparse = _sparse_peak(args.sparse_rows, args.sparse_cols, 0.01, "sparse")
    densified = _sparse_peak(args.sparse_rows, args.sparse_cols, 0.01, "dense")
    load_end = os.getloadavg()[0]

    def ms(stats):
        return f"{stats[0] * 1e3:.3f}", f"{stats[1] * 1e3:.3f}–{stats[2] * 1e3:.3f}"

    latency = [("dense (tutorial)", name, *ms(stats)) for name, stats in dense.items()]
    latency += [("`Pipeline(ConvAutoencoder, KMeans)`", name, *ms(stats)) for name, stats in conv_one.items()]
    bulk = [
        ("`Pipeline(ConvAutoencoder, KMeans)`", name, f"{stats[0]:.3f}", f"{stats[1]:.3f}–{stats[2]:.3f}")
        for name, stats in conv_many.items()
    ]
    files = [
        ("dense (tutorial)", f"{len(dense_bytes) / 2**20:.2f}", f"{dense_export:.2f}"),
        ("`Pipeline(ConvAutoencoder, KMeans)`", f"{len(conv_bytes) / 2**20:.2f}", f"{conv_export:.2f}"),
    ]
    memory = [
        ("sparse CSR, densified batch by batch", f"{sparse['peak_mib']:.0f}", f"{sparse['seconds']:.1f}"),
        ("`X.toarray()` first (float32)", f"{densified['peak_mib']:.0f}", f"{densified['seconds']:.1f}"),
    ]
    n_rows, n_cols = args.sparse_rows, args.sparse_cols
    text = "\n\n".join(
        [
            "## 13. Serving and interchange",
            f"*Run {started:%Y-%m-%d %H:%M} UTC: `python benchmarks/serving.py"
            f"{' --quick' if args.quick else ''}` on the TensorFlow backend, keras {keras.__version__}; "
            f"1-minute load average {load_start:.1f} at the start and {load_end:.1f} at the end (from "
            "`os.getloadavg()`, as `uptime` shows it).*",
            f"The tutorial models fitted for one epoch on {args.n_train:,} MNIST training images (timing does "
            "not depend on training), rows from the test set. 1 row: median of "
            f"{args.calls} calls after 20 warm-up calls, the contenders interleaved call by call, with the "
            'min–max spread; ONNX Runtime with its default threads (one per core). "Own process" is the '
            "same graph timed the same way right after, in a fresh process that loads ONNX Runtime and NumPy "
            "only, as an ONNX server runs: in the benchmark's process TensorFlow's worker threads, still "
            "spinning after each of its calls, hold the cores ONNX Runtime's next call needs. 10,000 rows: "
            "median of 5 interleaved runs "
            f"after a warm-up. The ONNX graph's labels agree with `pipe.predict` on {labels_agree:.4f} of the "
            "10,000 rows. Target: ONNX Runtime 1-row encode of the tutorial dense model at most 0.1 ms.",
            table(["model", "call", "1 row median (ms)", "min–max (ms)"], latency),
            table(["model", "call", "10,000 rows median (s)", "min–max (s)"], bulk),
            table(["model", "ONNX file (MiB)", "`to_onnx` export (s)"], files),
            f"Peak resident memory (`ru_maxrss`) of a fresh process that fits (one epoch) and transforms a "
            f"{n_rows:,} x {n_cols:,} CSR matrix at 1% density with "
            "`DenseAutoencoder(hidden_layer_sizes=(64,), latent_dim=16, batch_size=1024)`:",
            table(["input", "peak RSS (MiB)", "fit + transform (s)"], memory),
        ]
    )
    print(text)
    if args.output:
        args.output.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
