"""Saving a fitted estimator to one file and loading it back, without pickle.

The file is a zip archive of

* ``skae.json``: the estimator's saved state (plain JSON), the format
  version and the skae, Keras and scikit-learn versions that wrote it;
* one ``.keras`` member per Keras model in that state, in Keras's own
  format, which :func:`read` loads with ``safe_mode=True``; the fitted
  model is ``model.keras``.

Every estimator class says what its fitted state is, and this module only
encodes and writes it (the saved-state protocol). The parameters are
``get_params(deep=False)``, the plain fitted attributes those of the
class's ``_fitted_attributes`` that are set, and
``estimator._saved_state()`` returns a dict of

* ``"models"``: fitted Keras models by attribute name;
* ``"estimators"``: fitted skae estimators it holds, by attribute name,
  saved with their own state.

Loading builds ``cls(**params)``, sets the fitted attributes and calls
``estimator._restore_saved_state(models=..., estimators=...)``.
A parameter given as a Keras model is stored as one more ``.keras`` member,
one given as a function by its import name (``module:qualname``), and one
given as an unfitted skae estimator (DEC's ``autoencoder``) by its class
and parameters.

Nothing is unpickled and no code stored in the file runs: classes are
looked up by name among the registered estimator classes
(:mod:`skae._registry`), a function parameter among the modules already
imported, parameters are JSON values, and Keras's safe mode refuses
serialised lambdas.
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
from ._registry import class_name, is_registered, registered_class
from ._version import __version__

# Keras is imported inside the functions that save or load a model, so
# importing this module (and ``skae.load``) loads no deep-learning framework.
# The estimator classes are not imported here: they import this module to
# save, and ``skae._load`` imports them all before it reads a file.

FORMAT = "skae-estimator"
# Version 2: model_ became the composition of encoder_ and decoder_, and
# layout_ replaced image_shape_ and _input_ndim. Version 3: every estimator
# writes its own saved state; DEC's autoencoder is a nested state, not a
# "wrapper" around the autoencoder's file.
FORMAT_VERSION = 3
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


def keras_params_to_state(estimator, state):
    """Take the Keras objects among ``estimator``'s parameters out of its pickling ``state``.

    Each such parameter is set to None in ``state`` and returned, by name,
    as :func:`keras_to_state` data; :func:`keras_params_from_state` puts
    them back. Every skae estimator's ``__getstate__`` uses it, so a Keras
    model or optimizer given as a parameter never reaches pickle or skops
    as a live object.
    """
    params = {}
    for name in estimator._get_param_names():
        entry = keras_to_state(state.get(name))
        if entry is not None:
            params[name] = entry
            state[name] = None
    return params


def keras_params_from_state(estimator, params):
    """Set the parameters that :func:`keras_params_to_state` took out back on ``estimator``."""
    for name, entry in params.items():
        setattr(estimator, name, keras_from_state(entry))


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
    """Encode a parameter as JSON; a Keras model goes to ``members`` under its own name."""
    import keras

    if isinstance(value, keras.Model):
        member = f"params/{name}.keras"
        members[member] = value
        return {"keras_model": member}
    if is_registered(type(value)):
        # An unfitted estimator given as a parameter (DEC's autoencoder).
        return {"estimator": {"class": class_name(type(value)), "params": _encode_params(name, value, members)}}
    if callable(value) and not isinstance(value, (type, str)) and hasattr(value, "__qualname__"):
        if "<" in value.__qualname__ or not getattr(value, "__module__", None):
            raise TypeError(
                f"Cannot save parameter {name!r}={value!r}: save() stores a function by its import name "
                "(module:qualname), and a lambda or a function defined inside another has none. Define it at "
                "the top level of a module, or use pickle."
            )
        return {"callable": f"{value.__module__}:{value.__qualname__}"}
    return _encode(f"parameter {name!r}", value)


def _encode_params(prefix, estimator, members):
    params = {}
    for name, value in estimator.get_params(deep=False).items():
        if name in RUNTIME_PARAMS:
            value = None
        elif name == "distribute_strategy" and value is not None and not isinstance(value, str):
            value = None  # a strategy object belongs to the machine that trained
        elif name == "random_state" and isinstance(value, np.random.RandomState):
            value = None
        params[name] = _encode_param(f"{prefix}/{name}" if prefix else name, value, members)
    return params


def _encode_state(prefix, estimator, members):
    """Encode ``estimator._saved_state()`` as JSON; its Keras models go to ``members``."""
    state = estimator._saved_state()
    fitted = {name: getattr(estimator, name) for name in type(estimator)._fitted_attributes if hasattr(estimator, name)}
    encoded = {
        "class": class_name(type(estimator)),
        "params": _encode_params(prefix, estimator, members),
        "fitted": {name: _encode(f"attribute {name!r}", value) for name, value in fitted.items()},
        "models": {},
        "estimators": {},
    }
    for name, model in state.get("models", {}).items():
        member = MODEL if not prefix and name == "model_" else f"{prefix or 'models'}/{name}.keras"
        members[member] = model
        encoded["models"][name] = member
    for name, inner in state.get("estimators", {}).items():
        encoded["estimators"][name] = _encode_state(f"{prefix}/{name}" if prefix else name, inner, members)
    return encoded


def save(estimator, path):
    """Write a fitted skae estimator to one file at ``path``.

    See :meth:`AutoencoderTransformer.save`. The estimator's class says
    what to write through ``_saved_state`` (the module docstring gives the
    protocol).
    """
    import keras
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(estimator)
    members = {}
    metadata = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        **_encode_state("", estimator, members),
        "versions": {"skae": _skae_version(), "keras": keras.__version__, "sklearn": sklearn.__version__},
    }
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

    The file's classes must be registered already: ``skae._load`` imports
    skae's estimator modules before calling this.
    """
    import keras

    path = os.fspath(path)
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if METADATA not in names:
                raise _LoadError(f"it lacks {METADATA!r}")
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
    return _decode_state(metadata, members, path)


def _registered(name, path):
    cls = registered_class(name)
    if cls is None:
        raise _LoadError(
            f"{path!r} holds a {name!r}, which is not a loaded skae estimator class. "
            "Import the module that defines it before loading."
        )
    return cls


def _decode_state(state, members, path):
    """Build the fitted estimator an encoded saved state describes."""
    try:
        cls = _registered(state.get("class"), path)
        params = _decode_params(cls, state["params"], members, path)
        fitted = {name: _decode(value) for name, value in state["fitted"].items()}
        unknown = set(fitted) - set(cls._fitted_attributes)
        if unknown:
            raise ValueError(f"unknown attributes {sorted(unknown)}")
        models = {name: _load_keras(members[member], member) for name, member in state["models"].items()}
        estimators = {name: _decode_state(inner, members, path) for name, inner in state["estimators"].items()}
    except _LoadError as exc:
        raise ValueError(str(exc)) from None
    except (KeyError, TypeError, ValueError) as exc:
        if str(exc).startswith(repr(path)):  # a nested state's error, already worded
            raise
        raise ValueError(f"{path!r} has invalid estimator metadata: {exc}.") from exc
    try:
        estimator = cls(**params)
        for name, value in fitted.items():
            setattr(estimator, name, value)
        estimator._restore_saved_state(models=models, estimators=estimators)
        return estimator
    except (AttributeError, KeyError, ValueError) as exc:
        raise ValueError(f"{path!r} holds a model that does not match its metadata: {exc}.") from exc


def _decode_params(cls, encoded, members, path):
    params = {name: _decode_param(name, value, members, path) for name, value in encoded.items()}
    unknown = set(params) - set(cls._get_param_names())
    if unknown:
        raise ValueError(f"unknown parameters {sorted(unknown)}")
    return params


def _decode_param(name, value, members, path):
    if isinstance(value, dict) and "keras_model" in value:
        return _load_keras(members[value["keras_model"]], value["keras_model"])
    if isinstance(value, dict) and "estimator" in value:
        cls = _registered(value["estimator"].get("class"), path)
        return cls(**_decode_params(cls, value["estimator"]["params"], members, path))
    if isinstance(value, dict) and "callable" in value:
        found = _find_callable(value["callable"])
        if found is None:
            raise ValueError(
                f"parameter {name!r} is the function {value['callable']!r}, which is not defined in any "
                "imported module. Import (or define) it before loading; skae never imports modules a file names"
            )
        return found
    return _decode(value)
