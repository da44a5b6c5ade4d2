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
