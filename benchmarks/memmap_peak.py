"""Peak memory of ``fit`` and ``transform`` on a NumPy memmap larger than what they should hold.

Usage, from the repository root::

    python benchmarks/memmap_peak.py --rows 500000          # a 1.5 GB float32 file
    python benchmarks/memmap_peak.py --rows 20000 --quick   # smoke test

It writes a ``rows x 784`` float32 ``.npy`` file of uniform values in a
temporary folder (``--dir``), then, in a fresh process on the backend
``KERAS_BACKEND`` names, opens it with ``mmap_mode="r"`` and fits the
tutorial dense model (``DenseAutoencoder()``, ``--epochs`` epochs) and
transforms every row. A thread reads the process's anonymous memory
(``RssAnon`` in ``/proc/self/status``, Linux) every 10 ms: pages of the
file that the kernel maps in are not anonymous, a copy of the array is.
The table gives the peak before the fit (Python, the backend, skae
imported), during ``fit`` and during ``transform``, against the file's size.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402
from _common import table  # noqa: E402

CHILD = r"""
import json, sys, threading, time
import numpy as np

def anon_mib():
    for line in open("/proc/self/status"):
        if line.startswith("RssAnon:"):
            return int(line.split()[1]) / 1024
    return 0.0

peak = [0.0]
def watch():
    while True:
        peak[0] = max(peak[0], anon_mib())
        time.sleep(0.01)
threading.Thread(target=watch, daemon=True).start()

import skae
X = np.load(sys.argv[1], mmap_mode="r")
est = skae.DenseAutoencoder(epochs=int(sys.argv[2]), random_state=0)
time.sleep(0.05)
out = {"imported": peak[0]}
peak[0] = anon_mib()
start = time.perf_counter()
est.fit(X)
out["fit"], out["fit s"] = peak[0], time.perf_counter() - start
peak[0] = anon_mib()
start = time.perf_counter()
Z = est.transform(X)
out["transform"], out["transform s"] = peak[0], time.perf_counter() - start
assert Z.shape == (len(X), est.latent_dim)
print("RESULT " + json.dumps(out))
"""


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=500_000)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--dir", type=Path, default=None, help="where to write the file (a temporary folder)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, to check that it runs")
    args = parser.parse_args(argv)
    if args.quick:
        args.rows = min(args.rows, 20_000)
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        path = Path(tmp) / "X.npy"
        X = np.lib.format.open_memmap(path, mode="w+", dtype="float32", shape=(args.rows, 784))
        rng = np.random.default_rng(0)
        for start in range(0, args.rows, 50_000):
            X[start : start + 50_000] = rng.random((min(50_000, args.rows - start), 784), dtype="float32")
        X.flush()
        size_mib = X.nbytes / 2**20
        del X
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(HERE.parent)}
        result = subprocess.run(
            [sys.executable, "-c", CHILD, str(path), str(args.epochs)], capture_output=True, text=True, env=env
        )
    lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    if result.returncode or not lines:
        raise RuntimeError(result.stderr[-3000:])
    out = json.loads(lines[-1][len("RESULT ") :])
    print(
        f"Backend {os.environ.get('KERAS_BACKEND', 'tensorflow')}, a {args.rows:,} x 784 float32 memmap "
        f"({size_mib:,.0f} MiB), DenseAutoencoder(), {args.epochs} epoch(s); load average {os.getloadavg()[0]:.1f}.\n"
    )
    rows = [
        ["after import", f"{out['imported']:.0f}", "-"],
        ["fit", f"{out['fit']:.0f}", f"{out['fit s']:.1f}"],
        ["transform (every row)", f"{out['transform']:.0f}", f"{out['transform s']:.1f}"],
    ]
    print(table(["phase", "peak anonymous memory (MiB)", "seconds"], rows))


if __name__ == "__main__":
    main()
