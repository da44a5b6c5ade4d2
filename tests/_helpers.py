"""What the test files share besides fixtures: the MNIST file and small estimators.

Test files import them (``from _helpers import MNIST_PATH, small_dense``).
They live here, not in ``conftest.py``, because joblib's worker processes
unpickle the builder functions by module name, and the checkout's root holds
a second ``conftest.py`` that a worker may find first.
"""

import os
from pathlib import Path

import pytest

# The real MNIST file: $SKAE_MNIST, else the shared copy beside the checkout.
# Nothing downloads at test time; tests that need it skip without it.
MNIST_PATH = Path(
    os.environ.get("SKAE_MNIST", Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "mnist.npz")
)
needs_mnist = pytest.mark.skipif(not MNIST_PATH.exists(), reason=f"MNIST file not found at {MNIST_PATH}")

# Small estimators, seeded, every parameter overridable:
# a few seconds to fit on the digits.


def small_dense(**params):
    """A two-epoch DenseAutoencoder with a 16-unit hidden layer and 4 latents."""
    from skae import DenseAutoencoder

    return DenseAutoencoder(**{"hidden_layer_sizes": (16,), "latent_dim": 4, "epochs": 2, "random_state": 0, **params})


def small_conv(**params):
    """A two-epoch ConvAutoencoder with 4 and 8 filters and 4 latents."""
    from skae import ConvAutoencoder

    return ConvAutoencoder(**{"filters": (4, 8), "latent_dim": 4, "epochs": 2, "random_state": 0, **params})


def small_vae(**params):
    """A two-epoch VariationalAutoencoder with a 16-unit hidden layer and 3 latents."""
    from skae import VariationalAutoencoder

    return VariationalAutoencoder(
        **{"hidden_layer_sizes": (16,), "latent_dim": 3, "epochs": 2, "random_state": 0, **params}
    )


def dense_encoder(input_shape, latent=4):
    """A builder of a functional encoder with a skip connection, for flat samples."""
    import keras

    x = keras.Input(input_shape)
    h = keras.layers.Dense(16, activation="relu")(x)
    h = keras.layers.Concatenate()([h, keras.layers.Dense(4)(x)])
    return keras.Model(x, keras.layers.Dense(latent)(h))


def dense_decoder(latent_shape, output_shape):
    """A builder of a Sequential decoder back to flat samples in [0, 1]."""
    import keras

    return keras.Sequential(
        [
            keras.Input(latent_shape),
            keras.layers.Dense(16, activation="relu"),
            keras.layers.Dense(output_shape[0], activation="sigmoid"),
        ]
    )


def small_wrapper(**params):
    """A two-epoch AutoencoderTransformer of the builder functions above."""
    from skae import AutoencoderTransformer

    return AutoencoderTransformer(
        **{"encoder": dense_encoder, "decoder": dense_decoder, "epochs": 2, "random_state": 0, **params}
    )


def small_dec(**params):
    """A DeepEmbeddedClustering of a tiny dense autoencoder: 3 pretraining epochs, at most 60 fine-tuning steps."""
    from skae import DeepEmbeddedClustering, DenseAutoencoder

    autoencoder = DenseAutoencoder(hidden_layer_sizes=(32,), latent_dim=10, output_activation="linear")
    settings = {"n_clusters": 10, "autoencoder": autoencoder, "pretrain_epochs": 3, "max_iter": 60}
    return DeepEmbeddedClustering(**{**settings, "update_interval": 20, "batch_size": 64, "random_state": 0, **params})


def sized_encoder(input_shape, units=16, depth=1):
    """A builder of an encoder of ``depth`` Dense layers of ``units`` each, to 4 latents: routed parameters."""
    import keras

    layers = [keras.layers.Dense(units, activation="relu") for _ in range(depth)]
    return keras.Sequential([keras.Input(input_shape), *layers, keras.layers.Dense(4)])


def sized_decoder(latent_shape, output_shape, units=16, n_features_in_=None):
    """A builder of a decoder with one hidden layer of ``units``; it asks for ``n_features_in_``, as meta."""
    import keras

    assert n_features_in_ == output_shape[0], (n_features_in_, output_shape)
    return keras.Sequential(
        [
            keras.Input(latent_shape),
            keras.layers.Dense(units, activation="relu"),
            keras.layers.Dense(n_features_in_, activation="sigmoid"),
        ]
    )


def sized_wrapper(**params):
    """A two-epoch AutoencoderTransformer of the sized builders, for routed grids."""
    from skae import AutoencoderTransformer

    return AutoencoderTransformer(
        **{"encoder": sized_encoder, "decoder": sized_decoder, "epochs": 2, "random_state": 0, **params}
    )


def dense_grid_search(**params):
    """A 2-fold GridSearchCV of a two-epoch DenseAutoencoder over ``latent_dim`` 2 and 6."""
    from sklearn.model_selection import GridSearchCV

    from skae import DenseAutoencoder

    est = DenseAutoencoder(hidden_layer_sizes=(16,), epochs=2, batch_size=64, random_state=0)
    return GridSearchCV(est, {"latent_dim": [2, 6]}, cv=2, **params)


def pca_kmeans():
    """A Pipeline of PCA to 10 components and KMeans of 10 clusters: a clusterer to score, with no network."""
    from sklearn.cluster import KMeans
    from sklearn.decomposition import PCA
    from sklearn.pipeline import Pipeline

    return Pipeline([("pca", PCA(10, random_state=0)), ("kmeans", KMeans(10, n_init=3, random_state=0))])


# The small estimators that several test modules share fitted, on the first
# 300 digits: conftest's ``fitted_small(kind)`` fits each one once a session
# (per xdist worker). A kind whose name ends in "-images" takes them as 8x8
# images, the others as flat rows. Fitted once, shared: a test that changes
# one must copy it first.
SHARED_FITS = {
    "dense": small_dense,
    "conv": small_conv,
    "conv-images": small_conv,
    "conv-8x8": lambda: small_conv(image_shape=(8, 8, 1)),
    "conv-same-k3": lambda: small_conv(kernel_size=3, padding="same", latent_l1=1e-4),
    "vae": small_vae,
    "conv-vae": lambda: small_vae(architecture="conv", image_shape=(8, 8, 1), filters=(4,)),
    "wrapper": small_wrapper,
}
SHARED_ROWS = 300


def shared_data(kind, X):
    """Return the rows ``X`` as the shared fit of ``kind`` takes them: 8x8 images or flat rows."""
    return X.reshape(-1, 8, 8) if kind.endswith("-images") else X


# The tutorial's three models (docs), built through documented parameters
# only; conftest's ``fitted_tutorial(kind)`` fits each for one epoch on
# random MNIST-sized rows ("conv-images": the default ConvAutoencoder on
# 28x28 images).
TUTORIAL_MODELS = {
    "dense": lambda: _tutorial("DenseAutoencoder"),
    "conv": lambda: _tutorial("ConvAutoencoder", image_shape=(28, 28, 1)),
    "conv-elu": lambda: _tutorial("ConvAutoencoder", image_shape=(28, 28, 1), activation="elu"),
    "conv-images": lambda: _tutorial("ConvAutoencoder"),
}


def _tutorial(name, **params):
    import skae

    return getattr(skae, name)(**params, epochs=1, batch_size=32, random_state=0)


def training_batches(x, *, batch_size, seed, shuffle=True, multiple_of=1, subset=None, **kwargs):
    """The batches of whole passes that an autoencoder's fit feeds Keras (``skae._training.Batches``)."""
    from skae._training import Batches, Epochs

    n = x.shape[0] if subset is None else len(subset)
    schedule = Epochs(n, batch_size=batch_size, seed=seed, shuffle=shuffle, multiple_of=multiple_of)
    return Batches(x, schedule, subset=subset, **kwargs)


def step_batches(x, targets, *, batch_size, seed, first_step, n_steps, multiple_of=1, **kwargs):
    """The steps of deep clustering's fine-tuning rounds (``skae._training.Batches`` of ``Steps``)."""
    from skae._training import Batches, Steps

    schedule = Steps(
        x.shape[0], batch_size=batch_size, seed=seed, first_step=first_step, n_steps=n_steps, multiple_of=multiple_of
    )
    return Batches(x, schedule, targets=targets, **kwargs)
