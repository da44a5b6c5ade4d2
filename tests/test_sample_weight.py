"""Sample weights and metadata routing: every estimator, on every backend.

The tests that reach Keras's weighted loss (a weight per row, per pixel,
per output; the validation rows; the VAE's KL term) are in the backend
set that CI also runs under JAX and PyTorch; the checks of the weights
themselves, the scores and the routing are scikit-learn's and NumPy's,
the same on every backend.
"""

import warnings

import numpy as np
import pytest
import sklearn
from _helpers import small_conv, small_dec, small_dense, small_vae, small_wrapper
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from packaging.version import Version
from scipy import sparse
from sklearn.model_selection import GridSearchCV, KFold, cross_validate
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from skae import AutoencoderTransformer, DenseAutoencoder, load
from skae._input import check_sample_weight
from skae._outliers import weighted_quantile
from skae._training import split_validation

MAKERS = {"dense": small_dense, "conv": small_conv, "vae": small_vae, "wrapper": small_wrapper}


def weights_of(n, seed=0):
    """Weights that differ from row to row, a few of them zero."""
    w = np.random.default_rng(seed).uniform(0.2, 3.0, n)
    w[::17] = 0.0
    return w


def same_fit(a, b, X):
    np.testing.assert_array_equal(a.transform(X), b.transform(X))
    assert a.history_ == b.history_
    assert a.offset_ == b.offset_


@pytest.mark.backends
@pytest.mark.parametrize("kind", MAKERS)
def test_unit_weights_fit_the_same_bits_as_no_weights(kind, digits):
    X = digits[0][:150]
    plain = MAKERS[kind]().fit(X)
    for weights in (np.ones(len(X)), np.full(len(X), 3.5)):  # weights all alike are no weights
        same_fit(MAKERS[kind]().fit(X, sample_weight=weights), plain, X)


@pytest.mark.parametrize("kind", MAKERS)
def test_weights_change_the_fit_and_their_scale_does_not(kind, digits):
    X = digits[0][:150]
    w = weights_of(len(X))
    weighted = MAKERS[kind]().fit(X, sample_weight=w)
    assert not np.array_equal(weighted.transform(X), MAKERS[kind]().fit(X).transform(X))
    # Rescaled to mean 1: ten times the weights is the same fit, to rounding.
    scaled = MAKERS[kind]().fit(X, sample_weight=10 * w)
    np.testing.assert_allclose(scaled.transform(X), weighted.transform(X), rtol=1e-4, atol=1e-5)


@pytest.mark.backends
@pytest.mark.parametrize(
    ("make", "params"),
    [
        (small_dense, {"noise": "mask", "noise_level": 0.2, "validation_fraction": 0.2}),
        # A VAE's weight scales its whole loss, the KL term too.
        (small_vae, {"validation_fraction": 0.2}),
        (small_vae, {"architecture": "conv", "image_shape": (8, 8), "filters": (4,)}),
    ],
    ids=["dense", "vae", "conv-vae"],
)
def test_rows_of_weight_zero_leave_no_trace(make, params, digits):
    # A row of weight 0 adds exactly 0 to every gradient: whatever it holds,
    # the fit is the same, bit for bit (the networks have no batch statistics).
    X = digits[0][:200]
    w = weights_of(len(X))
    garbage = X.copy()
    garbage[w == 0] = np.random.default_rng(1).random(((w == 0).sum(), X.shape[1]), dtype=np.float32)
    same_fit(make(**params).fit(garbage, sample_weight=w), make(**params).fit(X, sample_weight=w), X)


@pytest.mark.backends
def test_validation_rows_keep_their_weights_and_early_stopping_watches_them(digits):
    X = digits[0][:200]
    ae = small_dense(epochs=8, validation_fraction=0.25, early_stopping=True, patience=2, random_state=3)
    # The rows fit holds out for validation, from the seed it draws.
    seed = ae._fit_seed(0)
    _, val_rows = split_validation(len(X), 0.25, seed)
    w = np.ones(len(X))
    w[val_rows] = 0.0
    ae.fit(X, sample_weight=w)
    assert ae.history_["val_loss"] == [0.0] * 3  # weighted: nothing to lose; stopped after patience
    assert len(ae.history_["loss"]) == 3


def test_score_is_the_weighted_mean_and_offset_the_weighted_quantile(digits):
    X = digits[0][:300]
    w = weights_of(len(X))
    ae = small_dense(contamination=0.2).fit(X, sample_weight=w)
    scores = ae.score_samples(X)
    assert ae.score(X, sample_weight=w) == pytest.approx(np.average(scores, weights=w), rel=1e-12)
    assert ae.score(X) == pytest.approx(scores.mean(), rel=1e-12)
    assert ae.offset_ == weighted_quantile(scores, 0.2, w)
    # Every row of weight 0 is left out of the quantile.
    assert ae.offset_ == weighted_quantile(scores[w > 0], 0.2, w[w > 0])


def test_weighted_quantile_counts_a_weight_of_two_as_the_row_twice():
    values = np.array([3.0, 1.0, 2.0, 5.0])
    repeated = np.array([3.0, 1.0, 1.0, 2.0, 5.0, 5.0, 5.0])
    for q in (0.1, 0.3, 0.5, 0.9):
        assert weighted_quantile(values, q, np.array([1.0, 2.0, 1.0, 3.0])) == np.quantile(
            repeated, q, method="inverted_cdf"
        )


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        (-np.ones(120), "non-negative"),
        (np.r_[np.nan, np.ones(119)], "finite"),
        (np.r_[np.inf, np.ones(119)], "finite"),
        (np.ones(119), r"shape \(120,\); got shape \(119,\)"),
        (np.ones((120, 1)), r"1-D array"),
        (np.zeros(120), "all zero"),
        (["a"] * 120, "numbers"),
    ],
)
def test_bad_weights_name_sample_weight_and_leave_the_model_as_it_was(weights, message, digits):
    X = digits[0][:120]
    ae = small_dense().fit(X)
    before = ae.transform(X[:5]), dict(ae.__dict__)
    with pytest.raises(ValueError, match=message) as error:
        ae.fit(X, sample_weight=weights)
    assert "sample_weight" in str(error.value)
    with pytest.raises(ValueError, match="sample_weight"):
        ae.partial_fit(X, sample_weight=weights)
    np.testing.assert_array_equal(ae.transform(X[:5]), before[0])
    assert ae.__dict__.keys() == before[1].keys()
    with pytest.raises(ValueError, match="sample_weight"):
        ae.score(X, sample_weight=weights)


def test_the_callers_weights_are_left_as_they_were(digits):
    X = digits[0][:100]
    w = weights_of(len(X))
    kept = w.copy()
    small_dense().fit(X, sample_weight=w)
    np.testing.assert_array_equal(w, kept)


def test_sparse_rows_train_with_weights_as_the_dense_rows_do(digits):
    X = digits[0][:150]
    w = weights_of(len(X))
    same_fit(small_dense().fit(sparse.csr_matrix(X), sample_weight=w), small_dense().fit(X, sample_weight=w), X)


def test_memmap_rows_train_with_weights(digits, tmp_path):
    X = digits[0][:150]
    path = tmp_path / "x.npy"
    np.save(path, X)
    rows = np.load(path, mmap_mode="r")
    w = weights_of(len(X))
    same_fit(small_dense().fit(rows, sample_weight=w), small_dense().fit(X, sample_weight=w), X)


def test_partial_fit_warm_start_and_save_keep_training_with_weights(digits, tmp_path):
    X = digits[0][:200]
    w = weights_of(len(X))
    streamed = small_dense()
    for chunk, weights in zip(np.array_split(X, 2), np.array_split(w, 2), strict=True):
        streamed.partial_fit(chunk, sample_weight=weights)
    assert len(streamed.history_["loss"]) == 2
    warm = small_dense(warm_start=True).fit(X, sample_weight=w)
    path = tmp_path / "ae.skae"
    warm.save(path)
    loaded = load(path)
    assert loaded.offset_ == warm.offset_
    warm.fit(X, sample_weight=w)
    loaded.fit(X, sample_weight=w)
    same_fit(loaded, warm, X)
    assert len(warm.history_["loss"]) == 4


@pytest.mark.backends
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(counts=st.lists(st.integers(0, 3), min_size=12, max_size=12).filter(lambda c: sum(c) > 0))
def test_integer_weights_train_like_repeated_rows(counts, digits):
    # In expectation over the batches, a row of weight k is the row k times:
    # one step on the whole data is that expectation, and SGD moves the
    # weights alike from the same start, to rounding.
    X = digits[0][:12]
    counts = np.array(counts)
    one_batch = {"epochs": 1, "batch_size": 64, "optimizer": "sgd", "learning_rate": 0.5}
    weighted = small_dense(**one_batch).fit(X, sample_weight=counts)
    repeated = small_dense(**one_batch).fit(np.repeat(X, counts, axis=0))
    for a, b in zip(weighted.model_.get_weights(), repeated.model_.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_check_sample_weight_rescales_to_mean_one():
    w = check_sample_weight([1.0, 3.0, 0.0, 4.0], 4)
    np.testing.assert_allclose(w, [0.5, 1.5, 0.0, 2.0])
    assert check_sample_weight(None, 4) is None
    assert check_sample_weight([2.0, 2.0], 2) is None


# ---------------------------------------------------------------------------
# Metadata routing


def test_each_fitting_and_scoring_method_can_request_weights():
    with sklearn.config_context(enable_metadata_routing=True):
        ae = small_dense()
        assert ae.set_fit_request(sample_weight=True) is ae
        assert ae.set_partial_fit_request(sample_weight=True) is ae
        assert ae.set_score_request(sample_weight=True) is ae
        routing = ae.get_metadata_routing()
        assert routing.consumes("fit", ["sample_weight"]) == {"sample_weight"}
        assert routing.consumes("partial_fit", ["sample_weight"]) == {"sample_weight"}
        assert routing.consumes("score", ["sample_weight"]) == {"sample_weight"}
        dec = small_dec().set_fit_request(sample_weight=True)
        assert dec.get_metadata_routing().consumes("fit", ["sample_weight"]) == {"sample_weight"}


def pipeline(ae):
    return Pipeline([("scale", FunctionTransformer()), ("ae", ae)])


@pytest.mark.skipif(
    Version(sklearn.__version__) < Version("1.8"),
    # UnsetMetadataPassedError for Pipeline.score, whatever its last step.
    reason="scikit-learn before 1.8 routes no sample_weight to a Pipeline's score in a search or cross_validate",
)
def test_a_search_routes_the_weights_to_the_autoencoders_fit_and_score(digits):
    X = digits[0][:240]
    w = weights_of(len(X))
    with sklearn.config_context(enable_metadata_routing=True):
        ae = small_dense().set_fit_request(sample_weight=True).set_score_request(sample_weight=True)
        search = GridSearchCV(pipeline(ae), {"ae__latent_dim": [3, 4]}, cv=KFold(2)).fit(X, sample_weight=w)
        # The refit on all of X got the weights: the same fit as weights given by hand.
        best = search.best_params_["ae__latent_dim"]
        by_hand = small_dense(latent_dim=best).fit(X, sample_weight=w)
        np.testing.assert_array_equal(search.best_estimator_[-1].transform(X), by_hand.transform(X))
        # And each fold's score is the weighted score of its test rows.
        scores = cross_validate(pipeline(ae), X, cv=KFold(2), params={"sample_weight": w})["test_score"]
    train, test = next(KFold(2).split(X))
    fold = small_dense().fit(X[train], sample_weight=w[train])
    assert scores[0] == pytest.approx(fold.score(X[test], sample_weight=w[test]), rel=1e-6)
    assert scores[0] != pytest.approx(fold.score(X[test]), rel=1e-6)


def test_fit_transform_takes_weights_and_a_routed_pipeline_passes_them_to_an_inner_autoencoder(digits):
    from sklearn.cluster import KMeans

    X = digits[0][:150]
    w = weights_of(len(X))
    by_hand = small_dense().fit(X, sample_weight=w)
    np.testing.assert_array_equal(small_dense().fit_transform(X, sample_weight=w), by_hand.transform(X))
    with sklearn.config_context(enable_metadata_routing=True):
        ae = small_dense().set_fit_request(sample_weight=True)
        kmeans = KMeans(3, n_init=2, random_state=0).set_fit_request(sample_weight=False)
        fitted = Pipeline([("ae", ae), ("kmeans", kmeans)]).fit(X, sample_weight=w)
    np.testing.assert_array_equal(fitted[0].transform(X), by_hand.transform(X))


def test_without_routing_a_pipeline_passes_weights_by_step_name(digits):
    X = digits[0][:150]
    w = weights_of(len(X))
    fitted = pipeline(small_dense()).fit(X, ae__sample_weight=w)
    same_fit(fitted[-1], small_dense().fit(X, sample_weight=w), X)


def test_deep_clustering_in_a_pipeline_gets_the_weights(digits):
    X = digits[0][:200]
    w = weights_of(len(X))
    with sklearn.config_context(enable_metadata_routing=True):
        dec = small_dec(max_iter=20).set_fit_request(sample_weight=True)
        fitted = pipeline(dec).fit(X, sample_weight=w)
    by_hand = small_dec(max_iter=20).fit(X, sample_weight=w)
    np.testing.assert_array_equal(fitted[-1].labels_, by_hand.labels_)
    np.testing.assert_array_equal(fitted[-1].cluster_centers_, by_hand.cluster_centers_)


# ---------------------------------------------------------------------------
# Deep clustering


@pytest.mark.backends
def test_deep_clustering_unit_weights_are_no_weights_and_others_count(digits):
    X = digits[0][:200]
    plain = small_dec(max_iter=20).fit(X)
    unit = small_dec(max_iter=20).fit(X, sample_weight=np.ones(len(X)))
    np.testing.assert_array_equal(unit.labels_, plain.labels_)
    np.testing.assert_array_equal(unit.cluster_centers_, plain.cluster_centers_)
    w = weights_of(len(X))
    weighted = small_dec(max_iter=20).fit(X, sample_weight=w)
    assert not np.array_equal(weighted.cluster_centers_, plain.cluster_centers_)
    np.testing.assert_array_equal(small_dec(max_iter=20).fit_predict(X, sample_weight=w), weighted.labels_)
    with pytest.raises(ValueError, match="sample_weight"):
        small_dec().fit(X, sample_weight=w[:-1])


@pytest.mark.backends
def test_idec_of_images_weighs_the_assignments_and_each_pixel_of_the_reconstruction(digits):
    # Fine-tuning's two losses have one value a row and one a pixel: each
    # gets the row's weight in its own shape.
    X = digits[0][:200].reshape(-1, 8, 8)
    w = weights_of(len(X))
    settings = {"autoencoder": small_conv(latent_dim=10), "reconstruction_weight": 0.5, "max_iter": 20}
    weighted = small_dec(**settings).fit(X, sample_weight=w)
    assert weighted.n_iter_ > 0
    assert not np.array_equal(weighted.cluster_centers_, small_dec(**settings).fit(X).cluster_centers_)
    np.testing.assert_array_equal(weighted.predict(X), weighted.labels_)


def test_the_target_distribution_divides_by_the_weighted_cluster_frequency():
    from skae._dec_settings import target_distribution

    q = np.random.default_rng(0).dirichlet(np.ones(3), size=6)
    w = np.array([1.0, 2.0, 0.0, 1.0, 1.0, 1.0])
    # A row of weight 2 is the row twice; one of weight 0 is no row.
    rows = [0, 1, 1, 3, 4, 5]
    np.testing.assert_allclose(
        target_distribution(q, w)[[0, 1, 3, 4, 5]], target_distribution(q[rows])[[0, 1, 3, 4, 5]]
    )
    np.testing.assert_array_equal(target_distribution(q, None), target_distribution(q))


# ---------------------------------------------------------------------------
# Values the output cannot reach


def fit_warnings(ae, X):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ae.fit(X)
    return [str(w.message) for w in caught if "cannot reach" in str(w.message)]


def test_pixels_of_0_to_255_into_a_sigmoid_output_warn_once_with_both_fixes(digits):
    X = digits[0][:100] * 255
    (message,) = fit_warnings(small_dense(epochs=1), X)
    assert "from 0 to 255" in message and "output_activation='sigmoid'" in message
    assert "X / 255" in message and "output_activation='linear'" in message
    assert fit_warnings(small_dense(epochs=1, output_activation="linear"), X) == []
    assert len(fit_warnings(small_conv(epochs=1), X.reshape(-1, 8, 8))) == 1
    assert len(fit_warnings(small_dense(epochs=1, output_activation="tanh"), X - 300)) == 1


def test_data_inside_the_range_and_a_users_own_network_never_warn(digits):
    X = digits[0][:100]
    assert fit_warnings(small_dense(epochs=1), X) == []
    assert fit_warnings(small_vae(epochs=1), X) == []
    assert fit_warnings(small_wrapper(epochs=1), X * 255) == []
    assert isinstance(small_wrapper(), AutoencoderTransformer) and not isinstance(small_wrapper(), DenseAutoencoder)
