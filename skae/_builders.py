"""Keras model builders for the autoencoder estimators.

Each builder returns one flat ``keras.Sequential`` autoencoder whose
bottleneck layer is named ``"latent"``; :func:`split_autoencoder` derives the
encoder and decoder from it. Keeping the whole autoencoder flat makes
``model_.summary()`` read exactly like the tutorial's models, and means only
one Keras model has to be serialised when an estimator is pickled.
"""

from __future__ import annotations

import math

import keras
from keras import layers

LATENT_LAYER = "latent"


def _kernel_init(seed):
    # Seeding each initializer explicitly makes a fit reproducible without
    # touching Keras's, TensorFlow's, NumPy's or Python's global generators.
    return keras.initializers.GlorotUniform(seed=seed)


def build_dense_autoencoder(
    n_features,
    *,
    hidden_layer_sizes,
    decoder_layer_sizes,
    latent_dim,
    activation,
    latent_activation,
    output_activation,
    seed,
    latent_regularizer=None,
):
    """Build a fully connected autoencoder.

    The encoder is ``hidden_layer_sizes`` Dense layers followed by the latent
    Dense layer; the decoder is ``decoder_layer_sizes`` Dense layers followed
    by a Dense layer back to ``n_features`` units. ``latent_regularizer``,
    if given, is the latent layer's activity regularizer.
    """
    model = keras.Sequential(name="dense_autoencoder")
    model.add(keras.Input(shape=(n_features,)))
    seeds = iter(range(seed, seed + 2 + len(hidden_layer_sizes) + len(decoder_layer_sizes)))
    for units in hidden_layer_sizes:
        model.add(layers.Dense(units, activation=activation, kernel_initializer=_kernel_init(next(seeds))))
    model.add(
        layers.Dense(
            latent_dim,
            activation=latent_activation,
            kernel_initializer=_kernel_init(next(seeds)),
            activity_regularizer=latent_regularizer,
            name=LATENT_LAYER,
        )
    )
    for units in decoder_layer_sizes:
        model.add(layers.Dense(units, activation=activation, kernel_initializer=_kernel_init(next(seeds))))
    model.add(layers.Dense(n_features, activation=output_activation, kernel_initializer=_kernel_init(next(seeds))))
    return model


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


def _add_conv_encoder(model, filters, kernel_size, strides, padding, conv_activation, seeds):
    """Append the encoder's ``Conv2D`` layers and ``Flatten`` to ``model``."""
    for n_filters in filters:
        model.add(
            layers.Conv2D(
                n_filters,
                kernel_size,
                strides=strides,
                padding=padding,
                activation=conv_activation,
                kernel_initializer=_kernel_init(next(seeds)),
            )
        )
    model.add(layers.Flatten())


def _add_conv_decoder(
    model, image_shape, last_size, filters, kernel_size, strides, activation, output_activation, seeds
):
    """Append the decoder: ``Dense`` to the last feature map, ``Reshape``, ``Conv2DTranspose`` layers."""
    last_h, last_w = last_size
    last_c = filters[-1]
    model.add(
        layers.Dense(last_h * last_w * last_c, activation=activation, kernel_initializer=_kernel_init(next(seeds)))
    )
    model.add(layers.Reshape((last_h, last_w, last_c)))
    for n_filters in list(reversed(filters))[1:]:
        model.add(
            layers.Conv2DTranspose(
                n_filters,
                kernel_size,
                strides=strides,
                padding="same",
                activation=activation,
                kernel_initializer=_kernel_init(next(seeds)),
            )
        )
    model.add(
        layers.Conv2DTranspose(
            image_shape[2],
            kernel_size,
            strides=strides,
            padding="same",
            activation=output_activation,
            kernel_initializer=_kernel_init(next(seeds)),
        )
    )


def build_conv_autoencoder(
    image_shape,
    *,
    filters,
    kernel_size,
    strides,
    padding,
    latent_dim,
    activation,
    conv_activation,
    output_activation,
    seed,
    latent_regularizer=None,
):
    """Build a convolutional autoencoder for images of ``image_shape``.

    Encoder: one ``Conv2D`` per entry of ``filters`` (``conv_activation``),
    ``Flatten`` and the latent ``Dense``. Decoder: a ``Dense`` back to the
    last feature map, ``Reshape``, then ``Conv2DTranspose`` layers mirroring
    the encoder, the last one producing the image's channels with
    ``output_activation``. ``latent_regularizer``, if given, is the latent
    layer's activity regularizer.
    """
    sizes = conv_shapes(image_shape, filters=filters, kernel_size=kernel_size, strides=strides, padding=padding)
    seeds = iter(range(seed, seed + 2 * len(filters) + 2))
    model = keras.Sequential(name="conv_autoencoder")
    model.add(keras.Input(shape=tuple(image_shape)))
    _add_conv_encoder(model, filters, kernel_size, strides, padding, conv_activation, seeds)
    model.add(
        layers.Dense(
            latent_dim,
            activation=activation,
            kernel_initializer=_kernel_init(next(seeds)),
            activity_regularizer=latent_regularizer,
            name=LATENT_LAYER,
        )
    )
    _add_conv_decoder(
        model, image_shape, sizes[-1], filters, kernel_size, strides, activation, output_activation, seeds
    )
    return model


def split_autoencoder(model):
    """Return ``(encoder, decoder)`` sharing the layers of a flat autoencoder.

    The encoder runs from the model's input to the layer named ``"latent"``;
    the decoder applies every later layer to a fresh latent input.
    """
    names = [layer.name for layer in model.layers]
    try:
        cut = names.index(LATENT_LAYER) + 1
    except ValueError:
        raise ValueError(
            f"An autoencoder model needs a bottleneck layer named {LATENT_LAYER!r}; got layers {names}."
        ) from None
    latent = model.layers[cut - 1]
    encoder = keras.Model(model.inputs, latent.output, name="encoder")
    decoder = keras.Sequential([keras.Input(shape=latent.output.shape[1:]), *model.layers[cut:]], name="decoder")
    return encoder, decoder


@keras.saving.register_keras_serializable(package="skae")
class GaussianSampler(layers.Layer):
    """A variational autoencoder's latent layer.

    It takes the concatenated ``(mean, log_variance)`` of a diagonal
    Gaussian and returns a reparameterised sample ``mean + exp(log_var / 2)
    * eps`` while training and the mean otherwise, so an encoder cut at this
    layer returns the latent mean. It adds ``kl_weight`` times the batch mean
    of the KL divergence from the standard normal prior to the model's loss.

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
        mean, log_var = keras.ops.split(inputs, 2, axis=-1)
        # Unscaled input can drive the encoder's log-variance high enough for
        # exp() to overflow and turn the loss into NaN; standard deviations
        # outside [e^-10, e^10] are of no use anyway.
        log_var = keras.ops.clip(log_var, -20.0, 20.0)
        if self.kl_weight:
            kl = -0.5 * keras.ops.sum(1.0 + log_var - keras.ops.square(mean) - keras.ops.exp(log_var), axis=-1)
            self.add_loss(self.kl_weight * keras.ops.mean(kl))
        if not training:
            return mean
        eps = keras.random.normal(keras.ops.shape(mean), dtype=mean.dtype, seed=self.seed_generator)
        return mean + keras.ops.exp(0.5 * log_var) * eps

    def get_config(self):
        """Return the layer's configuration."""
        return {**super().get_config(), "kl_weight": self.kl_weight, "seed": self.seed}


def build_variational_autoencoder(
    sample_shape,
    *,
    architecture,
    hidden_layer_sizes,
    decoder_layer_sizes,
    filters,
    kernel_size,
    strides,
    padding,
    conv_activation,
    latent_dim,
    kl_weight,
    activation,
    output_activation,
    seed,
    latent_regularizer=None,
):
    """Build a flat variational autoencoder.

    The encoder (``Dense`` layers for ``architecture="dense"``; ``Conv2D``
    layers and ``Flatten`` for ``"conv"``) ends in a linear ``Dense`` of
    ``2 * latent_dim`` units (the latent mean and log-variance) and the
    :class:`GaussianSampler` named ``"latent"``. The decoder is that of
    :func:`build_dense_autoencoder` or :func:`build_conv_autoencoder`.
    """
    seeds = iter(range(seed, seed + 3 + len(hidden_layer_sizes) + len(decoder_layer_sizes) + 2 * len(filters)))
    model = keras.Sequential(name=f"{architecture}_variational_autoencoder")
    model.add(keras.Input(shape=tuple(sample_shape)))
    if architecture == "conv":
        sizes = conv_shapes(sample_shape, filters=filters, kernel_size=kernel_size, strides=strides, padding=padding)
        _add_conv_encoder(model, filters, kernel_size, strides, padding, conv_activation, seeds)
    else:
        for units in hidden_layer_sizes:
            model.add(layers.Dense(units, activation=activation, kernel_initializer=_kernel_init(next(seeds))))
    model.add(layers.Dense(2 * latent_dim, kernel_initializer=_kernel_init(next(seeds)), name="latent_params"))
    model.add(
        GaussianSampler(
            kl_weight=kl_weight, seed=next(seeds), activity_regularizer=latent_regularizer, name=LATENT_LAYER
        )
    )
    if architecture == "conv":
        _add_conv_decoder(
            model, sample_shape, sizes[-1], filters, kernel_size, strides, activation, output_activation, seeds
        )
    else:
        for units in decoder_layer_sizes:
            model.add(layers.Dense(units, activation=activation, kernel_initializer=_kernel_init(next(seeds))))
        model.add(
            layers.Dense(sample_shape[0], activation=output_activation, kernel_initializer=_kernel_init(next(seeds)))
        )
    return model
