"""skae on each Keras backend: fit time per epoch and transform latency, one process per backend.

Usage, from the repository root::

    python benchmarks/backends.py                  # 3 rounds, 20,000 MNIST images: about 40 min on 2 busy cores
    python benchmarks/backends.py --quick          # smoke test on tiny sizes, under 2 minutes
    python benchmarks/backends.py --rounds 5 --output /tmp/backends.md

A process has one Keras backend, so every measurement runs in a child
process started with ``KERAS_BACKEND`` set to ``tensorflow``, ``jax`` or
``torch``; the backends take turns round after round (tensorflow, jax,
torch, tensorflow, ...), so load changes on a shared machine hit them
alike. Each child prints its results as JSON and the parent writes one
Markdown section: medians over the rounds, with the min-max spread.

In each child, for the tutorial dense and conv models (``DenseAutoencoder()``
and ``ConvAutoencoder()`` with their defaults) on the first ``--n-train``
MNIST training images scaled to [0, 1], batch 256, ``random_state=0``:

* seconds per epoch of skae ``fit`` against Keras's own ``model.fit`` on
  the identical Keras model (a clone of skae's model with the weights it
  started from, the same optimizer and loss; ``model.fit(x, x,
  batch_size=256, shuffle=True)`` on the NumPy array). Both train 1 + 3
  epochs; the first is the warm-up (tracing, compilation) and the figure is
  the median of the other epochs' times, taken by a callback. The two
  alternate which goes first from round to round;
* the median latency of a 1-row ``transform`` (300 calls after 20 warm-up
  calls) interleaved call by call with a direct call ``encoder_(x)`` on the
  same row;
* ``transform`` of 10,000 rows against
  ``keras.ops.convert_to_numpy(encoder_(x, training=False))`` on the same
  rows, interleaved, median of 5 after a warm-up.

MNIST is read as ``run.py`` reads it (``../shared/data/mnist.npz`` or
``SKAE_MNIST``). A backend whose package is not installed says so in its
column.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(REPO))

#: Keras backend name -> the package it needs.
BACKENDS = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}
KINDS = ("dense", "conv")
BATCH_SIZE = 256
#: Targets: skae fit / raw fit per epoch, 1-row transform (ms) per backend and model, 10k-row ratio.
FIT_TARGET = 1.03
LATENCY_TARGETS_MS = {
    ("tensorflow", "dense"): 0.35,
    ("tensorflow", "conv"): 0.5,
    ("jax", "dense"): 0.25,
    ("torch", "dense"): 0.5,
}
BIG_TARGET = 1.05
RESULT_MARKER = "BACKENDS-RESULT "

# Calling a functional encoder on a bare tensor (as users do) makes Keras warn on every call.
warnings.filterwarnings("ignore", message="The structure of `inputs` doesn't match")


def _load():
    try:
        return os.getloadavg()[0]
    except OSError:  # not available on this platform
        return float("nan")


# ----------------------------------------------------------------------
# The child: one backend, every measurement


def _epoch_timer():
    import keras

    class EpochTimer(keras.callbacks.Callback):
        """Wall time of every epoch, and the weights the model started from."""

        def __init__(self):
            super().__init__()
            self.times = []
            self.initial_weights = None

        def on_train_begin(self, logs=None):
            if self.initial_weights is None:
                self.initial_weights = self.model.get_weights()

        def on_epoch_begin(self, epoch, logs=None):
            self._start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.times.append(time.perf_counter() - self._start)

    return EpochTimer()


def _interleaved(calls, *, repeats, warmup):
    """Median seconds of each of ``calls`` (name -> function), run in turn ``repeats`` times after ``warmup`` each."""
    from _common import interleaved_times

    times = interleaved_times(calls, repeats=repeats, warmup=warmup)
    return {name: statistics.median(ts) for name, ts in times.items()}


def _measure(kind, X, opts):
    import keras
    import numpy as np

    from skae import ConvAutoencoder, DenseAutoencoder

    model_class = DenseAutoencoder if kind == "dense" else ConvAutoencoder
    epochs = 1 + opts.epochs  # the first epoch is the warm-up
    skae_timer = _epoch_timer()
    est = model_class(epochs=epochs, batch_size=BATCH_SIZE, random_state=0, callbacks=[skae_timer])
    raw_timer = _epoch_timer()
    # A one-batch fit with the same random_state builds the model skae's fit starts from: the template
    # of raw Keras's model (skae seeds its initializers from random_state alone, whatever the data).
    probe_timer = _epoch_timer()
    probe = model_class(epochs=1, batch_size=BATCH_SIZE, random_state=0, callbacks=[probe_timer])
    probe.fit(X[:BATCH_SIZE])

    def skae_fit():
        est.fit(X)

    def raw_fit():
        # The identical Keras model: skae's architecture, the weights it starts from, its optimizer and loss.
        model = keras.models.clone_model(probe.model_)
        model.set_weights(probe_timer.initial_weights)
        model.compile(optimizer=keras.optimizers.get(est.optimizer), loss=est.loss)
        x = probe.layout_.to_model(X)
        keras.utils.set_random_seed(0)
        model.fit(x, x, batch_size=BATCH_SIZE, epochs=epochs, shuffle=True, verbose=0, callbacks=[raw_timer])

    # Which goes first alternates from round to round.
    for fit in (raw_fit, skae_fit) if opts.round % 2 else (skae_fit, raw_fit):
        fit()
    same_start = all(
        np.array_equal(a, b) for a, b in zip(skae_timer.initial_weights, probe_timer.initial_weights, strict=True)
    )
    if not same_start:
        raise RuntimeError("skae's fit and the raw Keras model did not start from the same weights")
    result = {
        "params": int(est.model_.count_params()),
        "skae_epoch_s": statistics.median(skae_timer.times[1:]),
        "raw_epoch_s": statistics.median(raw_timer.times[1:]),
        "skae_epochs_s": skae_timer.times,
        "raw_epochs_s": raw_timer.times,
    }

    one = X[:1]
    one_model = est.layout_.to_model(one)
    one_row = _interleaved(
        {
            "transform": lambda: est.transform(one),
            "direct": lambda: est.encoder_(one_model, training=False),
        },
        repeats=opts.latency_calls,
        warmup=20,
    )
    big = np.resize(X, (opts.big_rows, X.shape[1]))  # the first rows, repeated when there are fewer
    big_model = est.layout_.to_model(big)
    np.testing.assert_allclose(
        est.transform(big[:256]),
        keras.ops.convert_to_numpy(est.encoder_(big_model[:256], training=False)).reshape(256, -1),
        rtol=1e-4,
        atol=1e-5,
    )
    many = _interleaved(
        {
            "transform": lambda: est.transform(big),
            "direct": lambda: keras.ops.convert_to_numpy(est.encoder_(big_model, training=False)),
        },
        repeats=opts.big_repeats,
        warmup=1,
    )
    result.update(
        transform_1_ms=one_row["transform"] * 1e3,
        direct_1_ms=one_row["direct"] * 1e3,
        transform_big_s=many["transform"],
        direct_big_s=many["direct"],
    )
    return result


def child(opts):
    """Measure every model on this process's backend; print the results as one JSON line."""
    load_start = _load()
    import keras
    from _common import Config, load_mnist

    backend = keras.backend.backend()
    if backend != opts.backend:
        raise RuntimeError(f"asked for the {opts.backend} backend, running on {backend}")
    X = load_mnist(Config(n_train=opts.n_train, n_test=1))[0]
    out = {"backend": backend, "load_start": load_start, "models": {}}
    for kind in opts.kinds:
        out["models"][kind] = _measure(kind, X, opts)
    out["load_end"] = _load()
    print(RESULT_MARKER + json.dumps(out), flush=True)


# ----------------------------------------------------------------------
# The parent: one child per backend per round, then the Markdown


def _run_child(backend, round_index, opts):
    env = {
        **os.environ,
        "KERAS_BACKEND": backend,
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        backend,
        "--round",
        str(round_index),
        "--n-train",
        str(opts.n_train),
        "--epochs",
        str(opts.epochs),
        "--latency-calls",
        str(opts.latency_calls),
        "--big-rows",
        str(opts.big_rows),
        "--big-repeats",
        str(opts.big_repeats),
        "--kinds",
        *opts.kinds,
    ]
    start = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO, check=False)
    took = time.perf_counter() - start
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(RESULT_MARKER):
            result = json.loads(line[len(RESULT_MARKER) :])
            result["wall_s"] = took
            return result
    lines = [line for line in proc.stderr.strip().splitlines() if line.strip()]
    return {"backend": backend, "error": lines[-1][:200] if lines else f"exit status {proc.returncode}"}


def _installed(backend):
    return importlib.util.find_spec(BACKENDS[backend]) is not None


def _version(package):
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _spread(values, fmt):
    """``"median (min-max)"`` of values over rounds; the median alone for one round."""
    med = fmt.format(statistics.median(values))
    if len(values) == 1:
        return med
    return f"{med} ({fmt.format(min(values))}–{fmt.format(max(values))})"


def _cell(results, backend, kind, key, fmt):
    runs = results.get(backend)
    if runs is None:
        return "not installed"
    ok = [run for run in runs if "error" not in run]
    if not ok:
        return f"failed: {runs[-1]['error']}"
    values = [run["models"][kind][key] for run in ok]
    return _spread(values, fmt)


def _values(results, backend, kind, key):
    return [run["models"][kind][key] for run in results.get(backend) or [] if "error" not in run]


def _ratio_cell(results, backend, kind, numerator, denominator, target, fmt="{:.3f}"):
    cell = _cell(results, backend, kind, numerator, fmt)
    if cell == "not installed" or cell.startswith("failed"):
        return cell
    ratios = [
        run["models"][kind][numerator] / run["models"][kind][denominator]
        for run in results[backend]
        if "error" not in run
    ]
    verdict = "met" if statistics.median(ratios) <= target else "missed"
    return f"{_spread(ratios, fmt)}, {verdict}"


def _fastest_ratio_cell(results, backend, kind):
    """skae's fastest timed epoch over Keras's fastest, over all rounds: the least load-sensitive ratio."""
    if results.get(backend) is None:
        return "not installed"
    runs = [run["models"][kind] for run in results[backend] if "error" not in run]
    if not runs:
        return "failed"
    skae = min(t for run in runs for t in run["skae_epochs_s"][1:])
    raw = min(t for run in runs for t in run["raw_epochs_s"][1:])
    return f"{skae / raw:.3f} ({skae:.2f} s / {raw:.2f} s)"


def _latency_verdict(results, backend, kind):
    target = LATENCY_TARGETS_MS.get((backend, kind))
    values = _values(results, backend, kind, "transform_1_ms")
    if backend not in results:
        return "not installed"
    if not values:
        return "failed"
    if target is None:
        return "no target"
    return f"at most {target} ms: {'met' if statistics.median(values) <= target else 'missed'}"


def report(results, opts, command, started):
    """The Markdown section for ``results`` (backend -> list of child results, None when not installed)."""
    backends = list(BACKENDS)
    header = ["model", "measure", *backends]
    rows = []
    for kind in opts.kinds:
        params = next(
            (run["models"][kind]["params"] for runs in results.values() for run in runs or [] if "error" not in run),
            None,
        )
        name = f"{kind} ({params:,} parameters)" if params else kind
        rows += [
            [name, "skae `fit`, s per epoch", *(_cell(results, b, kind, "skae_epoch_s", "{:.2f}") for b in backends)],
            [
                name,
                "Keras `model.fit`, s per epoch",
                *(_cell(results, b, kind, "raw_epoch_s", "{:.2f}") for b in backends),
            ],
            [
                name,
                f"skae / Keras per epoch (target at most {FIT_TARGET})",
                *(_ratio_cell(results, b, kind, "skae_epoch_s", "raw_epoch_s", FIT_TARGET) for b in backends),
            ],
            [
                name,
                "skae / Keras, fastest timed epoch of all rounds",
                *(_fastest_ratio_cell(results, b, kind) for b in backends),
            ],
            [name, "1-row `transform`, ms", *(_cell(results, b, kind, "transform_1_ms", "{:.3f}") for b in backends)],
            [
                name,
                "1-row direct call `encoder_(x)`, ms",
                *(_cell(results, b, kind, "direct_1_ms", "{:.3f}") for b in backends),
            ],
            [name, "1-row `transform` target", *(_latency_verdict(results, b, kind) for b in backends)],
            [
                name,
                f"{opts.big_rows:,}-row `transform`, s",
                *(_cell(results, b, kind, "transform_big_s", "{:.3f}") for b in backends),
            ],
            [
                name,
                f"{opts.big_rows:,}-row direct call, s",
                *(_cell(results, b, kind, "direct_big_s", "{:.3f}") for b in backends),
            ],
            [
                name,
                f"{opts.big_rows:,}-row `transform` / direct (target at most {BIG_TARGET})",
                *(_ratio_cell(results, b, kind, "transform_big_s", "direct_big_s", BIG_TARGET) for b in backends),
            ],
        ]
    load_row = ["all", "1-min load average at child start and end, min–max"]
    time_row = ["all", "child process wall time, s"]
    for backend in backends:
        runs = [run for run in results.get(backend) or [] if "error" not in run]
        if backend not in results:
            load_row.append("not installed")
            time_row.append("not installed")
            continue
        loads = [run[key] for run in runs for key in ("load_start", "load_end")]
        load_row.append(f"{min(loads):.1f}–{max(loads):.1f}" if loads else "-")
        time_row.append(_spread([run["wall_s"] for run in runs], "{:.0f}") if runs else "-")
    rows += [load_row, time_row]

    versions = ", ".join(
        f"{name} {_version(name)}"
        for name in ("keras", "tensorflow", "jax", "jaxlib", "torch", "numpy", "scikit-learn")
    )
    cpu = platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            names = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    n_rounds = opts.rounds
    lines = [
        "## Backends",
        "",
        f"*Run {started:%Y-%m-%d %H:%M} UTC: `{command}`"
        f"{' (--quick: tiny sizes, numbers are not meaningful)' if opts.quick else ''}.*",
        "",
        f"- Machine: {platform.system()} {platform.release()}, {cpu}, {os.cpu_count()} logical CPUs",
        f"- Versions: python {platform.python_version()}, {versions}",
        "",
        f"One child process per backend (`KERAS_BACKEND` set in its environment), {n_rounds} round(s), the "
        f"backends taking turns in each; every cell is the median over the rounds with the min–max spread in "
        f"brackets. The tutorial models (`DenseAutoencoder()`, `ConvAutoencoder()`, their defaults) on the first "
        f"{opts.n_train:,} MNIST training images in [0, 1], batch {BATCH_SIZE}, `random_state=0`. Fit: skae "
        f"`fit` against `model.fit(x, x, batch_size={BATCH_SIZE}, shuffle=True)` on a clone of skae's Keras "
        f"model with the same initial weights, optimizer and loss; 1 + {opts.epochs} epochs each, the first a "
        f"warm-up, per-epoch time the median of the other {opts.epochs} (callback on epoch begin and end). "
        f"1 row: median of {opts.latency_calls} calls after 20 warm-up calls, interleaved with the direct call "
        f"`encoder_(x, training=False)`. {opts.big_rows:,} rows: median of {opts.big_repeats} interleaved runs "
        "after a warm-up, against `keras.ops.convert_to_numpy(encoder_(x, training=False))`. The fastest-epoch "
        "ratio compares the quickest timed epoch of each over all rounds, which load slows least. Targets: skae "
        f"at most {FIT_TARGET}x Keras per epoch on every backend; 1-row `transform` at most 0.35 ms (TensorFlow, "
        "dense), 0.5 ms (TensorFlow, conv), 0.25 ms (JAX, dense), 0.5 ms (PyTorch, dense); "
        f"{opts.big_rows:,} rows at most {BIG_TARGET}x the direct call.",
        "",
        _table(header, rows),
        "",
    ]
    return "\n".join(lines)


def _table(header, rows):
    from _common import table

    return table(header, rows)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=None, help="children per backend (default: 3; --quick: 1)")
    parser.add_argument("--n-train", type=int, default=None, help="MNIST training images (default: 20,000)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks the script in under 2 minutes")
    parser.add_argument("--output", type=Path, default=None, help="also write the Markdown section to this file")
    parser.add_argument("--backends", nargs="+", choices=list(BACKENDS), default=list(BACKENDS))
    parser.add_argument("--kinds", nargs="+", choices=list(KINDS), default=list(KINDS))
    parser.add_argument("--epochs", type=int, default=None, help="timed epochs after the warm-up (default: 3)")
    parser.add_argument("--latency-calls", type=int, default=None, help="timed 1-row calls (default: 300)")
    parser.add_argument("--big-rows", type=int, default=None, help="rows of the throughput case (default: 10,000)")
    parser.add_argument("--big-repeats", type=int, default=None, help="timed throughput runs (default: 5)")
    # Internal: run as the child for one backend.
    parser.add_argument("--child", choices=list(BACKENDS), default=None, help=argparse.SUPPRESS)
    parser.add_argument("--round", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    quick = {"rounds": 1, "n_train": 1_024, "epochs": 1, "latency_calls": 30, "big_rows": 2_000, "big_repeats": 2}
    full = {"rounds": 3, "n_train": 20_000, "epochs": 3, "latency_calls": 300, "big_rows": 10_000, "big_repeats": 5}
    for key, value in (quick if args.quick else full).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    args.backend = args.child
    return args


def main(argv=None):
    opts = parse_args(argv)
    if opts.child is not None:
        child(opts)
        return 0
    started = datetime.datetime.now(datetime.timezone.utc)
    command = " ".join(["python", "benchmarks/backends.py", *(sys.argv[1:] if argv is None else argv)])
    results = {backend: (None if not _installed(backend) else []) for backend in BACKENDS}
    results = {backend: runs for backend, runs in results.items() if backend in opts.backends}
    for round_index in range(opts.rounds):
        for backend in opts.backends:  # the backends take turns, so load changes hit them alike
            if results[backend] is None:
                continue
            print(f"[{time.strftime('%H:%M:%S')}] round {round_index + 1}/{opts.rounds}: {backend} ...", flush=True)
            result = _run_child(backend, round_index, opts)
            results[backend].append(result)
            summary = result.get("error") or f"{result['wall_s']:.0f} s, load {result['load_end']:.1f}"
            print(f"[{time.strftime('%H:%M:%S')}]   {summary}", flush=True)
            print("  " + json.dumps({"round": round_index, **result}), flush=True)  # the raw figures, for the record
    results = {backend: results.get(backend) for backend in BACKENDS if backend in opts.backends}
    markdown = report(results, opts, command, started)
    print(markdown)
    if opts.output is not None:
        opts.output.write_text(markdown, encoding="utf-8")
        print(f"wrote {opts.output}")
    failed = any("error" in run for runs in results.values() for run in runs or [])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
