"""Latent interpolation: decode the points between two inputs' codes."""

from __future__ import annotations

from numbers import Integral

import numpy as np

_METHODS = ("linear", "spherical")


def _path(z_start, z_end, t, method):
    """Points along the path from ``z_start`` to ``z_end`` at fractions ``t``."""
    t = t[:, np.newaxis]
    if method == "spherical":
        norms = np.linalg.norm(z_start) * np.linalg.norm(z_end)
        if norms > 0:
            cos = np.clip(np.dot(z_start, z_end) / norms, -1.0, 1.0)
            omega = np.arccos(cos)
            sin = np.sin(omega)
            # Nearly parallel or opposite codes have no unique great circle;
            # the straight line is the limit of slerp there.
            if sin > 1e-6:
                return (np.sin((1 - t) * omega) * z_start + np.sin(t * omega) * z_end) / sin
    return (1 - t) * z_start + t * z_end


def interpolate(estimator, x_start, x_end, *, n_steps=10, method="linear", return_latent=False):
    """Decode evenly spaced points between the latent codes of two samples.

    The tutorial's "midpoint between the left and the right picture": the
    encoder maps both samples to latent codes, the points between the codes
    are decoded into samples that morph from one into the other. With
    ``n_steps=3`` the middle one is the decoded midpoint.

    Parameters
    ----------
    estimator : estimator
        A fitted autoencoder (or any fitted transformer with
        ``inverse_transform``, such as a Pipeline of a scaler and an
        autoencoder).
    x_start, x_end : array-like
        One sample each, shaped like one row of the data given to ``fit``:
        a flat row of features, or one image for a :class:`ConvAutoencoder`
        fitted on images.
    n_steps : int, default=10
        Number of points, both ends included; at least 2.
    method : {"linear", "spherical"}, default="linear"
        Straight line between the codes, or spherical linear interpolation
        (slerp) along the great circle between their directions, which
        keeps the codes' norm from sagging in the middle.
    return_latent : bool, default=False
        Also return the latent points that were decoded.

    Returns
    -------
    samples : ndarray of shape (n_steps, ...)
        Decoded samples in the layout of ``fit``'s data; the first and last
        are the reconstructions of ``x_start`` and ``x_end``.
    Z : ndarray of shape (n_steps, latent_dim)
        The latent points, only when ``return_latent`` is True.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skae import DenseAutoencoder, interpolate
    >>> X = load_digits().data / 16.0
    >>> ae = DenseAutoencoder(hidden_layer_sizes=(32,), latent_dim=8,
    ...                       epochs=2, random_state=0).fit(X)
    >>> interpolate(ae, X[0], X[1], n_steps=5).shape
    (5, 64)
    >>> midpoint = interpolate(ae, X[0], X[1], n_steps=3)[1]
    """
    if isinstance(n_steps, bool) or not isinstance(n_steps, Integral) or n_steps < 2:
        raise ValueError(f"n_steps must be an int of at least 2 (both ends included); got {n_steps!r}.")
    if method not in _METHODS:
        raise ValueError(f"method must be one of {list(_METHODS)}; got {method!r}.")
    for name in ("transform", "inverse_transform"):
        if not hasattr(estimator, name):
            raise TypeError(
                f"interpolate needs a fitted autoencoder with transform and inverse_transform; "
                f"{type(estimator).__name__} has no {name}."
            )
    x_start, x_end = np.asarray(x_start), np.asarray(x_end)
    if x_start.shape != x_end.shape:
        raise ValueError(f"x_start and x_end must be samples of the same shape; got {x_start.shape} and {x_end.shape}.")
    Z = np.asarray(estimator.transform(np.stack([x_start, x_end])))
    if Z.ndim != 2 or len(Z) != 2:
        raise ValueError(
            f"x_start and x_end must each be one sample as fit saw it (one row of X); their shape "
            f"{x_start.shape} encoded to codes of shape {Z.shape} instead of (2, latent_dim)."
        )
    t = np.linspace(0.0, 1.0, n_steps)
    path = _path(Z[0].astype(np.float64), Z[1].astype(np.float64), t, method).astype(Z.dtype)
    samples = np.asarray(estimator.inverse_transform(path))
    return (samples, path) if return_latent else samples
