"""skae.metrics: Hungarian clustering accuracy, clustering scorers, reconstruction error."""

import itertools

import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from skae.metrics import (
    clustering_accuracy,
    make_clustering_scorer,
    neg_reconstruction_error,
    reconstruction_error,
)


def brute_force_accuracy(y_true, y_pred):
    classes, clusters = np.unique(y_true), np.unique(y_pred)
    best = 0
    for perm in itertools.permutations(classes, len(clusters)) if len(clusters) <= len(classes) else []:
        mapping = dict(zip(clusters, perm, strict=True))
        best = max(best, np.mean([mapping[c] == t for c, t in zip(y_pred, y_true, strict=True)]))
    return best


def test_accuracy_is_invariant_to_cluster_ids():
    y = np.array([0, 0, 1, 1, 2, 2, 2])
    assert clustering_accuracy(y, y) == 1.0
    assert clustering_accuracy(y, np.array([7, 7, 3, 3, 5, 5, 5])) == 1.0
    assert clustering_accuracy(y, [1, 1, 1, 1, 1, 1, 1]) == pytest.approx(3 / 7)


@pytest.mark.parametrize("seed", range(5))
def test_accuracy_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, 4, 40)
    y_pred = rng.integers(0, 4, 40)
    assert clustering_accuracy(y_true, y_pred) == pytest.approx(brute_force_accuracy(y_true, y_pred))


def test_more_clusters_than_classes_count_as_misses():
    # Two clusters share class 0; only one of them can be matched.
    assert clustering_accuracy([0, 0, 0, 0], [0, 0, 1, 1]) == 0.5


def test_accuracy_rejects_bad_input():
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        clustering_accuracy([0, 1, 2], [0, 1])
    with pytest.raises(ValueError, match="at least one sample"):
        clustering_accuracy([], [])


@pytest.mark.parametrize(
    ("metric", "func"),
    [("accuracy", clustering_accuracy), ("nmi", normalized_mutual_info_score), ("ari", adjusted_rand_score)],
)
def test_clustering_scorers_score_predict_against_y(fitted_pca_kmeans, digits, metric, func):
    X, y = digits
    scorer = make_clustering_scorer(metric)
    expected = func(y, fitted_pca_kmeans.predict(X))
    assert scorer(fitted_pca_kmeans, X, y) == pytest.approx(expected)
    assert 0.3 < expected <= 1.0  # PCA + KMeans on digits clusters far better than chance


def test_clustering_scorer_in_grid_search(digits):
    X, y = digits
    pipe = Pipeline([("pca", PCA(random_state=0)), ("kmeans", KMeans(10, n_init=2, random_state=0))])
    search = GridSearchCV(
        pipe,
        {"pca__n_components": [1, 10]},
        cv=2,
        scoring={"nmi": make_clustering_scorer("nmi"), "accuracy": make_clustering_scorer("accuracy")},
        refit="nmi",
    ).fit(X, y)
    # One principal component cannot separate ten digits; ten can.
    assert search.best_params_ == {"pca__n_components": 10}
    assert search.cv_results_["mean_test_accuracy"][1] > search.cv_results_["mean_test_accuracy"][0]


def test_unknown_clustering_metric():
    with pytest.raises(ValueError, match=r"metric must be one of \['accuracy', 'ari', 'nmi'\]; got 'f1'"):
        make_clustering_scorer("f1")


def test_reconstruction_error_of_pca(digits):
    X = digits[0].astype(np.float64)
    pca = PCA(5).fit(X)
    expected = np.mean((X - pca.inverse_transform(pca.transform(X))) ** 2)
    assert reconstruction_error(pca, X) == pytest.approx(expected)
    assert neg_reconstruction_error(pca, X) == pytest.approx(-expected)
    assert reconstruction_error(PCA(40).fit(X), X) < reconstruction_error(pca, X)


def test_reconstruction_error_skips_a_trailing_clusterer(digits):
    X = digits[0].astype(np.float64)
    pipe = Pipeline(
        [("scale", StandardScaler()), ("pca", PCA(5)), ("kmeans", KMeans(10, n_init=1, random_state=0))]
    ).fit(X)
    head = pipe[:2]
    expected = np.mean((X - head.inverse_transform(head.transform(X))) ** 2)
    assert reconstruction_error(pipe, X) == pytest.approx(expected)


def test_reconstruction_error_needs_inverse_transform(digits):
    X = digits[0]
    with pytest.raises(TypeError, match=r"needs an estimator with transform and inverse_transform .*; got KMeans"):
        reconstruction_error(KMeans(2, n_init=1).fit(X), X)
    with pytest.raises(TypeError, match="none of \\['kmeans'\\]"):
        reconstruction_error(Pipeline([("kmeans", KMeans(2, n_init=1))]).fit(X), X)


def test_neg_reconstruction_error_ranks_a_grid_search_without_labels(digits):
    X = digits[0]
    search = GridSearchCV(PCA(), {"n_components": [2, 30]}, cv=2, scoring=neg_reconstruction_error).fit(X)
    assert search.best_params_ == {"n_components": 30}
