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

Loading builds ``cls(**params)`` and calls
``estimator._restore_saved_state(fitted=..., models=..., estimators=...)``,
which :class:`PlainStateMixin` implements by setting the fitted attributes.
A parameter given as a Keras model is stored as one more ``.keras`` member,
one given as a function by its import name (``module:qualname``), and one
given as an unfitted skae estimator (DEC's ``autoencoder``) by its class
and parameters.

Nothing is unpickled and no code stored in the file runs: classes are
looked up by name among the registered estimator classes
(:mod:`skae._registry`), a function parameter among the modules already
imported, parameters are JSON values, and Keras's safe mode refuses
serialised lambdas.

Pickling and skops read the same state through the same codec
(:func:`encode_keras` and :func:`decode_keras`, in :class:`PlainStateMixin`):
a Keras model is ``{"keras_model": <.keras bytes>}`` where a file has
``{"keras_model": <member name>}``, an optimizer ``{"keras_optimizer":
<config>}``, a layout ``{"layout": ...}`` and a fitted network
``{"network": {"layout": ..., "model": <bytes>}}``. So a pickled estimator
holds no live Keras object, and skops needs to trust only the estimator
classes.
"""

from __future__ import annotations

import json
import os
import sys
import warnings
import zipfile
import zlib

import numpy as np
import sklearn

from ._keras_io import model_from_bytes, model_to_bytes, tensorflow_left_alone
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
    if isinstance(value, (keras.optimizers.Optimizer, SampleLayout)):
        return encode_keras(value)
    raise TypeError(
        f"Cannot save {name}={value!r}: save() stores parameters as plain JSON values "
        "(numbers, strings, booleans, None, lists, tuples and Keras optimizers). Set it to such a "
        "value (for example an activation's name instead of a function) or use pickle."
    )


def _decode(value):
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
    if "keras_optimizer" in value or "layout" in value:
        return decode_keras(value)
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


def _network_class():
    """Return the fitted-network class, once it is imported (it needs Keras); else None."""
    module = sys.modules.get(f"{__package__}._networks")
    return getattr(module, "AutoencoderNetwork", None)


def encode_keras(value, store=bytes):
    """Return a Keras object, a layout or a fitted network as tagged plain data; None for anything else.

    The one codec of every saved state: ``save`` (``store`` names the
    archive member that will hold a model's bytes) and pickling and skops
    (``store`` keeps the bytes). A model becomes ``{"keras_model":
    store(bytes of its .keras archive)}``, an optimizer
    ``{"keras_optimizer": its config}``, a :class:`SampleLayout`
    ``{"layout": ...}``, a fitted network ``{"network": {"layout": ...,
    "model": store(bytes)}}``. Keras is not imported to ask: while it is not
    imported, no value can be one of its objects.
    """
    if isinstance(value, SampleLayout):
        return {"layout": value.to_dict()}
    keras = sys.modules.get("keras")
    if keras is None:
        return None
    network = _network_class()
    if network is not None and isinstance(value, network):
        state = value.to_state()
        return {"network": {"layout": state["layout"], "model": store(state["model"])}}
    if isinstance(value, keras.Model):
        return {"keras_model": store(model_to_bytes(value))}
    if isinstance(value, keras.optimizers.Optimizer):
        with tensorflow_left_alone():
            return {"keras_optimizer": keras.optimizers.serialize(value)}
    return None


def decode_keras(entry, load=bytes, *, compile_models=False):
    """Return the object that :func:`encode_keras` made ``entry`` of; ``load(ref)`` gives a model's bytes.

    A model given as a parameter is a template, which fit copies, so it
    loads uncompiled unless ``compile_models``; a fitted network's model is
    compiled, to train on.
    """
    import keras

    if "layout" in entry:
        return SampleLayout.from_dict(entry["layout"])
    if "keras_model" in entry:
        return model_from_bytes(load(entry["keras_model"]), compile=compile_models)
    if "keras_optimizer" in entry:
        with tensorflow_left_alone():
            return keras.optimizers.deserialize(entry["keras_optimizer"])
    if "network" in entry:
        from ._networks import AutoencoderNetwork

        state = entry["network"]
        return AutoencoderNetwork.from_state({"layout": state["layout"], "model": load(state["model"])})
    raise ValueError(f"unknown Keras object in a saved state: {sorted(entry)!r}")


#: The key of a pickled state that holds its attributes encoded by :func:`encode_keras`.
ENCODED = "_skae_encoded"


class PlainStateMixin:
    """Pickling, skops and ``save`` of a skae estimator, all through :func:`encode_keras`.

    ``__getstate__`` takes every attribute that is a Keras object, a layout
    or a fitted network out of the state and holds it, encoded, under
    :data:`ENCODED`; ``__setstate__`` decodes them back. The fitted network
    is bytes of a ``.keras`` archive, loaded in Keras's safe mode, under any
    backend, without importing TensorFlow. A class names its plain fitted
    attributes in ``_fitted_attributes`` and its Keras models and nested
    estimators in ``_saved_state`` for :func:`save`.
    """

    #: Fitted attributes, besides the Keras models and nested estimators, that ``save`` writes.
    _fitted_attributes = ()

    def save(self, path):
        """Write the fitted estimator to one file, without pickle.

        The file is a zip archive holding the Keras models in Keras's
        ``.keras`` format (a deep clustering estimator's autoencoder with
        its own state) and a JSON document with the estimator's class,
        parameters, fitted attributes and the skae, Keras and scikit-learn
        versions that wrote it. :func:`skae.load` reads it back without
        unpickling anything and loads the models in Keras's safe mode, so a
        crafted file cannot run code. ``callbacks`` and a
        ``distribute_strategy`` object are not saved (they become None).
        An ``encoder`` or ``decoder`` given as a model is saved as a
        ``.keras`` template beside the model; one given as a function is
        saved by its import name and found again among the modules
        already imported when loading.

        Parameters
        ----------
        path : str or path-like
            Where to write; an existing file is replaced only once the new
            one is complete.

        Raises
        ------
        TypeError
            If a parameter is not a plain value JSON can hold, such as an
            activation given as a Python function.

        See Also
        --------
        skae.load : Read the file back.
        """
        save(self, path)

    def _saved_state(self):
        """Return the Keras models (``"models"``) and fitted estimators (``"estimators"``) ``save`` writes."""
        return {}

    def _restore_saved_state(self, *, fitted, models, estimators):
        """Take back a loaded state: the fitted attributes, and what ``_saved_state`` returned."""
        for name, value in fitted.items():
            setattr(self, name, value)

    def __getstate__(self):
        state = dict(super().__getstate__())
        encoded = {}
        for name, value in list(state.items()):
            entry = encode_keras(value)
            if entry is not None:
                encoded[name] = entry
                del state[name]
        if encoded:
            state[ENCODED] = encoded
        return state

    def __setstate__(self, state):
        state = dict(state)
        encoded = state.pop(ENCODED, {})
        super().__setstate__(state)
        for name, entry in encoded.items():
            setattr(self, name, decode_keras(entry))


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

        def store(data):
            members[member] = data
            return member

        return encode_keras(value, store)
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
    # set_output's choice is estimator state a user set, not a parameter or
    # a fitted attribute; pickling keeps it, so a file keeps it too.
    output = getattr(estimator, "_sklearn_output_config", None)
    if output:
        encoded["output"] = {key: value for key, value in output.items() if isinstance(value, str)}
    for name, model in state.get("models", {}).items():
        member = MODEL if not prefix and name == "model_" else f"{prefix or 'models'}/{name}.keras"
        members[member] = model_to_bytes(model)
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
            for member, data in members.items():
                archive.writestr(member, data)
        os.replace(partial, path)
    finally:
        if os.path.exists(partial):
            os.remove(partial)


#: What ``set_output`` a file may restore: scikit-learn's output containers.
_CONTAINERS = ("default", "pandas", "polars")
_OUTPUTS = {("transform", container) for container in _CONTAINERS}


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
    try:
        return _decode_state(metadata, members, path)
    except ValueError as exc:
        # Keras reads the models of its own version and older ones; a newer
        # Keras may write layer settings that an older one does not know.
        written, this = _release(versions.get("keras")), _release(keras.__version__)
        if written is None or this is None or written <= this:
            raise
        raise ValueError(
            f"{exc} It was written with Keras {versions['keras']}, newer than this Keras "
            f"{keras.__version__}, which may not read a newer Keras's model: upgrade Keras to "
            f"{versions['keras']} or newer."
        ) from exc


def _release(version):
    """Return the release numbers of a version string (``"3.15.1"`` -> ``(3, 15, 1)``), or None."""
    parts = str(version).split(".")[:3]
    return tuple(int(part) for part in parts) if all(part.isdigit() for part in parts) else None


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
        estimator._restore_saved_state(fitted=fitted, models=models, estimators=estimators)
        output = state.get("output", {})
        if output:
            if not isinstance(output, dict) or not set(output.items()) <= _OUTPUTS:
                raise ValueError(f"its set_output choice {output!r} is not one of transform={_CONTAINERS}")
            estimator.set_output(**output)
        return estimator
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{path!r} holds a model that does not match its metadata: {exc}.") from exc


def _decode_params(cls, encoded, members, path):
    params = {name: _decode_param(name, value, members, path) for name, value in encoded.items()}
    unknown = set(params) - set(cls._get_param_names())
    if unknown:
        raise ValueError(f"unknown parameters {sorted(unknown)}")
    return params


def _decode_param(name, value, members, path):
    if isinstance(value, dict) and "keras_model" in value:
        try:
            return decode_keras(value, members.__getitem__)
        except ValueError as exc:
            raise ValueError(f"holds {exc} ({value['keras_model']})") from exc.__cause__
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
