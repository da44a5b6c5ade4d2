"""The fitted network of an autoencoder, and how it is built from an encoder and a decoder.

Every skae estimator ends up with one :class:`AutoencoderNetwork`, its
``network_``: the :class:`~skae._layout.SampleLayout` of its samples, the
``encoder`` and ``decoder`` Keras models, their composition ``model``, a
``keras.Sequential`` whose layers are exactly ``[encoder, decoder]`` (with an
``ActivityRegularization`` layer between them when ``latent_l1 > 0``), the
latent shape, and inference. The estimator trains ``model`` and the network
runs ``encoder`` and ``decoder`` themselves for inference, so no layer
naming convention or graph surgery is needed to find the latent code. The
estimator's ``model_``, ``encoder_``, ``decoder_`` and ``layout_`` are the
network's; deep clustering and the ONNX export work on the network too.

A user's network arrives as a ``keras.Model`` or as a function that builds
one. A model is a template: each fit builds a fresh copy with new weights
and never trains or changes the user's object. Keras seeds an initializer
or a dropout layer that was given no seed from Python's ``random`` module,
so copies and builder calls run inside :func:`keras_default_seeds`, which
seeds a private state of that module from ``random_state`` and restores the
caller's state afterwards: two fits with the same ``random_state`` start
from the same weights.

A builder function is called as ``encoder(input_shape, **encoder_params)``
and ``decoder(latent_shape, output_shape, **decoder_params)``: the routed
parameters (``encoder__units``) arrive as keyword arguments, and a builder
that names one of :data:`META_NAMES` among its parameters gets that fact
about the data too, as scikeras's ``meta`` does.
"""

from __future__ import annotations

import contextlib
import inspect
import math
import random
import threading

import keras
import numpy as np

from ._layout import SampleLayout, declared_input_shape, dense_rows, n_rows
from ._params import refuse_unknown_routed

ENCODER, DECODER, LATENT_L1 = "encoder", "decoder", "latent_l1"
_SEEDING_LOCK = threading.RLock()
#: The positional arguments of each kind of builder function.
POSITIONAL = {ENCODER: ("input_shape",), DECODER: ("latent_shape", "output_shape")}
#: Facts about the data that a builder gets when it names them: the fitted
#: ``n_features_in_``, the model's ``sample_shape``, the ``data_shape`` of
#: one sample as ``fit`` got it, or ``meta``, a dict of all three.
META_NAMES = ("n_features_in_", "sample_shape", "data_shape", "meta")


@contextlib.contextmanager
def keras_default_seeds(seed):
    """Make the seeds Keras draws for unseeded layers derive from ``seed``.

    Python's ``random`` state is saved, seeded and restored on exit, under
    a lock, so the caller's own sequence of random numbers is unchanged.
    """
    with _SEEDING_LOCK:
        state = random.getstate()
        random.seed(int(seed))
        try:
            yield
        finally:
            random.setstate(state)


def fresh_model(template, seed):
    """Return a copy of the ``keras.Model`` ``template`` with new, seeded weights.

    Sequential and functional models are cloned layer by layer; other
    (subclassed) models are rebuilt from their config, which they must
    implement, as Keras's own saving requires.
    """
    with keras_default_seeds(seed):
        if isinstance(template, keras.Sequential) or getattr(template, "_is_graph_network", False):
            return keras.models.clone_model(template)
        try:
            return type(template).from_config(template.get_config())
        except NotImplementedError as exc:
            raise TypeError(
                f"The subclassed model {template.name!r} ({type(template).__name__}) cannot be copied: it needs "
                "get_config() (and from_config() if its constructor does not take that config). Implement them, "
                "or pass a function that builds the model instead."
            ) from exc


def _builder_name(spec):
    return f"{getattr(spec, '__module__', None) or '?'}.{getattr(spec, '__qualname__', type(spec).__name__)}"


def _keywords(spec):
    """Return ``(names, takes_any)``: the keyword parameters a builder names, and whether it has ``**kwargs``.

    None for both when Python cannot read its signature (a builtin).
    """
    try:
        parameters = inspect.signature(spec).parameters.values()
    except (TypeError, ValueError):
        return None, True
    names = [p.name for p in parameters if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    return names, any(p.kind is p.VAR_KEYWORD for p in parameters)


def check_routed(role, spec, params, *, owner):
    """Check that the routed parameters ``params`` (``encoder__<name>`` ...) can reach the ``role`` builder.

    Raises
    ------
    ValueError
        If ``params`` is not empty and ``spec`` is a Keras model (there is
        no function to pass them to), or if the builder takes no parameter
        of one of their names; the message names the builder and the names
        it takes.
    """
    if not params:
        return
    given = ", ".join(f"{role}__{name}" for name in params)
    if isinstance(spec, keras.Model) or not callable(spec):
        raise ValueError(
            f"{owner} got routed parameters {given} ({role}_params={params!r}), but its {role} is "
            f"{type(spec).__name__ if spec is not None else 'None'}, not a builder function: there is nothing to "
            f"pass them to. Give {role} as a function {role}({', '.join(POSITIONAL[role])}, ...) that takes them, "
            f"or drop them."
        )
    names, takes_any = _keywords(spec)
    positional = POSITIONAL[role]
    reserved = [name for name in params if name in positional or name in META_NAMES]
    if reserved:
        raise ValueError(
            f"{owner} got {', '.join(f'{role}__{name}' for name in reserved)}, but skae passes "
            f"{', '.join(reserved)} to {_builder_name(spec)} itself, from the data."
        )
    if takes_any or names is None:
        return
    accepted = [name for name in names[len(positional) :] if name not in META_NAMES]
    refuse_unknown_routed(
        params,
        accepted,
        prefix=role,
        what=f"{owner}'s {role} builder {_builder_name(spec)}",
        takes_none=f"none besides {', '.join(positional)}",
    )


def _meta_for(spec, meta):
    """Return the facts about the data that the builder ``spec`` names among its parameters."""
    names, _ = _keywords(spec)
    wanted = set(names or ()) & set(META_NAMES)
    return {name: (dict(meta) if name == "meta" else meta[name]) for name in wanted}


def build_network(role, spec, args, seed, *, owner, params=None, meta=None):
    """Build the ``role`` network ("encoder" or "decoder") from a template or a builder function.

    A builder is called with ``args`` (``(input_shape,)`` or
    ``(latent_shape, output_shape)``), the routed ``params`` as keyword
    arguments, and those facts of ``meta`` that it names (:data:`META_NAMES`).
    """
    signature = f"{role}({', '.join(POSITIONAL[role])})"
    if spec is None:
        raise ValueError(f"{owner} needs an {role}: a keras.Model or a function {signature} returning one; got None.")
    if isinstance(spec, keras.Model):
        model = fresh_model(spec, seed)
    else:
        keywords = {**_meta_for(spec, meta or {}), **(params or {})}
        with keras_default_seeds(seed):
            model = spec(*args, **keywords)
        if not isinstance(model, keras.Model):
            shown = ", ".join([*map(repr, args), *(f"{k}={v!r}" for k, v in keywords.items())])
            raise TypeError(
                f"{owner}'s {role} was called as {signature} with {shown} and returned "
                f"{type(model).__name__}, not a keras.Model."
            )
    # Fixed names make the composed model's layers self-describing and unique.
    model.name = role
    return model


def _output_shape(model, input_shape, what):
    try:
        spec = model.compute_output_spec(keras.KerasTensor((None, *input_shape)))
    except Exception as exc:
        raise ValueError(f"The {what} cannot take samples of shape {tuple(input_shape)}: {exc}") from exc
    if isinstance(spec, list) and len(spec) == 1:
        spec = spec[0]
    if isinstance(spec, (list, tuple, dict)):
        raise ValueError(f"The {what} must return one tensor; it returns {type(spec).__name__}.")
    return tuple(spec.shape[1:])


def _check_declared(model, shape, what, hint):
    declared = declared_input_shape(model)
    if declared is None:
        return
    if len(declared) != len(shape) or any(d not in (-1, s) for d, s in zip(declared, shape, strict=False)):
        shown = tuple(None if d == -1 else d for d in declared)
        raise ValueError(f"The {what} takes samples of shape {shown}, but {hint} {tuple(shape)}.")


def latent_shape_of(encoder, sample_shape):
    """Shape of one latent code: the encoder's output for one sample."""
    _check_declared(encoder, sample_shape, ENCODER, "the data's samples have shape")
    return _output_shape(encoder, sample_shape, ENCODER)


def compose_autoencoder(encoder, decoder, sample_shape, *, latent_l1=0.0, latent_shape=None):
    """Check that ``encoder`` and ``decoder`` fit together and compose them.

    ``latent_shape`` is the encoder's, when the caller already computed it
    (to build the decoder).

    Returns
    -------
    model : keras.Sequential
        Layers ``[encoder, decoder]`` (with a ``latent_l1``
        ``ActivityRegularization`` between them when above 0), taking and
        returning samples of ``sample_shape``.
    latent_shape : tuple of int
        The shape of one latent code.

    Raises
    ------
    ValueError
        If the encoder does not take samples of ``sample_shape``, its code
        has an unknown size, the decoder does not take that code, or the
        decoder's output shape is not ``sample_shape``; the message names
        both shapes.
    """
    sample_shape = tuple(sample_shape)
    latent = tuple(latent_shape) if latent_shape is not None else latent_shape_of(encoder, sample_shape)
    if any(v is None for v in latent):
        raise ValueError(f"The encoder's latent code has shape {latent}; every axis needs a known size.")
    _check_declared(decoder, latent, DECODER, "the encoder's latent codes have shape")
    output = _output_shape(decoder, latent, DECODER)
    if output != sample_shape:
        raise ValueError(
            f"The decoder returns samples of shape {output}, but the reconstruction must have the input's "
            f"shape {sample_shape} (the encoder's latent shape is {latent})."
        )
    stack = [encoder, decoder]
    if latent_l1 > 0:
        stack.insert(1, keras.layers.ActivityRegularization(l1=latent_l1, name=LATENT_L1))
    return keras.Sequential([keras.Input(shape=sample_shape), *stack], name="autoencoder"), latent


def split_autoencoder(model):
    """Return ``(encoder, decoder)``: the first and last layers of a composed model."""
    stack = model.layers
    if len(stack) < 2 or not all(isinstance(layer, keras.Model) for layer in (stack[0], stack[-1])):
        raise ValueError(
            f"An autoencoder model_ is a Sequential of an encoder and a decoder model; got layers "
            f"{[layer.name for layer in stack]}."
        )
    return stack[0], stack[-1]


class AutoencoderNetwork:
    """A fitted autoencoder network: its sample layout, encoder, decoder and inference.

    The estimator's one fitted object (``network_``), as a decision tree's
    ``tree_`` is: the estimator keeps the parameters, validates X and runs
    the fit; the network turns validated rows into model samples, encodes,
    decodes and knows the images' geometry. Its state is plain data
    (:meth:`to_state`), which pickling, skops and ``save`` all write.

    Parameters
    ----------
    model : keras.Sequential
        A composed autoencoder (:func:`compose_autoencoder`).
    layout : SampleLayout
        How the rows ``fit`` got map to the model's samples.
    latent_shape : tuple of int or None, default=None
        The shape of one latent code; None computes it from the encoder.

    Attributes
    ----------
    model, encoder, decoder : keras.Model
        The composed model and its first and last layers.
    layout : SampleLayout
        As given.
    latent_shape : tuple of int
        The shape of one code, before it is flattened to a row.
    """

    def __init__(self, model, layout, latent_shape=None):
        self.model = model
        self.layout = layout
        self.encoder, self.decoder = split_autoencoder(model)
        if latent_shape is None:
            latent_shape = latent_shape_of(self.encoder, layout.sample_shape)
        self.latent_shape = tuple(latent_shape)
        # The compiled inference functions of encoder and decoder, built on
        # first use (see _inference.chunked_model). They read the live weights, so
        # training never makes them stale.
        self._compiled = {}

    @classmethod
    def build(cls, encoder, decoder, layout, *, latent_l1=0.0, latent_shape=None):
        """Check that ``encoder`` and ``decoder`` fit samples of ``layout``, compose them and return the network."""
        model, latent = compose_autoencoder(
            encoder, decoder, layout.sample_shape, latent_l1=latent_l1, latent_shape=latent_shape
        )
        return cls(model, layout, latent)

    @property
    def n_latent(self):
        """Values per latent code: the width of ``transform``'s rows."""
        return math.prod(self.latent_shape)

    def to_model(self, rows):
        """Reshape validated rows (2-D) into the model's samples; a view, sparse rows as they are."""
        return self.layout.to_model(rows)

    def _chunked(self, part, inference):
        from . import _inference

        if part == ENCODER:
            return _inference.chunked_model(self._compiled, part, self.encoder, self.layout.sample_shape, inference)
        return _inference.chunked_model(self._compiled, part, self.decoder, self.latent_shape, inference)

    def inference_plan(self, part=ENCODER, inference="exact"):
        """Return the :class:`~skae.InferencePlan` of the encoder or the decoder, chosen on first use."""
        if part not in (ENCODER, DECODER):
            raise ValueError(f"part must be {ENCODER!r} or {DECODER!r}; got {part!r}.")
        return self._chunked(part, inference).plan

    def encode(self, x, inference="exact"):
        """Latent codes of samples ``x`` in the model's layout, float32, in ``latent_shape``."""
        return self._chunked(ENCODER, inference)(x)

    def decode(self, z, inference="exact"):
        """Reconstructions of latent codes ``z`` of ``latent_shape``, float32, as model samples."""
        return self._chunked(DECODER, inference)(z)

    def transform(self, rows, inference="exact"):
        """Codes of validated rows, one flat row each, in the rows' float dtype."""
        codes = self.encode(self.to_model(rows), inference)
        return codes.reshape(n_rows(rows), -1).astype(rows.dtype, copy=False)

    def inverse_transform(self, codes, inference="exact"):
        """Reconstructions of flat codes (2-D, ``n_latent`` wide), in the data's layout and the codes' dtype."""
        out = self.decode(codes.reshape((len(codes), *self.latent_shape)), inference)
        return self.layout.restore(out.reshape(len(codes), -1).astype(codes.dtype, copy=False))

    def reconstruction_errors(self, rows, inference="exact"):
        """Mean squared reconstruction error of each validated row (ndarray or CSR), float64."""
        from ._inference import INFERENCE_BATCH_SIZE as step

        # decoder(encoder(x)) is the model at inference (its latent_l1 layer
        # is the identity then). One chunk at a time: memory holds one
        # chunk's reconstructions, and sparse rows are densified only chunk
        # by chunk.
        error = np.empty(n_rows(rows), dtype=np.float64)
        for start in range(0, n_rows(rows), step):
            chunk = dense_rows(rows[start : start + step])
            codes = self.encode(self.to_model(chunk), inference)
            reconstruction = self.decode(codes, inference).reshape(len(chunk), -1)
            error[start : start + len(chunk)] = np.mean((chunk - reconstruction) ** 2, axis=1, dtype=np.float64)
        return error

    def image_shape(self):
        """Return the shape of one sample as an image, height and width first; None for flat samples of flat data.

        Images given as images keep their own shape; flat rows are images
        where the estimator was told their ``image_shape`` or where the
        model reads them as such (a convolutional network).
        """
        return self.layout.image

    def image_moves(self, shift, rotation, *, owner):
        """Return the ``image_shape``, ``shift`` (in pixels) and ``rotation`` arguments of training batches.

        Pretraining and deep clustering's fine-tuning batches take the same,
        so both phases move the images alike.

        Raises
        ------
        ValueError
            If ``shift`` or ``rotation`` is set but the samples are no images.
        """
        from ._augment import shift_pixels

        if not shift and not rotation:
            return {"image_shape": None, "shift": (0, 0), "rotation": 0.0}
        image_shape = self.image_shape()
        if image_shape is None:
            moves = f"shift={shift} moves" if shift else f"rotation={rotation} turns"
            raise ValueError(
                f"{moves} images, but {owner} got flat rows of {self.layout.data_shape[0]} features, which it "
                "does not read as images. Give X as images of shape (n_samples, height, width[, channels]), say "
                "what image each row holds with image_shape=(height, width[, channels]) where the estimator "
                "takes it (DenseAutoencoder, ConvAutoencoder, DeepEmbeddedClustering), or set shift=0 and "
                "rotation=0."
            )
        return {
            "image_shape": image_shape,
            "shift": shift_pixels(shift, image_shape),
            "rotation": float(rotation),
        }

    def to_state(self):
        """Return the network as plain data: ``{"layout": ..., "model": bytes of its .keras archive}``."""
        from ._keras_io import model_to_bytes

        return {"layout": self.layout.to_dict(), "model": model_to_bytes(self.model)}

    @classmethod
    def from_state(cls, state):
        """Return the network that :meth:`to_state` wrote, its model loaded in Keras's safe mode."""
        from ._keras_io import model_from_bytes

        return cls.restore(model_from_bytes(bytes(state["model"])), SampleLayout.from_dict(state["layout"]))

    @classmethod
    def restore(cls, model, layout):
        """Return the network of a loaded ``model``, checked to take samples of ``layout``.

        Raises
        ------
        ValueError
            If the model's input shape is not the layout's sample shape.
        """
        expected = (None, *layout.sample_shape)
        if tuple(model.input_shape) != expected:
            raise ValueError(f"its model takes inputs of shape {tuple(model.input_shape)}, expected {expected}")
        return cls(model, layout)

    def __getstate__(self):
        return self.to_state()

    def __setstate__(self, state):
        network = type(self).from_state(state)
        self.__dict__.update(network.__dict__)
