"""Inference: one compiled function per model, the backend's own way, and a plan that keeps a row's bits its own.

A web server calls ``transform`` on one row at a time, where the fixed
cost of a call dominates: ``model.predict`` builds a data adapter and
callbacks on every call (tens of milliseconds even for one row), and a
plain eager call costs a millisecond or more. :func:`compile_model`
compiles the model once, the way its backend compiles:

* TensorFlow: a ``tf.function`` with the batch axis left free in its input
  signature, so no batch size retraces it;
* JAX: ``jax.jit`` over ``model.stateless_call``, given the variables'
  current values on every call;
* PyTorch: the model called eagerly under ``torch.no_grad``.

Each reads the model's variables when it runs, never a copy of them, so
it always serves the current weights: training ``encoder_`` further, by
``fit``, ``partial_fit``, fine-tuning or by hand, needs no cache to be
cleared.

A row's output must not depend on the batch it comes in, nor on where it
sits in it. CPU and GPU kernels choose their blocking, and so the order of
their floating-point sums, by the number of rows of a call: one row alone,
a row among 20 and a row among 10,000 can differ in the last bits. So no
call here ever sees a number of rows of its own choosing. A
:class:`ChunkedModel` runs every input as

* chunks of ``large`` rows (bulk), each one call of the model or
  ``large / step`` calls of ``step`` rows (inside one compiled
  ``jax.lax.map`` on JAX); on TensorFlow, a block of such one-call chunks
  runs as one call of a compiled loop over them (``tf.map_fn``), where a
  check on probe rows finds that it gives each chunk the bits of its own
  call; then
* the rest in calls of ``small`` rows, the last one zero-padded (or, where
  more than ``large / 8`` rows are left, one zero-padded chunk of
  ``large`` rows).

Which sizes compute a row alike is the kernels' choice, and it differs
from one machine to the next, even of the same kind: so the sizes are an
:class:`InferencePlan` chosen on the machine, once per model and process,
from measurement (:func:`choose_plan`). It checks the backend's default
sizes (:data:`CHUNKS`) on probe rows first; where they disagree, it probes
the whole :data:`LADDER` of call sizes, groups the sizes whose calls give a
row the same bits at every position, and takes the broadest group. The
choice rests on the bits alone, never on timings, which move with the
machine's load: so every process on the machine, and every model of the
same shapes, chooses alike. What the plan costs is timed and reported;
where its bulk costs more than :data:`WARN_RATIO` times the fastest call
timed, ``transform`` warns once, and names ``inference="fast"``: one call per
block of rows, as a plain Keras call runs, for users who do not need a
row's bits to be its own.
"""

from __future__ import annotations

import math
import threading
import time
import warnings
from dataclasses import dataclass, field, replace

import keras
import numpy as np

from ._layout import dense_rows, n_rows
from ._plan import WARN_RATIO, InferenceCostWarning, InferencePlan

__all__ = [
    "CHUNKS",
    "INFERENCE_BATCH_SIZE",
    "INFERENCE_MODES",
    "ChunkedModel",
    "InferencePlan",
    "InferenceCostWarning",
    "choose_plan",
    "compile_model",
    "chunked_model",
]

#: Rows per chunk of a memory-bounded pass (the scores, sparse input): one
#: chunk of conv activations stays around 100 MB. It only bounds memory:
#: each such chunk runs in the plan's sizes like any input.
INFERENCE_BATCH_SIZE = 4096
#: The backend's default ``(small, large, step)`` rows, checked first on
#: every machine. ``small`` is what one row costs: padding 1 row to
#: ``small`` costs little against a call's fixed cost. ``large`` is where
#: bulk inference runs near the speed of one call on all rows. ``step`` is
#: the rows of one call inside a large chunk: TensorFlow and PyTorch run a
#: large chunk as one call (``step == large``); JAX as ``large / step``
#: calls in one ``jax.lax.map``. Why these sizes, and what they cost on the
#: machine they were chosen on: ``benchmarks/results.md``, section 17.
CHUNKS = {"tensorflow": (4, 1024, 1024), "jax": (4, 512, 16), "torch": (8, 1024, 1024)}
#: The call sizes probed where the defaults do not hold (the largest is
#: lowered for samples so big that it would pass :data:`PROBE_BYTES`).
LADDER = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
#: Rounds of interleaved calls that time a loop of calls against one call
#: of its rows (the fastest round counts), for the plan's estimated cost.
TIMING_ROUNDS = 3
#: Rows compared at the start, the middle and the end of the probe rows.
WINDOW = 16
#: Seed of the probe rows.
PROBE_SEED = 20261205
#: The most bytes of input a large chunk (and so the probe) may hold.
PROBE_BYTES = 64 * 2**20
#: The most bytes of input that ``transform`` holds as float32 at once: a
#: block of large chunks, handed to the backend in one piece; in the fast
#: mode, one call.
BLOCK_BYTES = 16 * 2**20
#: ``inference``'s values: ``"exact"`` keeps a row's bits its own in any
#: batch, ``"fast"`` runs blocks of rows as one call each.
INFERENCE_MODES = ("exact", "fast")

_BUILD_LOCK = threading.Lock()


def _tensorflow_function(model, input_shape):
    import tensorflow as tf

    spec = tf.TensorSpec((None, *input_shape), tf.float32)
    compiled = tf.function(lambda x: model(x, training=False), input_signature=[spec], autograph=False)
    compiled = compiled.get_concrete_function()
    return lambda x: compiled(x).numpy()


def _jax_function(model, input_shape):
    import jax

    def run(trainable, non_trainable, x):
        outputs, _ = model.stateless_call(trainable, non_trainable, x, training=False)
        return outputs

    compiled = jax.jit(run)

    def call(x):
        # The variables' values now, so the function never serves old weights.
        trainable = [v.value for v in model.trainable_variables]
        non_trainable = [v.value for v in model.non_trainable_variables]
        return np.asarray(compiled(trainable, non_trainable, x))

    return call


def _torch_function(model, input_shape):
    import torch

    # Inputs go where the weights are (Keras puts them on the GPU when there is one).
    device = next((v.value.device for v in model.weights), torch.device("cpu"))

    def call(x):
        if not x.flags.writeable:  # a chunk of a read-only memmap: torch wants memory it may write
            x = x.copy()
        with torch.no_grad():
            out = model(torch.from_numpy(x).to(device), training=False)
        return out.detach().cpu().numpy()

    return call


_BUILDERS = {"tensorflow": _tensorflow_function, "jax": _jax_function, "torch": _torch_function}


def compile_model(model, input_shape):
    """Return ``f(x) -> ndarray``: ``model`` at inference, compiled for the current backend.

    Parameters
    ----------
    model : keras.Model
        A built model with one input and one output.
    input_shape : tuple of int
        The shape of one sample of the model's input.

    Returns
    -------
    function : callable
        Takes a float32 ndarray of samples, returns the model's output as
        a NumPy array.
    """
    backend = keras.backend.backend()
    try:
        build = _BUILDERS[backend]
    except KeyError:
        raise ValueError(
            f"skae runs on the tensorflow, jax and torch Keras backends; KERAS_BACKEND is {backend!r}."
        ) from None
    return build(model, tuple(input_shape))


def _jax_chunk_loop(model, step):
    """Return ``f(x)`` for ``x`` of a multiple of ``step`` rows: ``step``-row calls in one ``jax.lax.map``."""
    import jax

    def run(trainable, non_trainable, chunks):
        def one(chunk):
            outputs, _ = model.stateless_call(trainable, non_trainable, chunk, training=False)
            return outputs

        return jax.lax.map(one, chunks)

    compiled = jax.jit(run)

    def call(x):
        trainable = [v.value for v in model.trainable_variables]
        non_trainable = [v.value for v in model.non_trainable_variables]
        out = np.asarray(compiled(trainable, non_trainable, x.reshape(-1, step, *x.shape[1:])))
        return out.reshape(len(x), *out.shape[2:])

    return call


def _tensorflow_chunk_loop(model, input_shape, rows):
    """Return ``f(x)`` for ``x`` of a multiple of ``rows`` rows: ``rows``-row calls of ``model`` in one ``tf.map_fn``.

    One call from Python for a whole block of chunks: separate calls cost
    each a slice, a dispatch and a copy out, and the loop runs near the
    bare call's speed (``benchmarks/results.md``, sections 19 and 20). One
    iteration at a time, so that each chunk's call has the machine's
    threads to itself, as a call of its own would.
    """
    import tensorflow as tf

    spec = tf.TensorSpec((None, *input_shape), tf.float32)

    def run(x):
        chunks = tf.reshape(x, (-1, rows, *input_shape))
        outputs = tf.map_fn(lambda chunk: model(chunk, training=False), chunks, parallel_iterations=1)
        return tf.reshape(outputs, (-1, *outputs.shape[2:]))

    compiled = tf.function(run, input_signature=[spec], autograph=False).get_concrete_function()
    return lambda x: compiled(x).numpy()


def _loop_keeps_the_bits(loop, call, input_shape, rows):
    """Whether ``loop`` gives two chunks of ``rows`` probe rows the bits of ``call`` on each chunk alone."""
    x = np.random.default_rng(PROBE_SEED).random((2 * rows, *input_shape), dtype=np.float32)
    alone = np.concatenate([np.asarray(call(x[:rows])), np.asarray(call(x[rows:]))])
    return np.array_equal(np.asarray(loop(x)), alone, equal_nan=True)


def _calls_of(call, rows):
    """Return ``f(x)`` for ``x`` of a multiple of ``rows`` rows: one ``call`` per ``rows`` rows."""

    def calls(x):
        return np.concatenate([np.asarray(call(x[start : start + rows])) for start in range(0, len(x), rows)])

    return calls


@dataclass
class _Probe:
    """Outputs and times of probe rows through calls of each size, measured once each.

    ``signature(size)`` is the outputs of the compared rows (a window at
    the start, the middle and the end of the probe rows) computed in calls
    of ``size`` rows, with the rows shifted through positions of a call;
    None where a row's bits changed with its position. Kernels pick their
    arithmetic by the shapes of a call, not by the values, so random rows
    show whether two sizes compute a row alike.
    """

    call: object
    rows: np.ndarray
    signatures: dict = field(default_factory=dict)
    times: dict = field(default_factory=dict)
    calls: dict = field(default_factory=dict)

    def __post_init__(self):
        top = len(self.rows)
        half = min(WINDOW, top) // 2
        compared = {
            *range(min(WINDOW, top)),
            *range(top // 2 - half, top // 2 + half),
            *range(max(0, top - WINDOW), top),
        }
        self.compared = np.array(sorted(compared))

    def signature(self, size, call=None, key=None):
        """Return the compared rows' outputs in calls of ``size`` rows (by ``call``, default the model's), or None."""
        key = size if key is None else key
        if key not in self.signatures:
            self.signatures[key] = self._measure(size, call or self.call, key)
        return self.signatures[key]

    def _measure(self, size, call, key):
        top = len(self.rows)
        # Shifts move every compared row to another position of its call:
        # by one, and for small calls by about half a call.
        shifts = sorted({0, 1 % size, (size // 2 + 1) % size} if size <= WINDOW else {0, 1})
        outputs, times = [], []
        for shift in shifts:
            # Cycled to whole calls of `size` rows (sizes that do not divide the probe rows).
            rows = np.resize(np.roll(self.rows, shift, axis=0), (-(-top // size) * size, *self.rows.shape[1:]))
            positions = (self.compared + shift) % top
            results = {}
            for chunk in sorted(set(positions // size)):
                start = time.perf_counter()
                results[chunk] = np.asarray(call(rows[chunk * size : (chunk + 1) * size]))
                times.append(time.perf_counter() - start)
            outputs.append(np.stack([results[p // size][p % size] for p in positions]))
        # The first call of a size compiles (JAX) or warms caches: not timed.
        self.times[key] = min(times[1:]) if len(times) > 1 else times[0]
        self.calls[key] = (call, size)
        if all(np.array_equal(out, outputs[0], equal_nan=True) for out in outputs[1:]):
            return outputs[0]
        return None

    def retime(self, keys, rounds=TIMING_ROUNDS):
        """Time the calls measured under ``keys`` again, interleaved round by round; keep each one's fastest.

        Interleaved, a burst of load slows every size alike rather than one.
        """
        keys = list(dict.fromkeys(keys))
        for _ in range(rounds):
            for key in keys:
                call, size = self.calls[key]
                rows = np.resize(self.rows, (size, *self.rows.shape[1:]))
                start = time.perf_counter()
                call(rows)
                self.times[key] = min(self.times[key], time.perf_counter() - start)

    def agree(self, a, b):
        """Whether two signatures exist and are the same bits."""
        sa, sb = self.signatures.get(a), self.signatures.get(b)
        return sa is not None and sb is not None and np.array_equal(sa, sb, equal_nan=True)

    def rate(self, key, rows):
        """Seconds per row of the call measured under ``key``, of ``rows`` rows."""
        return self.times[key] / rows


def _ladder(top):
    return tuple(size for size in LADDER if size <= top)


def choose_plan(call, model, input_shape, chunks=None):
    """Choose how to run ``model`` on this machine so that a row's bits do not depend on its batch.

    Parameters
    ----------
    call : callable
        The compiled model (:func:`compile_model`).
    model : keras.Model
        The model itself (JAX compiles a loop of it).
    input_shape : tuple of int
        The shape of one sample.
    chunks : tuple of (int, int, int) or None, default=None
        ``(small, large, step)`` to check first; None takes the backend's
        :data:`CHUNKS`.

    Returns
    -------
    InferencePlan
        The defaults where they compute a row alike, else the broadest
        group of probed sizes that agree (the most sizes; of those, the
        one that reaches the largest calls): calls of its smallest size for
        the last rows, one call of its largest per bulk chunk.
    """
    began = time.perf_counter()
    backend = keras.backend.backend()
    small, large, step = chunks or CHUNKS.get(backend, (8, 256, 256))
    if large % step or large % small:
        raise ValueError(f"large={large} is not a multiple of step={step} and small={small}.")
    # Big samples (large images) get fewer rows a call, so that the probe
    # rows, and one large chunk, stay within PROBE_BYTES.
    fits = PROBE_BYTES // (4 * math.prod(input_shape))
    if fits < large:
        unit = small if step == large else step  # a one-call chunk shrinks with its call
        large = max(unit, fits // unit * unit)
        step = min(step, large)
    top = max(size for size in LADDER if size <= max(1, fits))
    rng = np.random.default_rng(PROBE_SEED)
    probe = _Probe(call, rng.random((top, *input_shape), dtype=np.float32))

    def ratios(small_size, bulk_rate):
        fastest = min(probe.rate(size, size) for size in probe.times if isinstance(size, int))
        one_row = probe.times[small_size] / probe.times[1] if 1 in probe.times else None
        return one_row, bulk_rate / fastest

    # The defaults: their small call and their bulk. Where the bulk is one
    # call, it is the fastest call there is (per row), so the defaults need
    # no timing; a loop of calls is timed against one call of its rows.
    for size in (small, large):
        probe.signature(size)
    if step == large:
        default_key, default_rows, loop = large, large, "one call"
    elif backend == "jax":
        default_key, default_rows, loop = ("loop", step, large), large, "compiled loop"
        probe.signature(large, _jax_chunk_loop(model, step), key=default_key)
    else:
        default_key, default_rows, loop = step, step, "calls"
        probe.signature(step)
    if probe.signatures[small] is not None and probe.agree(default_key, small):
        # Kept whatever they cost: the choice rests on the bits alone, so
        # every process on this machine, and every model of the same shapes,
        # chooses alike (timings move with the load; the plan must not).
        if loop != "one call":
            probe.retime([large, default_key])
        one_row, bulk = ratios(small, probe.rate(default_key, default_rows))
        default = InferencePlan(backend, "exact", small, large, step, loop, one_row_ratio=one_row, bulk_ratio=bulk)
        return _finish(probe, default, began, "The backend's default sizes compute a row alike here.")

    # The ladder: every size, grouped by the bits it gives the compared rows.
    for size in _ladder(top):
        probe.signature(size)
    # The broadest group (the most sizes that agree; of those, the one that
    # reaches the largest calls), by the bits alone, as above: small calls
    # of its smallest size, the bulk in one call of its largest.
    group = max(_groups(probe, _ladder(top)), key=lambda sizes: (len(sizes), max(sizes)))
    one_row, bulk = ratios(min(group), probe.rate(max(group), max(group)))
    plan = InferencePlan(
        backend, "exact", min(group), max(group), max(group), "one call", one_row_ratio=one_row, bulk_ratio=bulk
    )
    why = "The backend's default sizes gave a row other bits by its call or position here"
    return _finish(probe, plan, began, f"{why}; the broadest group of sizes that agree took over.")


def _groups(probe, sizes):
    """Return the probed sizes that keep a row's bits at every position, grouped by the bits they give."""
    groups = []
    for size in sizes:
        if probe.signatures[size] is None:
            continue
        for group in groups:
            if probe.agree(group[0], size):
                group.append(size)
                break
        else:
            groups.append([size])
    return [tuple(group) for group in groups]


def _finish(probe, plan, began, reason):
    probed = [size for size in sorted(s for s in probe.signatures if isinstance(s, int))]
    return replace(
        plan,
        agreeing=tuple(size for size in probed if probe.agree(size, plan.small)),
        groups=tuple(_groups(probe, probed)),
        probe_seconds=time.perf_counter() - began,
        reason=reason,
    )


class ChunkedModel:
    """``model`` at inference on any number of rows, run as its :class:`InferencePlan` says.

    Parameters
    ----------
    model : keras.Model
        A built model with one input and one output.
    input_shape : tuple of int
        The shape of one sample of the model's input.
    chunks : tuple of (int, int, int) or None, default=None
        ``(small, large, step)`` rows to check first (see :data:`CHUNKS`);
        None takes the backend's. ``large`` must be a multiple of ``step``
        and ``small``.
    mode : {"exact", "fast"}, default="exact"
        ``"exact"`` chooses a plan that keeps a row's bits its own
        (:func:`choose_plan`) and warns where it costs more than
        :data:`WARN_RATIO` times the bare call; ``"fast"`` runs blocks of
        up to :data:`BLOCK_BYTES` of input as one call each.

    Attributes
    ----------
    plan : InferencePlan
        The sizes in use, and why.
    """

    def __init__(self, model, input_shape, chunks=None, mode="exact"):
        if mode not in INFERENCE_MODES:
            raise ValueError(f"inference must be one of {INFERENCE_MODES}; got {mode!r}.")
        self.model, self.input_shape = model, tuple(input_shape)
        self.backend = keras.backend.backend()
        self._call = compile_model(model, self.input_shape)
        if mode == "fast":
            rows = max(1, BLOCK_BYTES // (4 * math.prod(self.input_shape)))
            self.plan = InferencePlan(
                self.backend, "fast", 0, rows, rows, "one call", reason="Asked for with inference='fast'."
            )
            return
        plan = choose_plan(self._call, model, self.input_shape, chunks)
        self._call_large = self._call
        if plan.loop == "compiled loop":
            self._call_large = _jax_chunk_loop(model, plan.step)
        elif plan.loop == "calls":
            self._call_large = _calls_of(self._call, plan.step)
        # TensorFlow's loop over a block of one-call chunks is built and
        # checked at the first input that needs it (two chunks or more in a
        # block): most models, in tests and small fits, never see one, and
        # tracing it costs about a bulk call's time.
        # ``plan.block_loop`` is None until then.
        self._lock, self._loop = threading.Lock(), None
        if self.backend == "tensorflow" and plan.loop == "one call":
            plan = replace(plan, block_loop=None)
        self.plan = plan
        if plan.bulk_ratio > WARN_RATIO:
            warnings.warn(
                f"On this machine, {self.backend}'s kernels give a row the same bits in any batch only in calls "
                f"of {list(plan.agreeing)} rows, and the plan chosen among them costs an estimated "
                f"{plan.bulk_ratio:.1f}x the bare call in bulk. Set "
                "inference='fast' on the estimator to run large blocks of rows as one call each, where a row's "
                "last bits may depend on its batch. The plan: estimator.inference_plan().",
                InferenceCostWarning,
                stacklevel=2,
            )

    @property
    def small(self):
        """Rows of a small call (see :class:`InferencePlan`)."""
        return self.plan.small

    @property
    def large(self):
        """Rows of a bulk chunk (see :class:`InferencePlan`)."""
        return self.plan.large

    def __call__(self, x):
        """Return the model's output for the samples ``x``, float32; a scipy sparse ``x`` is densified per block.

        Memory holds the output plus one block of at most
        :data:`BLOCK_BYTES` of input (or one large chunk, where that is
        more): each block is cast to float32 on its own, never the whole
        input at once.
        """
        n = n_rows(x)
        if n == 0:
            raise ValueError("Found array with 0 sample(s) while a minimum of 1 is required.")
        if self.plan.mode == "fast":
            return self._fast(x, n)
        small, large = self.plan.small, self.plan.large
        if n <= small and isinstance(x, np.ndarray):
            # A server's one row: one padded call, nothing else.
            chunk = np.zeros((small, *x.shape[1:]), dtype=np.float32)
            chunk[:n] = x
            return np.asarray(self._call(chunk))[:n]
        # The rest after the full large chunks: small calls where they are
        # few, else one padded large chunk (the same bits, checked by the plan).
        bulk = n - n % large
        if n - bulk > large // 8:
            bulk = n
        # The bulk goes in blocks of whole large chunks, each cast to
        # float32 on its own, and run chunk by chunk, or as one call of
        # TensorFlow's loop over them; a padded last chunk runs alone, so
        # that padding copies one chunk, not a block.
        block = large * max(1, BLOCK_BYTES // (4 * math.prod(self.input_shape) * large))
        parts = []
        for start in range(0, bulk, block):
            rows = min(block, bulk - start)
            whole = rows - rows % large
            loop = self._block_loop() if whole > large else None
            if loop is not None:
                parts.append((start, whole, whole, loop))
            elif whole:
                parts.append((start, whole, large, self._call_large))
            if rows > whole:
                parts.append((start + whole, rows - whole, large, self._call_large))
        parts += [(start, min(small, n - start), small, self._call) for start in range(bulk, n, small)]
        return self._run(x, n, parts)

    def _block_loop(self):
        """Return TensorFlow's compiled loop over a block of chunks, or None where a block runs chunk by chunk.

        Built at first need, and kept only where it gives two chunks of
        probe rows the bits of each chunk's own call (``plan.block_loop``
        says which).
        """
        if self.plan.block_loop is None:
            with self._lock:
                if self.plan.block_loop is None:
                    large = self.plan.large
                    loop = _tensorflow_chunk_loop(self.model, self.input_shape, large)
                    self._loop = loop if _loop_keeps_the_bits(loop, self._call, self.input_shape, large) else None
                    self.plan = replace(self.plan, block_loop=self._loop is not None)
        return self._loop

    def _fast(self, x, n):
        """Blocks of up to ``plan.large`` rows, one call each; JAX's last block padded to a power of two.

        Padding the last block bounds JAX's compilations (one per shape) to
        a few block sizes; TensorFlow's function and PyTorch take any size.
        """
        parts = []
        for start in range(0, n, self.plan.large):
            rows = min(self.plan.large, n - start)
            unit = min(self.plan.large, 1 << (rows - 1).bit_length()) if self.backend == "jax" else rows
            parts.append((start, rows, unit, self._call))
        return self._run(x, n, parts)

    def _run(self, x, n, parts):
        """Run ``parts``: ``(start, rows, unit, call)``, ``rows`` rows from ``start`` zero-padded to whole units."""
        out = None
        for start, rows, unit, call in parts:
            chunk = dense_rows(x[start : start + rows], np.float32)
            padded = -(-rows // unit) * unit
            if padded > rows:  # one new array, zeros after the rows
                whole = np.empty((padded, *chunk.shape[1:]), dtype=np.float32)
                whole[:rows], whole[rows:] = chunk, 0
                chunk = whole
            for offset in range(0, rows, unit):
                result = np.asarray(call(chunk[offset : offset + unit]))[: rows - offset]
                if out is None:
                    out = np.empty((n, *result.shape[1:]), dtype=np.float32)
                out[start + offset : start + offset + len(result)] = result
        return out


def chunked_model(cache, key, model, input_shape, mode="exact"):
    """Return the cached :class:`ChunkedModel` of ``model`` in ``mode``, built on first use.

    ``cache`` is a dict the caller owns (a fitted network keeps one per
    model, and drops it when pickled); ``cache[key, mode]`` keeps the
    :class:`ChunkedModel` with the model, backend and input shape it was
    built for, and is rebuilt when any of them is no longer the one asked
    for. Nobody needs to clear it: the compiled functions read the model's
    weights when they run.
    """
    backend, input_shape = keras.backend.backend(), tuple(input_shape)
    entry = cache.get((key, mode))
    if entry is None or entry[0] is not model or entry[1:3] != (backend, input_shape):
        with _BUILD_LOCK:
            entry = cache.get((key, mode))
            if entry is None or entry[0] is not model or entry[1:3] != (backend, input_shape):
                entry = cache[key, mode] = (model, backend, input_shape, ChunkedModel(model, input_shape, mode=mode))
    return entry[3]
