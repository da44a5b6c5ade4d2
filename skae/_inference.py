"""Inference: one compiled function per model, the backend's own way, bit-identical for a row in any batch.

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
sits in it. CPU kernels choose their blocking, and so the order of their
floating-point sums, by the number of rows of a call: one row alone, a
row among 20 and a row among 10,000 can differ in the last bits. So no
call here ever sees a number of rows of its own choosing.
:class:`ChunkedModel` runs every input as

* chunks of ``large`` rows (bulk), then
* the rest in chunks of ``small`` rows, the last one zero-padded (or,
  where more than ``large / 8`` rows are left, one zero-padded chunk of
  ``large`` rows),

with ``(small, large, step)`` from :data:`CHUNKS` for the backend. A chunk of
``large`` rows is either one call of the model (TensorFlow, PyTorch:
large calls are what their kernels are fast at) or ``large / step`` calls
of ``step`` rows inside one compiled loop (JAX, ``jax.lax.map``). The two
paths give the same bits only if the kernels compute a row the same way at
both sizes and at every position in a chunk. That holds on the machines
this was measured on, but it is the kernels' choice, not skae's: so each
:class:`ChunkedModel` checks it once, when it is compiled, on probe rows
shifted through the positions of a chunk
(:meth:`ChunkedModel._large_matches_small`), and where
it does not hold runs the bulk as a loop of ``small``-row calls too, which
computes every row the same way by construction. Either way a row's bits
are those of a ``small``-row call with that row in it.
"""

from __future__ import annotations

import math
import threading

import keras
import numpy as np

from ._layout import dense_rows, n_rows

#: Rows per chunk of a memory-bounded pass (the scores, sparse input): one
#: chunk of conv activations stays around 100 MB. It only bounds memory:
#: each such chunk runs in ``CHUNKS``' sizes like any input.
INFERENCE_BATCH_SIZE = 4096
#: ``(small, large, step)`` rows, by backend. ``small`` is what
#: one row costs: the padding of 1 row to ``small`` costs little against a
#: call's fixed cost. ``large`` is where bulk inference runs near the speed
#: of one call on all rows (see ``benchmarks/inference_chunks.py``).
#: ``step`` is the rows of one call inside a large chunk: TensorFlow and
#: PyTorch run a large chunk as one call (``step == large``); JAX runs it
#: as ``large / step`` calls of ``step`` rows in one ``jax.lax.map``,
#: because its kernels sum a row of an 8-row call another way than of a
#: 512-row one (measured: rows agree for 2-16 rows a call, and from 51 on;
#: a 4-row small call took 1.24x / 1.67x the bare 1-row call of the
#: tutorial dense / conv encoders, an 8-row one 1.46x / 2.27x).
#: TensorFlow's kernels agreed from 2 to 1,024 rows a call, PyTorch's from
#: 8 on; each network checks its own when first used.
CHUNKS = {"tensorflow": (4, 1024, 1024), "jax": (4, 512, 16), "torch": (8, 1024, 1024)}
#: Seed of the probe rows that check the large path against the small one.
PROBE_SEED = 20261205
#: The most bytes of input a large chunk (and so the probe) may hold.
PROBE_BYTES = 64 * 2**20
#: The most bytes of input that ``transform`` holds as float32 at once: a
#: block of large chunks, handed to the backend in one piece.
BLOCK_BYTES = 16 * 2**20

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


class ChunkedModel:
    """``model`` at inference on any number of rows, each row computed the same way whatever its batch.

    Parameters
    ----------
    model : keras.Model
        A built model with one input and one output.
    input_shape : tuple of int
        The shape of one sample of the model's input.
    chunks : tuple of (int, int, int) or None, default=None
        ``(small, large, step)`` rows: of a small call, of a large chunk
        and of one call in a large chunk (see :data:`CHUNKS`); None takes
        the backend's. ``large`` must be a multiple of ``step``.

    Attributes
    ----------
    small, large : int
        The chunk sizes in use. ``small`` is the one asked for, or 1 where
        the kernels computed a row differently by its position in a chunk
        of that size (then every row runs in a call of its own, which is
        the same computation by construction).
    large_matches_small : bool
        Whether a chunk of ``large`` rows gave the bits of ``small``-row
        calls on the probe rows, in every position; if not, the bulk runs
        as ``small``-row calls as well.
    """

    def __init__(self, model, input_shape, chunks=None):
        self.model, self.input_shape = model, tuple(input_shape)
        self.backend = keras.backend.backend()
        small, self.large, self.step = chunks or CHUNKS.get(self.backend, (8, 256, 256))
        step = self.step
        if self.large % step or self.large % small:
            raise ValueError(f"large={self.large} is not a multiple of step={step} and small={small}.")
        # Large samples (big images) get fewer rows a large chunk, so that
        # one chunk, and the probe rows, stay within PROBE_BYTES.
        fits = PROBE_BYTES // (4 * math.prod(self.input_shape))
        if fits < self.large:
            unit = small if step == self.large else step  # a one-call chunk shrinks with its call
            self.large = max(unit, fits // unit * unit)
            self.step = step = min(step, self.large)
        self._call = compile_model(model, self.input_shape)
        rng = np.random.default_rng(PROBE_SEED)
        self._probe = rng.random((self.large, *self.input_shape), dtype=np.float32)
        # The shifts put each probe row in other positions of a chunk.
        self._shifts = (1, small // 2 + 1) if small > 1 else ()
        self.small = small if self._small_is_positionless(small, self._probe[: 4 * small]) else 1
        self._call_large = self._call
        if step < self.large:
            self._call_large = _jax_chunk_loop(model, step) if self.backend == "jax" else self._calls_of(step)
        # TensorFlow copies a NumPy array into a tensor on every call, and
        # ten copies of 1,024 rows cost more than one of 10,240 rows (the
        # bulk took 1.3x to 1.5x the bare call, results section 17): a
        # block of large chunks becomes one tensor, and each call takes a
        # slice of it. JAX and PyTorch gained nothing measurable from it.
        self._feed = _tensorflow_tensor if self.backend == "tensorflow" else _same
        self.large_matches_small = self._large_matches_small()
        if not self.large_matches_small:
            self._call_large = self._calls_of(self.small)
        del self._probe

    def _calls_of(self, rows):
        """Return ``f(x)`` for ``x`` of a multiple of ``rows`` rows: one compiled call per ``rows`` rows."""

        def call(x):
            return np.concatenate([self._call(x[start : start + rows]) for start in range(0, len(x), rows)])

        return call

    def _small_is_positionless(self, small, probe):
        """Whether ``small``-row calls compute each ``probe`` row the same way in every position of the chunk."""
        calls = self._calls_of(small)
        reference = calls(probe)
        return all(
            np.array_equal(calls(np.roll(probe, shift, axis=0)), np.roll(reference, shift, axis=0), equal_nan=True)
            for shift in self._shifts
        )

    def _large_matches_small(self):
        """Whether the large path gives the small path's bits on probe rows, in several positions.

        The kernels pick their arithmetic by the shapes of a call, not by the
        values, so random rows show whether the two compute a row alike. A
        large chunk's rows are compared in three windows, at its start, its
        middle and its end (where a kernel's last, partial tile would be),
        and again with the rows shifted by one: a row's place in the tiles
        of both calls changes, at a small part of the cost of comparing
        every row.
        """
        width = min(self.large, 4 * max(self.small, 8))
        middle = (self.large // 2 - width // 2) // self.small * self.small
        windows = [slice(0, width), slice(middle, middle + width), slice(self.large - width, self.large)]
        small_calls = self._calls_of(self.small)
        for shift in (0, 1):
            probe = np.roll(self._probe, shift, axis=0)
            out = self._call_large(self._feed(probe))  # as __call__ feeds it
            for window in windows:
                if not np.array_equal(out[window], small_calls(probe[window]), equal_nan=True):
                    return False
        return True

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
        if n <= self.small and isinstance(x, np.ndarray):
            # A server's one row: one padded call, nothing else.
            chunk = np.zeros((self.small, *x.shape[1:]), dtype=np.float32)
            chunk[:n] = x
            return np.asarray(self._call(chunk))[:n]
        # The rest after the full large chunks: small calls where they are
        # few, else one padded large chunk (the same bits, checked above).
        bulk = n - n % self.large
        if n - bulk > self.large // 8:
            bulk = n
        # The bulk goes in blocks of whole large chunks, each block handed
        # to the backend once (see _feed), then called chunk by chunk.
        block = self.large * max(1, BLOCK_BYTES // (4 * math.prod(self.input_shape) * self.large))
        out = None
        for start, rows, unit, call in [
            *((start, min(block, bulk - start), self.large, self._call_large) for start in range(0, bulk, block)),
            *((start, min(self.small, n - start), self.small, self._call) for start in range(bulk, n, self.small)),
        ]:
            chunk = dense_rows(x[start : start + rows], np.float32)
            padded = -(-rows // unit) * unit
            if padded > rows:
                chunk = np.concatenate([chunk, np.zeros((padded - rows, *chunk.shape[1:]), dtype=np.float32)])
            chunk = self._feed(chunk)
            for offset in range(0, rows, unit):
                result = np.asarray(call(chunk[offset : offset + unit]))[: rows - offset]
                if out is None:
                    out = np.empty((n, *result.shape[1:]), dtype=np.float32)
                out[start + offset : start + offset + len(result)] = result
        return out


def _tensorflow_tensor(x):
    import tensorflow as tf

    return tf.convert_to_tensor(x)


def _same(x):
    return x


def _jax_chunk_loop(model, small):
    """Return ``f(x)`` for ``x`` of a multiple of ``small`` rows: ``small``-row calls in one ``jax.lax.map``."""
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
        out = np.asarray(compiled(trainable, non_trainable, x.reshape(-1, small, *x.shape[1:])))
        return out.reshape(len(x), *out.shape[2:])

    return call


def predict(cache, key, model, input_shape, x):
    """Return ``model``'s output for the samples ``x`` (float32), compiled once per model.

    ``cache`` is a dict the caller owns (a fitted network keeps one per
    model, and drops it when pickled); ``cache[key]`` keeps the
    :class:`ChunkedModel` with the model, backend and input shape it was
    built for, and is rebuilt when any of them is no longer the one asked
    for. Nobody needs to clear it: the compiled functions read the model's
    weights when they run.
    """
    backend, input_shape = keras.backend.backend(), tuple(input_shape)
    entry = cache.get(key)
    if entry is None or entry[0] is not model or entry[1:3] != (backend, input_shape):
        with _BUILD_LOCK:
            entry = cache.get(key)
            if entry is None or entry[0] is not model or entry[1:3] != (backend, input_shape):
                entry = cache[key] = (model, backend, input_shape, ChunkedModel(model, input_shape))
    return entry[3](x)
