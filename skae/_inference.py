"""Inference: one compiled function per model, the backend's own way.

A web server calls ``transform`` on one row at a time, where the fixed
cost of a call dominates: ``model.predict`` builds a data adapter and
callbacks on every call (tens of milliseconds even for one row), and a
plain eager call costs a millisecond or more. :func:`inference_function`
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

A row's output must not depend on the batch it comes in. CPU kernels
choose their blocking (and so the order of their floating-point sums) by
the batch size, so :func:`run_in_batches` runs every input in chunks of a
few fixed sizes: chunks of :data:`INFERENCE_BATCH_SIZE` rows, and the rest
zero-padded to the next of :data:`BUCKETS`. One row alone and the same row
among twenty then go through the same 32-row computation, and JAX compiles
at most ``len(BUCKETS)`` shapes.
"""

from __future__ import annotations

import threading

import keras
import numpy as np

from ._layout import dense_rows, n_rows

#: Rows per inference call: large enough to amortise the per-call cost,
#: small enough that one batch of conv activations stays around 100 MB.
INFERENCE_BATCH_SIZE = 4096
#: The padded sizes of a chunk shorter than INFERENCE_BATCH_SIZE: powers of
#: two, so padding at most doubles the last chunk (and a 10,000-row input
#: computes 10,240 rows), and JAX compiles at most eight shapes.
BUCKETS = (32, 64, 128, 256, 512, 1024, 2048, INFERENCE_BATCH_SIZE)

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


def _bucket(n_rows):
    for size in BUCKETS:
        if n_rows <= size:
            return size
    return n_rows


def run_in_batches(function, x, *, batch_size=INFERENCE_BATCH_SIZE):
    """Run ``function`` on ``x`` in fixed-size chunks and return a float32 array.

    Memory stays bounded by the output plus one chunk: each chunk is cast
    to float32 on its own, never the whole input at once, and a scipy
    sparse ``x`` is densified one chunk at a time. A chunk shorter
    than ``batch_size`` is zero-padded to the next of :data:`BUCKETS`, so
    a row's result does not depend on how many rows came with it.
    """
    n = n_rows(x)
    out = None
    for start in range(0, n, batch_size):
        chunk = dense_rows(x[start : start + batch_size], np.float32)
        filled = len(chunk)
        size = min(_bucket(filled), batch_size)
        if size > filled:
            chunk = np.concatenate([chunk, np.zeros((size - filled, *chunk.shape[1:]), dtype=np.float32)])
        result = np.asarray(function(chunk))[:filled]
        if out is None:
            out = np.empty((n, *result.shape[1:]), dtype=np.float32)
        out[start : start + filled] = result
    if out is None:  # no rows
        raise ValueError("Found array with 0 sample(s) while a minimum of 1 is required.")
    return out


def predict(cache, key, model, input_shape, x):
    """Return ``model``'s output for the samples ``x`` (float32), compiled once per model.

    ``cache`` is a dict the caller owns (an estimator keeps one per fitted
    model, and drops it when pickled); ``cache[key]`` keeps the compiled
    function with the model, backend and input shape it was built for, and
    is rebuilt when any of them is no longer the one asked for. Nobody
    needs to clear it: the function reads the model's weights when it
    runs.
    """
    backend, input_shape = keras.backend.backend(), tuple(input_shape)
    entry = cache.get(key)
    if entry is None or entry[0] is not model or entry[1:3] != (backend, input_shape):
        with _BUILD_LOCK:
            entry = cache.get(key)
            if entry is None or entry[0] is not model or entry[1:3] != (backend, input_shape):
                entry = cache[key] = (model, backend, input_shape, compile_model(model, input_shape))
    return run_in_batches(entry[3], x)
