"""N2D's clustering of codes (McConville et al., 2020): UMAP, then a Gaussian mixture.

:class:`UMAPMixture` is the clusterer: :func:`skae.presets.clustering_pipeline`
puts it after its autoencoder, and :class:`~skae.DeepEmbeddedClustering`
starts fine-tuning from its clusters (``init="umap"``). umap-learn is
imported when UMAP is built, not with skae.
"""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin, clone
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval
from sklearn.utils.validation import check_is_fitted, validate_data

#: UMAP settings of N2D (McConville et al., 2020): a local, tightly packed embedding.
N2D_UMAP_PARAMS = {"n_neighbors": 20, "min_dist": 0.0, "metric": "euclidean"}
#: The silhouette is quadratic in the samples: each run is scored on a seeded sample of at most this many.
SILHOUETTE_SAMPLE = 5000


def n2d_umap(n_components, *, random_state=None, umap_params=None, needed_by="UMAPMixture", hint=""):
    """Return an unfitted UMAP with N2D's settings (``N2D_UMAP_PARAMS``), updated by ``umap_params``.

    Without umap-learn, an ``ImportError`` says that ``needed_by`` needs
    it, and ``hint`` what else to do.
    """
    try:
        from umap import UMAP
    except ImportError as exc:
        raise ImportError(
            f"{needed_by} needs umap-learn; install it with `pip install umap-learn` "
            f'(or, in a checkout of skae, `pip install -e ".[umap]"`){hint}.'
        ) from exc
    # A seeded UMAP runs on one thread anyway; saying so avoids its warning
    # that it changed n_jobs (and a parameter that fit would otherwise rewrite).
    threads = {"n_jobs": 1} if random_state is not None else {}
    settings = {**threads, **N2D_UMAP_PARAMS, **(umap_params or {})}
    return UMAP(n_components=n_components, random_state=random_state, **settings)


def n2d_mixture(n_components, *, random_state=None):
    """Return N2D's unfitted mixture: full covariances, the most likely of ten initialisations."""
    from sklearn.mixture import GaussianMixture

    # One mixture fit can settle in a local optimum that merges two digits
    # and splits another (the accuracy swung widely over mixture seeds on
    # one fixed UMAP embedding, NMI steadier); the fit with the highest
    # likelihood of ten was the accurate one, and made the accuracy steady
    # over seeds (benchmarks/results.md, section 4b).
    return GaussianMixture(n_components, covariance_type="full", n_init=10, random_state=random_state)


def separation(X, labels):
    """Return the silhouette of ``labels`` in ``X``; -1 where it is undefined (one cluster, or one per sample)."""
    from sklearn.metrics import silhouette_score

    if not 2 <= np.unique(labels).size < len(X):
        return -1.0
    return float(silhouette_score(X, labels))


class UMAPMixture(ClusterMixin, BaseEstimator):
    """N2D's clustering: UMAP embeds the samples, a Gaussian mixture clusters the embedding; the best run is kept.

    This is how N2D (McConville et al., 2020) clusters an autoencoder's
    latent codes. UMAP, with N2D's local settings
    (``n_neighbors=20``, ``min_dist=0``), embeds them in as many dimensions
    as there are clusters, and a full-covariance
    :class:`~sklearn.mixture.GaussianMixture` (the most likely of ten
    initialisations) clusters the embedding.

    One UMAP run can merge two clusters that the samples keep apart (on
    MNIST codes, the 4s and the 9s), so the whole is run ``n_runs`` times
    from seeds drawn from ``random_state``, and the run kept is the one
    whose labels have the highest silhouette *in the samples themselves*,
    not in UMAP's embedding, where a merged run can look best. The user
    guide's Deep clustering page (section "Three runs, not one") gives the
    measurements behind this. Where the runs' partitions differ in ways
    no silhouette sees, keeping the best cannot help: ``benchmarks/results.md``
    (section 23) shows such codes.

    It is the last step of :func:`skae.presets.clustering_pipeline`, and
    :class:`~skae.DeepEmbeddedClustering` starts from its clusters
    (``init="umap"``).

    Parameters
    ----------
    n_clusters : int, default=10
        Number of clusters: the mixture's components, and the dimensions of
        the default UMAP embedding.
    embedding : transformer or None, default=None
        What embeds the samples before the mixture. None: UMAP (from the
        optional ``umap-learn`` package) with ``n_components=n_clusters``
        and N2D's settings (``N2D_UMAP_PARAMS``). Any transformer with
        ``fit_transform`` and ``transform`` is cloned for each run, and its
        ``random_state``, where it has one, set to the run's seed.
    mixture : estimator or None, default=None
        What clusters the embedding. None: a full-covariance
        :class:`~sklearn.mixture.GaussianMixture` with ``n_init=10``. A
        given estimator needs ``fit_predict`` and ``predict``; it is cloned
        for each run, with ``n_components=n_clusters`` (``n_clusters``, for
        a clusterer such as KMeans) and the run's ``random_state``.
    n_runs : int, default=3
        How many times the embedding and the mixture are fitted, each from
        its own seed; the run whose labels stand most apart in ``X`` is
        kept.
    random_state : int, RandomState instance or None, default=None
        Draws the runs' seeds and the sample each run is scored on. None
        leaves the runs unseeded (UMAP then runs on all cores, and differs
        from fit to fit).

    Attributes
    ----------
    labels_ : ndarray of shape (n_samples,)
        The kept run's cluster of each training sample.
    embedding_ : transformer
        The kept run's fitted embedding.
    mixture_ : estimator
        The kept run's fitted mixture.
    silhouettes_ : ndarray of shape (n_runs,)
        Each run's silhouette in ``X``, on a seeded sample of at most
        5,000 samples (-1 where a run found a single cluster).
    best_run_ : int
        The index of the kept run, the first with the highest silhouette.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, where ``X`` has them as strings.

    See Also
    --------
    skae.presets.clustering_pipeline : An autoencoder followed by this clusterer.
    skae.DeepEmbeddedClustering : Fine-tunes an autoencoder from these clusters.

    References
    ----------
    McConville, R., Santos-Rodriguez, R., Piechocki, R. J. and Craddock, I.
    (2020). N2D: (Not Too) Deep Clustering via Clustering the Local Manifold
    of an Autoencoded Embedding. ICPR 2020.

    Examples
    --------
    Any transformer can embed; here PCA, so that the example needs no
    umap-learn:

    >>> from sklearn.datasets import make_blobs
    >>> from sklearn.decomposition import PCA
    >>> from skae import UMAPMixture
    >>> X, y = make_blobs(300, n_features=5, centers=3, random_state=0)
    >>> clusterer = UMAPMixture(3, embedding=PCA(2), random_state=0)
    >>> labels = clusterer.fit_predict(X)
    >>> labels.shape, clusterer.silhouettes_.shape
    ((300,), (3,))
    >>> bool((clusterer.predict(X) == labels).all())
    True
    """

    _parameter_constraints = {
        "n_clusters": [Interval(Integral, 1, None, closed="left")],
        "embedding": [HasMethods(["fit_transform", "transform"]), None],
        "mixture": [HasMethods(["fit_predict", "predict"]), None],
        "n_runs": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(self, n_clusters=10, *, embedding=None, mixture=None, n_runs=3, random_state=None):
        self.n_clusters = n_clusters
        self.embedding = embedding
        self.mixture = mixture
        self.n_runs = n_runs
        self.random_state = random_state

    def fit(self, X, y=None):
        """Fit ``n_runs`` embeddings and mixtures on ``X`` and keep the run whose clusters stand most apart.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The samples, for instance an autoencoder's latent codes.
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        self : UMAPMixture
            The fitted clusterer.
        """
        self._validate_params()
        X = validate_data(self, X, dtype=[np.float64, np.float32])
        if self.n_clusters > len(X):
            raise ValueError(
                f"n_clusters={self.n_clusters} is larger than the number of samples, n_samples={len(X)}: "
                "each cluster needs at least one sample. Lower n_clusters or give more samples."
            )
        runs = self._runs()
        sample = self._sample_rng().permutation(len(X))[:SILHOUETTE_SAMPLE]
        silhouettes, best = [], None
        for embedding, mixture in runs:
            labels = mixture.fit_predict(embedding.fit_transform(X))
            silhouettes.append(separation(X[sample], labels[sample]))
            if best is None or silhouettes[-1] > silhouettes[best[0]]:
                best = (len(silhouettes) - 1, embedding, mixture, labels)
        self.best_run_, self.embedding_, self.mixture_, labels = best
        self.labels_ = np.asarray(labels, dtype=np.int64)
        self.silhouettes_ = np.asarray(silhouettes)
        return self

    def predict(self, X):
        """Return the cluster of each sample of ``X``: the kept mixture's, on the kept embedding.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            New samples.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Cluster indices.
        """
        embedded = self._embed(X)  # first: it says NotFittedError before mixture_ is read
        return np.asarray(self.mixture_.predict(embedded), dtype=np.int64)

    def predict_proba(self, X):
        """Return each sample's probability of each cluster, from the kept mixture.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            New samples.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_clusters)
            Rows sum to 1.
        """
        embedded = self._embed(X)
        return self.mixture_.predict_proba(embedded)

    def _embed(self, X):
        """Return new samples ``X``, checked, in the kept run's embedding."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        return self.embedding_.transform(X)

    def _runs(self):
        """Return the ``n_runs`` unfitted ``(embedding, mixture)`` pairs, each seeded with its own run's seed."""
        seeds = [None] * self.n_runs
        if self.random_state is not None:
            seeds = check_random_state(self.random_state).randint(np.iinfo(np.int32).max, size=self.n_runs).tolist()
        runs = []
        for seed in seeds:
            if self.embedding is None:
                embedding = n2d_umap(self.n_clusters, random_state=seed)
            else:
                embedding = _seeded(clone(self.embedding), seed)
            if self.mixture is None:
                mixture = n2d_mixture(self.n_clusters, random_state=seed)
            else:
                mixture = _seeded(clone(self.mixture), seed)
                mixture.set_params(**{_components_param(mixture): self.n_clusters})
            runs.append((embedding, mixture))
        return runs

    def _sample_rng(self):
        """Return the generator of the samples each run is scored on."""
        if isinstance(self.random_state, Integral):
            return np.random.default_rng(self.random_state)
        return np.random.default_rng(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))


def _seeded(estimator, seed):
    """Set ``estimator``'s ``random_state`` to ``seed`` (None too: unseeded runs must differ) where it has one."""
    if "random_state" in estimator.get_params(deep=False):
        estimator.set_params(random_state=seed)
    return estimator


def _components_param(mixture):
    """Return the name of ``mixture``'s number of clusters: ``n_components`` (mixtures) or ``n_clusters`` (KMeans)."""
    params = mixture.get_params(deep=False)
    for name in ("n_components", "n_clusters"):
        if name in params:
            return name
    raise ValueError(
        f"mixture={mixture!r} takes neither n_components nor n_clusters, so UMAPMixture cannot give it "
        "n_clusters; expected a mixture or clusterer such as GaussianMixture or KMeans."
    )
