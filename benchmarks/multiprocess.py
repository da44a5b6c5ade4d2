"""Multi-process training on JAX: 1 process of 2 devices against 2 processes of 1 device, and the bytes they exchange.

Usage, from the repository root::

    KERAS_BACKEND=jax python benchmarks/multiprocess.py
    KERAS_BACKEND=jax python benchmarks/multiprocess.py --quick   # smoke test

Each layout fits the tutorial dense model (``DenseAutoencoder()``, its
defaults, ``distribute_strategy="mirrored"``) on ``--n-train`` MNIST
images for ``--epochs`` epochs in batches of ``--batch-size`` (the global
batch), on CPU devices:

* ``1 process x 2 devices``: ``XLA_FLAGS=--xla_force_host_platform_device_count=2``;
* ``2 processes x 1 device``: ``keras.distribution.initialize()`` over
  127.0.0.1, gloo CPU collectives;
* ``1 process x 1 device``, ``distribute_strategy=None``: the plain fit,
  for scale.

A Keras callback times each epoch; the table gives the median of the
epochs after the first (which compiles). For the two processes it also
reads the loopback interface's transmitted bytes (``/proc/net/dev``,
``lo``) at the start and end of every epoch, in process 0: what the two
processes exchanged per training step, against the calculation for a ring
all-reduce of the gradients, ``2 (P - 1) / P`` times their size per process
(4 bytes per parameter). Loopback also carries anything else on the
machine that uses it, so the figure is an upper bound.

Layouts run one after the other, each ``--rounds`` times, alternating;
the 1-minute load average is read before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import mnist_path, table  # noqa: E402

CHILD = r"""
import json, sys, time
spec = json.loads(sys.argv[1])
import jax
if spec["n_processes"] > 1:
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    import keras
    keras.distribution.initialize(job_addresses=f"127.0.0.1:{spec['port']}", num_processes=spec["n_processes"],
                                  process_id=spec["process_id"])
import keras
import numpy as np
import skae

def lo_tx():
    for line in open("/proc/net/dev"):
        name, _, fields = line.partition(":")
        if name.strip() == "lo":
            return int(fields.split()[8])
    return 0

class Clock(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.seconds, self.bytes = [], []
    def on_epoch_begin(self, epoch, logs=None):
        self.start, self.tx = time.perf_counter(), lo_tx()
    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self.start)
        self.bytes.append(lo_tx() - self.tx)

with np.load(spec["mnist"]) as f:
    X = f["x_train"][: spec["n_train"]].reshape(-1, 784).astype(np.float32) / 255.0
clock = Clock()
est = skae.DenseAutoencoder(epochs=spec["epochs"], batch_size=spec["batch_size"], random_state=0,
                            distribute_strategy=spec["strategy"], callbacks=[clock]).fit(X)
out = {"seconds": clock.seconds, "bytes": clock.bytes, "params": int(est.model_.count_params()),
       "loss": est.history_["loss"][-1], "devices": jax.device_count()}
print("RESULT " + json.dumps(out), flush=True)
"""

LAYOUTS = {
    "1 process x 1 device": (1, 1, None),
    "1 process x 2 devices": (1, 2, "mirrored"),
    "2 processes x 1 device": (2, 1, "mirrored"),
}


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_layout(n_processes, n_devices, strategy, args):
    """Run one layout's processes at once; return process 0's result."""
    env = {
        **os.environ,
        "KERAS_BACKEND": "jax",
        "JAX_PLATFORMS": "cpu",
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "PYTHONPATH": str(HERE.parent),
        "XLA_FLAGS": f"--xla_force_host_platform_device_count={n_devices}",
    }
    port = free_port()
    spec = {
        "n_processes": n_processes,
        "port": port,
        "strategy": strategy,
        "mnist": str(mnist_path()),
        "n_train": args.n_train,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
    }
    with tempfile.TemporaryDirectory() as tmp:
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", CHILD, json.dumps({**spec, "process_id": i})],
                env=env,
                stdout=subprocess.PIPE,
                stderr=open(Path(tmp) / f"err{i}", "w"),  # noqa: SIM115 - closed with the process
                text=True,
                cwd=HERE.parent,
            )
            for i in range(n_processes)
        ]
        outputs = [proc.communicate(timeout=1800)[0] for proc in procs]
        for i, proc in enumerate(procs):
            if proc.returncode:
                raise RuntimeError(f"process {i} failed:\n{(Path(tmp) / f'err{i}').read_text()[-3000:]}")
    lines = [line for line in outputs[0].splitlines() if line.startswith("RESULT ")]
    return json.loads(lines[-1][len("RESULT ") :])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--n-train", type=int, default=10_000)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, to check that it runs")
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.n_train, args.epochs = 1, 1_000, 2
    load = [os.getloadavg()[0]]
    results = {name: [] for name in LAYOUTS}
    for _ in range(args.rounds):
        for name, layout in LAYOUTS.items():
            results[name].append(run_layout(*layout, args))
    load.append(os.getloadavg()[0])
    steps = -(-(args.n_train - args.n_train % 2) // args.batch_size)
    rows = []
    for name, runs in results.items():
        epoch_s = statistics.median(s for run in runs for s in run["seconds"][1:])
        sent = statistics.median(b for run in runs for b in run["bytes"][1:]) / steps
        n_processes = LAYOUTS[name][0]
        rows.append(
            [
                name,
                f"{epoch_s:.2f}",
                f"{1000 * epoch_s / steps:.1f}",
                f"{sent / 1e6:.2f}" if n_processes > 1 else "-",
                f"{runs[0]['loss']:.5f}",
            ]
        )
    params = results["2 processes x 1 device"][0]["params"]
    ring = 2 * (2 - 1) / 2 * 4 * params
    print(
        f"JAX on CPU, {args.rounds} rounds of each layout (alternating), {args.n_train} MNIST images, global batch "
        f"{args.batch_size}, {steps} steps per epoch, {args.epochs} epochs (medians of the epochs after the first); "
        f"{params:,} parameters ({4 * params / 1e6:.2f} MB of float32 gradients), ring all-reduce over 2 processes "
        f"{ring / 1e6:.2f} MB sent per process per step, {2 * ring / 1e6:.2f} MB both; load average {load[0]:.1f} "
        f"before, {load[1]:.1f} after.\n"
    )
    print(table(["layout", "epoch s", "step ms", "loopback MB per step (both processes)", "last loss (round 1)"], rows))


if __name__ == "__main__":
    main()
