"""Convolutional autoencoder for images."""

from __future__ import annotations

from numbers import Integral

from sklearn.utils._param_validation import StrOptions

from ._base import AutoencoderTransformer
from ._docstrings import fill_shared_parameters
from ._layout import LayoutRequest, parse_image_shape
from ._params import LATENT_CONSTRAINTS, SHARED_CONSTRAINTS, store_init_params
from ._validation import int_pair, positive_ints

#: Constraints of the convolution parameters, shared with the convolutional VAE.
CONV_CONSTRAINTS = {
    "image_shape": ["array-like", None],
    "filters": ["array-like"],
    "kernel_size": [Integral, "array-like"],
    "strides": [Integral, "array-like"],
    "padding": [StrOptions({"valid", "same"})],
    "conv_activation": [str, callable],
}


class ImageInputMixin:
    """Input layout of the estimators that read images, from ``image_shape``.

    X may be images, of shape (n_samples, height, width) or (n_samples,
    height, width, channels), or flat rows of height * width * channels
    values (channels last), reshaped through ``image_shape``. Flat rows and
    ``image_shape=None`` mean square single-channel images.
    """

    def _image_layout_request(self):
        shape = None
        if self.image_shape is not None:
            shape = parse_image_shape(self.image_shape)
            shape = (*shape, 1) if len(shape) == 2 else shape
        return LayoutRequest(
            shape=shape, name="image_shape", nd_input=(3, 4), default="image", noun="images", owner=type(self).__name__
        )

    @property
    def image_shape_(self):
        """``(height, width, channels)`` of the images the model takes."""
        network = self.__dict__.get("network_")
        layout = network.layout if network is not None else None
        if layout is None or len(layout.sample_shape) != 3:
            raise AttributeError(f"{type(self).__name__} has no image_shape_: it is not fitted on images.")
        return layout.sample_shape

    def _conv_stacks(self, image_shape, seeds, head):
        """Return the encoder's layers (convolutions, ``head(seeds)``) and a function building the decoder's."""
        from . import _builders

        filters = positive_ints("filters", self.filters, min_length=1)
        kernel_size = int_pair("kernel_size", self.kernel_size)
        strides = int_pair("strides", self.strides)
        sizes = _builders.conv_shapes(
            image_shape, filters=filters, kernel_size=kernel_size, strides=strides, padding=self.padding
        )
        encoder = [
            *_builders.conv_encoder_layers(filters, kernel_size, strides, self.padding, self.conv_activation, seeds)
        ]
        encoder += head(seeds)

        def decoder():
            return _builders.conv_decoder_layers(
                image_shape, sizes[-1], filters, kernel_size, strides, self.activation, self.output_activation, seeds
            )

        return encoder, decoder


@fill_shared_parameters
class ConvAutoencoder(ImageInputMixin, AutoencoderTransformer):
    """Convolutional autoencoder for images, as a scikit-learn transformer.

    The encoder is ``Conv2D`` layers, ``Flatten`` and the latent ``Dense``;
    the decoder is a ``Dense`` back to the last feature map, ``Reshape`` and
    ``Conv2DTranspose`` layers that mirror the encoder. The defaults build
    the tutorial's convolutional model exactly (421,377 parameters on
    28x28x1 images); ``activation="elu"`` builds its ELU variant, where the
    latent layer, the decoder's ``Dense`` and its hidden
    ``Conv2DTranspose`` use ELU while the encoder's convolutions keep
    ``conv_activation``.

    X may be images, of shape (n_samples, height, width) or
    (n_samples, height, width, channels), or flat rows of
    height * width * channels values (channels last), which is what a
    :class:`~sklearn.pipeline.Pipeline` passes along. ``inverse_transform``
    returns the layout that ``fit`` was given.

    Parameters
    ----------
    image_shape : tuple of int or None, default=None
        ``(height, width)`` or ``(height, width, channels)`` of flat rows;
        one entry may be -1 and is inferred, as in ``numpy.reshape``. None
        takes the shape from image input, or assumes square single-channel
        images for flat rows. Ignored in favour of the data's own shape when
        X is images (and must agree with it if given).
    filters : tuple of int, default=(32, 64)
        Filters of each encoder convolution, in order.
    kernel_size : int or tuple of 2 int, default=2
        Kernel size of every convolution.
    strides : int or tuple of 2 int, default=2
        Strides of every convolution. Height and width must divide by
        ``strides ** len(filters)`` for the decoder to return the input's
        size; a clear error says so when they do not.
    padding : {"valid", "same"}, default="valid"
        Padding of the encoder's convolutions (the decoder's use "same").
    latent_dim : int, default=64
        Size of the latent code that ``transform`` returns.
    activation : str or callable, default="relu"
        Activation of the latent layer (unless ``latent_activation`` is
        given), the decoder's ``Dense`` and its hidden ``Conv2DTranspose``
        layers.
    conv_activation : str or callable, default="relu"
        Activation of the encoder's convolutions.
    latent_activation : str, callable or None, default=None
        Activation of the latent layer; None uses ``activation``, as the
        tutorial's models do. ``"linear"`` gives the unbounded code of DCEC
        (see :func:`skae.presets.deep_clustering`).
    output_activation : str, callable or None, default="sigmoid"
        Activation of the reconstruction. The sigmoid suits pixels scaled
        to [0, 1].
    %(shared_parameters)s

    Attributes
    ----------
    image_shape_ : tuple of int
        ``(height, width, channels)`` the model was built for.
    model_ : keras.Sequential
        The autoencoder: layers ``[encoder_, decoder_]``; it takes images
        of ``image_shape_``.
    encoder_ : keras.Sequential
        Image to latent code; its last layer is named ``"latent"``.
    decoder_ : keras.Sequential
        Latent code to image.
    layout_ : SampleLayout
        The images' shape, and the layout ``fit`` was given.
    history_ : dict of str to list of float
        Per-epoch ``loss`` (and ``val_loss``) from training.
    offset_ : float
        Threshold on ``score_samples`` below which ``predict`` returns -1.
    n_features_in_ : int
        Values per sample (height * width * channels).
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when X was a DataFrame with
        string column names.

    See Also
    --------
    DenseAutoencoder : Fully connected autoencoder for any tabular data.
    AutoencoderTransformer : Wrap your own Keras encoder and decoder.

    Examples
    --------
    scikit-learn's 8x8 digits, flat as a Pipeline would pass them:

    >>> from sklearn.datasets import load_digits
    >>> from skae import ConvAutoencoder
    >>> X = load_digits().data / 16.0
    >>> ae = ConvAutoencoder(image_shape=(8, 8, 1), filters=(8, 16),
    ...                      latent_dim=10, epochs=2, random_state=0).fit(X)
    >>> ae.transform(X[:5]).shape
    (5, 10)
    >>> ae.inverse_transform(ae.transform(X[:5])).shape
    (5, 64)
    """

    _parameter_constraints: dict = {
        **CONV_CONSTRAINTS,
        **LATENT_CONSTRAINTS,
        **SHARED_CONSTRAINTS,
        "latent_activation": [str, callable, None],
    }

    def __init__(
        self,
        *,
        image_shape=None,
        filters=(32, 64),
        kernel_size=2,
        strides=2,
        padding="valid",
        latent_dim=64,
        activation="relu",
        conv_activation="relu",
        latent_activation=None,
        output_activation="sigmoid",
        optimizer="adam",
        optimizer_params=None,
        learning_rate=None,
        loss="mse",
        epochs=20,
        batch_size=256,
        validation_fraction=0.0,
        early_stopping=False,
        patience=5,
        callbacks=None,
        random_state=None,
        verbose=0,
        noise=None,
        noise_level=0.1,
        shift=0.0,
        rotation=0.0,
        latent_l1=0.0,
        contamination=0.1,
        warm_start=False,
        distribute_strategy=None,
        inference="exact",
    ):
        store_init_params(self, locals())

    def _layout_request(self):
        return self._image_layout_request()

    def _build_encoder_decoder(self, sample_shape, seeds, meta):
        from . import _builders

        latent_activation = self.activation if self.latent_activation is None else self.latent_activation
        encoder, decoder = self._conv_stacks(
            sample_shape, seeds, head=lambda seeds: [_builders.latent_dense(self.latent_dim, latent_activation, seeds)]
        )
        return (
            _builders.sequential(sample_shape, encoder, "encoder"),
            _builders.sequential((self.latent_dim,), decoder(), "decoder"),
            (self.latent_dim,),
        )
