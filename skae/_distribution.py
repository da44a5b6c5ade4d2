"""``distribute_strategy``: data-parallel training, each backend its own way.

``"mirrored"`` means data parallel over every local device, through what
the backend has for it:

* TensorFlow: ``tf.distribute.MirroredStrategy``. A
  ``tf.distribute.Strategy`` object is used as given.
* JAX: ``keras.distribution.DataParallel`` over
  ``keras.distribution.list_devices()``. A ``keras.distribution``
  ``Distribution`` object is used as given. Each batch is split evenly
  over the devices, so skae trims every batch to a multiple of their
  number (see :class:`skae._training.TrainingBatches`).
* PyTorch: Keras has no data-parallel training for it, so any strategy
  but ``None`` or ``"default"`` raises a ``ValueError`` that says what to
  use instead.

``"default"`` is whatever the backend is set to already: TensorFlow's
current strategy, or the global ``keras.distribution`` of JAX.

Several processes (JAX only): after ``keras.distribution.initialize()``
in every process, a distribution's device mesh spans the devices of all
of them. Each process then feeds only its own share of every global batch
(:class:`Processes`), and the processes first agree that they train the
same thing. TensorFlow's ``MultiWorkerMirroredStrategy`` is broken under
Keras 3 and Keras's multi-process PyTorch support is unreleased, so both
raise a ``ValueError`` that says so.
"""

from __future__ import annotations

import contextlib
import os
import zlib
from dataclasses import dataclass

import keras
import numpy as np

TF_MULTI_WORKER_ISSUES = "keras-team/keras#20585, tensorflow/tensorflow#72388"
TORCH_MULTI_PROCESS_ISSUE = "keras-team/keras#23052"
# Set by a launcher (or by hand) for keras.distribution.initialize() to read.
KERAS_PROCESS_VARIABLES = ("KERAS_DISTRIBUTION_NUM_PROCESSES", "KERAS_DISTRIBUTION_JOB_ADDRESSES")


@dataclass
class Placement:
    """Where a model is built and trained.

    Attributes
    ----------
    build_scope : context manager factory
        Build and compile the model inside ``build_scope()``.
    fit_scope : context manager factory
        Run ``model.fit`` inside ``fit_scope()``.
    n_devices : int
        Every training batch must hold a multiple of this many rows.
    processes : Processes or None
        The processes that train together, or None for one process.
    """

    build_scope: object = contextlib.nullcontext
    fit_scope: object = contextlib.nullcontext
    n_devices: int = 1
    processes: object = None

    @property
    def part(self):
        """``part(n)``: the slice of a global batch of ``n`` rows this process feeds; None for one process."""
        return None if self.processes is None else self.processes.part

    @contextlib.contextmanager
    def training(self, model):
        """Train ``model`` inside this: in ``fit_scope()``, its variables spread over the processes' devices.

        After training, also when it fails, each process's variables are
        its own arrays again, so that it predicts and saves on its own, and
        a later fit spreads them again.
        """
        with self.fit_scope():
            if self.processes is not None:
                self.processes.spread(model)
            try:
                yield
            finally:
                if self.processes is not None:
                    self.processes.localize(model)


def _asked_processes():
    """Return how many processes the environment asks ``keras.distribution.initialize()`` for (1 if none)."""
    count = os.environ.get("KERAS_DISTRIBUTION_NUM_PROCESSES")
    if count:
        return int(count)
    addresses = os.environ.get("KERAS_DISTRIBUTION_JOB_ADDRESSES", "")
    return max(1, len([a for a in addresses.split(",") if a]))


class Processes:
    """The processes of one multi-process JAX fit, seen from one of them.

    Every process draws the same batches of row indices; :meth:`part` says
    which rows of each global batch this process reads, from where the
    distribution places the batch: the rows of this process's devices.

    Parameters
    ----------
    distribution : keras.distribution.Distribution
        Its device mesh spans the devices of several processes.
    """

    def __init__(self, distribution):
        import jax

        self.distribution = distribution
        self.index = jax.process_index()
        self.count = jax.process_count()
        self._parts = {}

    def part(self, n):
        """Return the slice of a global batch of ``n`` rows that this process feeds.

        Raises
        ------
        ValueError
            If this process's devices do not hold one contiguous block of
            the batch (a device mesh whose order interleaves the processes).
        """
        if n not in self._parts:
            layout = self.distribution.get_data_layout((n,))
            sharding = getattr(layout, "backend_layout", layout)
            blocks = sorted(
                {
                    (s.start or 0, n if s.stop is None else s.stop)
                    for (s,) in sharding.addressable_devices_indices_map((n,)).values()
                }
            )
            start, stop = blocks[0][0], blocks[-1][1]
            if any(a[1] != b[0] for a, b in zip(blocks, blocks[1:], strict=False)):
                raise ValueError(
                    f"Process {self.index}'s devices hold rows {blocks} of a batch of {n}, not one block: order the "
                    "devices of the distribution's mesh process by process (as keras.distribution.list_devices() "
                    "gives them)."
                )
            self._parts[n] = slice(start, stop)
        return self._parts[n]

    def gather(self, values):
        """Return every process's int32 ``values``, one row per process in process order."""
        from jax.experimental import multihost_utils

        return np.asarray(multihost_utils.process_allgather(np.asarray(values, dtype=np.int32)))

    def agree(self, x, params, seed, owner):
        """Check that every process fits the same ``x`` with the same ``params``; return process 0's ``seed``.

        ``x`` is compared by a cheap fingerprint: its shape and a checksum of
        up to 64 evenly spaced rows, so a memmap is barely read. The seed is
        process 0's, so that ``random_state=None`` shuffles (and initializes
        the weights) alike everywhere.

        Raises
        ------
        ValueError
            If some process's ``x`` or parameters differ from process 0's.
        """
        from ._layout import dense_rows, n_rows, spread_rows

        n = n_rows(x)
        sampled = spread_rows(n, 64)
        checksum = zlib.crc32(np.ascontiguousarray(dense_rows(x[sampled]), dtype=np.float32).tobytes())
        width = int(np.prod(x.shape[1:]))
        settings = zlib.crc32(repr(sorted(params.items())).encode())
        mine = [n, width, checksum >> 16, checksum & 0xFFFF, settings >> 16, settings & 0xFFFF, seed]
        every = self.gather(mine)
        for process, theirs in enumerate(every):
            if (theirs[:4] != every[0][:4]).any():
                what = (
                    f"{theirs[0]} rows of {theirs[1]} values against {every[0][0]} rows of {every[0][1]}"
                    if (theirs[:2] != every[0][:2]).any()
                    else "the same shape, but other values in the rows it compares"
                )
                raise ValueError(
                    f"{owner}.fit got a different X in process {process} than in process 0 ({what}). In a "
                    "multi-process fit every process passes the same, whole X: skae reads each process's own "
                    "slice of every batch from it."
                )
            if (theirs[4:6] != every[0][4:6]).any():
                raise ValueError(
                    f"{owner} has other parameters in process {process} than in process 0. In a multi-process fit "
                    "every process builds the estimator with the same parameters (get_params())."
                )
        return int(every[0][6])

    def spread(self, model):
        """Place ``model``'s variables (weights, optimizer, metrics) over the distribution's devices again.

        Variables placed already (a model just built) stay as they are.
        """
        for variable in _all_variables(model):
            if variable._layout is not None:
                continue
            variable._layout = self.distribution.get_variable_layout(variable)
            variable._direct_assign(_this_copy(variable))

    def localize(self, model):
        """Make ``model``'s variables this process's own arrays, so that it predicts and saves on its own.

        Data parallelism keeps every variable whole on every device, so
        this process's copy is the model.
        """
        for variable in _all_variables(model):
            value = _this_copy(variable)
            variable._layout = None
            variable.assign(value)


def _this_copy(variable):
    """Return this process's copy of ``variable``'s value, as a NumPy array."""
    value = variable.value
    return np.asarray(value.addressable_data(0) if hasattr(value, "addressable_data") else value)


def _all_variables(model):
    variables = list(model.variables)
    if getattr(model, "optimizer", None) is not None:
        variables += list(model.optimizer.variables)
    for metric in getattr(model, "metrics", ()):
        variables += list(metric.variables)
    seen = set()
    return [v for v in variables if not (id(v) in seen or seen.add(id(v)))]


def _tensorflow(strategy):
    import tensorflow as tf

    if strategy == "default":
        strategy = tf.distribute.get_strategy()
    elif strategy == "mirrored":
        if _asked_processes() > 1 or _tf_config_workers() > 1:
            raise ValueError(_tf_multi_worker_message("distribute_strategy='mirrored' with several workers"))
        strategy = tf.distribute.MirroredStrategy()
    elif not isinstance(strategy, tf.distribute.Strategy):
        raise ValueError(
            f"distribute_strategy={strategy!r} is not a tf.distribute.Strategy, which the tensorflow backend "
            "needs. Use 'mirrored', a tf.distribute.Strategy, or None."
        )
    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        raise ValueError(_tf_multi_worker_message(f"distribute_strategy={type(strategy).__name__}"))
    # Keras's TensorFlow trainer keeps the strategy the model was built
    # under, so fit needs no scope of its own.
    return Placement(build_scope=strategy.scope)


def _tf_config_workers():
    import json

    try:
        cluster = json.loads(os.environ.get("TF_CONFIG") or "{}").get("cluster", {})
    except ValueError:
        return 1
    return len(cluster.get("worker", ())) + len(cluster.get("chief", ()))


def _tf_multi_worker_message(what):
    return (
        f"{what}: training over several processes is not available on the tensorflow backend, because "
        f"tf.distribute.MultiWorkerMirroredStrategy is broken under Keras 3 ({TF_MULTI_WORKER_ISSUES}). Set "
        "KERAS_BACKEND=jax and call keras.distribution.initialize() in every process, then fit with "
        "distribute_strategy='mirrored'; or train on one host with tf.distribute.MirroredStrategy."
    )


def _jax(strategy):
    import jax

    distribution = keras.distribution
    n_processes = jax.process_count()
    if strategy in ("default", "mirrored") and n_processes == 1 and _asked_processes() > 1:
        raise ValueError(
            f"distribute_strategy={strategy!r}: the environment asks for {_asked_processes()} processes "
            "(KERAS_DISTRIBUTION_NUM_PROCESSES or KERAS_DISTRIBUTION_JOB_ADDRESSES), but this process has not "
            "joined them. Call keras.distribution.initialize() in every process before building the estimator."
        )
    if strategy == "default":
        current = distribution.distribution()
        if current is None:
            return Placement()
        strategy = current
    elif strategy == "mirrored":
        if n_processes > 1:
            # skae feeds each process its own share of every batch itself.
            strategy = distribution.DataParallel(devices=distribution.list_devices(), auto_shard_dataset=False)
        else:
            strategy = distribution.DataParallel(devices=distribution.list_devices())
    elif not (hasattr(strategy, "device_mesh") and hasattr(strategy, "get_data_layout")):
        # keras.distribution exports DataParallel and ModelParallel, not their base class.
        raise ValueError(
            f"distribute_strategy={strategy!r} is not a keras.distribution.Distribution, which the jax backend "
            "needs (a tf.distribute.Strategy works under KERAS_BACKEND=tensorflow only). Use 'mirrored', a "
            "keras.distribution.DataParallel, or None."
        )
    n_devices = int(strategy.device_mesh.devices.size)
    if n_processes == 1:
        # The distribution places the variables when they are created and
        # shards each batch in fit: both need it in scope.
        return Placement(build_scope=strategy.scope, fit_scope=strategy.scope, n_devices=n_devices)
    return _jax_processes(strategy, n_processes, n_devices)


def _jax_processes(strategy, n_processes, n_devices):
    known = getattr(strategy, "num_processes", n_processes)
    if known != n_processes:
        raise ValueError(
            f"distribute_strategy={type(strategy).__name__} was made for {known} process(es), but "
            f"{n_processes} have joined since: call keras.distribution.initialize() before making the "
            "distribution, or use distribute_strategy='mirrored'."
        )
    if not isinstance(strategy, keras.distribution.DataParallel):
        raise ValueError(
            f"distribute_strategy={type(strategy).__name__} over {n_processes} processes: skae trains over "
            "several processes with data parallelism only. Use distribute_strategy='mirrored' or a "
            "keras.distribution.DataParallel."
        )

    @contextlib.contextmanager
    def fit_scope():
        # skae gives each process its own rows, which is what Keras's
        # auto-sharding would do for a tf.data.Dataset (and refuses for
        # anything else): switched off for the fit, as it was after.
        auto = strategy.auto_shard_dataset
        strategy.auto_shard_dataset = False
        try:
            with strategy.scope():
                yield
        finally:
            strategy.auto_shard_dataset = auto

    return Placement(
        build_scope=strategy.scope, fit_scope=fit_scope, n_devices=n_devices, processes=Processes(strategy)
    )


def _torch(strategy):
    if strategy == "default":
        return Placement()
    raise ValueError(
        f"distribute_strategy={strategy!r} is not available on the torch backend: Keras has no data-parallel "
        "training for PyTorch (its multi-process support is on Keras's main branch only, "
        f"{TORCH_MULTI_PROCESS_ISSUE}). Use distribute_strategy=None to train on one device, or set "
        "KERAS_BACKEND=jax (keras.distribution.DataParallel, also over several processes) or "
        "KERAS_BACKEND=tensorflow (tf.distribute.MirroredStrategy) with distribute_strategy='mirrored'."
    )


def shared_placement(strategy):
    """Return the :class:`Placement` of ``strategy`` when it spans several processes (JAX), else one device's.

    For work that is shared out only over several processes, and that one
    process does on its own device as before (deep clustering's fine-tuning).
    """
    if strategy is None or keras.backend.backend() != "jax":
        return Placement()
    import jax

    return placement(strategy) if jax.process_count() > 1 else Placement()


def placement(strategy):
    """Return the :class:`Placement` of ``distribute_strategy`` on the current backend.

    Raises
    ------
    ValueError
        If the backend has no such strategy; the message names the backend
        and what to use instead.
    """
    if strategy is None:
        return Placement()
    backend = keras.backend.backend()
    try:
        resolve = {"tensorflow": _tensorflow, "jax": _jax, "torch": _torch}[backend]
    except KeyError:
        raise ValueError(
            f"distribute_strategy={strategy!r} needs the tensorflow or jax Keras backend; KERAS_BACKEND is {backend!r}."
        ) from None
    return resolve(strategy)
