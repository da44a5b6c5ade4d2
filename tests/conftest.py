"""What the test files share as fixtures: data and fitted estimators.

Every fitted estimator a test module shares comes from here; the factories
that make them, the MNIST path and the small estimators are in
``_helpers.py``, which test files import. The fitted ones are
session-scoped: a test that changes one (``set_params``, ``fit``,
``partial_fit``) must work on a ``copy.deepcopy`` or a ``clone`` of it.
"""

import os

import numpy as np
import pytest
from _helpers import (
    MNIST_PATH,
    SHARED_FITS,
    SHARED_ROWS,
    TUTORIAL_MODELS,
    dense_grid_search,
    pca_kmeans,
    shared_data,
    small_conv,
    small_dec,
    small_dense,
    small_vae,
)

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# A script that test_multiprocess.py runs in processes of its own, with its
# spec in argv: importing it (as --doctest-modules would) runs a worker.
collect_ignore = ["_multiprocess_worker.py"]


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


def _fit_once(make):
    """Return ``get(kind)``: ``make(kind)``'s estimator, made and fitted on the first call for that kind only."""
    fitted = {}

    def get(kind):
        if kind not in fitted:
            fitted[kind] = make(kind)
        return fitted[kind]

    return get


@pytest.fixture(scope="session")
def fitted_small(digits):
    """``fitted_small(kind)``: the small estimator ``_helpers.SHARED_FITS[kind]`` fitted on the first 300 digits.

    One fit per kind and session (per xdist worker), shared by every module
    that asks for it: test_contract, test_inference, test_onnx and
    test_persistence.
    """
    X = digits[0][:SHARED_ROWS]
    return _fit_once(lambda kind: SHARED_FITS[kind]().fit(shared_data(kind, X)))


@pytest.fixture(scope="session")
def fitted_dec(digits):
    """The small DeepEmbeddedClustering (``_helpers.small_dec``) fitted on the first 600 digits."""
    return small_dec().fit(digits[0][:600])


@pytest.fixture(scope="session")
def fitted_on_zeros(digits):
    """A DenseAutoencoder (32 hidden units, 8 latents, 30 epochs) trained on the digit 0 only: an outlier detector."""
    X, y = digits
    return small_dense(hidden_layer_sizes=(32,), latent_dim=8, epochs=30, batch_size=32).fit(X[y == 0])


@pytest.fixture(scope="session")
def fitted_vae(digits):
    """A VariationalAutoencoder (64 hidden units, 4 latents) trained 30 epochs on all the digits: it samples digits."""
    return small_vae(hidden_layer_sizes=(64,), latent_dim=4, batch_size=64, epochs=30).fit(digits[0])


@pytest.fixture(scope="session")
def fitted_conv_vae(digits):
    """A two-epoch convolutional VariationalAutoencoder (8 and 16 filters, 4 latents) fitted on the 8x8 digit images."""
    return small_vae(architecture="conv", filters=(8, 16), latent_dim=4).fit(digits[0].reshape(-1, 8, 8))


@pytest.fixture(scope="session")
def mnist_like():
    """64 random rows of 784 values in [0, 1]: MNIST's size, for models that are only built and inspected."""
    return np.random.default_rng(0).random((64, 784), dtype=np.float32)


@pytest.fixture(scope="session")
def fitted_tutorial(mnist_like):
    """``fitted_tutorial(kind)``: the tutorial's model ``_helpers.TUTORIAL_MODELS[kind]``, fitted on ``mnist_like``."""

    def fit(kind):
        X = mnist_like.reshape(-1, 28, 28) if kind.endswith("-images") else mnist_like
        return TUTORIAL_MODELS[kind]().fit(X)

    return _fit_once(fit)


@pytest.fixture(scope="session")
def fitted_search(digits):
    """``_helpers.dense_grid_search`` fitted in this process on the first 400 digits: the serial reference."""
    return dense_grid_search(n_jobs=1).fit(digits[0][:400])


@pytest.fixture(scope="session")
def fitted_pca_kmeans(digits):
    """``_helpers.pca_kmeans`` fitted on all the digits."""
    return pca_kmeans().fit(digits[0])
