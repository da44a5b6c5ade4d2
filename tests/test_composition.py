"""Autoencoders composed with scikit-learn: Pipeline + KMeans, Pipeline + TSNE, one GridSearchCV."""

import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.manifold import TSNE
from sklearn.metrics import normalized_mutual_info_score
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits

from skae import ConvAutoencoder, DenseAutoencoder
from skae.metrics import clustering_accuracy, make_clustering_scorer, neg_reconstruction_error


def dense(**params):
    return DenseAutoencoder(
        **{"hidden_layer_sizes": (32,), "latent_dim": 8, "epochs": 3, "batch_size": 64, "random_state": 0, **params}
    )


def test_pipeline_autoencoder_then_kmeans(digits):
    X, y = digits
    pipe = Pipeline([("ae", dense(epochs=10)), ("kmeans", KMeans(10, n_init=5, random_state=0))])
    labels = pipe.fit_predict(X)
    assert labels.shape == (len(X),) and set(labels) == set(range(10))
    np.testing.assert_array_equal(pipe.predict(X[:50]), labels[:50])
    # The clusters follow the digits far better than chance (NMI 0, accuracy ~0.1).
    assert normalized_mutual_info_score(y, labels) > 0.3
    assert clustering_accuracy(y, labels) > 0.3
    assert pipe.named_steps["kmeans"].cluster_centers_.shape == (10, 8)


def test_pipeline_autoencoder_then_tsne_through_fit_transform(digits):
    X = digits[0][:150]
    pipe = Pipeline([("ae", dense()), ("tsne", TSNE(n_components=2, perplexity=15, random_state=0))])
    # t-SNE's OpenMP threads crawl on a shared CPU; one thread changes no result.
    with threadpool_limits(1):
        xy = pipe.fit_transform(X)
    assert xy.shape == (150, 2) and np.all(np.isfinite(xy))
    assert pipe.named_steps["ae"].transform(X).shape == (150, 8)


@pytest.fixture(scope="module")
def search_setup():
    pipe = Pipeline([("ae", dense()), ("kmeans", KMeans(10, n_init=3, random_state=0))])
    conv = ConvAutoencoder(image_shape=(8, 8, 1), epochs=2, batch_size=64, random_state=0)
    # Four candidates that vary all four choices at once: the kind of
    # autoencoder, its layer sizes or filters, latent_dim and activation.
    grid = [
        {
            "ae": [dense(epochs=2)],
            "ae__hidden_layer_sizes": [(16,)],
            "ae__latent_dim": [4],
            "ae__activation": ["relu"],
        },
        {
            "ae": [dense(epochs=2)],
            "ae__hidden_layer_sizes": [(64,)],
            "ae__latent_dim": [12],
            "ae__activation": ["elu"],
        },
        {"ae": [conv], "ae__filters": [(4, 8)], "ae__latent_dim": [4], "ae__activation": ["relu"]},
        {"ae": [conv], "ae__filters": [(8, 16)], "ae__latent_dim": [12], "ae__activation": ["elu"]},
    ]
    return pipe, grid


def check_search(search, n_candidates=4):
    results = search.cv_results_
    assert len(results["params"]) == n_candidates
    kinds = {type(p["ae"]).__name__ for p in results["params"]}
    assert kinds == {"DenseAutoencoder", "ConvAutoencoder"}
    scores = results["mean_test_score"]
    assert np.all(np.isfinite(scores)) and len(set(scores.round(6))) > 1
    best_ae = search.best_estimator_.named_steps["ae"]
    for name, value in search.best_params_.items():
        if name != "ae":
            assert best_ae.get_params()[name.removeprefix("ae__")] == value
    assert hasattr(best_ae, "model_")
    return scores


@pytest.mark.slow
def test_grid_search_dense_vs_conv_sizes_latent_and_activation(digits, search_setup):
    X, y = digits
    X, y = X[:600], y[:600]
    pipe, grid = search_setup

    # Without labels: rank by how well the autoencoder reconstructs held-out digits.
    unlabelled = GridSearchCV(pipe, grid, cv=2, scoring=neg_reconstruction_error).fit(X)
    scores = check_search(unlabelled)
    assert np.all(scores < 0)
    assert unlabelled.best_score_ == scores.max()

    # With labels: rank the same candidates by the NMI of KMeans on the latent codes.
    labelled = GridSearchCV(pipe, grid, cv=2, scoring=make_clustering_scorer("nmi")).fit(X, y)
    nmi = check_search(labelled)
    assert np.all((nmi >= 0) & (nmi <= 1))
    assert labelled.best_score_ > 0.2
