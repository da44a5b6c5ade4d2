"""What the test files share: the MNIST file, data fixtures and small estimators.

Test files import the names (``from conftest import MNIST_PATH, needs_mnist,
small_dense``) and request the fixtures; none defines its own copy.
"""

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# The real MNIST file: $SKAE_MNIST, else the shared copy beside the checkout.
# Nothing downloads at test time; tests that need it skip without it.
MNIST_PATH = Path(
    os.environ.get("SKAE_MNIST", Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "mnist.npz")
)
needs_mnist = pytest.mark.skipif(not MNIST_PATH.exists(), reason=f"MNIST file not found at {MNIST_PATH}")


@pytest.fixture(scope="session")
def digits():
    """scikit-learn's 8x8 digits scaled to [0, 1], and their labels."""
    from sklearn.datasets import load_digits

    data = load_digits()
    return (data.data / 16.0).astype(np.float32), data.target


@pytest.fixture(scope="session")
def mnist_small():
    """The first 2,000 real MNIST training images, flat and scaled to [0, 1]."""
    if not MNIST_PATH.exists():
        pytest.skip(f"MNIST file not found at {MNIST_PATH}")
    with np.load(MNIST_PATH) as f:
        x = f["x_train"][:2000].reshape(2000, -1).astype(np.float32) / 255.0
        y = f["y_train"][:2000]
    return x, y


@pytest.fixture(scope="session")
def fitted_dense(digits):
    """A two-epoch DenseAutoencoder (32 hidden units, 6 latents) fitted on the digits; copy it to change it."""
    return small_dense(hidden_layer_sizes=(32,), latent_dim=6).fit(digits[0])


@pytest.fixture(scope="session")
def fitted_conv(digits):
    """A two-epoch ConvAutoencoder (4 and 8 filters, 6 latents) fitted on the 8x8 digit images; copy it to change it."""
    return small_conv(latent_dim=6).fit(digits[0].reshape(-1, 8, 8))


# Small estimators, shared by the test files (``from conftest import small_dense``):
# a few seconds to fit on the digits, seeded, every parameter overridable.


def small_dense(**params):
    """A two-epoch DenseAutoencoder with a 16-unit hidden layer and 4 latents."""
    from skae import DenseAutoencoder

    return DenseAutoencoder(**{"hidden_layer_sizes": (16,), "latent_dim": 4, "epochs": 2, "random_state": 0, **params})


def small_conv(**params):
    """A two-epoch ConvAutoencoder with 4 and 8 filters and 4 latents."""
    from skae import ConvAutoencoder

    return ConvAutoencoder(**{"filters": (4, 8), "latent_dim": 4, "epochs": 2, "random_state": 0, **params})


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
