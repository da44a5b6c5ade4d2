"""Saving a fitted estimator to one file and loading it back, without pickle.

The file is a zip archive of two members:

* ``skae.json``: the estimator's class, parameters and fitted attributes
  (plain JSON), the format version and the skae, Keras and scikit-learn
  versions that wrote it;
* ``model.keras``: the Keras model in Keras's own ``.keras`` format, which
  :func:`load` reads with ``safe_mode=True``.

An ``encoder`` or ``decoder`` parameter given as a Keras model is stored
as one more ``.keras`` member (``params/<name>.keras``); one given as a
function is stored by its import name (``module:qualname``).

Nothing is unpickled and no code stored in the file runs: the class is
looked up by name among the registered estimator classes
(:mod:`skae._registry`), a function parameter among the modules already
imported, parameters are JSON values, and Keras's safe mode refuses
serialised lambdas. Each class lists the fitted attributes it saves in
``_fitted_attributes``.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
import warnings
import zipfile
import zlib

import numpy as np
import sklearn

from ._layout import SampleLayout
from ._registry import class_name, registered_class
from ._version import __version__

# Keras is imported inside the functions that save or load a model, so
# importing this module (and ``skae.load``) loads no deep-learning framework.
# The estimator classes are not imported here: they import this module to
# save, and ``skae._load`` imports them all before it reads a file.

FORMAT = "skae-estimator"
# Version 2: model_ became the composition of encoder_ and decoder_, and
# layout_ replaced image_shape_ and _input_ndim.
FORMAT_VERSION = 2
METADATA = "skae.json"
MODEL = "model.keras"
# Parameters that only exist while training runs; they are not saved.
RUNTIME_PARAMS = ("callbacks",)


@contextlib.contextmanager
def _tensorflow_left_alone():
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


def _skae_version():
    return __version__


def _encode(name, value):
    import keras

    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return value.item()
    if isinstance(value, tuple):
        return {"tuple": [_encode(name, v) for v in value]}
    if isinstance(value, list):
        return [_encode(name, v) for v in value]
    if isinstance(value, np.ndarray):
        return {"ndarray": _encode(name, value.tolist()), "dtype": str(value.dtype)}
    if isinstance(value, dict):
        if not all(isinstance(key, str) for key in value):
            raise TypeError(f"Cannot save {name}: dict keys must be strings, got {list(value)!r}.")
        return {"dict": {key: _encode(name, v) for key, v in value.items()}}
    if isinstance(value, keras.optimizers.Optimizer):
        return {"keras_optimizer": keras.optimizers.serialize(value)}
    if isinstance(value, SampleLayout):
        return {"layout": {"sample_shape": list(value.sample_shape), "data_shape": list(value.data_shape)}}
    raise TypeError(
        f"Cannot save {name}={value!r}: save() stores parameters as plain JSON values "
        "(numbers, strings, booleans, None, lists, tuples and Keras optimizers). Set it to such a "
        "value (for example an activation's name instead of a function) or use pickle."
    )


def _decode(value):
    import keras

    if isinstance(value, list):
        return [_decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    if "tuple" in value:
        return tuple(_decode(v) for v in value["tuple"])
    if "ndarray" in value:
        dtype = np.dtype(value["dtype"])
        items = _decode(value["ndarray"])
        # Object arrays are only ever feature names: strings.
        if dtype.kind not in "biufUSO" or (dtype.kind == "O" and not all(isinstance(v, str) for v in np.ravel(items))):
            raise ValueError(f"unsupported array of dtype {dtype}")
        return np.asarray(items, dtype=dtype)
    if "dict" in value:
        return {key: _decode(v) for key, v in value["dict"].items()}
    if "keras_optimizer" in value:
        return keras.optimizers.deserialize(value["keras_optimizer"])
    if "layout" in value:
        layout = value["layout"]
        return SampleLayout(tuple(layout["sample_shape"]), tuple(layout["data_shape"]))
    raise ValueError(f"unknown value {value!r}")


def _find_callable(name):
    """Return the function called ``module:qualname`` in an already-imported module, or None."""
    module_name, _, qualname = name.partition(":")
    obj = sys.modules.get(module_name)
    for part in qualname.split("."):
        if obj is None or part.startswith("<"):  # "<locals>", "<lambda>": not reachable by name
            return None
        obj = getattr(obj, part, None)
    return obj if callable(obj) else None


def model_to_bytes(model):
    """Return ``model`` as the bytes of a Keras ``.keras`` archive.

    Used by :func:`save` and by the estimators' pickling state, so that a
    pickled or skops-serialised estimator holds no live Keras object, only
    bytes that :func:`model_from_bytes` loads in Keras's safe mode.
    """
    with tempfile.TemporaryDirectory() as tmp:
        model_path = os.path.join(tmp, "model.keras")
        with warnings.catch_warnings(), _tensorflow_left_alone():
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
            with _tensorflow_left_alone():
                return keras.saving.load_model(
                    model_path, safe_mode=True, compile=compile, custom_objects=_builders.custom_objects()
                )
        except Exception as exc:
            raise ValueError(
                f"a Keras model that cannot be loaded safely: {exc}. skae loads models with "
                "safe_mode=True and never runs code stored in a file; a custom layer must be registered with "
                "keras.saving.register_keras_serializable and imported before loading"
            ) from exc


def keras_to_state(value):
    """Return a Keras model or optimizer as plain data for a pickle or skops state; None for anything else.

    A model becomes ``("keras_model", bytes of its .keras archive)``, an
    optimizer ``("keras_optimizer", its serialized config)``: values skops
    reads without trusting any Keras type, and that :func:`keras_from_state`
    loads in Keras's safe mode. Keras is not imported to ask: while it is
    not imported, no value can be one of its objects.
    """
    keras = sys.modules.get("keras")
    if keras is None:
        return None
    if isinstance(value, keras.Model):
        return ("keras_model", model_to_bytes(value))
    if isinstance(value, keras.optimizers.Optimizer):
        with _tensorflow_left_alone():
            return ("keras_optimizer", keras.optimizers.serialize(value))
    return None


def keras_from_state(entry):
    """Return the Keras object that :func:`keras_to_state` made ``entry`` of."""
    import keras

    kind, payload = entry
    if kind == "keras_model":
        # A parameter is a template: fit trains a fresh copy, so it needs no compiled state.
        return model_from_bytes(bytes(payload), compile=False)
    if kind == "keras_optimizer":
        with _tensorflow_left_alone():
            return keras.optimizers.deserialize(payload)
    raise ValueError(f"unknown Keras object in a saved state: {kind!r}")


def _load_keras(data, what):
    try:
        return model_from_bytes(data, compile=what == MODEL)
    except ValueError as exc:
        raise ValueError(f"holds {exc} ({what})") from exc.__cause__


def _encode_param(name, value, members):
    """Encode a parameter as JSON; a Keras model goes to ``members`` as its own ``.keras`` file."""
    import keras

    if isinstance(value, keras.Model):
        member = f"params/{name}.keras"
        members[member] = value
        return {"keras_model": member}
    if callable(value) and not isinstance(value, (type, str)) and hasattr(value, "__qualname__"):
        if "<" in value.__qualname__ or not getattr(value, "__module__", None):
            raise TypeError(
                f"Cannot save parameter {name!r}={value!r}: save() stores a function by its import name "
                "(module:qualname), and a lambda or a function defined inside another has none. Define it at "
                "the top level of a module, or use pickle."
            )
        return {"callable": f"{value.__module__}:{value.__qualname__}"}
    return _encode(f"parameter {name!r}", value)


def save(estimator, path, *, wrapper=None):
    """Write a fitted skae estimator to one file at ``path``.

    See :meth:`AutoencoderTransformer.save`. ``wrapper``, an
    ``(owner, entry)`` pair, saves an estimator built around this fitted
    autoencoder (such as :class:`~skae.DeepEmbeddedClustering`): ``entry``
    is a dict of plain values written under ``"wrapper"`` with the owner's
    registered class, and :func:`load` returns
    ``owner_class._from_saved(autoencoder, entry)``.
    """
    import keras
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(estimator)
    params, members = {}, {MODEL: estimator.model_}
    for name, value in estimator.get_params(deep=False).items():
        if name in RUNTIME_PARAMS:
            value = None
        elif name == "distribute_strategy" and value is not None and not isinstance(value, str):
            value = None  # a strategy object belongs to the machine that trained
        elif name == "random_state" and isinstance(value, np.random.RandomState):
            value = None
        params[name] = _encode_param(name, value, members)
    fitted = {
        name: _encode(f"attribute {name!r}", getattr(estimator, name))
        for name in type(estimator)._fitted_attributes
        if hasattr(estimator, name)
    }
    metadata = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "class": class_name(type(estimator)),
        "params": params,
        "fitted": fitted,
        "versions": {"skae": _skae_version(), "keras": keras.__version__, "sklearn": sklearn.__version__},
    }
    if wrapper is not None:
        owner, entry = wrapper
        metadata["wrapper"] = {"class": class_name(type(owner)), "entry": _encode("the wrapper", entry)}
    path = os.fspath(path)
    # Write next to the target and rename, so a crash never leaves a
    # half-written file under the final name.
    partial = f"{path}.partial"
    try:
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(METADATA, json.dumps(metadata, indent=1))
            for member, model in members.items():
                archive.writestr(member, model_to_bytes(model))
        os.replace(partial, path)
    finally:
        if os.path.exists(partial):
            os.remove(partial)


class _LoadError(ValueError):
    pass


def read(path):
    """Read the estimator file at ``path``; :func:`skae.load` documents it.

    The file's class must be registered already: ``skae._load`` imports
    skae's estimator modules before calling this.
    """
    import keras

    path = os.fspath(path)
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if METADATA not in names or MODEL not in names:
                raise _LoadError(f"it lacks {sorted({METADATA, MODEL} - names)}")
            bad = archive.testzip()
            if bad is not None:
                raise _LoadError(f"its member {bad!r} fails its checksum")
            metadata = json.loads(archive.read(METADATA).decode("utf-8"))
            members = {name: archive.read(name) for name in names if name.endswith(".keras")}
    except FileNotFoundError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, UnicodeDecodeError, json.JSONDecodeError, _LoadError) as exc:
        reason = str(exc) if isinstance(exc, _LoadError) else f"{type(exc).__name__}: {exc}"
        raise ValueError(
            f"{path!r} is not a readable skae estimator file: {reason}. It may be truncated or "
            "corrupted, or not written by skae's save()."
        ) from exc

    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT:
        raise ValueError(f"{path!r} is not a skae estimator file (no {FORMAT!r} format marker).")
    versions = metadata.get("versions", {})
    written_by = f"skae {versions.get('skae', '?')} with Keras {versions.get('keras', '?')}"
    if metadata.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"{path!r} was written by {written_by} in skae file format version "
            f"{metadata.get('format_version')!r}; this skae ({_skae_version()}) reads version "
            f"{FORMAT_VERSION} only. Load it with the skae version that wrote it."
        )
    keras_major = str(versions.get("keras", "")).split(".")[0]
    if keras_major != keras.__version__.split(".")[0]:
        raise ValueError(
            f"{path!r} was written by {written_by}; this Keras is {keras.__version__}, of another "
            "major version, which cannot read its model. Load it with Keras "
            f"{keras_major}.x."
        )
    if versions.get("sklearn") != sklearn.__version__:
        warnings.warn(
            f"{path!r} was written with scikit-learn {versions.get('sklearn')}; this is "
            f"{sklearn.__version__}. The estimator should work, but check its results.",
            UserWarning,
            stacklevel=2,
        )

    cls = registered_class(metadata.get("class"))
    if cls is None:
        raise ValueError(
            f"{path!r} holds a {metadata.get('class')!r}, which is not a loaded skae estimator class. "
            "Import the module that defines it before loading."
        )
    try:
        params = {name: _decode_param(name, value, members, path) for name, value in metadata["params"].items()}
        fitted = {name: _decode(value) for name, value in metadata["fitted"].items()}
        unknown = set(params) - set(cls._get_param_names())
        if unknown:
            raise ValueError(f"unknown parameters {sorted(unknown)}")
        if set(fitted) - set(cls._fitted_attributes):
            raise ValueError(f"unknown attributes {sorted(set(fitted) - set(cls._fitted_attributes))}")
        estimator = cls(**params)
        model = _load_keras(members[MODEL], MODEL)
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{path!r} has invalid estimator metadata: {exc}.") from exc

    for name, value in fitted.items():
        setattr(estimator, name, value)
    try:
        expected = (None, *estimator.layout_.sample_shape)
        if tuple(model.input_shape) != expected:
            raise ValueError(f"its model takes inputs of shape {tuple(model.input_shape)}, expected {expected}")
        estimator._set_model(model)
    except (AttributeError, ValueError) as exc:
        raise ValueError(f"{path!r} holds a model that does not match its metadata: {exc}.") from exc
    estimator._built_with = estimator._model_params()
    if "wrapper" in metadata:
        return _load_wrapper(estimator, metadata["wrapper"], path)
    return estimator


def _load_wrapper(autoencoder, wrapper, path):
    """Return the estimator a ``"wrapper"`` entry builds around the loaded ``autoencoder``."""
    owner = registered_class(wrapper.get("class")) if isinstance(wrapper, dict) else None
    if owner is None:
        raise ValueError(
            f"{path!r} holds a {wrapper.get('class') if isinstance(wrapper, dict) else wrapper!r}, which is not a "
            "loaded skae estimator class. Import the module that defines it before loading."
        )
    try:
        return owner._from_saved(autoencoder, _decode(wrapper["entry"]))
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{path!r} has invalid estimator metadata: {exc}.") from exc


def _decode_param(name, value, members, path):
    if isinstance(value, dict) and "keras_model" in value:
        return _load_keras(members[value["keras_model"]], value["keras_model"])
    if isinstance(value, dict) and "callable" in value:
        found = _find_callable(value["callable"])
        if found is None:
            raise ValueError(
                f"parameter {name!r} is the function {value['callable']!r}, which is not defined in any "
                "imported module. Import (or define) it before loading; skae never imports modules a file names"
            )
        return found
    return _decode(value)
