"""Variational autoencoder: a generative model with a Gaussian latent space."""

from __future__ import annotations

import math
from numbers import Integral, Real

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._base import AutoencoderTransformer
from ._builders import build_variational_autoencoder
from ._conv import ConvAutoencoder
from ._training import predict_in_batches
from ._validation import int_pair, positive_ints


class VariationalAutoencoder(AutoencoderTransformer):
    """Variational autoencoder (VAE) as a scikit-learn transformer.

    The encoder maps each sample to the mean and log-variance of a diagonal
    Gaussian over the latent space; training decodes a sample from it and
    minimises the reconstruction loss plus ``beta`` times the KL divergence
    from a standard normal prior (a beta-VAE; ``beta=1`` is the classic VAE).
    ``transform`` returns the latent mean, and ``sample`` decodes draws from
    the prior into new rows in the layout given to ``fit``.

    The KL term is divided by the number of input features, because Keras's
    losses average over features: with the default ``binary_crossentropy``
    the training loss is then exactly the Bernoulli VAE's negative evidence
    lower bound per feature.

    ``architecture="dense"`` takes flat rows, like :class:`DenseAutoencoder`;
    ``architecture="conv"`` takes images or flat rows with ``image_shape``,
    like :class:`ConvAutoencoder`, and uses the same parameters to build its
    convolutions.

    Parameters
    ----------
    architecture : {"dense", "conv"}, default="dense"
        Fully connected or convolutional encoder and decoder.
    hidden_layer_sizes : tuple of int, default=(256,)
        Units of the dense encoder's hidden layers (``"dense"`` only).
    decoder_layer_sizes : tuple of int or None, default=None
        Units of the dense decoder's hidden layers; None mirrors
        ``hidden_layer_sizes`` (``"dense"`` only).
    image_shape : tuple of int or None, default=None
        Shape of flat rows as images, as in :class:`ConvAutoencoder`
        (``"conv"`` only).
    filters : tuple of int, default=(32, 64)
        Filters of each encoder convolution (``"conv"`` only).
    kernel_size : int or tuple of 2 int, default=2
        Kernel size of every convolution (``"conv"`` only).
    strides : int or tuple of 2 int, default=2
        Strides of every convolution (``"conv"`` only).
    padding : {"valid", "same"}, default="valid"
        Padding of the encoder's convolutions (``"conv"`` only).
    conv_activation : str or callable, default="relu"
        Activation of the encoder's convolutions (``"conv"`` only).
    latent_dim : int, default=16
        Size of the latent code.
    beta : float >= 0, default=1.0
        Weight of the KL divergence; above 1 favours a smoother, more
        disentangled latent space over sharp reconstructions, 0 leaves a
        (noisy) plain autoencoder.
    activation : str or callable, default="relu"
        Activation of the hidden layers.
    output_activation : str, callable or None, default="sigmoid"
        Activation of the reconstruction.
    optimizer : str or keras.optimizers.Optimizer, default="adam"
        Optimizer name or instance (copied on every fit).
    learning_rate : float or None, default=None
        Learning rate; None keeps the optimizer's own (Adam: 0.001).
    loss : str or callable, default="binary_crossentropy"
        Keras reconstruction loss. The default suits data in [0, 1]; use
        ``"mse"`` with ``output_activation="linear"`` for other data.
    epochs : int, default=20
        Number of passes over the training data.
    batch_size : int, default=256
        Rows per gradient step.
    validation_fraction : float in [0, 1), default=0.0
        Fraction of rows held out to report ``val_loss``.
    early_stopping : bool, default=False
        Stop after ``patience`` epochs without improvement and keep the
        best weights.
    patience : int, default=5
        Epochs without improvement before early stopping ends training.
    callbacks : list of keras.callbacks.Callback or None, default=None
        Extra Keras callbacks, passed to ``model.fit`` as they are.
    random_state : int, RandomState instance or None, default=None
        Seeds initialisation, shuffling, the validation split and the
        latent sampling during training, without reseeding any global
        generator.
    verbose : int, default=0
        Keras's verbosity: 0 silent, 1 progress bar, 2 one line per epoch.
    noise : {"gaussian", "mask"} or None, default=None
        Corrupt the inputs (not the targets) while training.
    noise_level : float >= 0, default=0.1
        Gaussian noise's standard deviation, or the masking probability.
    latent_l1 : float >= 0, default=0.0
        Weight of an L1 activity penalty on the latent code.
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
    model_ : keras.Model
        The whole VAE; its layer named ``"latent"`` samples while training
        and passes the mean otherwise.
    encoder_ : keras.Model
        Input to latent mean; shares its layers with ``model_``.
    decoder_ : keras.Model
        Latent code to reconstruction; shares its layers with ``model_``.
    history_ : dict of str to list of float
        Per-epoch ``loss`` (reconstruction plus weighted KL; and
        ``val_loss``) from training.
    offset_ : float
        Threshold on ``score_samples`` below which ``predict`` returns -1.
    image_shape_ : tuple of int
        ``(height, width, channels)`` of the images (``"conv"`` only).
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when X was a DataFrame with
        string column names.

    See Also
    --------
    DenseAutoencoder : Deterministic fully connected autoencoder.
    ConvAutoencoder : Deterministic convolutional autoencoder.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skae import VariationalAutoencoder
    >>> X = load_digits().data / 16.0
    >>> vae = VariationalAutoencoder(hidden_layer_sizes=(32,), latent_dim=4,
    ...                              epochs=2, random_state=0).fit(X)
    >>> vae.transform(X[:3]).shape
    (3, 4)
    >>> vae.sample(5, random_state=0).shape
    (5, 64)
    """

    _parameter_constraints: dict = {
        **AutoencoderTransformer._parameter_constraints,
        "architecture": [StrOptions({"dense", "conv"})],
        "hidden_layer_sizes": ["array-like"],
        "decoder_layer_sizes": ["array-like", None],
        "image_shape": ["array-like", None],
        "filters": ["array-like"],
        "kernel_size": [Integral, "array-like"],
        "strides": [Integral, "array-like"],
        "padding": [StrOptions({"valid", "same"})],
        "conv_activation": [str, callable],
        "beta": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        *,
        architecture="dense",
        hidden_layer_sizes=(256,),
        decoder_layer_sizes=None,
        image_shape=None,
        filters=(32, 64),
        kernel_size=2,
        strides=2,
        padding="valid",
        conv_activation="relu",
        latent_dim=16,
        beta=1.0,
        activation="relu",
        output_activation="sigmoid",
        optimizer="adam",
        learning_rate=None,
        loss="binary_crossentropy",
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
        self.architecture = architecture
        self.hidden_layer_sizes = hidden_layer_sizes
        self.decoder_layer_sizes = decoder_layer_sizes
        self.image_shape = image_shape
        self.filters = filters
        self.kernel_size = kernel_size
        self.strides = strides
        self.padding = padding
        self.conv_activation = conv_activation
        self.beta = beta

    # With architecture="conv" the input layouts are exactly those of
    # ConvAutoencoder, whose parameters this class shares by name.
    _resolve_image_shape = ConvAutoencoder._resolve_image_shape
    _image_shape_allows = ConvAutoencoder._image_shape_allows

    def _is_conv(self):
        # Once fitted, the layout follows the fitted model, not a later set_params.
        return hasattr(self, "image_shape_") if hasattr(self, "model_") else self.architecture == "conv"

    def _check_input(self, X, *, reset):
        if reset:
            self.__dict__.pop("image_shape_", None)
            if self.architecture == "conv":
                return ConvAutoencoder._check_input(self, X, reset=True)
            return super()._check_input(X, reset=True)
        if self._is_conv():
            return ConvAutoencoder._check_input(self, X, reset=False)
        return super()._check_input(X, reset=False)

    def _sample_shape(self):
        return self.image_shape_ if self._is_conv() else (self.n_features_in_,)

    def _restore_layout(self, X):
        return ConvAutoencoder._restore_layout(self, X) if self._is_conv() else X

    def _build_model(self, seed):
        hidden = positive_ints("hidden_layer_sizes", self.hidden_layer_sizes)
        if self.decoder_layer_sizes is None:
            decoder = hidden[::-1]
        else:
            decoder = positive_ints("decoder_layer_sizes", self.decoder_layer_sizes)
        sample_shape = self._sample_shape()
        return build_variational_autoencoder(
            sample_shape,
            architecture=self.architecture,
            hidden_layer_sizes=hidden,
            decoder_layer_sizes=decoder,
            filters=positive_ints("filters", self.filters, min_length=1),
            kernel_size=int_pair("kernel_size", self.kernel_size),
            strides=int_pair("strides", self.strides),
            padding=self.padding,
            conv_activation=self.conv_activation,
            latent_dim=self.latent_dim,
            kl_weight=self.beta / math.prod(sample_shape),
            activation=self.activation,
            output_activation=self.output_activation,
            seed=seed,
            latent_regularizer=self._latent_regularizer(),
        )

    def sample(self, n_samples=1, random_state=None):
        """Generate new samples by decoding draws from the latent prior.

        Parameters
        ----------
        n_samples : int, default=1
            Number of samples to generate.
        random_state : int, RandomState instance or None, default=None
            Seeds the latent draws; an int gives the same samples each call.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_features)
            Decoded samples, float32, in the layout of the data given to
            ``fit`` (images for image input).
        """
        check_is_fitted(self)
        if not isinstance(n_samples, Integral) or isinstance(n_samples, bool) or n_samples < 1:
            raise ValueError(f"n_samples must be a positive int; got {n_samples!r}.")
        rng = check_random_state(random_state)
        Z = rng.standard_normal((int(n_samples), self._n_features_out)).astype(np.float32)
        out = predict_in_batches(self.decoder_, Z)
        return self._restore_layout(out.reshape(len(Z), -1))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = self.architecture == "conv"
        return tags
