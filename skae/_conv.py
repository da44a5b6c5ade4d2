"""Convolutional autoencoder for images."""

from __future__ import annotations

import math
from numbers import Integral

import numpy as np
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_array, validate_data

from ._base import FLOAT_DTYPES, AutoencoderTransformer
from ._builders import build_conv_autoencoder
from ._validation import int_pair, positive_ints


def _ndim(X):
    if hasattr(X, "ndim"):
        return X.ndim
    try:
        return np.asarray(X).ndim
    except (TypeError, ValueError):  # e.g. ragged nested lists: check_array reports them
        return 2


class ConvAutoencoder(AutoencoderTransformer):
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
        Activation of the latent layer, the decoder's ``Dense`` and its
        hidden ``Conv2DTranspose`` layers.
    conv_activation : str or callable, default="relu"
        Activation of the encoder's convolutions.
    output_activation : str, callable or None, default="sigmoid"
        Activation of the reconstruction. The sigmoid suits pixels scaled
        to [0, 1].
    optimizer : str or keras.optimizers.Optimizer, default="adam"
        Optimizer name or instance (copied on every fit).
    learning_rate : float or None, default=None
        Learning rate; None keeps the optimizer's own (Adam: 0.001).
    loss : str or callable, default="mse"
        Keras reconstruction loss.
    epochs : int, default=20
        Number of passes over the training data.
    batch_size : int, default=256
        Images per gradient step.
    validation_fraction : float in [0, 1), default=0.0
        Fraction of images held out to report ``val_loss``; early stopping
        watches it when it is above 0.
    early_stopping : bool, default=False
        Stop after ``patience`` epochs without improvement and keep the
        best weights.
    patience : int, default=5
        Epochs without improvement before early stopping ends training.
    callbacks : list of keras.callbacks.Callback or None, default=None
        Extra Keras callbacks, passed to ``model.fit`` as they are.
    random_state : int, RandomState instance or None, default=None
        Seeds initialisation, shuffling and the validation split without
        reseeding any global generator. An int makes CPU fits reproducible.
    verbose : int, default=0
        Keras's verbosity: 0 silent, 1 progress bar, 2 one line per epoch.
    noise : {"gaussian", "mask"} or None, default=None
        Corrupt the inputs (not the targets) while training, for a
        denoising autoencoder: ``"gaussian"`` adds ``noise_level`` times
        standard normal noise, ``"mask"`` zeroes each value with
        probability ``noise_level``. Inference never adds noise.
    noise_level : float >= 0, default=0.1
        Gaussian noise's standard deviation, or the masking probability.
    latent_l1 : float >= 0, default=0.0
        Weight of an L1 activity penalty on the latent code, for sparse
        codes; 0 adds none (and no regularizer to ``model_``).
    contamination : float in (0, 0.5], default=0.1
        Expected fraction of outliers in the training data; sets
        ``offset_``, the threshold of ``predict``.
    warm_start : bool, default=False
        When True and fitted, ``fit`` trains the current model ``epochs``
        more epochs instead of building a new one.
    distribute_strategy : {"default", "mirrored"}, tf.distribute.Strategy or None, default=None
        TensorFlow distribution strategy to build and train under, such as
        ``"mirrored"`` to train one model on all local GPUs. The strings
        keep the estimator clonable and picklable.

    Attributes
    ----------
    image_shape_ : tuple of int
        ``(height, width, channels)`` the model was built for.
    model_ : keras.Model
        The whole autoencoder; it takes images of ``image_shape_``.
    encoder_ : keras.Model
        Image to latent code; shares its layers with ``model_``.
    decoder_ : keras.Model
        Latent code to image; shares its layers with ``model_``.
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
        **AutoencoderTransformer._parameter_constraints,
        "image_shape": ["array-like", None],
        "filters": ["array-like"],
        "kernel_size": [Integral, "array-like"],
        "strides": [Integral, "array-like"],
        "padding": [StrOptions({"valid", "same"})],
        "conv_activation": [str, callable],
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
        output_activation="sigmoid",
        optimizer="adam",
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
        latent_l1=0.0,
        contamination=0.1,
        warm_start=False,
        distribute_strategy=None,
    ):
        super().__init__(
            latent_dim=latent_dim,
            activation=activation,
            output_activation=output_activation,
            optimizer=optimizer,
            learning_rate=learning_rate,
            loss=loss,
            epochs=epochs,
            batch_size=batch_size,
            validation_fraction=validation_fraction,
            early_stopping=early_stopping,
            patience=patience,
            callbacks=callbacks,
            random_state=random_state,
            verbose=verbose,
            noise=noise,
            noise_level=noise_level,
            latent_l1=latent_l1,
            contamination=contamination,
            warm_start=warm_start,
            distribute_strategy=distribute_strategy,
        )
        self.image_shape = image_shape
        self.filters = filters
        self.kernel_size = kernel_size
        self.strides = strides
        self.padding = padding
        self.conv_activation = conv_activation

    def _resolve_image_shape(self, n_features):
        """Return the (h, w, c) of flat rows of ``n_features`` values."""
        if self.image_shape is None:
            side = math.isqrt(n_features)
            if side * side != n_features:
                raise ValueError(
                    f"{type(self).__name__} got flat rows of {n_features} features and "
                    "image_shape=None, which only fits square single-channel images. "
                    "Pass image_shape=(height, width, channels) whose product is "
                    f"{n_features}, or images of shape (n, height, width[, channels])."
                )
            return (side, side, 1)
        shape = tuple(np.ravel(self.image_shape).tolist())
        if len(shape) == 2:
            shape = (*shape, 1)
        known = [v for v in shape if v != -1]
        if (
            len(shape) != 3
            or len(known) < 2
            or any(v < 1 for v in known)
            or not all(float(v).is_integer() for v in shape)
        ):
            raise ValueError(
                "image_shape must be (height, width) or (height, width, channels) of "
                f"positive ints, at most one of them -1; got {self.image_shape!r}."
            )
        shape = tuple(int(v) for v in shape)
        if -1 in shape:
            if n_features % math.prod(known):
                raise ValueError(
                    f"image_shape={self.image_shape!r} cannot hold rows of {n_features} "
                    f"features: {n_features} is not a multiple of {math.prod(known)}."
                )
            shape = tuple(n_features // math.prod(known) if v == -1 else v for v in shape)
        if math.prod(shape) != n_features:
            raise ValueError(
                f"image_shape={self.image_shape!r} holds {math.prod(shape)} values per "
                f"image, but X has {n_features} features per row."
            )
        return shape

    def _image_shape_allows(self, shape):
        try:
            return self._resolve_image_shape(math.prod(shape)) == shape
        except ValueError:
            return False

    def _check_input(self, X, *, reset):
        ndim = _ndim(X)
        if ndim in (3, 4):
            images = check_array(X, allow_nd=True, dtype=FLOAT_DTYPES, input_name="X", estimator=self)
            if images.ndim == 3:
                images = images[..., np.newaxis]
            shape = images.shape[1:]
            if reset and self.image_shape is not None and not self._image_shape_allows(shape):
                raise ValueError(
                    f"X holds images of shape {shape}, but image_shape={self.image_shape!r}. "
                    "Leave image_shape=None for image input, or make them agree."
                )
            if not reset and shape != self.image_shape_:
                raise ValueError(
                    f"X holds images of shape {shape}, but {type(self).__name__} was "
                    f"fitted on images of shape {self.image_shape_}."
                )
            # Finite values were checked above; this pass only records or
            # checks the feature count on the flat view.
            X = validate_data(self, images.reshape(len(images), -1), reset=reset, ensure_all_finite=False)
        else:
            X = validate_data(self, X, reset=reset, dtype=FLOAT_DTYPES)
            shape = self._resolve_image_shape(X.shape[1]) if reset else self.image_shape_
        if reset:
            self.image_shape_ = shape
            self._input_ndim = ndim
        return X

    def _sample_shape(self):
        return self.image_shape_

    def _restore_layout(self, X):
        if self._input_ndim == 3:
            return X.reshape((len(X), *self.image_shape_[:2]))
        if self._input_ndim == 4:
            return X.reshape((len(X), *self.image_shape_))
        return X

    def _build_model(self, seed):
        return build_conv_autoencoder(
            self.image_shape_,
            filters=positive_ints("filters", self.filters, min_length=1),
            kernel_size=int_pair("kernel_size", self.kernel_size),
            strides=int_pair("strides", self.strides),
            padding=self.padding,
            latent_dim=self.latent_dim,
            activation=self.activation,
            conv_activation=self.conv_activation,
            output_activation=self.output_activation,
            seed=seed,
            latent_regularizer=self._latent_regularizer(),
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        return tags
