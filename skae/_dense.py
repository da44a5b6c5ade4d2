"""Fully connected autoencoder."""

from __future__ import annotations

from ._base import AutoencoderTransformer
from ._builders import build_dense_autoencoder
from ._validation import positive_ints


class DenseAutoencoder(AutoencoderTransformer):
    """Fully connected autoencoder as a scikit-learn transformer.

    The encoder is a stack of ``Dense`` layers ending in the latent layer;
    the decoder maps the latent code back to the input's features. The
    defaults build the tutorial's dense model exactly: Dense 784 (ReLU),
    Dense 64 (ReLU, the latent code), Dense back to the inputs (sigmoid);
    716,640 parameters on 784 features.

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default=(784,)
        Units of the encoder's hidden layers, in order.
    decoder_layer_sizes : tuple of int or None, default=()
        Units of the decoder's hidden layers, in order. The default has
        none, as in the tutorial; None mirrors ``hidden_layer_sizes``.
    latent_dim : int, default=64
        Size of the latent code that ``transform`` returns.
    activation : str or callable, default="relu"
        Keras activation of the hidden layers.
    latent_activation : str, callable or None, default=None
        Activation of the latent layer; None uses ``activation``. Pass
        ``"linear"`` for an unbounded code.
    output_activation : str, callable or None, default="sigmoid"
        Activation of the reconstruction. The sigmoid suits data scaled to
        [0, 1]; use ``"linear"`` for standardised data.
    optimizer : str or keras.optimizers.Optimizer, default="adam"
        Optimizer name or instance (copied on every fit).
    learning_rate : float or None, default=None
        Learning rate; None keeps the optimizer's own (Adam: 0.001).
    loss : str or callable, default="mse"
        Keras reconstruction loss.
    epochs : int, default=20
        Number of passes over the training data.
    batch_size : int, default=256
        Rows per gradient step.
    validation_fraction : float in [0, 1), default=0.0
        Fraction of rows held out to report ``val_loss``; early stopping
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
    model_ : keras.Model
        The whole autoencoder.
    encoder_ : keras.Model
        Input to latent code; shares its layers with ``model_``.
    decoder_ : keras.Model
        Latent code to reconstruction; shares its layers with ``model_``.
    history_ : dict of str to list of float
        Per-epoch ``loss`` (and ``val_loss``) from training.
    offset_ : float
        Threshold on ``score_samples`` below which ``predict`` returns -1.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when X was a DataFrame with
        string column names.

    See Also
    --------
    ConvAutoencoder : Convolutional autoencoder for images.
    sklearn.decomposition.PCA : The linear counterpart.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skae import DenseAutoencoder
    >>> X = load_digits().data / 16.0
    >>> ae = DenseAutoencoder(hidden_layer_sizes=(32,), latent_dim=8,
    ...                       epochs=2, random_state=0).fit(X)
    >>> ae.transform(X[:3]).shape
    (3, 8)
    >>> ae.inverse_transform(ae.transform(X[:3])).shape
    (3, 64)
    """

    _parameter_constraints: dict = {
        **AutoencoderTransformer._parameter_constraints,
        "hidden_layer_sizes": ["array-like"],
        "decoder_layer_sizes": ["array-like", None],
        "latent_activation": [str, callable, None],
    }

    def __init__(
        self,
        *,
        hidden_layer_sizes=(784,),
        decoder_layer_sizes=(),
        latent_dim=64,
        activation="relu",
        latent_activation=None,
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
        self.hidden_layer_sizes = hidden_layer_sizes
        self.decoder_layer_sizes = decoder_layer_sizes
        self.latent_activation = latent_activation

    def _build_model(self, seed):
        hidden = positive_ints("hidden_layer_sizes", self.hidden_layer_sizes)
        if self.decoder_layer_sizes is None:
            decoder = hidden[::-1]
        else:
            decoder = positive_ints("decoder_layer_sizes", self.decoder_layer_sizes)
        return build_dense_autoencoder(
            self.n_features_in_,
            hidden_layer_sizes=hidden,
            decoder_layer_sizes=decoder,
            latent_dim=self.latent_dim,
            activation=self.activation,
            latent_activation=self.activation if self.latent_activation is None else self.latent_activation,
            output_activation=self.output_activation,
            seed=seed,
            latent_regularizer=self._latent_regularizer(),
        )
