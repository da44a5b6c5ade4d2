"""ONNX export through skl2onnx: a fitted autoencoder, or a pipeline holding one, as one ONNX graph.

Importing this module registers a skl2onnx shape calculator and converter
for every skae autoencoder (``update_registered_converter``), so that
``skl2onnx.to_onnx(estimator, X[:1])`` converts a fitted
:class:`~skae.DenseAutoencoder`, :class:`~skae.ConvAutoencoder`,
:class:`~skae.VariationalAutoencoder` or :class:`~skae.AutoencoderTransformer`,
and a :class:`~sklearn.pipeline.Pipeline` that holds one before scikit-learn
steps (``StandardScaler``, ``KMeans``, a classifier), into a single graph
for ONNX Runtime. ``import skae`` does not import this module (nor ONNX):
import it yourself before converting.

The graph does what ``transform`` does, step by step: it takes the flat
rows ``transform`` takes, computes in float32 (casting float64 input),
reshapes the rows to the model's samples (``network_.layout.sample_shape``, such as
``(28, 28, 1)`` for a convolutional model), runs ``network_.encoder``, flattens
the codes and casts them back to the input's type. ``offset_`` (the
outlier threshold) plays no part in ``transform``, and none in the graph.
A variational autoencoder's encoder returns the latent mean at inference,
and so does its graph.

The encoder's own graph comes from Keras (``model.export(format="onnx")``):
through tf2onnx on TensorFlow, ``torch.onnx`` on PyTorch and jax2onnx on
JAX. Its nodes and initializers are copied into skl2onnx's container under
fresh unique names, so that two autoencoders, or an encoder and a decoder,
can share a graph. It is exported at the opset skl2onnx targets (or at the
exporter's highest, then converted up), since one ONNX graph has one opset.

:func:`to_onnx_decoder` exports ``inverse_transform`` the same way.
"""

from __future__ import annotations

import os
import tempfile
import warnings

import numpy as np
import onnx
from onnx import numpy_helper
from skl2onnx import get_model_alias, to_onnx, update_registered_converter
from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ._base import AutoencoderTransformer
from ._conv import ConvAutoencoder
from ._dense import DenseAutoencoder
from ._variational import VariationalAutoencoder

__all__ = ["register_converter", "to_onnx_decoder"]

#: What Keras exports ONNX with on each backend: the package it needs.
EXPORTERS = {"tensorflow": "tf2onnx", "torch": "torch (torch.onnx)", "jax": "jax2onnx"}


def _max_export_opset(backend):
    """Return the highest opset Keras's exporter writes on ``backend``, or None when it does not say."""
    if backend == "tensorflow":
        from tf2onnx import constants

        return max(constants.OPSET_TO_IR_VERSION)
    if backend == "torch":
        # Keras exports a model with a free batch axis through the
        # TorchScript exporter, whose limit this is.
        from torch.onnx import _constants

        return getattr(_constants, "ONNX_TORCHSCRIPT_EXPORTER_MAX_OPSET", 17)
    return None


def export_keras(model, sample_shape, opset):
    """Return ``model`` (one input, one output) as an ONNX ``ModelProto`` at ``opset``, batch axis free.

    Raises
    ------
    ImportError
        If the backend's exporter is not installed, naming what to install.
    RuntimeError
        If Keras cannot export the model on this backend.
    """
    import keras

    backend = keras.backend.backend()
    if backend not in EXPORTERS:
        raise RuntimeError(
            f"skae exports ONNX on the tensorflow, torch and jax Keras backends; KERAS_BACKEND is {backend!r}."
        )
    try:
        highest = _max_export_opset(backend)
    except ImportError as exc:
        raise ImportError(
            f"Exporting to ONNX on the {backend} backend needs {EXPORTERS[backend]}: pip install "
            f"{'tf2onnx' if backend == 'tensorflow' else EXPORTERS[backend].split()[0]} "
            "(or skae[serve])."
        ) from exc
    export_opset = opset if highest is None else min(opset, highest)
    spec = keras.InputSpec(shape=(None, *sample_shape), dtype="float32")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.onnx")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model.export(path, format="onnx", verbose=False, input_signature=[spec], opset_version=export_opset)
        except ImportError as exc:
            raise ImportError(
                f"Exporting to ONNX on the {backend} backend needs {EXPORTERS[backend]}, which is not "
                f"installed ({exc}). Install it, or save the estimator with save(), load it with "
                "skae.load() in a process with KERAS_BACKEND=tensorflow (files load under any backend) and "
                "export there."
            ) from exc
        except Exception as exc:
            raise RuntimeError(
                f"Keras could not export {model.name!r} to ONNX on the {backend} backend: {type(exc).__name__}: {exc}"
            ) from exc
        exported = onnx.load(path)
    if _main_opset(exported) < opset:
        exported = onnx.version_converter.convert_version(exported, opset)
    return exported


def _main_opset(model):
    return next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 1)


def merge_graph(scope, container, model, input_name, output_name, prefix):
    """Copy ``model``'s graph into skl2onnx's ``container``, reading ``input_name`` and writing ``output_name``.

    Every other name (initializers, intermediate values, nodes) is replaced
    by a fresh name from ``scope``, so graphs merged into one container
    never clash.
    """
    graph = model.graph
    initializers = {init.name for init in graph.initializer}
    inputs = [value.name for value in graph.input if value.name not in initializers]
    if len(inputs) != 1 or len(graph.output) != 1:
        raise RuntimeError(
            f"skae exports networks with one input and one output; the exported graph has inputs {inputs} and "
            f"outputs {[value.name for value in graph.output]}."
        )
    names = {inputs[0]: input_name, graph.output[0].name: output_name, "": ""}

    def renamed(name):
        if name not in names:
            names[name] = scope.get_unique_variable_name(f"{prefix}_{name}".replace(":", "_").replace("/", "_"))
        return names[name]

    for init in graph.initializer:
        array = numpy_helper.to_array(init)
        tensor = numpy_helper.from_array(array, renamed(init.name))
        container.add_initializer(tensor.name, tensor.data_type, list(tensor.dims), tensor)
    versions = {o.domain or "": o.version for o in model.opset_import}
    for node in graph.node:
        if any(attribute.g.node or attribute.graphs for attribute in node.attribute):
            raise RuntimeError(f"the exported graph has a {node.op_type} node with a subgraph, which skae cannot merge")
        container.add_node(
            node.op_type,
            [renamed(name) for name in node.input],
            [renamed(name) for name in node.output],
            op_domain=node.domain,
            op_version=versions.get(node.domain or "", _main_opset(model)),
            name=scope.get_unique_operator_name(f"{prefix}_{node.op_type}"),
        )
        # Attributes are copied as they are, whatever their type.
        container.nodes[-1].attribute.extend(node.attribute)


def _parser(scope, model, inputs, custom_parsers=None):
    # One output, the codes. skl2onnx's default parser would see an outlier
    # detector (predict, score_samples) and declare labels and scores.
    operator = scope.declare_local_operator(get_model_alias(type(model)), model)
    operator.inputs = inputs
    operator.outputs.append(scope.declare_local_variable("variable", _tensor_type(inputs[0])()))
    return operator.outputs


def _tensor_type(variable):
    return DoubleTensorType if isinstance(variable.type, DoubleTensorType) else FloatTensorType


def _add_network(scope, operator, container, *, network, in_shape, out_width, prefix):
    """Nodes from the operator's flat float input through ``network`` to its flat output of ``out_width``."""
    source, target = operator.inputs[0], operator.outputs[0]
    double = isinstance(source.type, DoubleTensorType)
    x = source.full_name
    if double:
        x32 = scope.get_unique_variable_name(f"{prefix}_float32")
        container.add_node("Cast", [x], [x32], to=onnx.TensorProto.FLOAT, name=scope.get_unique_operator_name("Cast"))
        x = x32
    if len(in_shape) > 1:
        shape = scope.get_unique_variable_name(f"{prefix}_sample_shape")
        container.add_initializer(shape, onnx.TensorProto.INT64, [len(in_shape) + 1], [-1, *in_shape])
        samples = scope.get_unique_variable_name(f"{prefix}_samples")
        container.add_node("Reshape", [x, shape], [samples], name=scope.get_unique_operator_name("Reshape"))
        x = samples
    exported = export_keras(network, in_shape, container.target_opset_any_domain(""))
    y = scope.get_unique_variable_name(f"{prefix}_out")
    merge_graph(scope, container, exported, x, y, prefix)
    flat = scope.get_unique_variable_name(f"{prefix}_flat")
    shape = scope.get_unique_variable_name(f"{prefix}_flat_shape")
    container.add_initializer(shape, onnx.TensorProto.INT64, [2], [-1, out_width])
    container.add_node("Reshape", [y, shape], [flat], name=scope.get_unique_operator_name("Reshape"))
    if double:
        container.add_node(
            "Cast", [flat], [target.full_name], to=onnx.TensorProto.DOUBLE, name=scope.get_unique_operator_name("Cast")
        )
    else:
        container.add_node("Identity", [flat], [target.full_name], name=scope.get_unique_operator_name("Identity"))


def _check_width(operator, expected, what):
    width = operator.inputs[0].get_second_dimension()
    if width is not None and width != expected:
        raise RuntimeError(
            f"{type(operator.raw_operator).__name__} {what} rows of {expected} values; the ONNX input has {width}."
        )


def _encoder_shape(operator):
    est = operator.raw_operator
    check_is_fitted(est)
    _check_width(operator, est.n_features_in_, "encodes")
    n = operator.inputs[0].get_first_dimension()
    operator.outputs[0].type = _tensor_type(operator.inputs[0])([n, est.network_.n_latent])


def _encoder_converter(scope, operator, container):
    est = operator.raw_operator
    _add_network(
        scope,
        operator,
        container,
        network=est.network_.encoder,
        in_shape=est.network_.layout.sample_shape,
        out_width=est.network_.n_latent,
        prefix=scope.get_unique_variable_name("encoder"),
    )


class _Decoder(TransformerMixin, BaseEstimator):
    """The ``inverse_transform`` of a fitted autoencoder as a transformer, for skl2onnx alone."""

    def __init__(self, autoencoder):
        self.autoencoder = autoencoder

    def fit(self, X=None, y=None):  # noqa: D102 (never fitted: it wraps a fitted autoencoder)
        return self

    def transform(self, X):  # noqa: D102
        return self.autoencoder.inverse_transform(X).reshape(len(X), -1)


def _decoder_shape(operator):
    est = operator.raw_operator.autoencoder
    _check_width(operator, est.network_.n_latent, "decodes")
    n = operator.inputs[0].get_first_dimension()
    operator.outputs[0].type = _tensor_type(operator.inputs[0])([n, est.n_features_in_])


def _decoder_converter(scope, operator, container):
    est = operator.raw_operator.autoencoder
    _add_network(
        scope,
        operator,
        container,
        network=est.network_.decoder,
        in_shape=est.network_.latent_shape,
        out_width=est.n_features_in_,
        prefix=scope.get_unique_variable_name("decoder"),
    )


def register_converter(estimator_class):
    """Register skae's skl2onnx converter for an autoencoder class.

    skae's own classes are registered when :mod:`skae.onnx` is imported;
    call this for your own subclass of :class:`~skae.AutoencoderTransformer`
    (skl2onnx finds converters by the exact class).

    Parameters
    ----------
    estimator_class : type
        A subclass of :class:`~skae.AutoencoderTransformer`.

    Returns
    -------
    estimator_class : type
        The same class, so this works as a class decorator.
    """
    if not (isinstance(estimator_class, type) and issubclass(estimator_class, AutoencoderTransformer)):
        raise TypeError(f"register_converter takes a subclass of AutoencoderTransformer; got {estimator_class!r}.")
    update_registered_converter(
        estimator_class,
        f"Skae{estimator_class.__name__}",
        _encoder_shape,
        _encoder_converter,
        overwrite=True,
        parser=_parser,
    )
    return estimator_class


def to_onnx_decoder(estimator, *, target_opset=None, dtype=np.float32):
    """Export a fitted autoencoder's ``inverse_transform`` (its decoder) as an ONNX model.

    The model takes latent codes, one flat row per sample as ``transform``
    returns them, and returns flat reconstructions: ``inverse_transform``'s
    output reshaped to one row per sample (images come back as flat rows of
    height * width * channels values).

    Parameters
    ----------
    estimator : AutoencoderTransformer
        A fitted skae autoencoder.
    target_opset : int or None, default=None
        The ONNX opset; None uses skl2onnx's default.
    dtype : {numpy.float32, numpy.float64}, default=numpy.float32
        The type of the codes the model takes and of its output.

    Returns
    -------
    model : onnx.ModelProto
        Input ``"X"`` of shape (n_samples, n_latent), output ``"variable"``
        of shape (n_samples, n_features).

    Notes
    -----
    ``skl2onnx.to_onnx(estimator, X[:1])`` exports ``transform``, or a
    whole pipeline, once this module is imported.

    Examples
    --------
    >>> import numpy as np, onnxruntime as ort
    >>> from sklearn.datasets import load_digits
    >>> from skae import DenseAutoencoder
    >>> from skae.onnx import to_onnx_decoder
    >>> X = (load_digits().data / 16.0).astype(np.float32)
    >>> ae = DenseAutoencoder(hidden_layer_sizes=(16,), latent_dim=4,
    ...                       epochs=1, random_state=0).fit(X)
    >>> session = ort.InferenceSession(to_onnx_decoder(ae).SerializeToString())
    >>> Z = ae.transform(X[:3])
    >>> bool(np.allclose(session.run(None, {"X": Z})[0], ae.inverse_transform(Z), atol=1e-5))
    True
    """
    check_is_fitted(estimator)
    if not isinstance(estimator, AutoencoderTransformer):
        raise TypeError(f"to_onnx_decoder takes a fitted skae autoencoder; got {type(estimator).__name__}.")
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"dtype must be numpy.float32 or numpy.float64; got {dtype}.")
    tensor = FloatTensorType if dtype == np.float32 else DoubleTensorType
    width = estimator.network_.n_latent
    return to_onnx(_Decoder(estimator), initial_types=[("X", tensor([None, width]))], target_opset=target_opset)


for _cls in (AutoencoderTransformer, DenseAutoencoder, ConvAutoencoder, VariationalAutoencoder):
    register_converter(_cls)
update_registered_converter(_Decoder, "SkaeDecoder", _decoder_shape, _decoder_converter, overwrite=True, parser=_parser)
