import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

MNIST_PATH = Path(
    os.environ.get("SKAE_MNIST", Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "mnist.npz")
)


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
