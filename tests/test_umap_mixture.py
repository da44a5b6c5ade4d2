"""UMAPMixture: N2D's UMAP and Gaussian mixture, run from several seeds, the run that separates the samples kept.

NumPy and scikit-learn only (stand-in embeddings), except the one slow test
of UMAP itself, which test_presets.py's slow test shares the compile with.
"""

import numpy as np
import pytest
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.exceptions import NotFittedError
from sklearn.metrics import adjusted_rand_score, make_scorer
from sklearn.mixture import GaussianMixture
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import check_random_state

from skae import UMAPMixture
from skae._n2d import separation


class SeedProjection(TransformerMixin, BaseEstimator):
    """An embedding that keeps both coordinates for the seeds in ``whole`` and the first alone for others.

    On the first coordinate alone, blobs centred at (0, 0) and (0, 6) are one:
    a run seeded so merges them and splits another, as a UMAP run merged
    MNIST's 4s and 9s.
    """

    def __init__(self, whole=(), random_state=None):
        self.whole = whole
        self.random_state = random_state

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return X if self.random_state in self.whole else X[:, :1]


@pytest.fixture
def blobs():
    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(centre, 0.3, size=(100, 2)) for centre in ([0, 0], [0, 6], [6, 0])])
    return X, np.repeat([0, 1, 2], 100)


def run_seeds(random_state, n_runs=3):
    return check_random_state(random_state).randint(np.iinfo(np.int32).max, size=n_runs).tolist()


def test_keeps_the_run_whose_clusters_stand_apart_in_the_samples(blobs):
    X, truth = blobs
    seeds = run_seeds(0)
    assert len(set(seeds)) == 3  # three runs, seeded apart
    for kept in range(3):
        clusterer = UMAPMixture(3, embedding=SeedProjection(whole=(seeds[kept],)), random_state=0).fit(X)
        assert clusterer.best_run_ == kept and clusterer.silhouettes_.shape == (3,)
        assert clusterer.silhouettes_[kept] > 0.5 > max(np.delete(clusterer.silhouettes_, kept))
        assert adjusted_rand_score(truth, clusterer.labels_) == 1.0
        assert clusterer.embedding_.random_state == clusterer.mixture_.random_state == seeds[kept]
        # New samples go through the kept run's embedding and mixture.
        np.testing.assert_array_equal(clusterer.predict(X), clusterer.labels_)
        proba = clusterer.predict_proba(X)
        assert proba.shape == (300, 3)
        np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert separation(X, np.zeros(len(X), dtype=int)) == -1.0


def test_runs_are_reproducible_and_leave_the_given_estimators_alone(blobs):
    X, _ = blobs
    embedding, mixture = PCA(2, random_state=7), GaussianMixture(5, n_init=2, random_state=7)
    clusterer = UMAPMixture(3, embedding=embedding, mixture=mixture, n_runs=4, random_state=1)
    runs = clusterer._runs()
    assert [e.random_state for e, _ in runs] == [m.random_state for _, m in runs] == run_seeds(1, 4)
    # n_clusters sets the mixture's components; its other settings stay.
    assert {(m.n_components, m.n_init) for _, m in runs} == {(3, 2)}
    first = clusterer.fit(X).labels_.copy()
    np.testing.assert_array_equal(clone(clusterer).fit(X).labels_, first)
    assert (embedding.random_state, mixture.n_components) == (7, 5) and not hasattr(mixture, "means_")
    # Unseeded, the runs are unseeded too (not the given estimators' seed three times).
    assert {e.random_state for e, _ in UMAPMixture(3, embedding=embedding, mixture=mixture)._runs()} == {None}
    # A clusterer that counts clusters as KMeans does can stand in for the mixture.
    kmeans = UMAPMixture(3, embedding=PCA(2), mixture=KMeans(8, n_init=1), random_state=0).fit(X)
    assert kmeans.mixture_.n_clusters == 3 and np.unique(kmeans.labels_).size == 3


def test_bad_input_says_what_was_expected_and_leaves_the_clusterer_as_it_was(blobs):
    X, _ = blobs
    for method in ("predict", "predict_proba"):
        with pytest.raises(NotFittedError):
            getattr(UMAPMixture(3), method)(X)
    clusterer = UMAPMixture(3, embedding=PCA(2), random_state=0).fit(X)
    labels = clusterer.labels_.copy()
    with pytest.raises(ValueError, match="n_clusters=3 is larger than the number of samples, n_samples=2"):
        UMAPMixture(3, embedding=PCA(1)).fit(X[:2])
    with pytest.raises(ValueError, match="X has 3 features, but UMAPMixture is expecting 2 features"):
        clusterer.predict(np.ones((4, 3)))
    bad = X.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        clusterer.predict(bad)
    assert np.isnan(bad[0, 0]) and np.isfinite(np.delete(bad.ravel(), 0)).all()
    np.testing.assert_array_equal(clusterer.labels_, labels)
    with pytest.raises(ValueError, match="takes neither n_components nor n_clusters.*GaussianMixture or KMeans"):
        UMAPMixture(3, embedding=PCA(2), mixture=NoCount()).fit(X)
    with pytest.raises(ValueError, match="'n_runs' parameter of UMAPMixture must be an int in the range"):
        UMAPMixture(n_runs=0).fit(X)


class NoCount(BaseEstimator):
    def fit_predict(self, X, y=None):
        return np.zeros(len(X), dtype=int)

    def predict(self, X):
        return np.zeros(len(X), dtype=int)


def test_grid_search_reaches_the_embedding_and_the_mixture_through_the_pipeline(blobs):
    X, truth = blobs
    pipe = make_pipeline(StandardScaler(), UMAPMixture(3, embedding=PCA(2), mixture=GaussianMixture(), random_state=0))
    grid = GridSearchCV(
        pipe,
        {"umapmixture__embedding__n_components": [1, 2], "umapmixture__mixture__covariance_type": ["full", "diag"]},
        scoring=make_scorer(adjusted_rand_score),
        cv=KFold(2, shuffle=True, random_state=0),
    ).fit(X, truth)
    assert set(grid.cv_results_["param_umapmixture__embedding__n_components"]) == {1, 2}
    assert grid.best_estimator_[-1].embedding_.n_components == grid.best_params_["umapmixture__embedding__n_components"]
    assert adjusted_rand_score(truth, grid.predict(X)) == 1.0
