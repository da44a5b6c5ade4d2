"""Metrics for autoencoders: clustering quality of their codes, and reconstruction error.

* :func:`clustering_accuracy` matches clusters to classes one to one (the
  Hungarian method) before counting hits, the usual accuracy of deep
  clustering papers.
* :func:`make_clustering_scorer` turns accuracy, NMI or ARI into a scorer for
  ``GridSearchCV(scoring=...)`` over a Pipeline that ends in a clusterer.
* :func:`reconstruction_error` and :func:`neg_reconstruction_error` measure
  how well an autoencoder (or any transformer with ``inverse_transform``,
  such as PCA) rebuilds its input, also inside a Pipeline.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import adjusted_rand_score, make_scorer, normalized_mutual_info_score
from sklearn.metrics.cluster import contingency_matrix
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_consistent_length, column_or_1d

__all__ = [
    "clustering_accuracy",
    "make_clustering_scorer",
    "neg_reconstruction_error",
    "reconstruction_error",
]


def clustering_accuracy(y_true, y_pred):
    """Accuracy of a clustering under the best one-to-one cluster-to-class map.

    Cluster ids are arbitrary, so they are first matched to classes with the
    Hungarian method (:func:`scipy.optimize.linear_sum_assignment`) to
    maximise the number of hits; samples of a cluster left without a class
    (more clusters than classes) count as misses.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True classes.
    y_pred : array-like of shape (n_samples,)
        Cluster ids.

    Returns
    -------
    accuracy : float
        Fraction of samples whose matched cluster is their class, in [0, 1].

    Examples
    --------
    >>> from skae.metrics import clustering_accuracy
    >>> clustering_accuracy([0, 0, 1, 1, 2, 2], [5, 5, 3, 3, 3, 9])
    0.8333333333333334
    """
    y_true = column_or_1d(y_true)
    y_pred = column_or_1d(y_pred)
    check_consistent_length(y_true, y_pred)
    if len(y_true) == 0:
        raise ValueError("clustering_accuracy needs at least one sample; got empty y_true and y_pred.")
    counts = contingency_matrix(y_true, y_pred)  # classes x clusters
    rows, cols = linear_sum_assignment(counts, maximize=True)
    return float(counts[rows, cols].sum() / len(y_true))


_CLUSTERING_METRICS = {
    "accuracy": clustering_accuracy,
    "nmi": normalized_mutual_info_score,
    "ari": adjusted_rand_score,
}


def make_clustering_scorer(metric="nmi"):
    """Make a scorer that rates a clustering against true labels.

    The scorer calls the fitted estimator's ``predict`` on the held-out X
    and compares the cluster ids with y, so it suits ``GridSearchCV`` over a
    :class:`~sklearn.pipeline.Pipeline` whose last step is a clusterer with
    ``predict``, such as :class:`~sklearn.cluster.KMeans` or
    :class:`~sklearn.mixture.GaussianMixture`.

    Parameters
    ----------
    metric : {"accuracy", "nmi", "ari"}, default="nmi"
        :func:`clustering_accuracy`, normalized mutual information
        (:func:`~sklearn.metrics.normalized_mutual_info_score`) or adjusted
        Rand index (:func:`~sklearn.metrics.adjusted_rand_score`). Higher
        is better for all three.

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y)`` returning a float, as
        :func:`sklearn.metrics.make_scorer` builds it.

    Examples
    --------
    >>> from sklearn.cluster import KMeans
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.decomposition import PCA
    >>> from sklearn.model_selection import GridSearchCV
    >>> from sklearn.pipeline import Pipeline
    >>> from skae.metrics import make_clustering_scorer
    >>> X, y = load_digits(return_X_y=True)
    >>> pipe = Pipeline([("reduce", PCA()),
    ...                  ("cluster", KMeans(10, n_init=2, random_state=0))])
    >>> search = GridSearchCV(pipe, {"reduce__n_components": [2, 10]}, cv=2,
    ...                       scoring=make_clustering_scorer("nmi")).fit(X, y)
    >>> search.best_params_
    {'reduce__n_components': 10}
    """
    if metric not in _CLUSTERING_METRICS:
        raise ValueError(f"metric must be one of {sorted(_CLUSTERING_METRICS)}; got {metric!r}.")
    return make_scorer(_CLUSTERING_METRICS[metric], response_method="predict")


def _reconstructor(estimator):
    """Return the part of ``estimator`` that maps data to codes and back."""
    if isinstance(estimator, Pipeline):
        # Drop trailing steps that cannot decode (a clusterer, a classifier):
        # the rest of the Pipeline encodes and decodes.
        steps = list(estimator.steps)
        while steps and not hasattr(steps[-1][1], "inverse_transform"):
            steps.pop()
        if not steps:
            raise TypeError(
                "reconstruction_error needs a Pipeline whose leading steps have inverse_transform "
                f"(an autoencoder, PCA, ...); none of {[name for name, _ in estimator.steps]} has one."
            )
        return estimator[: len(steps)]
    if not (hasattr(estimator, "transform") and hasattr(estimator, "inverse_transform")):
        raise TypeError(
            "reconstruction_error needs an estimator with transform and inverse_transform "
            f"(an autoencoder, PCA, ...); got {type(estimator).__name__}."
        )
    return estimator


def reconstruction_error(estimator, X, y=None):
    """Mean squared error between X and its reconstruction.

    The reconstruction is ``inverse_transform(transform(X))``. For a
    :class:`~sklearn.pipeline.Pipeline`, trailing steps without
    ``inverse_transform`` (such as a final KMeans) are left out, so the
    error is that of the autoencoder, and of any scaler before it, in X's
    own space.

    Parameters
    ----------
    estimator : estimator
        A fitted autoencoder, PCA, or Pipeline containing one.
    X : array-like of shape (n_samples, ...)
        Data in the layout the estimator was fitted on.
    y : None
        Ignored; present so that the signature is a scorer's.

    Returns
    -------
    error : float
        ``mean((X - reconstruction) ** 2)`` over all values. Lower is better;
        :func:`neg_reconstruction_error` is the scorer for ``GridSearchCV``.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.decomposition import PCA
    >>> from skae.metrics import reconstruction_error
    >>> X = load_digits().data / 16.0
    >>> pca = PCA(n_components=10).fit(X)
    >>> round(reconstruction_error(pca, X), 4)
    0.0192
    """
    model = _reconstructor(estimator)
    X_arr = np.asarray(X)
    X_hat = np.asarray(model.inverse_transform(model.transform(X)))
    if X_hat.size != X_arr.size:
        raise ValueError(
            f"{type(estimator).__name__} reconstructed X of shape {X_arr.shape} as shape {X_hat.shape}; "
            "they must hold the same number of values."
        )
    diff = X_arr.reshape(len(X_arr), -1).astype(np.float64) - X_hat.reshape(len(X_arr), -1)
    return float(np.mean(diff**2))


def neg_reconstruction_error(estimator, X, y=None):
    """Negated :func:`reconstruction_error`: a scorer for ``GridSearchCV``.

    Higher is better, as scikit-learn's scorers require; y is ignored, so a
    search ranked by it needs no labels.

    Parameters
    ----------
    estimator : estimator
        A fitted autoencoder, PCA, or Pipeline containing one.
    X : array-like of shape (n_samples, ...)
        Held-out data.
    y : None
        Ignored.

    Returns
    -------
    score : float
        ``-mean((X - reconstruction) ** 2)``.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.decomposition import PCA
    >>> from sklearn.model_selection import GridSearchCV
    >>> from skae.metrics import neg_reconstruction_error
    >>> X = load_digits().data / 16.0
    >>> search = GridSearchCV(PCA(), {"n_components": [5, 20]}, cv=2,
    ...                       scoring=neg_reconstruction_error).fit(X)
    >>> search.best_params_
    {'n_components': 20}
    """
    return -reconstruction_error(estimator, X)
