"""Variational autoencoder: a generative model with a Gaussian latent space."""

from __future__ import annotations

import math
from dataclasses import replace
from numbers import Integral, Real

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._base import AutoencoderTransformer
from ._conv import CONV_CONSTRAINTS, ImageInputMixin
from ._dense import _decoder_sizes
from ._docstrings import fill_shared_parameters
from ._layout import LayoutRequest, n_rows
from ._params import LATENT_CONSTRAINTS, SHARED_CONSTRAINTS, store_init_params
from ._validation import positive_ints


@fill_shared_parameters
class VariationalAutoencoder(ImageInputMixin, AutoencoderTransformer):
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
    loss : str or callable, default="binary_crossentropy"
        Keras reconstruction loss. The default suits data in [0, 1]; use
        ``"mse"`` with ``output_activation="linear"`` for other data.
    %(shared_parameters)s

    Attributes
    ----------
    model_ : keras.Sequential
        The VAE: layers ``[encoder_, decoder_]``.
    encoder_ : keras.Sequential
        Input to latent mean; its last layer, the ``GaussianSampler``
        named ``"latent"``, samples while training and passes the mean
        otherwise.
    decoder_ : keras.Sequential
        Latent code to reconstruction.
    layout_ : SampleLayout
        The shape of one sample, and the layout ``fit`` was given.
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
        "architecture": [StrOptions({"dense", "conv"})],
        "hidden_layer_sizes": ["array-like"],
        "decoder_layer_sizes": ["array-like", None],
        **CONV_CONSTRAINTS,
        "beta": [Interval(Real, 0, None, closed="left")],
        **LATENT_CONSTRAINTS,
        **SHARED_CONSTRAINTS,
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
        optimizer_params=None,
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
        if self.architecture == "conv":
            return self._image_layout_request()
        return LayoutRequest(shape=None, name="n_features_in_", owner=type(self).__name__)

    def _build_encoder_decoder(self, sample_shape, seeds, meta):
        from . import _builders

        # The KL term is divided by the number of values per sample, since
        # Keras's losses average over them.
        kl_weight = self.beta / math.prod(sample_shape)

        def head(seeds):
            return _builders.gaussian_latent_layers(self.latent_dim, kl_weight, seeds)

        if self.architecture == "conv":
            encoder, decoder = self._conv_stacks(sample_shape, seeds, head)
            return (
                _builders.sequential(sample_shape, encoder, "encoder"),
                _builders.sequential((self.latent_dim,), decoder(), "decoder"),
                (self.latent_dim,),
            )
        hidden = positive_ints("hidden_layer_sizes", self.hidden_layer_sizes)
        encoder = _builders.sequential(
            sample_shape, [*_builders.dense_layers(hidden, self.activation, seeds), *head(seeds)], "encoder"
        )
        decoder = _builders.sequential(
            (self.latent_dim,),
            [
                *_builders.dense_layers(_decoder_sizes(hidden, self.decoder_layer_sizes), self.activation, seeds),
                *_builders.dense_layers([sample_shape[0]], self.output_activation, seeds),
            ],
            "decoder",
        )
        return encoder, decoder, (self.latent_dim,)

    def _fit_epochs(self, trainer, network, x, plan, **epochs):
        """Train as the base class does; with sample weights, on a model whose second output is each row's KL term.

        The sampler adds its KL term to the loss unweighted (a Keras
        layer's ``add_loss`` sees no weights), so a weighted fit trains
        the same layers through :func:`skae._builders.row_kl_model`, where
        a weight scales a row's reconstruction and KL terms alike.
        """
        if plan.sample_weight is None or not self.beta:
            return super()._fit_epochs(trainer, network, x, plan, **epochs)
        from . import _builders

        with trainer.build_scope():
            model, sampler, kl_weight = _builders.row_kl_model(network, self.loss)
        plan = replace(plan, weight_axes=(plan.weight_axes, 0))
        sampler.kl_weight = 0.0
        try:
            history = trainer.fit_epochs(model, x, plan, targets=(None, np.zeros(n_rows(x), np.float32)), **epochs)
        finally:
            sampler.kl_weight = kl_weight
        return {key: history[key] for key in ("loss", "val_loss") if key in history}

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
        return self.network_.inverse_transform(Z, self.inference)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = self.architecture == "conv"
        return tags
