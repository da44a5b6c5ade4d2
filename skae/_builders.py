"""Keras layers for skae's own encoders and decoders.

Each estimator assembles its encoder and its decoder from the helpers here
(:func:`dense_layers`, :func:`latent_dense`, :func:`conv_encoder_layers`,
:func:`conv_decoder_layers`) as two ``keras.Sequential`` models, and
:mod:`skae._networks` composes them. Dense and convolutional stacks so read
alike, and the tutorial's models come out layer for layer.

Every layer's initializer is seeded from one stream, ``seeds``, an iterator
of ints made by :func:`seed_stream`: layers take the next seed in the order
they are created, so adding a layer can never make two layers share a seed.
Seeding each initializer explicitly makes a fit reproducible without
touching Keras's, TensorFlow's, NumPy's or Python's global generators.
"""

from __future__ import annotations

import itertools
import math

import keras
from keras import layers

from ._params import refuse_unknown_routed
from ._training import compile_for_training

LATENT_LAYER = "latent"


def seed_stream(seed):
    """Return the iterator of layer seeds for one model: seed, seed + 1, ..."""
    return itertools.count(int(seed))


def _kernel_init(seeds):
    return keras.initializers.GlorotUniform(seed=next(seeds))


def sequential(input_shape, stack, name):
    """Return a ``keras.Sequential`` of ``stack`` taking samples of ``input_shape``."""
    return keras.Sequential([keras.Input(shape=tuple(input_shape)), *stack], name=name)


def dense_layers(units, activation, seeds):
    """One ``Dense`` layer per entry of ``units``."""
    return [layers.Dense(n, activation=activation, kernel_initializer=_kernel_init(seeds)) for n in units]


def latent_dense(latent_dim, activation, seeds):
    """Return the encoder's last layer, named ``"latent"``: its output is the code."""
    return layers.Dense(latent_dim, activation=activation, kernel_initializer=_kernel_init(seeds), name=LATENT_LAYER)


def conv_output_size(size, kernel_size, stride, padding):
    """Spatial size after one ``Conv2D`` layer, as Keras computes it."""
    if padding == "same":
        return math.ceil(size / stride)
    return (size - kernel_size) // stride + 1


def conv_shapes(image_shape, *, filters, kernel_size, strides, padding):
    """Check that ``image_shape`` round-trips through the conv stack.

    Returns the encoder's spatial sizes, one ``(h, w)`` per convolution.
    The decoder's ``Conv2DTranspose`` layers (``padding="same"``) multiply
    each size by the stride, so the input is only reproduced when every
    encoder step divides exactly.

    Raises
    ------
    ValueError
        If the decoder cannot return an image of ``image_shape``.
    """
    h, w = image_shape[:2]
    sizes = []
    size = (h, w)
    for _ in filters:
        size = (
            conv_output_size(size[0], kernel_size[0], strides[0], padding),
            conv_output_size(size[1], kernel_size[1], strides[1], padding),
        )
        sizes.append(size)
    if min(min(s) for s in sizes) < 1:
        raise ValueError(
            f"image_shape={tuple(image_shape)} is too small for {len(filters)} "
            f"convolutions with kernel_size={kernel_size} and strides={strides}: "
            f"the encoder's sizes would be {sizes}. Use fewer filters, smaller "
            "strides or a larger image."
        )
    out_h, out_w = sizes[-1]
    out_h *= strides[0] ** len(filters)
    out_w *= strides[1] ** len(filters)
    if (out_h, out_w) != (h, w):
        raise ValueError(
            f"image_shape={tuple(image_shape)} does not fit kernel_size={kernel_size}, "
            f"strides={strides} and padding={padding!r}: the encoder maps {h}x{w} "
            f"through {' -> '.join(f'{a}x{b}' for a, b in sizes)} and the decoder "
            f"would return {out_h}x{out_w}. Use images whose height and width "
            f"are multiples of {strides[0] ** len(filters)}x{strides[1] ** len(filters)}"
            + (", or padding='same'" if padding == "valid" else "")
            + "."
        )
    return sizes


def conv_encoder_layers(filters, kernel_size, strides, padding, activation, seeds):
    """One ``Conv2D`` per entry of ``filters``, then ``Flatten``."""
    convs = [
        layers.Conv2D(
            n,
            kernel_size,
            strides=strides,
            padding=padding,
            activation=activation,
            kernel_initializer=_kernel_init(seeds),
        )
        for n in filters
    ]
    return [*convs, layers.Flatten()]


def conv_decoder_layers(image_shape, last_size, filters, kernel_size, strides, activation, output_activation, seeds):
    """Return the mirror of the encoder: ``Dense`` to its last feature map, ``Reshape``, ``Conv2DTranspose`` layers.

    The last ``Conv2DTranspose`` produces the image's channels with
    ``output_activation``.
    """
    (last_h, last_w), last_c = last_size, filters[-1]
    stack = [
        layers.Dense(last_h * last_w * last_c, activation=activation, kernel_initializer=_kernel_init(seeds)),
        layers.Reshape((last_h, last_w, last_c)),
    ]
    outputs = [(n, activation) for n in list(reversed(filters))[1:]] + [(image_shape[2], output_activation)]
    for n, act in outputs:
        stack.append(
            layers.Conv2DTranspose(
                n, kernel_size, strides=strides, padding="same", activation=act, kernel_initializer=_kernel_init(seeds)
            )
        )
    return stack


def _mean_and_log_var(inputs):
    """Split a VAE's latent parameters into the mean and the (clipped) log-variance."""
    mean, log_var = keras.ops.split(inputs, 2, axis=-1)
    # Unscaled input can drive the encoder's log-variance high enough for
    # exp() to overflow and turn the loss into NaN; standard deviations
    # outside [e^-10, e^10] are of no use anyway.
    return mean, keras.ops.clip(log_var, -20.0, 20.0)


def gaussian_kl(mean, log_var):
    """Each row's KL divergence from the standard normal prior to the diagonal Gaussian ``(mean, log_var)``."""
    return -0.5 * keras.ops.sum(1.0 + log_var - keras.ops.square(mean) - keras.ops.exp(log_var), axis=-1)


@keras.saving.register_keras_serializable(package="skae")
class GaussianSampler(layers.Layer):
    """A variational autoencoder's latent layer.

    It takes the concatenated ``(mean, log_variance)`` of a diagonal
    Gaussian and returns a reparameterised sample ``mean + exp(log_var / 2)
    * eps`` while training and the mean otherwise, so the encoder ending in
    this layer returns the latent mean at inference. It adds ``kl_weight``
    times the batch mean of the KL divergence from the standard normal prior
    to the model's loss.

    Parameters
    ----------
    kl_weight : float, default=1.0
        Weight of the KL term in the training loss.
    seed : int or None, default=None
        Seed of the sampling noise.
    **kwargs
        Passed to ``keras.layers.Layer``.
    """

    def __init__(self, kl_weight=1.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.kl_weight = float(kl_weight)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def compute_output_shape(self, input_shape):
        """Half the input's last axis: the latent size."""
        return (*input_shape[:-1], input_shape[-1] // 2)

    def call(self, inputs, training=False):
        """Return a sample of the latent code while training, else its mean."""
        mean, log_var = _mean_and_log_var(inputs)
        if self.kl_weight:
            self.add_loss(self.kl_weight * keras.ops.mean(gaussian_kl(mean, log_var)))
        if not training:
            return mean
        eps = keras.random.normal(keras.ops.shape(mean), dtype=mean.dtype, seed=self.seed_generator)
        return mean + keras.ops.exp(0.5 * log_var) * eps

    def get_config(self):
        """Return the layer's configuration."""
        return {**super().get_config(), "kl_weight": self.kl_weight, "seed": self.seed}


class _RowKL(layers.Layer):
    """Each row's weighted KL term, from a VAE's latent parameters: an output to weigh row by row."""

    def __init__(self, kl_weight, **kwargs):
        super().__init__(**kwargs)
        self.kl_weight = float(kl_weight)

    def call(self, inputs):
        return self.kl_weight * gaussian_kl(*_mean_and_log_var(inputs))


def _row_loss(y_true, y_pred):
    return y_pred


def row_kl_model(network, loss):
    """Return a VAE's training model for weighted rows, its sampler, and the sampler's ``kl_weight``.

    The model is ``network.model`` with a second output, each row's KL
    term, so that a sample weight scales a row's whole loss (Keras adds a
    layer's own ``add_loss`` unweighted). It shares every layer and the
    optimizer with ``network.model``; train it with the sampler's own KL
    term off (``sampler.kl_weight = 0``), or the term counts twice.
    """
    encoder, model = network.encoder, network.model
    sampler = encoder.layers[-1]
    inputs = keras.Input(network.layout.sample_shape)
    params = inputs
    for layer in encoder.layers[:-1]:
        params = layer(params)
    code = sampler(params)
    for layer in model.layers[1:-1]:  # latent_l1, where set
        code = layer(code)
    outputs = [network.decoder(code), _RowKL(sampler.kl_weight, name="row_kl")(params)]
    weighted = keras.Model(inputs, outputs, name="weighted_rows")
    compile_for_training(weighted, optimizer=model.optimizer, loss=[loss, _row_loss])
    return weighted, sampler, sampler.kl_weight


def make_optimizer(spec, learning_rate=None, params=None):
    """Return a new optimizer from ``spec``, never the caller's instance.

    Every skae estimator builds its optimizer here, once per fit, so a
    fitted model never shares optimizer state with another one or with
    the parameter the user passed.

    Parameters
    ----------
    spec : str, dict or keras.optimizers.Optimizer
        An optimizer name (``"adam"``), a Keras config dict
        (``{"class_name": "SGD", "config": {...}}``) or an instance, which
        is copied from its config.
    learning_rate : float or None, default=None
        Overrides the optimizer's learning rate when not None.
    params : dict or None, default=None
        Keyword arguments of the optimizer (``optimizer__beta_1``), set on
        its config.

    Returns
    -------
    optimizer : keras.optimizers.Optimizer

    Raises
    ------
    ValueError
        If ``params`` names an argument the optimizer does not take, or
        gives ``learning_rate`` beside ``learning_rate``; the message lists
        the names it takes.
    """
    optimizer = keras.optimizers.get(spec) if isinstance(spec, (str, dict)) else spec
    config = optimizer.get_config()
    params = dict(params or {})
    if params:
        accepted = sorted(set(config) - {"name"})
        refuse_unknown_routed(params, accepted, prefix="optimizer", what=f"The optimizer {type(optimizer).__name__}")
        if "learning_rate" in params and learning_rate is not None:
            raise ValueError(
                f"learning_rate={learning_rate!r} and optimizer__learning_rate={params['learning_rate']!r} both set "
                "the learning rate; give one of them."
            )
        config.update(params)
    if learning_rate is not None:
        config["learning_rate"] = learning_rate
    return type(optimizer).from_config(config)


def custom_objects():
    """Return skae's own Keras classes by their registered names.

    Importing this module registers them; loading or unpickling a model
    that uses them needs them registered, or passed as ``custom_objects``.
    """
    return {keras.saving.get_registered_name(GaussianSampler): GaussianSampler}


def gaussian_latent_layers(latent_dim, kl_weight, seeds):
    """Return a VAE encoder's head: the linear ``Dense`` of the latent mean and log-variance, then the sampler."""
    return [
        layers.Dense(2 * latent_dim, kernel_initializer=_kernel_init(seeds), name="latent_params"),
        GaussianSampler(kl_weight=kl_weight, seed=next(seeds), name=LATENT_LAYER),
    ]
