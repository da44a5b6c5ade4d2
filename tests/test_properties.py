"""Property-based tests: shapes, dtypes, determinism, no mutation, bad input.

Each example trains a tiny Keras model for one epoch (a second or more on a
busy 2-core machine), so the default profile runs only a few examples per
property. Set ``SKAE_HYPOTHESIS_EXAMPLES=25`` for a thorough run.
"""

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.base import clone

from skae import ConvAutoencoder, DenseAutoencoder

SETTINGS = settings(
    max_examples=int(os.environ.get("SKAE_HYPOTHESIS_EXAMPLES", "5")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
DTYPES = st.sampled_from([np.float32, np.float64])


@st.composite
def dense_case(draw):
    n_samples = draw(st.integers(2, 40))
    n_features = draw(st.integers(1, 12))
    latent_dim = draw(st.integers(1, 6))
    dtype = draw(DTYPES)
    seed = draw(st.integers(0, 2**16))
    X = np.random.default_rng(seed).random((n_samples, n_features)).astype(dtype)
    est = DenseAutoencoder(
        hidden_layer_sizes=(draw(st.integers(1, 8)),), latent_dim=latent_dim, epochs=1, batch_size=16, random_state=seed
    )
    return est, X


@st.composite
def conv_case(draw):
    """Images of any (h, w, c) in any of the three layouts ConvAutoencoder takes."""
    h, w, c = draw(st.integers(1, 5)), draw(st.integers(1, 5)), draw(st.integers(1, 3))
    n_samples = draw(st.integers(2, 20))
    layout = draw(st.sampled_from(["flat", "hw", "hwc"] if c == 1 else ["flat", "hwc"]))
    dtype = draw(DTYPES)
    seed = draw(st.integers(0, 2**16))
    images = np.random.default_rng(seed).random((n_samples, h, w, c)).astype(dtype)
    X = {"flat": images.reshape(n_samples, -1), "hw": images[..., 0], "hwc": images}[layout]
    est = ConvAutoencoder(
        image_shape=(h, w, c) if layout == "flat" else None,
        filters=(2,),
        kernel_size=1,
        strides=1,
        latent_dim=draw(st.integers(1, 6)),
        epochs=1,
        batch_size=16,
        random_state=seed,
    )
    return est, X


@pytest.mark.parametrize("case", [dense_case(), conv_case()], ids=["dense", "conv"])
@pytest.mark.slow
def test_shapes_dtypes_determinism_and_no_mutation(case):
    @SETTINGS
    @given(case)
    def check(est_and_X):
        est, X = est_and_X
        before = X.copy()
        Z = est.fit_transform(X)
        assert Z.shape == (len(X), est.latent_dim) and Z.dtype == X.dtype
        X_back = est.inverse_transform(Z)
        assert X_back.shape == X.shape and X_back.dtype == X.dtype
        assert est.score_samples(X).shape == (len(X),)
        assert np.isfinite(Z).all() and np.isfinite(X_back).all()
        np.testing.assert_array_equal(X, before)
        np.testing.assert_array_equal(Z, before_Z := est.transform(X))  # transform is deterministic
        # Same random_state, same data: the same model.
        np.testing.assert_array_equal(clone(est).fit(X).transform(X), before_Z)

    check()


@pytest.mark.parametrize("case", [dense_case(), conv_case()], ids=["dense", "conv"])
@pytest.mark.slow
def test_non_finite_values_are_rejected_wherever_they_are(case):
    @SETTINGS
    @given(case, st.sampled_from([np.nan, np.inf, -np.inf]), st.data())
    def check(est_and_X, bad, data):
        est, X = est_and_X
        position = tuple(data.draw(st.integers(0, size - 1)) for size in X.shape)
        X_bad = X.copy()
        X_bad[position] = bad
        match = "NaN" if np.isnan(bad) else "infinity"
        with pytest.raises(ValueError, match=match):
            est.fit(X_bad)
        assert not hasattr(est, "model_")
        est.fit(X)
        for method in (est.transform, est.score_samples, est.partial_fit):
            with pytest.raises(ValueError, match=match):
                method(X_bad)
        Z_bad = est.transform(X)
        Z_bad[0, data.draw(st.integers(0, Z_bad.shape[1] - 1))] = bad
        with pytest.raises(ValueError, match=match):
            est.inverse_transform(Z_bad)

    check()


@SETTINGS
@given(dense_case(), st.integers(1, 15), st.integers(1, 8))
def test_feature_counts_are_checked(est_and_X, n_features, latent):
    est, X = est_and_X
    est.fit(X)
    if n_features != X.shape[1]:
        with pytest.raises(ValueError, match=f"X has {n_features} features, but DenseAutoencoder is expecting"):
            est.transform(np.zeros((3, n_features), dtype=X.dtype))
        with pytest.raises(ValueError, match=f"X has {n_features} features, but DenseAutoencoder is expecting"):
            est.partial_fit(np.zeros((3, n_features), dtype=X.dtype))
    if latent != est.latent_dim:
        with pytest.raises(ValueError, match=f"X has {latent} features, .* expects latent codes of {est.latent_dim}"):
            est.inverse_transform(np.zeros((3, latent), dtype=X.dtype))
