"""The estimator's own cost: ``fit`` and a 1-row ``transform`` of two checkouts of skae, side by side.

Usage, from the repository root::

    git worktree add /tmp/skae-before HEAD~1          # or any commit to compare with
    python benchmarks/core_overhead.py --vs /tmp/skae-before
    python benchmarks/core_overhead.py --vs /tmp/skae-before --quick   # smoke test

A change to the estimator's core (validation, the fit flow, the fitted
network) must not make training or serving slower. This script times both
in the same run, for this checkout ("now") and the checkout given by
``--vs`` ("before"): each round starts one fresh process per checkout, in
turn, A B A B ..., so that a drift in the machine's speed hits both alike.
Each process imports skae from its checkout and, on ``--n-train`` real
MNIST images (the first of the training set):

* fits the tutorial dense model (``DenseAutoencoder()``, its defaults) and
  the tutorial conv model (``ConvAutoencoder()``) for ``--epochs`` epochs,
  the wall time of ``fit``;
* then times ``--calls`` 1-row ``transform`` calls of each after 20
  warm-up calls, and reports their median.

The table gives, per figure, the median over the rounds of each checkout
and the ratio now / before. The 1-minute load average is read before and
after. It runs on the backend ``KERAS_BACKEND`` names (TensorFlow by
default).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import mnist_path, table  # noqa: E402

CHILD = r"""
import json, os, statistics, sys, time
sys.path.insert(0, sys.argv[1])
import numpy as np
import skae
from skae import ConvAutoencoder, DenseAutoencoder

n_train, epochs, calls = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
assert os.path.dirname(skae.__file__).startswith(sys.argv[1]), skae.__file__
with np.load(sys.argv[5]) as f:
    X = f["x_train"][:n_train].reshape(-1, 784).astype(np.float32) / 255.0
out = {}
for name, est in (("dense", DenseAutoencoder(epochs=epochs, random_state=0)),
                  ("conv", ConvAutoencoder(epochs=epochs, random_state=0))):
    start = time.perf_counter()
    est.fit(X)
    out[f"{name} fit s"] = time.perf_counter() - start
    row = X[:1]
    for _ in range(20):
        est.transform(row)
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        est.transform(row)
        times.append(time.perf_counter() - start)
    out[f"{name} 1-row transform ms"] = 1000 * statistics.median(times)
print("RESULT " + json.dumps(out))
"""


def run_child(source, args):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": str(source)}
    command = [sys.executable, "-c", CHILD, str(source), str(args.n_train), str(args.epochs), str(args.calls)]
    result = subprocess.run(
        [*command, str(mnist_path())], capture_output=True, text=True, env=env, check=False, cwd=source
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    if result.returncode or not lines:
        raise RuntimeError(f"the child for {source} failed:\n{result.stderr[-3000:]}")
    return json.loads(lines[-1][len("RESULT ") :])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--vs", required=True, type=Path, help="the other checkout's root (holds skae/)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--n-train", type=int, default=10_000)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, to check that it runs")
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.n_train, args.calls = 1, 500, 50
    now, before = HERE.parent, args.vs.resolve()
    load = [os.getloadavg()[0]]
    results = {"now": [], "before": []}
    for _ in range(args.rounds):
        for label, source in (("now", now), ("before", before)):
            results[label].append(run_child(source, args))
    load.append(os.getloadavg()[0])
    rows = []
    for key in results["now"][0]:
        a = statistics.median(r[key] for r in results["now"])
        b = statistics.median(r[key] for r in results["before"])
        spread = [f"{min(r[key] for r in results[x]):.3g}-{max(r[key] for r in results[x]):.3g}" for x in results]
        rows.append([key, f"{a:.3g}", f"{b:.3g}", f"{a / b:.2f}", spread[0], spread[1]])
    print(
        f"Backend {os.environ.get('KERAS_BACKEND', 'tensorflow')}, {args.rounds} rounds of one process per checkout "
        f"(alternating), {args.n_train} MNIST images, {args.epochs} epoch(s), median of {args.calls} 1-row calls; "
        f"load average {load[0]:.1f} before, {load[1]:.1f} after.\n"
    )
    print(table(["figure", "now", "before", "now / before", "now: min-max", "before: min-max"], rows))


if __name__ == "__main__":
    main()
