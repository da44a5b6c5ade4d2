"""Helpers shared by the benchmark sections: data, timing, metrics, Markdown."""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DEFAULT_MNIST = REPO / ".." / "shared" / "data" / "mnist.npz"


@dataclass
class Config:
    """Sizes of one benchmark run; ``quick()`` shrinks them for a smoke test."""

    quick: bool = False
    n_train: int = 60_000
    n_test: int = 10_000
    overhead_epochs: int = 2
    repeats: int = 3
    kinds: tuple = ("dense", "conv")  # tutorial models timed in the overhead and inference sections
    inference_rows: int = 10_000
    recon_epochs: int = 20
    clustering_subset: int | None = None  # None: all of n_train
    preset_epochs: int | None = None  # None: the preset's own
    scaling_sizes: tuple = (5_000, 10_000, 20_000, 40_000, 60_000)
    big_transform_rows: int = 1_000_000
    grid_rows: int = 10_000
    grid_n_jobs: tuple = (1, 2)
    tsne_rows: int = 5_000
    tsne_max_iter: int | None = None  # None: scikit-learn's default, as in the tutorial
    umap: bool = True
    startup_repeats: int = 12  # fresh processes per case, each side, in the start-up section
    # Fitted models that later sections reuse, so nothing is trained twice.
    cache: dict = field(default_factory=dict)

    @classmethod
    def quick_config(cls):
        return cls(
            quick=True,
            n_train=2_000,
            n_test=500,
            overhead_epochs=1,
            repeats=1,
            inference_rows=2_000,
            recon_epochs=1,
            clustering_subset=2_000,
            preset_epochs=1,
            scaling_sizes=(500, 1_000),
            big_transform_rows=20_000,
            grid_rows=600,
            tsne_rows=300,
            tsne_max_iter=250,
            startup_repeats=3,
        )


def mnist_path():
    return Path(os.environ.get("SKAE_MNIST", DEFAULT_MNIST))


def load_mnist(cfg):
    """Return ``(X_train, y_train, X_test, y_test)``: flat float32 pixels in [0, 1]."""
    path = mnist_path()
    if not path.exists():
        raise FileNotFoundError(f"MNIST not found at {path}; set SKAE_MNIST to the mnist.npz file.")
    if "mnist" not in cfg.cache:
        with np.load(path) as f:
            x_train = f["x_train"][: cfg.n_train].reshape(-1, 784).astype(np.float32) / 255.0
            x_test = f["x_test"][: cfg.n_test].reshape(-1, 784).astype(np.float32) / 255.0
            cfg.cache["mnist"] = (x_train, f["y_train"][: cfg.n_train], x_test, f["y_test"][: cfg.n_test])
    return cfg.cache["mnist"]


def timed(fn, *args, **kwargs):
    """Return ``(seconds, result)`` of one call."""
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return time.perf_counter() - start, result


def median_time(fn, *, repeats, warmup=1):
    """Median wall time of ``fn()`` over ``repeats`` calls, after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn()
    return statistics.median(timed(fn)[0] for _ in range(repeats))


def interleaved_times(calls, *, repeats, warmup):
    """Seconds of each call of ``calls`` (name -> function), the contenders run in turn, call by call.

    Each function first runs ``warmup`` untimed times; then every round
    calls each once, so a change in the machine's load falls on all of them.
    Returns name -> list of ``repeats`` durations.
    """
    for fn in calls.values():
        for _ in range(warmup):
            fn()
    times = {name: [] for name in calls}
    for _ in range(repeats):
        for name, fn in calls.items():
            times[name].append(timed(fn)[0])
    return times


def clustering_accuracy(y_true, y_pred):
    """Best accuracy over one-to-one matchings of clusters to labels (Hungarian)."""
    try:
        from skae.metrics import clustering_accuracy as skae_accuracy
    except ImportError:
        from scipy.optimize import linear_sum_assignment

        y_true = np.asarray(y_true)
        y_pred = np.asarray(y_pred)
        k = int(max(y_true.max(), y_pred.max())) + 1
        counts = np.zeros((k, k), dtype=np.int64)
        np.add.at(counts, (y_pred, y_true), 1)
        rows, cols = linear_sum_assignment(-counts)
        return counts[rows, cols].sum() / len(y_true)
    return skae_accuracy(y_true, y_pred)


def mean_std(values, fmt="{:.3f}"):
    """``"mean ± std"`` of ``values`` formatted with ``fmt``; a single value alone."""
    if len(values) == 1:
        return fmt.format(values[0])
    return f"{fmt.format(statistics.mean(values))} ± {fmt.format(statistics.stdev(values))}"


def table(header, rows):
    """A Markdown table; floats are printed as they are given (format them first)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def environment():
    """Markdown lines describing the machine and the library versions."""
    import keras
    import sklearn
    import tensorflow as tf

    import skae

    versions = {
        "python": platform.python_version(),
        "skae": skae.__version__,
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "scikit-learn": sklearn.__version__,
        "numpy": np.__version__,
    }
    for name in ("scikeras", "umap", "openTSNE"):
        try:
            module = __import__(name)
            versions[name] = getattr(module, "__version__", "installed")
        except ImportError:
            versions[name] = "not installed"
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            names = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
        if names:
            cpu = names[0]
    except OSError:
        pass
    gpus = [d.name for d in tf.config.list_physical_devices("GPU")]
    return [
        f"- Machine: {platform.system()} {platform.release()}, {cpu}, {os.cpu_count()} logical CPUs, "
        f"GPU: {', '.join(gpus) if gpus else 'none'}",
        "- Versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()),
        f"- Command: `{' '.join([Path(sys.executable).name, *sys.argv])}`",
    ]
