"""Inference against a bare compiled call of the same encoder: 1 row and 10,000 rows, on every backend.

Usage, from the repository root::

    python benchmarks/inference_chunks.py                   # about 5 minutes on 2 idle cores
    python benchmarks/inference_chunks.py --quick           # smoke test
    python benchmarks/inference_chunks.py --chunks 8,256,256   # another (small, large, step) on every backend
    python benchmarks/inference_chunks.py --chunks "jax=8,512,16;torch=8,1024,1024"   # per backend

``transform`` computes a row the same way whatever batch it comes in: it
runs every input in chunks of a fixed ``small`` and ``large`` number of rows
(``skae._inference.CHUNKS``). This script measures what that costs. For
each backend it starts one process, fits the tutorial dense model
(``DenseAutoencoder()``) and the tutorial conv model (``ConvAutoencoder()``)
for one epoch on 2,000 real MNIST images (timing does not depend on how
well they are trained), and times, interleaved call by call after 20
warm-up calls:

* ``transform`` of 1 row (``--calls`` calls, median) and of 10,000 rows
  (``--bulk-calls`` calls, median);
* the bare compiled call of the same encoder on the same rows, unpadded
  and in one call (``skae._inference.compile_model``: the ``tf.function``,
  ``jax.jit`` or ``torch.no_grad`` call that ``transform`` is built on);
* on TensorFlow, where ``skae[serve]`` is installed, ONNX Runtime running
  the exported ``transform`` graph (``skl2onnx.to_onnx``) on the same rows,
  in the same process.

It prints one Markdown table: the medians, their ratio, and whether the
large-chunk path gave the small path's bits on the probe rows (where it
did not, the bulk runs as small chunks). The 1-minute load average is read
before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import mnist_path, table  # noqa: E402

CHILD = r"""
import json, statistics, sys, time
import numpy as np
from skae import ConvAutoencoder, DenseAutoencoder, _inference

calls, bulk_calls, n_bulk, chunks = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
import keras

for item in filter(None, chunks.split(";")):
    backend, _, sizes = item.rpartition("=")
    if backend in ("", keras.backend.backend()):
        _inference.CHUNKS[keras.backend.backend()] = tuple(map(int, sizes.split(",")))
with np.load(sys.argv[5]) as f:
    X = f["x_train"][:n_bulk].reshape(-1, 784).astype(np.float32) / 255.0
    X = np.concatenate([X] * (-(-n_bulk // len(X))))[:n_bulk]


def interleaved(a, b, n):
    times = {"a": [], "b": []}
    for _ in range(20):
        a(), b()
    for _ in range(n):
        for key, fn in (("a", a), ("b", b)):
            start = time.perf_counter()
            fn()
            times[key].append(time.perf_counter() - start)
    return statistics.median(times["a"]), statistics.median(times["b"])


out = {}
models = {"dense": DenseAutoencoder(epochs=1, random_state=0), "conv": ConvAutoencoder(epochs=1, random_state=0)}
for name, est in models.items():
    est.fit(X[:2000])
    shape = est.layout_.sample_shape
    bare = _inference.compile_model(est.encoder_, shape)
    one, bulk = X[:1], X
    one_model, bulk_model = one.reshape(1, *shape), bulk.reshape(len(bulk), *shape)
    t1, b1 = interleaved(lambda: est.transform(one), lambda: bare(one_model), calls)
    tn, bn = interleaved(lambda: est.transform(bulk), lambda: bare(bulk_model), bulk_calls)
    chunked = est.network_._compiled["encoder"][3]
    ort = None
    try:  # ONNX Runtime on the same rows, where the serve extra is installed (TensorFlow only)
        import keras
        import onnxruntime
        import skl2onnx
        import skae.onnx  # noqa: F401

        if keras.backend.backend() == "tensorflow":
            session = onnxruntime.InferenceSession(skl2onnx.to_onnx(est, X[:1]).SerializeToString())
            feed = session.get_inputs()[0].name
            o1, _ = interleaved(lambda: session.run(None, {feed: one}), lambda: None, calls)
            on, _ = interleaved(lambda: session.run(None, {feed: bulk}), lambda: None, bulk_calls)
            ort = [o1, on]
    except ImportError:
        pass
    out[name] = {"t1": t1, "b1": b1, "tn": tn, "bn": bn, "ort": ort, "matches": chunked.large_matches_small,
                 "chunks": [chunked.small, chunked.large, chunked.step]}
print("RESULT " + json.dumps(out))
"""


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", default="tensorflow,jax,torch")
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--bulk-calls", type=int, default=20)
    parser.add_argument("--n-bulk", type=int, default=10_000)
    parser.add_argument(
        "--chunks",
        default="",
        help="small,large,step rows on every backend, or per backend: 'jax=8,512,16;torch=8,1024,1024'",
    )
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    if args.quick:
        args.calls, args.bulk_calls, args.n_bulk = 30, 2, 600
    load = [os.getloadavg()[0]]
    rows = []
    for backend in args.backends.split(","):
        env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
        command = [sys.executable, "-c", CHILD, str(args.calls), str(args.bulk_calls), str(args.n_bulk), args.chunks]
        result = subprocess.run([*command, str(mnist_path())], capture_output=True, text=True, env=env, check=False)
        lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
        if result.returncode or not lines:
            raise RuntimeError(f"{backend} failed:\n{result.stderr[-3000:]}")
        for model, r in json.loads(lines[-1][len("RESULT ") :]).items():
            rows.append(
                [
                    backend,
                    model,
                    "{},{},{}".format(*r["chunks"]),
                    f"{r['t1'] * 1e3:.3f}",
                    f"{r['b1'] * 1e3:.3f}",
                    f"{r['t1'] / r['b1']:.2f}x",
                    f"{r['tn'] * 1e3:.1f}",
                    f"{r['bn'] * 1e3:.1f}",
                    f"{r['tn'] / r['bn']:.2f}x",
                    "yes" if r["matches"] else "no: bulk as small chunks",
                ]
            )
            if r["ort"]:
                o1, on = r["ort"]
                rows.append(["ONNX Runtime", model, "-", f"{o1 * 1e3:.3f}", "-", "-", f"{on * 1e3:.1f}", "-", "-", "-"])
    load.append(os.getloadavg()[0])
    print(
        f"Medians of {args.calls} 1-row calls and {args.bulk_calls} calls of {args.n_bulk:,} rows, interleaved with "
        f"the bare compiled call, one process per backend; load average {load[0]:.1f} before, {load[1]:.1f} after.\n"
    )
    header = [
        "backend",
        "model",
        "small,large,step",
        "transform 1 row, ms",
        "bare 1 row, ms",
        "ratio",
        f"transform {args.n_bulk:,} rows, ms",
        f"bare {args.n_bulk:,} rows, ms",
        "ratio",
        "large path = small path's bits",
    ]
    print(table(header, rows))


if __name__ == "__main__":
    main()
