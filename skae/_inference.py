"""Fast inference: one compiled function per model, and NumPy for a few rows.

A web server calls ``transform`` on one row at a time, where the fixed cost
of a call dominates: calling a Keras model eagerly costs about a millisecond,
``model.predict`` tens of milliseconds, and Keras's own ``predict_on_batch``
traces a new graph for every new batch size (TensorFlow's "retracing"
warnings). :class:`InferenceFunction` runs one model two ways:

* a ``tf.function`` traced once, with the batch axis left free in its input
  signature, so no batch size ever retraces it; it reads the model's
  variables, so it always sees the current weights. Large inputs go through
  it in chunks (:func:`skae._training.predict_in_batches`).
* for at most :data:`SMALL_BATCH` rows, when the model is a ``Sequential``
  stack of layers this module knows (``Dense``, ``Conv2D``,
  ``Conv2DTranspose``, ``Flatten``, ``Reshape`` and the layers that are the
  identity at inference), a NumPy forward pass over a copy of the weights:
  tens of microseconds where the smallest TensorFlow call costs hundreds.
  Its results match the compiled function's within float32 rounding
  (1e-5). Any other model (a user's functional or subclassed network) uses
  the compiled function for every batch size.

The copy of the weights is taken when the function is built. Estimators
build their functions on first use after each fit and drop them when
training changes the weights (and when pickled); code that changes
``encoder_``'s or ``decoder_``'s weights by hand must do the same (see
``AutoencoderTransformer``'s Notes). Both ways only read shared state, so
many threads may run one function at once.
"""

from __future__ import annotations

import threading

import keras
import numpy as np

from ._training import predict_in_batches

# Batches of at most this many rows use the NumPy forward pass when the
# model allows it: beyond, TensorFlow's threaded kernels win.
SMALL_BATCH = 32

_BUILD_LOCK = threading.Lock()


class _SingleThreadedBLAS:
    """Run BLAS on one thread while any small NumPy forward pass runs.

    A one-row product with a 784x784 matrix is large enough for OpenBLAS to
    split it over its threads, and on a busy machine waiting for the second
    thread turned 0.03 ms into 10 ms (median). The limit is process-wide,
    so concurrent callers share it: the first one in sets it, the last one
    out restores the previous setting.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._users = 0
        self._saved = []
        self._blas = None

    def __enter__(self):
        with self._lock:
            if self._users == 0:
                if self._blas is None:
                    from threadpoolctl import ThreadpoolController  # a dependency of scikit-learn

                    self._blas = [lib for lib in ThreadpoolController().lib_controllers if lib.user_api == "blas"]
                # One ctypes call per library: threadpoolctl's own limit()
                # context re-reads every library's state, ten times slower.
                self._saved = [(lib, lib.get_num_threads()) for lib in self._blas]
                for lib, _ in self._saved:
                    lib.set_num_threads(1)
            self._users += 1

    def __exit__(self, *exc_info):
        with self._lock:
            self._users -= 1
            if self._users == 0:
                for lib, n_threads in self._saved:
                    lib.set_num_threads(n_threads)
                self._saved = []


_SINGLE_THREADED_BLAS = _SingleThreadedBLAS()


def _elu(x):
    return np.where(x > 0, x, np.expm1(np.minimum(x, 0)))


def _sigmoid(x):
    # exp of a negative argument only, so no overflow warning for large |x|.
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


def _softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


ACTIVATIONS = {
    "linear": lambda x: x,
    "relu": lambda x: np.maximum(x, 0),
    "elu": _elu,
    "sigmoid": _sigmoid,
    "tanh": np.tanh,
    "softmax": _softmax,
}


def _activation(layer):
    name = keras.activations.serialize(layer.activation)
    name = name if isinstance(name, str) else name.get("config", name.get("class_name"))
    return ACTIVATIONS.get(name)


def _array(variable):
    """Return a copy of a Keras variable's value as a float32 array."""
    return np.array(variable.value.numpy(), dtype=np.float32)


def _same_padding(size, kernel, stride):
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def _conv2d(layer):
    if layer.data_format != "channels_last" or tuple(layer.dilation_rate) != (1, 1) or layer.groups != 1:
        return None
    kernel = _array(layer.kernel)
    bias = _array(layer.bias) if layer.use_bias else 0.0
    (kh, kw), (sh, sw), padding = layer.kernel_size, layer.strides, layer.padding
    weights = kernel.reshape(kh * kw * kernel.shape[2], kernel.shape[3])

    def conv(x):
        if padding == "same":
            x = np.pad(x, ((0, 0), _same_padding(x.shape[1], kh, sh), _same_padding(x.shape[2], kw, sw), (0, 0)))
        patches = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(1, 2))[:, ::sh, ::sw]
        # (n, oh, ow, c, kh, kw) -> rows of (kh, kw, c), the kernel's order.
        n, oh, ow = patches.shape[:3]
        rows = patches.transpose(0, 1, 2, 4, 5, 3).reshape(n * oh * ow, -1)
        return (rows @ weights + bias).reshape(n, oh, ow, -1)

    return conv


def _conv2d_transpose(layer):
    if (
        layer.data_format != "channels_last"
        or tuple(layer.dilation_rate) != (1, 1)
        or getattr(layer, "output_padding", None) is not None
    ):
        return None
    kernel = _array(layer.kernel)  # (kh, kw, out, in)
    bias = _array(layer.bias) if layer.use_bias else 0.0
    (kh, kw), (sh, sw), padding = layer.kernel_size, layer.strides, layer.padding
    weights = kernel.transpose(3, 0, 1, 2).reshape(kernel.shape[3], -1)  # in -> (kh, kw, out)

    def size(n, k, s):
        full = (n - 1) * s + k
        if padding == "same":
            out = n * s
            return full, out, max(k - s, 0) // 2
        return full, n * s + max(k - s, 0), 0

    def conv_transpose(x):
        n, h, w, _ = x.shape
        (full_h, out_h, top), (full_w, out_w, left) = size(h, kh, sh), size(w, kw, sw)
        parts = (x.reshape(n * h * w, -1) @ weights).reshape(n, h, w, kh, kw, -1)
        out = np.zeros((n, max(full_h, top + out_h), max(full_w, left + out_w), parts.shape[-1]), np.float32)
        for a in range(kh):
            for b in range(kw):
                out[:, a : a + (h - 1) * sh + 1 : sh, b : b + (w - 1) * sw + 1 : sw] += parts[:, :, :, a, b]
        return out[:, top : top + out_h, left : left + out_w] + bias

    return conv_transpose


def _dense(layer):
    kernel = _array(layer.kernel)
    bias = _array(layer.bias) if layer.use_bias else 0.0
    return lambda x: x @ kernel + bias


# Layers that return their input at inference.
IDENTITY = ("InputLayer", "Dropout", "ActivityRegularization", "GaussianNoise", "GaussianDropout", "SpatialDropout2D")


def _numpy_steps(model):
    """Return the NumPy functions that run the ``Sequential`` ``model`` layer by layer, or None."""
    if not isinstance(model, keras.Sequential):
        return None
    steps = []
    for layer in model.layers:
        kind = type(layer).__name__
        if isinstance(layer, keras.Sequential):
            inner = _numpy_steps(layer)
            if inner is None:
                return None
            steps.extend(inner)
            continue
        if kind in IDENTITY:
            continue
        if kind == "Flatten":
            steps.append(lambda x: x.reshape(len(x), -1))
            continue
        if kind == "Reshape":
            steps.append(lambda x, shape=tuple(layer.target_shape): x.reshape(len(x), *shape))
            continue
        if kind == "GaussianSampler":  # the VAE's latent layer returns the mean at inference
            steps.append(lambda x: x[..., : x.shape[-1] // 2])
            continue
        build = {"Dense": _dense, "Conv2D": _conv2d, "Conv2DTranspose": _conv2d_transpose}.get(kind)
        step = build(layer) if build is not None and type(layer) is getattr(keras.layers, kind) else None
        activation = _activation(layer) if step is not None else None
        if activation is None:
            return None
        steps.append(step)
        steps.append(activation)
    return steps


class InferenceFunction:
    """Run one Keras model on float32 NumPy arrays, fast for any number of rows.

    Parameters
    ----------
    model : keras.Model
        A built model with one input.
    input_shape : tuple of int
        The shape of one sample of the model's input.
    """

    def __init__(self, model, input_shape):
        import tensorflow as tf

        spec = tf.TensorSpec((None, *input_shape), tf.float32)
        self.compiled = tf.function(lambda x: model(x, training=False), input_signature=[spec], autograph=False)
        self.compiled = self.compiled.get_concrete_function()
        self.numpy_steps = _numpy_steps(model)

    def predict_on_batch(self, x):
        """Return the model's output for the float32 array ``x``, through the compiled function."""
        return self.compiled(x).numpy()

    def __call__(self, x):
        """Return the model's output for ``x`` (float32): NumPy for a few rows when possible."""
        if self.numpy_steps is not None and len(x) <= SMALL_BATCH:
            x = np.asarray(x, dtype=np.float32)
            with _SINGLE_THREADED_BLAS:
                for step in self.numpy_steps:
                    x = step(x)
            return np.asarray(x, dtype=np.float32)
        return predict_in_batches(self, x)


def inference_function(cache, key, model, input_shape):
    """Return ``cache[key]``, an :class:`InferenceFunction` of ``model``, building it once."""
    function = cache.get(key)
    if function is None:
        with _BUILD_LOCK:
            function = cache.get(key)
            if function is None:
                function = cache[key] = InferenceFunction(model, input_shape)
    return function
