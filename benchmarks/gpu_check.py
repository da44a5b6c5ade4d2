"""skae on a GPU, checked in one command: row identity, timings against the CPU, and the backend test set.

Usage, from the repository root of a machine with an NVIDIA GPU::

    python benchmarks/gpu_check.py                        # at most 7.5 minutes; writes gpu_check.md
    python benchmarks/gpu_check.py --quick                # tiny sizes, one test file: a smoke test
    python benchmarks/gpu_check.py --quick --allow-cpu    # the same parts on a machine without a GPU

Every default of skae was tuned on a 2-core CPU: the inference plan's call
sizes, the probe that checks which sizes give a row the same bits, the
training loop. GPU kernels (cuBLAS, cuDNN, XLA's) may choose their
arithmetic by the batch size too, and a GPU may be lent to the project for
minutes at a time, so this script runs what matters most first and keeps
what it finished:

1. It finds the GPU without importing a framework (``nvidia-smi``, else the
   driver's device files) and stops at once, exit status 2, with one line
   naming what is missing where there is none. Then one short process per
   backend says whether TensorFlow, JAX and PyTorch are installed and see
   the GPU; the backends that do are checked, the others named.
2. Row identity, per backend on the GPU: the tutorial dense and conv
   models (``DenseAutoencoder()``, ``ConvAutoencoder()``) fitted one epoch
   on 2,000 rows; the plan each chose (``inference_plan()``, its groups of
   sizes that agree); and, for ``inference="exact"`` and ``"fast"``, how
   many of the checked rows get other bits in batches of 1 (the same call
   again), 7, 64, 1,000 and 10,000 rows than alone (``np.array_equal``).
3. Timings, in the same process: ``fit`` per epoch (2 epochs on 10,000
   rows, the second timed: the first traces and compiles), ``transform``
   of 1 row (median of 200 calls) and of 10,000 rows (median of 10), exact
   and fast interleaved; then the same calls on the CPU of the same machine,
   in a process that sees no GPU (``CUDA_VISIBLE_DEVICES=""``, and
   ``JAX_PLATFORMS=cpu``).
4. The backend test set, ``python -m pytest -n 4 -m "backends and not
   benchmark" -x -q`` under each backend that sees the GPU, the three at
   once (the results, not their times, are what is checked), with whatever
   time is left.

Each part runs in child processes with a timeout, inside an overall budget
(``--budget``, 440 s); the report is rewritten after every part, so a part
that runs out of time keeps the others. It writes ``gpu_check.md`` (the
tables), ``gpu_check.json`` (the raw figures) and ``gpu_check.log`` (every
child's command and its stderr) to ``--output``'s folder: by default
``$OUT`` where that is set, else the current directory.

MNIST is read from ``--data``, else ``SKAE_MNIST``, else the project's
``../shared/data/mnist.npz``; without it, synthetic rows of MNIST's shape
stand in (:func:`synthetic_rows`: times do not depend on the values, and
the dense model's codes stay as live as on MNIST) and the report says so.
Nothing is installed or downloaded: the script uses the Python it runs
under, and says per backend what it lacks. Exit status: 0 when every part
ran and passed, 1 when a part failed or timed out, 2 when no GPU is
visible.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import importlib.util
import json
import os
import platform
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from _common import mnist_path, table  # noqa: E402  (stdlib and numpy only: no framework in this process)

BACKENDS = ("tensorflow", "jax", "torch")
KINDS = ("dense", "conv")
PARTS = ("identity", "timings", "tests")
MARKER = "GPU-CHECK "
#: The backend test set, as CI runs it under JAX and PyTorch (CONTRIBUTING.md), stopped at the first failure.
TEST_MARK = "backends and not benchmark"
#: Rows the row-identity models are fitted on (one epoch: the bits, not the fit, are checked).
IDENTITY_FIT_ROWS = 2_000
#: Sizes of a run. ``budget`` bounds the whole run; each part has its own timeout inside it.
FULL = {
    "identity_rows": 10_000,
    "batch_sizes": (1, 7, 64, 1_000, 10_000),
    "checked_rows": 200,
    "fit_rows": 10_000,
    "one_row_calls": 200,
    "bulk_rows": 10_000,
    "bulk_calls": 10,
    "test_files": (),
    "budget": 440,
    "probe_timeout": 90,
    "gpu_timeout": 150,
    "cpu_timeout": 120,
    "tests_timeout": 180,
}
QUICK = {
    **FULL,
    "identity_rows": 2_000,
    "batch_sizes": (1, 7, 64, 1_000, 2_000),
    "checked_rows": 24,
    "fit_rows": 2_000,
    "one_row_calls": 30,
    "bulk_rows": 2_000,
    "bulk_calls": 3,
    # The inference tests alone: the set's most GPU-sensitive file, in a fraction of its time.
    "test_files": ("tests/test_inference.py",),
    "tests_timeout": 300,
}
#: For processes that share the GPU: none may take its memory up front, as TensorFlow and JAX do by default.
SHARED_GPU = {"TF_FORCE_GPU_ALLOW_GROWTH": "true", "XLA_PYTHON_CLIENT_PREALLOCATE": "false"}
#: Time kept back for the tests while the earlier parts run (only when the tests are asked for).
TESTS_RESERVE = 120
#: A part is skipped rather than started with less time than this.
MIN_PART = 15
NO_GPU_HINT = "Run it on a machine with an NVIDIA GPU, or pass --allow-cpu to try its parts on the CPU."
#: Packages whose versions the report lists (read from their metadata: nothing is imported).
VERSIONS = (
    "keras",
    "tensorflow",
    "jax",
    "jaxlib",
    "jax-cuda12-plugin",
    "jax-cuda13-plugin",
    "torch",
    "numpy",
    "scikit-learn",
    "pytest",
    "pytest-xdist",
)


# ----------------------------------------------------------------------
# Finding the GPU, without importing a framework


def find_gpu(environ, which=shutil.which, run=subprocess.run, driver=Path("/proc/driver/nvidia/gpus")):
    """Return ``(gpus, reason)``: the NVIDIA GPUs this process may use, or ``[]`` and why there are none.

    Importing TensorFlow to ask it takes seconds, so this asks
    ``nvidia-smi`` (a fraction of a second), and without it the driver's
    files, before any backend is started.

    Parameters
    ----------
    environ : mapping
        The environment (``CUDA_VISIBLE_DEVICES`` set to ``""`` or ``-1`` hides every GPU).
    which, run : callable
        ``shutil.which`` and ``subprocess.run``, replaceable in tests.
    driver : Path
        The NVIDIA driver's folder of GPUs, read where ``nvidia-smi`` is missing.

    Returns
    -------
    gpus : list of dict
        One dict per GPU: ``name``, ``driver``, ``memory`` and ``cuda`` (the
        driver's CUDA version), each a string.
    reason : str
        Empty where there is a GPU; else what is missing, in words.
    """
    hidden = environ.get("CUDA_VISIBLE_DEVICES")
    if hidden is not None and hidden.strip() in ("", "-1"):
        return [], f"CUDA_VISIBLE_DEVICES is {hidden!r}, which hides every GPU"
    smi = which("nvidia-smi")
    if smi is None:
        found = sorted(driver.iterdir()) if driver.is_dir() else []
        if found or Path("/dev/nvidia0").exists():
            # A container may have the driver without its tools: the backends' probes decide.
            return [{"name": "an NVIDIA GPU (nvidia-smi not installed)", "driver": "?", "memory": "?", "cuda": "?"}], ""
        return [], f"nvidia-smi is not installed and there is no NVIDIA driver ({driver} or /dev/nvidia0)"
    query = [smi, "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"]
    try:
        listed = run(query, capture_output=True, text=True, timeout=30, check=False)
        summary = run([smi], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return [], f"nvidia-smi failed: {exc}"
    lines = [line for line in listed.stdout.splitlines() if line.strip()]
    if listed.returncode or not lines:
        said = (listed.stderr or listed.stdout).strip().splitlines()
        return [], f"nvidia-smi lists no GPU ({said[0] if said else f'exit status {listed.returncode}'})"
    cuda = re.search(r"CUDA Version:\s*([\d.]+)", summary.stdout)
    gpus = []
    for line in lines:
        name, driver_version, memory = ([*(part.strip() for part in line.split(",")), "?", "?"])[:3]
        gpus.append({"name": name, "driver": driver_version, "memory": memory, "cuda": cuda.group(1) if cuda else "?"})
    return gpus, ""


#: One process per backend: is it installed, which version, does it see a GPU. Prints one JSON line.
PROBE = r"""
import json, sys
backend = sys.argv[1]
out = {"backend": backend, "gpus": []}
try:
    if backend == "tensorflow":
        import tensorflow as tf

        out["version"] = tf.__version__
        build = tf.sysconfig.get_build_info()
        out["build"] = (f"CUDA {build.get('cuda_version')}, cuDNN {build.get('cudnn_version')}"
                        if build.get("is_cuda_build") else "built without CUDA")
        for gpu in tf.config.list_physical_devices("GPU"):
            out["gpus"].append(tf.config.experimental.get_device_details(gpu).get("device_name", gpu.name))
    elif backend == "jax":
        import jax, jaxlib

        out["version"] = f"{jax.__version__} (jaxlib {jaxlib.__version__})"
        devices = jax.devices()
        out["build"] = "devices: " + ", ".join(sorted({d.platform for d in devices}))
        out["gpus"] = [d.device_kind for d in devices if d.platform in ("gpu", "cuda")]
    else:
        import torch

        out["version"] = torch.__version__
        out["build"] = f"CUDA {torch.version.cuda}" if torch.version.cuda else "a CPU build"
        if torch.cuda.is_available():
            out["gpus"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    import keras  # noqa: F401  (KERAS_BACKEND is set: it must load on this backend)
    import sklearn  # noqa: F401
except Exception as exc:  # noqa: BLE001  (any failure to load is the answer)
    out["error"] = f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
print("GPU-CHECK " + json.dumps(out), flush=True)
"""


# ----------------------------------------------------------------------
# The child: one backend, one device (the GPU, or the CPU with the GPU hidden)


def _emit(record):
    print(MARKER + json.dumps(record), flush=True)


def _load_rows(path, n):
    """``n`` flat float32 rows of MNIST in [0, 1] (repeated where it has fewer), or :func:`synthetic_rows`."""
    import numpy as np

    if path:
        with np.load(path) as f:
            x = f["x_train"][:n].reshape(-1, 784).astype(np.float32) / 255.0
        return np.resize(x, (n, 784))
    return synthetic_rows(n)


def synthetic_rows(n, seed=0):
    """``n`` rows of MNIST's shape in [0, 1], mostly zeros: each a mix of two of ten sparse random images.

    Uniform random rows would time alike, but the tutorial dense model,
    fitted one epoch on them, codes almost every row as zeros (99.9% of
    its outputs, where MNIST gives 35%), and zeros compare equal in any
    batch: row identity would pass unseen. On these rows its codes are
    about as live as on MNIST.
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    images = (rng.random((10, 784)) < 0.15) * rng.uniform(0.5, 1.0, (10, 784))
    picked = images[rng.integers(0, 10, (n, 2))]
    mixed = (rng.uniform(0.3, 1.0, (n, 2, 1)) * picked).sum(axis=1)
    noise = rng.normal(0.0, 0.05, (n, 784)) * (picked.sum(axis=1) > 0)
    return np.clip(mixed + noise, 0.0, 1.0).astype(np.float32)


def _device_of(model):
    """Where ``model``'s weights live, as its backend names it (the GPU part must say a GPU)."""
    import keras

    value = model.weights[0].value
    backend = keras.backend.backend()
    if backend == "tensorflow":
        return value.device.rsplit("device:", 1)[-1]
    if backend == "jax":
        device = next(iter(value.devices()))
        return f"{device.platform}:{device.id} ({device.device_kind})"
    device = value.device
    if device.type == "cuda":
        import torch

        return f"{device} ({torch.cuda.get_device_name(device)})"
    return str(device)


def _estimator(kind, **params):
    from skae import ConvAutoencoder, DenseAutoencoder

    return (DenseAutoencoder if kind == "dense" else ConvAutoencoder)(random_state=0, **params)


def _fast_copy(est):
    """A fitted copy of ``est`` that runs ``inference="fast"``."""
    import pickle

    return pickle.loads(pickle.dumps(est)).set_params(inference="fast")


def _in_batches(est, rows, checked, size):
    """Outputs of the ``checked`` rows, each from ``transform`` of the batch of ``size`` rows it falls in."""
    import numpy as np

    batches = {}
    out = []
    for i in checked:
        start = i // size * size
        if start not in batches:
            batches[start] = est.transform(rows[start : start + size])
        out.append(batches[start][i - start])
    return np.stack(out)


def identity(kind, X, spec):
    """Row identity of one tutorial model: its plan, and rows whose bits change with their batch, per mode."""
    import numpy as np

    est = _estimator(kind, epochs=1).fit(X[:IDENTITY_FIT_ROWS])
    fast = _fast_copy(est)
    plan = est.inference_plan()
    rows = X[: spec["identity_rows"]]
    checked = np.unique(np.linspace(0, len(rows) - 1, spec["checked_rows"]).round().astype(int))
    out = {
        "device": _device_of(est.encoder_),
        "plan": str(plan),
        "sizes": [plan.small, plan.large, plan.step],
        "loop": plan.loop,
        "agreeing": list(plan.agreeing),
        "groups": [list(group) for group in plan.groups],
        "probe_s": plan.probe_seconds,
        "fast_block": fast.inference_plan().large,
        "checked": len(checked),
        "modes": {},
    }
    for mode, model in (("exact", est), ("fast", fast)):
        alone = np.stack([model.transform(rows[i : i + 1])[0] for i in checked])
        if mode == "exact":
            # Outputs that are exactly zero compare equal in any batch: few of them, or the check shows little.
            out["zero_outputs"] = float(np.mean(alone == 0))
        per_size = {}
        for size in spec["batch_sizes"]:  # size 1: every row alone again, the same calls twice
            batched = _in_batches(model, rows, checked, size)
            differ = [not np.array_equal(a, b) for a, b in zip(alone, batched, strict=True)]
            per_size[str(size)] = {"differ": int(sum(differ)), "max_abs": float(np.max(np.abs(alone - batched)))}
        out["modes"][mode] = per_size
    return out


def timings(kind, X, spec):
    """``fit`` per epoch and ``transform`` of 1 and many rows, exact and fast, of one tutorial model."""
    import statistics as stats

    import keras
    import numpy as np
    from _common import interleaved_times

    class EpochTimer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.times = []

        def on_epoch_begin(self, epoch, logs=None):
            self._start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.times.append(time.perf_counter() - self._start)

    timer = EpochTimer()
    est = _estimator(kind, epochs=2, callbacks=[timer])
    start = time.perf_counter()
    est.fit(X[: spec["fit_rows"]])
    fit_s = time.perf_counter() - start
    est.set_params(callbacks=None)  # the timer holds the Keras model: not copied into the fast twin
    fast = _fast_copy(est)
    one, bulk = X[:1], np.resize(X, (spec["bulk_rows"], X.shape[1]))
    # The plan was chosen during fit (its scores use the encoder): what choosing it took, on this device.
    plan_s = est.inference_plan().probe_seconds
    one_row = interleaved_times(
        {"exact": lambda: est.transform(one), "fast": lambda: fast.transform(one)},
        repeats=spec["one_row_calls"],
        warmup=20,
    )
    many = interleaved_times(
        {"exact": lambda: est.transform(bulk), "fast": lambda: fast.transform(bulk)},
        repeats=spec["bulk_calls"],
        warmup=1,
    )
    return {
        "device": _device_of(est.encoder_),
        "params": int(est.model_.count_params()),
        "fit_epoch_s": timer.times[-1],
        "first_epoch_s": timer.times[0],
        "fit_s": fit_s,
        "plan_s": plan_s,
        "one_exact_ms": stats.median(one_row["exact"]) * 1e3,
        "one_fast_ms": stats.median(one_row["fast"]) * 1e3,
        "bulk_exact_ms": stats.median(many["exact"]) * 1e3,
        "bulk_fast_ms": stats.median(many["fast"]) * 1e3,
    }


def child(spec):
    """Run the parts ``spec`` names on this process's backend; print each model's result as it is done."""
    import keras

    backend = keras.backend.backend()
    if backend != spec["backend"]:
        raise RuntimeError(f"asked for the {spec['backend']} backend, running on {backend}")
    X = _load_rows(spec["data"], max(spec["identity_rows"], spec["fit_rows"], spec["bulk_rows"]))
    for part, measure in (("identity", identity), ("timings", timings)):
        if part in spec["parts"]:
            for kind in spec["kinds"]:
                _emit({"part": part, "kind": kind, **measure(kind, X, spec)})
    return 0


# ----------------------------------------------------------------------
# Child processes with timeouts


@dataclass
class Child:
    """A started child process; its output goes to files, so several may run at once without filling a pipe."""

    name: str
    command: list
    process: subprocess.Popen
    started: float
    timeout: float
    stdout: Path
    stderr: Path


def start_child(name, command, env, timeout, folder):
    """Start ``command`` in a session of its own (so a timeout ends its workers too), output to files."""
    stdout, stderr = folder / f"{name}.out", folder / f"{name}.err"
    with open(stdout, "wb") as out, open(stderr, "wb") as err:
        process = subprocess.Popen(command, stdout=out, stderr=err, env=env, cwd=REPO, start_new_session=True)
    return Child(name, command, process, time.monotonic(), timeout, stdout, stderr)


def finish_child(child):
    """Wait for ``child`` until its timeout; end its whole process group past it. Return what it did."""
    timed_out = False
    try:
        child.process.wait(timeout=max(0.0, child.started + child.timeout - time.monotonic()))
    except subprocess.TimeoutExpired:
        timed_out = True
        for sig, grace in ((signal.SIGTERM, 5), (signal.SIGKILL, 30)):
            try:
                os.killpg(child.process.pid, sig)
                child.process.wait(timeout=grace)
                break
            except (ProcessLookupError, subprocess.TimeoutExpired):
                continue
    return {
        "rc": child.process.returncode,
        "timed_out": timed_out,
        "seconds": time.monotonic() - child.started,
        "stdout": child.stdout.read_text(errors="replace"),
        "stderr": child.stderr.read_text(errors="replace"),
    }


def records(stdout):
    """The JSON records a child printed after :data:`MARKER`, in order."""
    return [json.loads(line[len(MARKER) :]) for line in stdout.splitlines() if line.startswith(MARKER)]


def last_error(done):
    """One line saying why a child failed: a timeout, or the last line of its stderr."""
    if done["timed_out"]:
        return f"timed out after {done['seconds']:.0f} s"
    lines = [line for line in done["stderr"].splitlines() if line.strip()]
    return lines[-1].strip()[:240] if lines else f"exit status {done['rc']}"


# ----------------------------------------------------------------------
# pytest's output


PYTEST_COUNT = re.compile(r"(\d+) (passed|failed|skipped|errors?|xfailed|xpassed)")
PROGRESS = re.compile(r"^([.sFExX]+)\s*(\[\s*\d+%\])?\s*$")
PROGRESS_KEYS = {".": "passed", "s": "skipped", "F": "failed", "E": "error", "x": "xfailed", "X": "xpassed"}


def parse_pytest(output):
    """Counts of a ``pytest -q`` run from its output: its summary line, or its progress dots where it was cut off.

    Returns ``(counts, progress, first_failure)``: outcome -> number, the
    last progress pytest printed (``"45%"``; None if none) and the first
    ``FAILED`` or ``ERROR`` line (None if none).
    """
    lines = output.splitlines()
    counts = {}
    for line in reversed(lines):
        if re.search(r"\bin [\d.]+s\b", line) and PYTEST_COUNT.search(line):
            for number, outcome in PYTEST_COUNT.findall(line):
                counts[outcome.rstrip("s") if outcome.startswith("error") else outcome] = int(number)
            break
    else:
        for line in lines:
            match = PROGRESS.match(line.strip())
            if match:
                for char in match.group(1):
                    counts[PROGRESS_KEYS[char]] = counts.get(PROGRESS_KEYS[char], 0) + 1
    progress = re.findall(r"\[\s*(\d+%)\]\s*$", output, flags=re.MULTILINE)
    first = next((line.strip() for line in lines if line.startswith(("FAILED ", "ERROR "))), None)
    return counts, (progress[-1] if progress else None), first


# ----------------------------------------------------------------------
# The report


def _ms(value):
    return "-" if value is None else f"{value:.3f}" if value < 10 else f"{value:.1f}"


def _seconds(value):
    return "-" if value is None else f"{value:.2f}"


def _ratio(cpu, gpu):
    return "-" if not cpu or not gpu else f"{cpu / gpu:.2f}x"


def _run_cell(run):
    """Why a child gave no figures, or None where it did."""
    if run is None:
        return "not run"
    return run.get("skipped") or run.get("error")


def render(results):
    """The Markdown report of ``results`` (what :func:`main` has gathered so far)."""
    meta = results["meta"]
    quick = " (--quick: tiny sizes, the figures only check the script)" if meta["quick"] else ""
    allow = " (--allow-cpu: the GPU parts ran wherever the backend put them)" if meta["allow_cpu"] else ""
    gpus = meta.get("gpus") or []
    machine = "; ".join(
        f"{g['name']}, driver {g['driver']}, CUDA {g['cuda']} (driver), {g['memory']}" for g in gpus
    ) or ("none" + (f" ({meta['no_gpu']})" if meta.get("no_gpu") else ""))
    lines = [
        "# skae on a GPU",
        "",
        f"*Run {meta['started']} UTC: `{meta['command']}`{quick}{allow}; {meta.get('elapsed', 0):.0f} s so far.*",
        "",
        f"- GPU (nvidia-smi): {machine}",
        f"- CPU: {meta['cpu']}, {meta['cores']} logical CPUs; {meta['os']}",
        "- Versions: " + ", ".join(f"{name} {version}" for name, version in meta["versions"].items()),
        f"- Data: {meta['data']}",
        "",
        "## Backends",
        "",
    ]
    rows = []
    for backend in meta["backends"]:
        probe = results["probes"].get(backend)
        if probe is None:
            rows.append([backend, "-", "-", "not probed"])
            continue
        seen = ", ".join(probe["gpus"]) or ("-" if probe.get("error") else "no GPU")
        rows.append([backend, probe.get("version", "-"), probe.get("build", "-"), probe.get("error") or seen])
    lines += [table(["backend", "version", "build", "sees"], rows), ""]

    runs = results["runs"]
    sizes = meta["batch_sizes"]
    lines += [
        "## Row identity",
        "",
        f"The tutorial models fitted 1 epoch on {IDENTITY_FIT_ROWS:,} rows. For {meta['checked_rows']} rows spread "
        f"over {meta['identity_rows']:,}, each cell counts the rows whose `transform` output has other bits "
        "(`np.array_equal`) in a batch of that many rows than alone; batch 1 runs every row alone again. "
        "`exact` must be 0 everywhere; `fast` may differ. Max |difference| in brackets where a row differs. "
        "Outputs = 0: the share of the codes that are exactly zero, which compare equal in any batch.",
        "",
    ]
    rows, plans = [], []
    for backend, by_device in runs.items():
        run = by_device.get("gpu")
        problem = _run_cell(run)
        for kind in meta["kinds"]:
            found = (run or {}).get("identity", {}).get(kind)
            if found is None:
                rows.append([backend, kind, "-", "-", "-", *([problem or "not done"] + ["-"] * (len(sizes) - 1))])
                continue
            for mode, per_size in found["modes"].items():
                cells = []
                for size in sizes:
                    cell = per_size.get(str(size))
                    if cell is None:
                        cells.append("-")
                    else:
                        cells.append(f"{cell['differ']} ({cell['max_abs']:.1e})" if cell["differ"] else "0")
                plan = (
                    "{},{},{} ({})".format(*found["sizes"], found["loop"])
                    if mode == "exact"
                    else (f"blocks of {found['fast_block']}")
                )
                zeros = f"{found['zero_outputs']:.0%}" if mode == "exact" else ""
                rows.append([backend, kind, found["device"], f"{mode}: {plan}", zeros, *cells])
            plans.append(
                f"- {backend}, {kind}: {found['plan']} Groups of probed sizes that agree: "
                f"{found['groups']}; sizes that agree with the small call: {found['agreeing']}."
            )
    header = ["backend", "model", "device", "mode: plan small,large,step", "outputs = 0"]
    header += [f"batch {size:,}" for size in sizes]
    lines += [table(header, rows), ""]
    if plans:
        lines += ["The plans (`str(estimator.inference_plan())`):", "", *plans, ""]

    lines += [
        "## Timings",
        "",
        f"`fit`: seconds of the second of 2 epochs on {meta['fit_rows']:,} rows (batch 256; the first epoch "
        f"traces and compiles). `transform`: median of {meta['one_row_calls']} 1-row calls after 20 warm-up "
        f"calls, and of {meta['bulk_calls']} calls of {meta['bulk_rows']:,} rows after one, exact and fast "
        "interleaved. Choosing the plan: `inference_plan().probe_seconds`, once per model and process. CPU: the "
        'same in a process that sees no GPU (`CUDA_VISIBLE_DEVICES=""`, `JAX_PLATFORMS=cpu`); CPU / GPU above 1 '
        "means the GPU is faster.",
        "",
    ]
    measures = [
        ("fit_epoch_s", "`fit`, s per epoch", _seconds),
        ("first_epoch_s", "`fit`, first epoch, s", _seconds),
        ("plan_s", "choosing the inference plan, s", _seconds),
        ("one_exact_ms", "1-row `transform`, exact, ms", _ms),
        ("one_fast_ms", "1-row `transform`, fast, ms", _ms),
        ("bulk_exact_ms", f"{meta['bulk_rows']:,}-row `transform`, exact, ms", _ms),
        ("bulk_fast_ms", f"{meta['bulk_rows']:,}-row `transform`, fast, ms", _ms),
    ]
    rows = []
    for backend, by_device in runs.items():
        for kind in meta["kinds"]:
            got = {}
            for device in ("gpu", "cpu"):
                run = by_device.get(device)
                got[device] = ((run or {}).get("timings") or {}).get(kind), _run_cell(run)
            (gpu, gpu_problem), (cpu, cpu_problem) = got["gpu"], got["cpu"]
            device = (gpu or {}).get("device", "-")
            for key, name, fmt in measures:
                g = gpu.get(key) if gpu else None
                c = cpu.get(key) if cpu else None
                rows.append(
                    [
                        backend,
                        kind,
                        name,
                        fmt(g) if gpu else gpu_problem or "not done",
                        fmt(c) if cpu else cpu_problem or "not done",
                        _ratio(c, g),
                        device,
                    ]
                )
    lines += [table(["backend", "model", "measure", "GPU", "CPU", "CPU / GPU", "GPU part's device"], rows), ""]

    lines += ["## Tests", ""]
    rows = []
    for backend, done in results["tests"].items():
        if "skipped" in done:
            rows.append([backend, done["skipped"], *["-"] * 6])
            continue
        counts = done["counts"]
        rows.append(
            [
                backend,
                done["status"],
                counts.get("passed", 0),
                counts.get("failed", 0) + counts.get("error", 0),
                counts.get("skipped", 0),
                done["progress"] or "?",
                f"{done['seconds']:.0f}",
                done["first_failure"] or "-",
            ]
        )
    if rows:
        command = results["tests_command"]
        lines += [
            f"`{command}` under each backend at once (`KERAS_BACKEND` set), each with the time left.",
            "",
            table(["backend", "result", "passed", "failed", "skipped", "progress", "s", "first failure"], rows),
            "",
        ]
    else:
        lines += ["Not run (yet).", ""]
    if results["problems"]:
        lines += ["## Problems", "", *(f"- {problem}" for problem in results["problems"]), ""]
    return "\n".join(lines)


# ----------------------------------------------------------------------
# The parent


def _version(package):
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def _cpu():
    try:
        with open("/proc/cpuinfo") as f:
            names = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
        return names[0] if names else platform.machine()
    except OSError:
        return platform.processor() or platform.machine()


def default_output():
    """``$OUT/gpu_check.md`` where ``OUT`` is set (a folder whose files come back from a lent machine), else ./."""
    return Path(os.environ.get("OUT") or ".") / "gpu_check.md"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes and one test file: checks the script")
    parser.add_argument(
        "--allow-cpu", action="store_true", help="run the parts even where no GPU is visible (a dry run)"
    )
    parser.add_argument("--output", type=Path, default=None, help="the Markdown report (default: $OUT or ./)")
    parser.add_argument("--data", default=None, help="MNIST's mnist.npz (default: SKAE_MNIST, the project's copy)")
    parser.add_argument("--backends", nargs="+", choices=BACKENDS, default=list(BACKENDS))
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS))
    parser.add_argument("--budget", type=float, default=None, help="seconds for the whole run (default 440)")
    parser.add_argument("--test-workers", type=int, default=4, help="pytest-xdist workers per backend")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)  # a child's spec, JSON
    args = parser.parse_args(argv)
    args.sizes = dict(QUICK if args.quick else FULL)
    if args.budget is not None:
        args.sizes["budget"] = args.budget
    if args.output is None:
        args.output = default_output()
    return args


class Run:
    """What the parent gathers, and the files it rewrites after every part."""

    def __init__(self, args, command, folder):
        self.args, self.folder, self.begun = args, folder, time.monotonic()
        self.deadline = self.begun + args.sizes["budget"]
        self.log = args.output.with_suffix(".log")
        args.output.parent.mkdir(parents=True, exist_ok=True)
        self.log.write_text("", encoding="utf-8")
        asked = args.data or os.environ.get("SKAE_MNIST") or str(mnist_path())
        #: MNIST's file, resolved for the children (which run in the repository root), or None: synthetic rows.
        self.data = str(Path(asked).resolve()) if Path(asked).is_file() else None
        self.results = {
            "meta": {
                "started": f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M}",
                "command": command,
                "quick": args.quick,
                "allow_cpu": args.allow_cpu,
                "cpu": _cpu(),
                "cores": os.cpu_count(),
                "os": f"{platform.system()} {platform.release()}, python {platform.python_version()}",
                "versions": {name: _version(name) or "not installed" for name in VERSIONS},
                "backends": args.backends,
                "kinds": list(KINDS),
                **{key: args.sizes[key] for key in ("identity_rows", "checked_rows", "fit_rows", "bulk_rows")},
                **{key: args.sizes[key] for key in ("one_row_calls", "bulk_calls")},
                "batch_sizes": list(args.sizes["batch_sizes"]),
                "data": (
                    f"MNIST training images from {self.data}"
                    if self.data
                    else f"no MNIST file at {asked}: synthetic rows of MNIST's shape instead, each a mix of two of ten "
                    "sparse random images (timings do not depend on the values; see `synthetic_rows` for why not "
                    "uniform random rows)"
                ),
            },
            "probes": {},
            "runs": {},
            "tests": {},
            "tests_command": "",
            "problems": [],
        }

    def left(self, reserve=0.0):
        """Seconds left of the budget, less ``reserve``."""
        return self.deadline - time.monotonic() - reserve

    def write(self):
        """Rewrite the report and the raw figures, so an interrupted run keeps what it finished."""
        self.results["meta"]["elapsed"] = time.monotonic() - self.begun
        self.args.output.write_text(render(self.results), encoding="utf-8")
        self.args.output.with_suffix(".json").write_text(json.dumps(self.results, indent=1), encoding="utf-8")

    def record(self, name, command, done):
        """Append one child's command, status and output tails to the log."""
        with open(self.log, "a", encoding="utf-8") as log:
            status = "timed out" if done["timed_out"] else f"exit status {done['rc']}"
            log.write(f"=== {name}: {status}, {done['seconds']:.1f} s\n$ {shlex.join(command)}\n")
            log.write("--- stdout (last 8,000 characters)\n" + done["stdout"][-8000:] + "\n")
            log.write("--- stderr (last 20,000 characters)\n" + done["stderr"][-20000:] + "\n")

    def problem(self, text):
        self.results["problems"].append(text)
        print(f"gpu_check: {text}", flush=True)


def child_env(backend, device, data=None):
    """The environment of a child on ``backend``; ``device="cpu"`` hides the GPU from every framework."""
    env = {
        **os.environ,
        "KERAS_BACKEND": backend,
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "PYTHONPATH": os.pathsep.join([str(REPO), str(HERE), os.environ.get("PYTHONPATH", "")]),
    }
    if device == "cpu":
        env.update(CUDA_VISIBLE_DEVICES="", JAX_PLATFORMS="cpu")
    if data:
        env["SKAE_MNIST"] = data
    return env


def probe_backends(run):
    """Ask each backend, in processes of their own at once, whether it is installed and sees a GPU."""
    probes = {}
    started = {}
    for backend in run.args.backends:
        if importlib.util.find_spec(backend) is None:
            probes[backend] = {"backend": backend, "gpus": [], "error": f"{backend} not installed"}
            continue
        command = [sys.executable, "-c", PROBE, backend]
        env = child_env(backend, "gpu")
        # The probes run at once: none may reserve the GPU's memory, as JAX does when it starts.
        env.update(SHARED_GPU)
        started[backend] = start_child(f"probe-{backend}", command, env, run.args.sizes["probe_timeout"], run.folder)
    for backend, proc in started.items():
        done = finish_child(proc)
        run.record(proc.name, proc.command, done)
        found = records(done["stdout"])
        probes[backend] = found[-1] if found else {"backend": backend, "gpus": [], "error": last_error(done)}
    run.results["probes"] = {backend: probes[backend] for backend in run.args.backends}
    return run.results["probes"]


def why_not(backend, probe):
    """In words, why ``backend`` gets no GPU part."""
    if probe.get("error"):
        return probe["error"] if "not installed" in probe["error"] else f"{backend} failed to load: {probe['error']}"
    return f"{backend} sees no GPU ({probe.get('version', '?')}, {probe.get('build', '?')})"


def run_device(run, backend, device, parts, timeout):
    """One child on ``backend`` and ``device`` ("gpu" or "cpu") running ``parts``; its results land in the run."""
    sizes = run.args.sizes
    spec = {
        "backend": backend,
        "parts": parts,
        "kinds": list(KINDS),
        "data": run.data,
        **{key: sizes[key] for key in ("identity_rows", "checked_rows", "fit_rows", "bulk_rows")},
        **{key: sizes[key] for key in ("one_row_calls", "bulk_calls", "batch_sizes")},
    }
    slot = run.results["runs"].setdefault(backend, {})
    if timeout < MIN_PART:
        slot[device] = {"skipped": "not run: out of time"}
        run.problem(f"{backend} on the {device.upper()}: not run, out of time")
        return
    print(f"[{time.strftime('%H:%M:%S')}] {backend} on the {device.upper()}: {', '.join(parts)} ...", flush=True)
    command = [sys.executable, str(Path(__file__).resolve()), "--child", json.dumps(spec)]
    proc = start_child(f"{backend}-{device}", command, child_env(backend, device, run.data), timeout, run.folder)
    done = finish_child(proc)
    run.record(proc.name, command, done)
    result = {"seconds": done["seconds"]}
    for record in records(done["stdout"]):
        result.setdefault(record.pop("part"), {})[record.pop("kind")] = record
    if done["rc"] or done["timed_out"]:
        result["error"] = last_error(done)
        run.problem(f"{backend} on the {device.upper()}: {result['error']} (kept what it finished)")
    slot[device] = result
    ran_on = {found["device"] for part in ("identity", "timings") for found in result.get(part, {}).values()}
    if device == "gpu" and not run.args.allow_cpu:
        for where in sorted(ran_on):
            if not re.search(r"gpu|cuda", where, flags=re.IGNORECASE):
                run.problem(f"{backend}: the GPU part ran on {where}, not on the GPU")
    for kind, found in result.get("identity", {}).items():
        bad = {size: cell["differ"] for size, cell in found["modes"]["exact"].items() if cell["differ"]}
        if bad:
            run.problem(f"{backend}, {kind}, exact: rows whose bits change with their batch, by batch size: {bad}")
    print(f"[{time.strftime('%H:%M:%S')}]   {done['seconds']:.0f} s", flush=True)


def run_tests(run, backends):
    """The backend test set under each of ``backends``, all at once, with the time left; counts land in the run."""
    sizes, workers = run.args.sizes, run.args.test_workers
    if importlib.util.find_spec("pytest") is None:
        for backend in backends:
            run.results["tests"][backend] = {"skipped": "pytest not installed"}
        run.problem("tests not run: pytest not installed")
        return
    command = [sys.executable, "-m", "pytest"]
    if importlib.util.find_spec("xdist") is not None and workers > 1:
        command += ["-n", str(workers)]
    command += ["-m", TEST_MARK, "-x", "-q", "-p", "no:cacheprovider", *sizes["test_files"]]
    run.results["tests_command"] = shlex.join(["python", *command[1:]])
    timeout = min(sizes["tests_timeout"], run.left())
    if timeout < MIN_PART:
        for backend in backends:
            run.results["tests"][backend] = {"skipped": "not run: out of time"}
        run.problem("tests not run: out of time")
        return
    print(f"[{time.strftime('%H:%M:%S')}] tests on {', '.join(backends)}, {timeout:.0f} s at most ...", flush=True)
    started = {}
    for backend in backends:
        env = child_env(backend, "gpu", run.data)
        # Several test processes share the GPU, and the cores are shared out, as conftest.py does within one set.
        env.update(SHARED_GPU, OMP_NUM_THREADS=str(max(1, (os.cpu_count() or 1) // (max(1, workers) * len(backends)))))
        started[backend] = start_child(f"tests-{backend}", command, env, timeout, run.folder)
    for backend, proc in started.items():
        done = finish_child(proc)
        run.record(proc.name, command, done)
        counts, progress, first = parse_pytest(done["stdout"])
        if done["timed_out"]:
            status = f"timed out after {done['seconds']:.0f} s"
        elif done["rc"] == 0:
            status = "passed"
        elif done["rc"] == 1:
            status = "failed"
        else:
            status = f"error (exit status {done['rc']}): {last_error(done)}"
        run.results["tests"][backend] = {
            "status": status,
            "counts": counts,
            "progress": progress,
            "seconds": done["seconds"],
            "first_failure": first,
        }
        if status != "passed":
            run.problem(f"tests on {backend}: {status}" + (f"; first: {first}" if first else ""))
        run.write()


def main(argv=None):
    args = parse_args(argv)
    if args.child is not None:
        return child(json.loads(args.child))
    command = " ".join(["python", "benchmarks/gpu_check.py", *(sys.argv[1:] if argv is None else argv)])
    gpus, no_gpu = find_gpu(os.environ)
    if not gpus and not args.allow_cpu:
        print(f"gpu_check: no GPU visible: {no_gpu}. {NO_GPU_HINT}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="skae-gpu-check-") as folder:
        run = Run(args, command, Path(folder))
        meta = run.results["meta"]
        meta.update(gpus=gpus, no_gpu=no_gpu)
        run.write()
        probes = probe_backends(run)
        if args.allow_cpu:
            chosen = [b for b in args.backends if not probes[b].get("error")]
        else:
            chosen = [b for b in args.backends if probes[b]["gpus"] and not probes[b].get("error")]
        for backend in args.backends:
            if backend not in chosen or not probes[backend]["gpus"]:
                print(f"gpu_check: {why_not(backend, probes[backend])}", flush=True)
        run.write()
        if not chosen:
            reasons = "; ".join(why_not(b, probes[b]) for b in args.backends)
            what = "no backend can run" if args.allow_cpu else "no backend sees the GPU"
            print(f"gpu_check: {what}: {reasons}. Report: {args.output}", file=sys.stderr)
            return 2
        device_parts = [part for part in ("identity", "timings") if part in args.parts]
        reserve = TESTS_RESERVE if "tests" in args.parts else 0
        if device_parts:
            for backend in chosen:  # the GPU first, for every backend: its bits are what no one has seen
                run_device(run, backend, "gpu", device_parts, min(args.sizes["gpu_timeout"], run.left(reserve)))
                run.write()
            if "timings" in device_parts:
                for backend in chosen:
                    run_device(run, backend, "cpu", ["timings"], min(args.sizes["cpu_timeout"], run.left(reserve)))
                    run.write()
        if "tests" in args.parts:
            run_tests(run, chosen)
        run.write()
        report = render(run.results)
    print(report)
    print(f"wrote {args.output} (and its .json and .log) in {meta['elapsed']:.0f} s", flush=True)
    return 1 if run.results["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
