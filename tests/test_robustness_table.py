"""Rows of the bad-input table in docs/user_guide/robustness.rst not tested elsewhere."""

import numpy as np
import pytest
from scipy import sparse

from skae import DenseAutoencoder

X = np.random.default_rng(0).random((20, 64)).astype(np.float32)


def _sparse_3d(X):
    """X as a 3-D sparse array, or None where this SciPy has none (before 1.15)."""
    try:
        return sparse.coo_array(X.reshape(20, 8, 8))
    except (TypeError, ValueError):
        return None


@pytest.mark.parametrize(
    ("params", "data", "error", "match"),
    [
        ({}, np.zeros((5, 0)), ValueError, r"Found array with 0 feature\(s\) \(shape=\(5, 0\)\)"),
        ({}, X[0], ValueError, "Expected 2D array, got 1D array instead"),
        ({}, [[1.0, 2.0], [3.0]], ValueError, "inhomogeneous shape"),
        ({}, X.astype(np.complex64), ValueError, "Complex data not supported"),
        pytest.param(
            {},
            _sparse_3d(X),
            ValueError,
            r"expected sparse X of 2 dimensions, \(n_samples, n_features\); got a sparse coo_array of shape "
            r"\(20, 8, 8\)\. Flatten its samples with X.reshape\(\(X.shape\[0\], -1\)\) for a model of flat rows",
            marks=pytest.mark.skipif(_sparse_3d(X) is None, reason="this SciPy has no N-D sparse arrays"),
        ),
        ({"distribute_strategy": "tpu"}, X, ValueError, "'distribute_strategy' parameter of DenseAutoencoder must be"),
        ({"output_activation": "linear"}, X * 1e30, FloatingPointError, "training loss became (inf|nan) in epoch 1"),
    ],
    ids=["no-columns", "1-d", "ragged", "complex", "sparse-3-d", "strategy", "diverging"],
)
def test_documented_error(params, data, error, match):
    with pytest.raises(error, match=match):
        DenseAutoencoder(hidden_layer_sizes=(8,), latent_dim=4, epochs=1, random_state=0, **params).fit(data)
