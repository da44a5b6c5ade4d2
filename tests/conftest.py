"""What the test files share as fixtures: data and fitted estimators.

The MNIST path and the small estimators are in ``_helpers.py``; test files
import them from there and request these fixtures.
"""

import os

import numpy as np
import pytest
from _helpers import MNIST_PATH, small_conv, small_dense

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
