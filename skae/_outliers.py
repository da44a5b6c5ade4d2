"""Reconstruction scores and the outlier threshold of every skae autoencoder.

A sample that reconstructs badly is unusual: ``score_samples`` is the
negated mean squared reconstruction error, and ``offset_``, the threshold
of ``decision_function`` and ``predict``, is the ``contamination``
quantile of the training samples' scores, as in scikit-learn's outlier
detectors. With sample weights, both the quantile and ``score`` are
weighted.
"""

from __future__ import annotations

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ._input import check_input, check_sample_weight
from ._layout import n_rows

#: Training rows scored to set ``offset_``: all of them up to this many, else a random subset.
OFFSET_SAMPLES = 2048


def weighted_quantile(values, q, sample_weight=None):
    """Return the ``q`` quantile (0 to 1) of ``values``: NumPy's linear one, or with weights the inverted CDF.

    With weights, it is the smallest value whose share of the total
    weight, counting every value up to it, reaches ``q``: a row of weight 2
    counts as that row twice.
    """
    if sample_weight is None:
        return float(np.percentile(values, 100.0 * q))
    order = np.argsort(values, kind="stable")
    cumulative = np.cumsum(sample_weight[order], dtype=np.float64)
    index = int(np.searchsorted(cumulative, q * cumulative[-1], side="left"))
    return float(values[order[min(index, len(order) - 1)]])


class ReconstructionScoresMixin:
    """``score_samples``, ``score``, ``decision_function`` and ``predict`` from the network's reconstructions."""

    def _offset(self, network, rows, seed, sample_weight=None):
        """Return the outlier threshold: the (weighted) ``contamination`` quantile of the training rows' scores."""
        # Scoring every training row costs a full extra forward pass;
        # OFFSET_SAMPLES rows estimate the quantile closely at a small part
        # of that cost. The rows are validated already: validating them
        # again would warn about feature names when fit got a DataFrame.
        if n_rows(rows) > OFFSET_SAMPLES:
            drawn = np.sort(np.random.default_rng(seed).choice(n_rows(rows), OFFSET_SAMPLES, replace=False))
            rows = rows[drawn]
            sample_weight = None if sample_weight is None else sample_weight[drawn]
        scores = (-network.reconstruction_errors(rows)).astype(rows.dtype, copy=False)
        return weighted_quantile(scores, self.contamination, sample_weight)

    def score_samples(self, X):
        """Negated mean squared reconstruction error of each sample.

        Higher is better, as for scikit-learn's outlier detectors: unusual
        samples reconstruct badly and get low scores.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, ...)
            Data in a layout ``fit`` accepted.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            ``-mean((X - reconstruction) ** 2)`` over each sample's values.
        """
        check_is_fitted(self)
        rows, _ = check_input(self, X, layout=self.network_.layout)
        return (-self.network_.reconstruction_errors(rows, self.inference)).astype(rows.dtype, copy=False)

    def score(self, X, y=None, sample_weight=None):
        """Negated mean squared reconstruction error over all of X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, ...)
            Data in a layout ``fit`` accepted.
        y : None
            Ignored; present for API consistency.
        sample_weight : array-like of shape (n_samples,) or None, default=None
            Weights of the samples: the score is the weighted mean of
            ``score_samples``. None weighs them alike.

        Returns
        -------
        score : float
            The (weighted) mean of ``score_samples(X)``; higher is better,
            so ``GridSearchCV`` can rank reconstructions without labels.
        """
        scores = self.score_samples(X)
        return float(np.average(scores, weights=check_sample_weight(sample_weight, len(scores))))

    def decision_function(self, X):
        """Outlier decision: negative for outliers, positive for inliers.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, ...)
            Data in a layout ``fit`` accepted.

        Returns
        -------
        decision : ndarray of shape (n_samples,)
            ``score_samples(X) - offset_``: below 0 the reconstruction is
            worse than that of the ``contamination`` worst training samples.
        """
        return self.score_samples(X) - self.offset_

    def predict(self, X):
        """Label each sample as an inlier (1) or an outlier (-1).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, ...)
            Data in a layout ``fit`` accepted.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            -1 where ``decision_function(X) < 0``, else 1.
        """
        return np.where(self.decision_function(X) < 0, -1, 1)
