"""Turning an encoder and a decoder into one trainable Keras autoencoder.

Every skae estimator ends up with the same three models: ``encoder_``,
``decoder_`` and their composition ``model_``, a ``keras.Sequential`` whose
layers are exactly ``[encoder_, decoder_]`` (with an ``ActivityRegularization``
layer between them when ``latent_l1 > 0``). The estimator trains ``model_``
and runs ``encoder_`` and ``decoder_`` themselves for inference, so no layer
naming convention or graph surgery is needed to find the latent code.

A user's network arrives as a ``keras.Model`` or as a function that builds
one. A model is a template: each fit builds a fresh copy with new weights
and never trains or changes the user's object. Keras seeds an initializer
or a dropout layer that was given no seed from Python's ``random`` module,
so copies and builder calls run inside :func:`keras_default_seeds`, which
seeds a private state of that module from ``random_state`` and restores the
caller's state afterwards: two fits with the same ``random_state`` start
from the same weights.
"""

from __future__ import annotations

import contextlib
import random
import threading

import keras

ENCODER, DECODER, LATENT_L1 = "encoder", "decoder", "latent_l1"
_SEEDING_LOCK = threading.RLock()


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


def declared_input_shape(model):
    """Return the sample shape a built ``keras.Model`` declares, one None as -1; else None."""
    try:
        inputs = model.inputs
    except (AttributeError, ValueError):  # subclassed models have no symbolic inputs
        return None
    if not inputs or len(inputs) != 1:
        return None
    shape = tuple(-1 if v is None else int(v) for v in inputs[0].shape[1:])
    return shape if shape.count(-1) <= 1 else None


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


def build_network(role, spec, args, seed, *, owner):
    """Build the ``role`` network ("encoder" or "decoder") from a template or a builder function."""
    signature = "encoder(input_shape)" if role == ENCODER else "decoder(latent_shape, output_shape)"
    if spec is None:
        raise ValueError(f"{owner} needs an {role}: a keras.Model or a function {signature} returning one; got None.")
    if isinstance(spec, keras.Model):
        model = fresh_model(spec, seed)
    else:
        with keras_default_seeds(seed):
            model = spec(*args)
        if not isinstance(model, keras.Model):
            raise TypeError(
                f"{owner}'s {role} was called as {signature} with {', '.join(map(repr, args))} and returned "
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


def compose_autoencoder(encoder, decoder, sample_shape, *, latent_l1=0.0):
    """Check that ``encoder`` and ``decoder`` fit together and compose them.

    Returns
    -------
    model : keras.Sequential
        Layers ``[encoder, decoder]`` (with a ``latent_l1``
        ``ActivityRegularization`` between them when above 0), taking and
        returning samples of ``sample_shape``.

    Raises
    ------
    ValueError
        If the encoder does not take samples of ``sample_shape``, its code
        has an unknown size, the decoder does not take that code, or the
        decoder's output shape is not ``sample_shape``; the message names
        both shapes.
    """
    sample_shape = tuple(sample_shape)
    latent = latent_shape_of(encoder, sample_shape)
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
    return keras.Sequential([keras.Input(shape=sample_shape), *stack], name="autoencoder")


def split_autoencoder(model):
    """Return ``(encoder, decoder)``: the first and last layers of a composed model."""
    stack = model.layers
    if len(stack) < 2 or not all(isinstance(layer, keras.Model) for layer in (stack[0], stack[-1])):
        raise ValueError(
            f"An autoencoder model_ is a Sequential of an encoder and a decoder model; got layers "
            f"{[layer.name for layer in stack]}."
        )
    return stack[0], stack[-1]
