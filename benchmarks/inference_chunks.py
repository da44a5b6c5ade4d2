"""Inference against a bare compiled call of the same encoder, in both modes: 1 row and 10,000 rows, on every backend.

Usage, from the repository root::

    python benchmarks/inference_chunks.py                   # about 5 minutes on 2 idle cores
    python benchmarks/inference_chunks.py --quick           # smoke test
    python benchmarks/inference_chunks.py --chunks 8,256,256   # other default sizes to check first, every backend
    python benchmarks/inference_chunks.py --chunks "jax=8,512,16;torch=8,1024,1024"   # per backend

``transform`` computes a row the same way whatever batch it comes in
(``inference="exact"``, the default): it runs every input in call sizes
that this machine's kernels compute alike, an ``InferencePlan`` chosen by
measurement when a model is first used. ``inference="fast"`` runs blocks
of rows as one call each instead. This script measures what each costs,
on the machine where it runs. It prints the CPU (``lscpu``'s model name and
its vector instruction flags; kernels choose their arithmetic by them) and,
for each backend, starts one process, fits the tutorial dense model
(``DenseAutoencoder()``) and the tutorial conv model (``ConvAutoencoder()``)
for one epoch on 2,000 real MNIST images (timing does not depend on how
well they are trained), and times, interleaved call by call after 20
warm-up calls:

* ``transform`` of 1 row (``--calls`` calls, median) and of 10,000 rows
  (``--bulk-calls`` calls, median), in the exact and the fast mode;
* the bare compiled call of the same encoder on the same rows, unpadded
  and in one call (``skae._inference.compile_model``: the ``tf.function``,
  ``jax.jit`` or ``torch.no_grad`` call that ``transform`` is built on);
* on TensorFlow, where ``skae[serve]`` is installed, ONNX Runtime running
  the exported ``transform`` graph (``skl2onnx.to_onnx``) on the same rows,
  in the same process.

It prints one Markdown table of the medians and their ratios, the plan each
backend chose for each encoder (``estimator.inference_plan()``) with what
choosing it took, and the 1-minute load average before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import mnist_path, table  # noqa: E402

CHILD = r"""
import json, pickle, statistics, sys, time
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


def interleaved(functions, n):
    times = {key: [] for key in functions}
    for _ in range(20):
        for fn in functions.values():
            fn()
    for _ in range(n):
        for key, fn in functions.items():
            start = time.perf_counter()
            fn()
            times[key].append(time.perf_counter() - start)
    return {key: statistics.median(values) for key, values in times.items()}


out = {}
models = {"dense": DenseAutoencoder(epochs=1, random_state=0), "conv": ConvAutoencoder(epochs=1, random_state=0)}
for name, exact in models.items():
    exact.fit(X[:2000])
    fast = pickle.loads(pickle.dumps(exact)).set_params(inference="fast")
    shape = exact.layout_.sample_shape
    bare = _inference.compile_model(exact.encoder_, shape)
    one, bulk = X[:1], X
    one_model, bulk_model = one.reshape(1, *shape), bulk.reshape(len(bulk), *shape)
    fresh = pickle.loads(pickle.dumps(exact))
    start = time.perf_counter()
    fresh.transform(bulk)  # the first bulk call: compiling, choosing the plan, running
    first = time.perf_counter() - start
    t1 = interleaved({"exact": lambda: exact.transform(one), "fast": lambda: fast.transform(one),
                      "bare": lambda: bare(one_model)}, calls)
    tn = interleaved({"exact": lambda: exact.transform(bulk), "fast": lambda: fast.transform(bulk),
                      "bare": lambda: bare(bulk_model)}, bulk_calls)
    plan = exact.inference_plan()
    ort = None
    try:  # ONNX Runtime on the same rows, where the serve extra is installed (TensorFlow only)
        import onnxruntime
        import skl2onnx
        import skae.onnx  # noqa: F401

        if keras.backend.backend() == "tensorflow":
            session = onnxruntime.InferenceSession(skl2onnx.to_onnx(exact, X[:1]).SerializeToString())
            feed = session.get_inputs()[0].name
            o1 = interleaved({"ort": lambda: session.run(None, {feed: one})}, calls)["ort"]
            on = interleaved({"ort": lambda: session.run(None, {feed: bulk})}, bulk_calls)["ort"]
            ort = [o1, on]
    except ImportError:
        pass
    out[name] = {"t1": t1, "tn": tn, "ort": ort, "plan": str(plan), "probe": plan.probe_seconds,
                 "first": first, "sizes": [plan.small, plan.large, plan.step], "loop": plan.loop}
print("RESULT " + json.dumps(out))
"""

#: The lscpu flags that name vector instruction sets, which CPU kernels choose their arithmetic by.
VECTOR_FLAGS = re.compile(r"^(avx\w*|amx\w*|fma|f16c|sse4_\d)$")


def cpu():
    """Return the CPU's model name and its vector instruction flags, as ``lscpu`` prints them."""
    try:
        text = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown (no lscpu)", ""
    fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
    flags = " ".join(flag for flag in fields.get("Flags", "").split() if VECTOR_FLAGS.match(flag))
    return fields.get("Model name", "unknown").strip(), flags


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", default="tensorflow,jax,torch")
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--bulk-calls", type=int, default=20)
    parser.add_argument("--n-bulk", type=int, default=10_000)
    parser.add_argument(
        "--chunks",
        default="",
        help="default small,large,step rows to check first on every backend, or per backend: 'jax=8,512,16'",
    )
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    if args.quick:
        args.calls, args.bulk_calls, args.n_bulk = 30, 2, 600
    model, flags = cpu()
    print(f"CPU: {model}, {os.cpu_count()} logical CPUs; vector flags: {flags or 'none listed'}\n")
    load = [os.getloadavg()[0]]
    rows, plans = [], []
    for backend in args.backends.split(","):
        env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
        command = [sys.executable, "-c", CHILD, str(args.calls), str(args.bulk_calls), str(args.n_bulk), args.chunks]
        result = subprocess.run([*command, str(mnist_path())], capture_output=True, text=True, env=env, check=False)
        lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
        if result.returncode or not lines:
            raise RuntimeError(f"{backend} failed:\n{result.stderr[-3000:]}")
        for name, r in json.loads(lines[-1][len("RESULT ") :]).items():
            t1, tn = r["t1"], r["tn"]
            rows.append(
                [
                    backend,
                    name,
                    "{},{},{} ({})".format(*r["sizes"], r["loop"]),
                    f"{t1['exact'] * 1e3:.3f}",
                    f"{t1['fast'] * 1e3:.3f}",
                    f"{t1['bare'] * 1e3:.3f}",
                    f"{t1['exact'] / t1['bare']:.2f}x / {t1['fast'] / t1['bare']:.2f}x",
                    f"{tn['exact'] * 1e3:.1f}",
                    f"{tn['fast'] * 1e3:.1f}",
                    f"{tn['bare'] * 1e3:.1f}",
                    f"{tn['exact'] / tn['bare']:.2f}x / {tn['fast'] / tn['bare']:.2f}x",
                    f"{r['probe'] * 1e3:.0f} / {r['first'] * 1e3:.0f}",
                ]
            )
            plans.append(f"- {backend}, {name}: {r['plan']}")
            if r["ort"]:
                o1, on = r["ort"]
                # Its times stand in the exact columns: it runs the exported graph, one call.
                dashes = ["-"] * 3
                rows.append(["ONNX Runtime", name, "-", f"{o1 * 1e3:.3f}", *dashes, f"{on * 1e3:.1f}", *dashes, "-"])
    load.append(os.getloadavg()[0])
    print(
        f"Medians of {args.calls} 1-row calls and {args.bulk_calls} calls of {args.n_bulk:,} rows, interleaved "
        f"(exact, fast, bare), one process per backend; load average {load[0]:.1f} before, {load[1]:.1f} after.\n"
    )
    header = [
        "backend",
        "model",
        "plan: small,large,step",
        "exact 1 row, ms",
        "fast 1 row, ms",
        "bare 1 row, ms",
        "exact / fast vs bare",
        f"exact {args.n_bulk:,} rows, ms",
        f"fast {args.n_bulk:,} rows, ms",
        f"bare {args.n_bulk:,} rows, ms",
        "exact / fast vs bare",
        "choosing the plan / first bulk call, ms",
    ]
    print(table(header, rows))
    print("\nThe plans chosen (`estimator.inference_plan()`, the encoder's):\n")
    print("\n".join(plans))


if __name__ == "__main__":
    main()
