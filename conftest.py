"""pytest setup for the whole checkout: what ``--doctest-modules`` collects, the workers' threads, JAX's cache."""

import importlib.util
import os
import shutil
import tempfile

# skae.onnx imports the optional serve extra (onnx, skl2onnx) at import time.
# The README's test command installs only the tests extra, so without them
# the module's doctests cannot run and are left out; CI installs the extra
# and runs them, and tests/test_onnx.py skips itself the same way.
collect_ignore = [] if all(importlib.util.find_spec(name) for name in ("onnx", "skl2onnx")) else ["skae/onnx.py"]

# pytest-xdist (-n auto) starts one worker process per core. PyTorch would
# start a thread per core in each of them, and its threads then wait for one
# another: its backend set took about 35% longer than with the cores shared
# out. This runs before any backend is imported in a worker.
if os.environ.get("PYTEST_XDIST_WORKER"):
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // workers)))

# Under JAX, most of a small model's fit is XLA compiling it, and the tests
# fit the same few networks on the same shapes hundreds of times, in every
# worker. JAX's compilation cache keeps each compiled program on disk, keyed
# by the program itself, so a program compiles once per run: the backend set
# took 40% less. The folder is this run's alone (the workers inherit it from
# the main process) and is removed at the end; the programs, and so the
# results, are the same with or without it.
_JAX_CACHE = None
if not os.environ.get("PYTEST_XDIST_WORKER") and "JAX_COMPILATION_CACHE_DIR" not in os.environ:
    _JAX_CACHE = tempfile.mkdtemp(prefix="skae-tests-jax-cache-")
    os.environ.update(
        JAX_COMPILATION_CACHE_DIR=_JAX_CACHE,
        JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0",
        JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES="0",
    )


def pytest_unconfigure(config):
    """Remove this run's JAX compilation cache, in the main process once the workers are done."""
    if _JAX_CACHE is not None:  # set in the main process alone
        shutil.rmtree(_JAX_CACHE, ignore_errors=True)
