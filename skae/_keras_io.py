"""A Keras model as the bytes of its ``.keras`` archive, loaded back in Keras's safe mode.

The one way skae turns a model into data: ``save`` writes these bytes into
its file, and pickling and skops hold them (through
:mod:`skae._persistence`'s codec, and :class:`skae._networks.AutoencoderNetwork`'s
state), so no live Keras object is ever pickled and no stored code runs on
loading. Keras is imported inside the functions: importing this module
loads no framework.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import warnings

__all__ = ["model_from_bytes", "model_to_bytes", "tensorflow_left_alone"]


@contextlib.contextmanager
def tensorflow_left_alone():
    """Keep Keras's (de)serializer from importing TensorFlow under another backend.

    Keras's serializer asks whether each value is a TensorFlow type, and
    imports TensorFlow to ask whenever it is installed: seconds and hundreds
    of megabytes for a JAX or PyTorch user who never uses it. While
    TensorFlow is not imported no value can be one of its types, so the
    answer is known; this tells Keras's lazy TensorFlow handle so for the
    duration of the call.
    """
    import keras

    probe = None
    if keras.backend.backend() != "tensorflow" and "tensorflow" not in sys.modules:
        try:
            from keras.src.utils.module_utils import tensorflow as probe
        except ImportError:  # another Keras layout: let it import
            probe = None
    if probe is None or not hasattr(probe, "_available"):
        yield
        return
    saved = probe._available
    probe._available = False
    try:
        yield
    finally:
        probe._available = saved


def model_to_bytes(model):
    """Return ``model`` as the bytes of a Keras ``.keras`` archive.

    Used by :func:`save` and by the estimators' pickling state, so that a
    pickled or skops-serialised estimator holds no live Keras object, only
    bytes that :func:`model_from_bytes` loads in Keras's safe mode.
    """
    with tempfile.TemporaryDirectory() as tmp:
        model_path = os.path.join(tmp, "model.keras")
        with warnings.catch_warnings(), tensorflow_left_alone():
            # A template that was never built has no weights to save, and
            # needs none: fit builds a fresh copy.
            warnings.filterwarnings("ignore", message="You are saving a model that has not yet been built")
            model.save(model_path)
        with open(model_path, "rb") as f:
            return f.read()


def model_from_bytes(data, *, compile=True):
    """Load the Keras model that :func:`model_to_bytes` wrote, in safe mode.

    Raises
    ------
    ValueError
        If the bytes are not a ``.keras`` archive Keras can load without
        running stored code, naming the cause.
    """
    import keras

    from . import _builders

    with tempfile.TemporaryDirectory() as tmp:
        model_path = os.path.join(tmp, "model.keras")
        with open(model_path, "wb") as f:
            f.write(data)
        try:
            with tensorflow_left_alone():
                return keras.saving.load_model(
                    model_path, safe_mode=True, compile=compile, custom_objects=_builders.custom_objects()
                )
        except Exception as exc:
            raise ValueError(
                f"a Keras model that cannot be loaded safely: {exc}. skae loads models with "
                "safe_mode=True and never runs code stored in a file; a custom layer must be registered with "
                "keras.saving.register_keras_serializable and imported before loading"
            ) from exc
