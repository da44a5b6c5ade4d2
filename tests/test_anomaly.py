"""Outlier detection from the reconstruction error: contamination, offset_, predict."""

import numpy as np
import pytest
from sklearn.base import clone, is_outlier_detector
from sklearn.exceptions import NotFittedError
from sklearn.metrics import roc_auc_score
from sklearn.utils._param_validation import InvalidParameterError

from skae import ConvAutoencoder, DenseAutoencoder, VariationalAutoencoder

# fitted_on_zeros (conftest.py): a DenseAutoencoder trained on the digit 0 only.


@pytest.mark.parametrize("estimator", [DenseAutoencoder(), ConvAutoencoder(), VariationalAutoencoder()])
def test_every_autoencoder_is_an_outlier_detector_and_a_transformer(estimator, digits):
    assert is_outlier_detector(estimator)
    assert estimator.get_params()["contamination"] == 0.1
    # Each method of both roles is there and asks for a fit, rather than
    # failing on a missing attribute.
    X = digits[0][:60]
    for method in ("transform", "inverse_transform", "score_samples", "decision_function", "predict"):
        with pytest.raises(NotFittedError):
            getattr(estimator, method)(X)
    # fit_predict fits, then labels each training row an inlier (1) or an outlier (-1), as predict does.
    est = clone(estimator).set_params(epochs=1, random_state=0)
    labels = est.fit_predict(X)
    assert labels.shape == (60,) and set(np.unique(labels)) <= {-1, 1}
    np.testing.assert_array_equal(labels, est.predict(X))


def test_offset_is_the_contamination_quantile_of_training_scores(fitted_on_zeros, digits):
    X, y = digits
    X0 = X[y == 0]
    scores = fitted_on_zeros.score_samples(X0)
    assert fitted_on_zeros.offset_ == pytest.approx(np.percentile(scores, 10), rel=1e-6)
    np.testing.assert_allclose(fitted_on_zeros.decision_function(X0), scores - fitted_on_zeros.offset_, rtol=1e-6)
    labels = fitted_on_zeros.predict(X0)
    assert labels.dtype.kind == "i" and set(np.unique(labels)) == {-1, 1}
    np.testing.assert_array_equal(labels == -1, fitted_on_zeros.decision_function(X0) < 0)
    # 178 zeros, contamination 0.1: the 10th percentile interpolates between
    # the 18th and 19th lowest scores, so the 18 worst rows are outliers.
    assert np.sum(labels == -1) == 18


@pytest.mark.parametrize("contamination", [0.02, 0.25, 0.5])
def test_contamination_sets_the_fraction_flagged_in_training(contamination, digits):
    X = digits[0][:400]
    ae = DenseAutoencoder(hidden_layer_sizes=(16,), latent_dim=4, epochs=1, contamination=contamination, random_state=0)
    labels = ae.fit_predict(X)
    assert np.mean(labels == -1) == pytest.approx(contamination, abs=1 / len(X))
    np.testing.assert_array_equal(labels, ae.predict(X))


def test_other_digits_score_as_outliers(fitted_on_zeros, digits):
    X, y = digits
    is_outlier = y != 0
    # Measured: ROC AUC 0.9999 with this seed.
    assert roc_auc_score(is_outlier, -fitted_on_zeros.score_samples(X)) > 0.97
    flagged = fitted_on_zeros.predict(X) == -1
    assert flagged[is_outlier].mean() > 0.9
    assert flagged[~is_outlier].mean() < 0.2


@pytest.mark.parametrize("contamination", [0.0, 0.6, "auto"])
def test_bad_contamination_is_named(contamination, digits):
    with pytest.raises(InvalidParameterError, match="'contamination' parameter"):
        DenseAutoencoder(epochs=1, contamination=contamination).fit(digits[0])


def test_decision_function_and_predict_need_a_fit(digits):
    from sklearn.exceptions import NotFittedError

    for method in ("decision_function", "predict"):
        with pytest.raises(NotFittedError):
            getattr(DenseAutoencoder(), method)(digits[0])


def test_offset_survives_pickling(fitted_on_zeros, digits):
    import pickle

    twin = pickle.loads(pickle.dumps(fitted_on_zeros))
    assert twin.offset_ == fitted_on_zeros.offset_
    np.testing.assert_array_equal(twin.predict(digits[0]), fitted_on_zeros.predict(digits[0]))


def test_fit_on_a_dataframe_sets_the_threshold_without_warnings(digits):
    import warnings

    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(digits[0][:300], columns=[f"px{i}" for i in range(64)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ae = DenseAutoencoder(hidden_layer_sizes=(8,), latent_dim=2, epochs=1, random_state=0).fit(frame)
        assert np.mean(ae.predict(frame) == -1) == pytest.approx(0.1, abs=1 / 300)


def test_offset_scores_a_seeded_subset_of_large_training_sets(monkeypatch, digits):
    # Above OFFSET_SAMPLES rows, fit scores that many rows (no full extra
    # pass), drawn from random_state: the threshold is reproducible and
    # close to the quantile over all rows.
    from skae import _outliers

    monkeypatch.setattr(_outliers, "OFFSET_SAMPLES", 400)
    X = digits[0]
    first = DenseAutoencoder(hidden_layer_sizes=(16,), latent_dim=4, epochs=2, random_state=0).fit(X)
    again = DenseAutoencoder(hidden_layer_sizes=(16,), latent_dim=4, epochs=2, random_state=0).fit(X)
    assert first.offset_ == again.offset_
    flagged = np.mean(first.predict(X) == -1)
    assert flagged == pytest.approx(0.1, abs=0.04)
