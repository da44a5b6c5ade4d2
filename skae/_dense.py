"""Fully connected autoencoder."""

from __future__ import annotations

from dataclasses import replace

from ._base import AutoencoderTransformer
from ._docstrings import fill_shared_parameters
from ._layout import ANY_ND_INPUT, LayoutRequest, parse_image_shape
from ._params import LATENT_CONSTRAINTS, SHARED_CONSTRAINTS, store_init_params
from ._validation import positive_ints


def _decoder_sizes(hidden, decoder_layer_sizes):
    return hidden[::-1] if decoder_layer_sizes is None else positive_ints("decoder_layer_sizes", decoder_layer_sizes)


#: The network of DEC and N2D (Xie et al., 2016; McConville et al., 2020), as
#: DenseAutoencoder parameters with a latent size of one unit per cluster:
#: ``presets.clustering_autoencoder`` builds it, and DeepEmbeddedClustering
#: pretrains it by default.
DEC_NETWORK = {
    "hidden_layer_sizes": (500, 500, 2000),
    "decoder_layer_sizes": None,
    "activation": "relu",
    "latent_activation": "linear",
}


#: The layout of a dense model: every sample's values as one flat row.
#: Images are taken too, as flat rows of their values: the layout keeps
#: their shape for image augmentation (``shift``) and for returning
#: reconstructions as images.
FLAT_REQUEST = LayoutRequest(shape=None, name="n_features_in_", nd_input=ANY_ND_INPUT, default="flat")


@fill_shared_parameters
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
    image_shape : tuple of int or None, default=None
        ``(height, width)`` or ``(height, width, channels)`` of the image
        that each flat row holds (one entry may be -1 and is inferred, as
        in ``numpy.reshape``), which is what a
        :class:`~sklearn.pipeline.Pipeline` passes along. ``shift`` and
        ``rotation`` then move and turn the rows as such images, exactly
        as they would the images themselves; the network still reads flat
        rows, and ``inverse_transform`` returns flat rows. None: flat rows
        are no images. When X is images, their own shape is used, and
        ``image_shape`` must agree with it if given.

        .. versionadded:: 0.1.0
    %(shared_parameters)s

    Attributes
    ----------
    model_ : keras.Sequential
        The autoencoder: layers ``[encoder_, decoder_]``.
    encoder_ : keras.Sequential
        Input to latent code; its last layer is named ``"latent"``.
    decoder_ : keras.Sequential
        Latent code to reconstruction.
    layout_ : SampleLayout
        The shape of one sample: ``(n_features_in_,)``.
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
    AutoencoderTransformer : Wrap your own Keras encoder and decoder.
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

    Flat rows that are 8x8 images, trained on copies moved by up to a
    pixel; the reconstructions stay flat rows:

    >>> ae = DenseAutoencoder(hidden_layer_sizes=(32,), latent_dim=8, epochs=2,
    ...                       image_shape=(8, 8), shift=0.125, random_state=0).fit(X)
    >>> ae.inverse_transform(ae.transform(X[:3])).shape
    (3, 64)
    """

    _parameter_constraints: dict = {
        "hidden_layer_sizes": ["array-like"],
        "decoder_layer_sizes": ["array-like", None],
        "latent_activation": [str, callable, None],
        "image_shape": ["array-like", None],
        **LATENT_CONSTRAINTS,
        **SHARED_CONSTRAINTS,
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
        image_shape=None,
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
        if self.image_shape is None:
            return FLAT_REQUEST
        return replace(
            FLAT_REQUEST, noun="images", owner=type(self).__name__, image_shape=parse_image_shape(self.image_shape)
        )

    def _build_encoder_decoder(self, sample_shape, seeds, meta):
        from . import _builders

        hidden = positive_ints("hidden_layer_sizes", self.hidden_layer_sizes)
        latent_activation = self.activation if self.latent_activation is None else self.latent_activation
        encoder = _builders.sequential(
            sample_shape,
            [
                *_builders.dense_layers(hidden, self.activation, seeds),
                _builders.latent_dense(self.latent_dim, latent_activation, seeds),
            ],
            "encoder",
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
