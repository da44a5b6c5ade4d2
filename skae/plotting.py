"""The tutorial's figures: latent maps, reconstructions, interpolations, training curves.

matplotlib is an optional dependency (``pip install matplotlib``, or
``pip install -e ".[plots]"`` in a checkout of skae); it is
imported only when a function here is called, so ``import skae`` works
without it. Every function draws on an Axes or Figure it is given, or on a
new one, returns it, and works headless (with the Agg backend). New figures
use constrained layout, so titles, labels and colour bars added afterwards
stay inside the figure, and every digit is drawn the same way: dark on white
(the ``"gray_r"`` colour map).

Examples
--------
One embedding serves both latent maps (the default embedder is the
tutorial's t-SNE; PCA keeps this example fast):

>>> from sklearn.decomposition import PCA
>>> from skae.datasets import load_digits
>>> from skae.plotting import embed, plot_latent_images, plot_latent_map
>>> X, y = load_digits(n_samples=300)
>>> xy = embed(X, PCA(n_components=2))  # here on the pixels themselves
>>> ax = plot_latent_map(xy, y, embedder="precomputed")
>>> ax = plot_latent_images(xy, X, embedder="precomputed", n_images=50)
"""

from __future__ import annotations

import math
from numbers import Integral

import numpy as np

__all__ = [
    "embed",
    "plot_history",
    "plot_interpolation",
    "plot_latent_images",
    "plot_latent_map",
    "plot_reconstructions",
]


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "skae.plotting needs matplotlib; install it with `pip install matplotlib` "
            '(or, in a checkout of skae, `pip install -e ".[plots]"`).'
        ) from exc
    return plt


def _new_axes(ax, figsize):
    if ax is not None:
        return ax
    _, ax = _pyplot().subplots(figsize=figsize, layout="constrained")
    return ax


def _new_figure(figsize):
    return _pyplot().figure(figsize=figsize, layout="constrained")


def embed(Z, embedder=None):
    """Embed latent codes in 2-D for a latent map.

    Parameters
    ----------
    Z : array-like of shape (n_samples, n_features)
        Latent codes, such as an autoencoder's ``transform`` output.
    embedder : estimator, "precomputed" or None, default=None
        None uses the tutorial's ``TSNE(n_components=2, learning_rate=100,
        perplexity=15, random_state=0)`` (perplexity lowered for fewer than
        46 samples, as t-SNE needs more samples than perplexity); any
        scikit-learn-style estimator with ``fit_transform`` to 2-D (PCA,
        Isomap, UMAP, ...) is used as given; ``"precomputed"`` means Z is
        already 2-D and is returned as it is.

    Returns
    -------
    xy : ndarray of shape (n_samples, 2)
        The 2-D points.
    """
    Z = np.asarray(Z, dtype=np.float64)
    if Z.ndim != 2 or len(Z) == 0:
        raise ValueError(f"Z must be a non-empty 2-D array of latent codes (n_samples, n_features); got {Z.shape}.")
    if isinstance(embedder, str):
        if embedder != "precomputed":
            raise ValueError(f"embedder must be an estimator, 'precomputed' or None; got {embedder!r}.")
        xy = Z
    else:
        if embedder is None:
            from sklearn.manifold import TSNE

            perplexity = min(15.0, max(1.0, (len(Z) - 1) / 3))
            embedder = TSNE(n_components=2, learning_rate=100, perplexity=perplexity, random_state=0)
        elif not hasattr(embedder, "fit_transform"):
            raise TypeError(f"embedder must have fit_transform (like TSNE or PCA); got {type(embedder).__name__}.")
        xy = np.asarray(embedder.fit_transform(Z))
    if xy.ndim != 2 or xy.shape[1] != 2:
        source = "Z" if isinstance(embedder, str) else f"{type(embedder).__name__}.fit_transform"
        raise ValueError(
            f"A latent map needs 2-D points of shape (n_samples, 2); {source} gave shape {xy.shape}. "
            + ("Pass embedder=None to run t-SNE on Z." if isinstance(embedder, str) else "Use n_components=2.")
        )
    return xy


def _label_codes(y, n):
    y = np.asarray(y).ravel()
    if len(y) != n:
        raise ValueError(f"y has {len(y)} labels but there are {n} points; they must match.")
    classes, codes = np.unique(y, return_inverse=True)
    return classes, codes


def _scatter(ax, xy, y, *, cmap, s, colorbar):
    """Scatter ``xy`` coloured by ``y`` with a discrete, centred colour bar."""
    plt = _pyplot()
    from matplotlib.colors import BoundaryNorm

    if y is None:
        return ax.scatter(xy[:, 0], xy[:, 1], s=s, c="tab:blue")
    classes, codes = _label_codes(y, len(xy))
    k = len(classes)
    colors = plt.get_cmap(cmap).resampled(k)
    # One colour band per class, with band edges halfway between codes so
    # each tick sits in the middle of its colour, as in the tutorial.
    norm = BoundaryNorm(np.arange(-0.5, k), k)
    points = ax.scatter(xy[:, 0], xy[:, 1], s=s, c=codes, cmap=colors, norm=norm)
    if colorbar:
        bar = ax.figure.colorbar(points, ax=ax, ticks=np.arange(k))
        bar.ax.set_yticklabels([str(c) for c in classes])
    return points


def plot_latent_map(Z, y=None, *, embedder=None, ax=None, cmap="rainbow", s=5, colorbar=True, figsize=(8, 7)):
    """Scatter latent codes in 2-D, coloured by label.

    The tutorial's step 7: t-SNE of the latent vectors, one colour per
    digit from the 'rainbow' map, and a colour bar with one band per class
    and its tick at the band's centre.

    Parameters
    ----------
    Z : array-like of shape (n_samples, n_features)
        Latent codes, or 2-D points with ``embedder="precomputed"``.
    y : array-like of shape (n_samples,) or None, default=None
        Labels to colour by; any sortable values. None draws one colour and
        no colour bar.
    embedder : estimator, "precomputed" or None, default=None
        How to reach 2-D; see :func:`embed`. None is the tutorial's t-SNE.
    ax : matplotlib.axes.Axes or None, default=None
        Where to draw; None makes a new figure of ``figsize``.
    cmap : str, default="rainbow"
        Colour map, cut into one colour per class.
    s : float, default=5
        Marker size.
    colorbar : bool, default=True
        Draw the discrete colour bar (when y is given).
    figsize : tuple of float, default=(8, 7)
        Size of a new figure, in inches.

    Returns
    -------
    ax : matplotlib.axes.Axes
        The Axes drawn on.
    """
    xy = embed(Z, embedder)
    ax = _new_axes(ax, figsize)
    _scatter(ax, xy, y, cmap=cmap, s=s, colorbar=colorbar)
    ax.set_xlabel("dimension 1")
    ax.set_ylabel("dimension 2")
    return ax


def _as_images(images, image_shape, name="images"):
    """Return ``images`` as an (n, h, w) or (n, h, w, 3|4) array for imshow."""
    images = np.asarray(images)
    if image_shape is not None:
        try:
            images = images.reshape((len(images), *tuple(image_shape)))
        except ValueError:
            raise ValueError(
                f"{name} of shape {images.shape} cannot be reshaped to image_shape={tuple(image_shape)}."
            ) from None
    elif images.ndim == 2:
        side = math.isqrt(images.shape[1])
        if side * side != images.shape[1]:
            raise ValueError(
                f"{name} are flat rows of {images.shape[1]} values, which are not square images; "
                "pass image_shape=(height, width[, channels])."
            )
        images = images.reshape(len(images), side, side)
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if images.ndim not in (3, 4) or (images.ndim == 4 and images.shape[-1] not in (3, 4)):
        raise ValueError(
            f"{name} must be flat square rows, (n, h, w), (n, h, w, 1) or RGB(A) images; got shape {images.shape}."
        )
    return images


def _count(name, value):
    if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
        raise ValueError(f"{name} must be a positive int; got {value!r}.")
    return int(value)


def plot_latent_images(
    Z,
    images,
    y=None,
    *,
    embedder=None,
    n_images=200,
    zoom=None,
    image_shape=None,
    image_cmap="gray_r",
    ax=None,
    cmap="rainbow",
    s=5,
    figsize=(16, 16),
):
    """Latent map with thumbnails of the images drawn at their points.

    The tutorial's step 8: the 2-D embedding of the latent codes on a large
    figure, the first ``n_images`` images drawn at their points with
    matplotlib's ``OffsetImage`` inside an ``AnnotationBbox``, no ticks.

    Parameters
    ----------
    Z : array-like of shape (n_samples, n_features)
        Latent codes, or 2-D points with ``embedder="precomputed"``.
    images : array-like of shape (n_samples, ...)
        The images the codes came from: flat square rows, (n, h, w) or
        (n, h, w, channels); any flat rows with ``image_shape``.
    y : array-like of shape (n_samples,) or None, default=None
        Labels to colour the points by.
    embedder : estimator, "precomputed" or None, default=None
        How to reach 2-D; see :func:`embed`.
    n_images : int, default=200
        Number of thumbnails, taken from the start of ``images``.
    zoom : float or None, default=None
        Thumbnail scale; None makes each about a 40th of the figure's width.
    image_shape : tuple of int or None, default=None
        Shape of one image when ``images`` are flat rows that are not square.
    image_cmap : str, default="gray_r"
        Colour map of the thumbnails (black digits on white, as in the tutorial).
    ax : matplotlib.axes.Axes or None, default=None
        Where to draw; None makes a new figure of ``figsize``.
    cmap : str, default="rainbow"
        Colour map of the points, one colour per class.
    s : float, default=5
        Marker size.
    figsize : tuple of float, default=(16, 16)
        Size of a new figure, in inches (the tutorial's 16 x 16).

    Returns
    -------
    ax : matplotlib.axes.Axes
        The Axes drawn on.
    """
    from matplotlib.offsetbox import AnnotationBbox, OffsetImage

    n_images = _count("n_images", n_images)
    xy = embed(Z, embedder)
    images = _as_images(images, image_shape)
    if len(images) != len(xy):
        raise ValueError(f"images has {len(images)} samples but Z has {len(xy)}; they must match.")
    ax = _new_axes(ax, figsize)
    _scatter(ax, xy, y, cmap=cmap, s=s, colorbar=False)
    if zoom is None:
        width_px = ax.figure.get_figwidth() * ax.figure.dpi
        zoom = width_px / 40 / images.shape[2]
    for point, image in zip(xy[:n_images], images[:n_images], strict=True):
        box = OffsetImage(image, cmap=image_cmap, zoom=zoom)
        ax.add_artist(AnnotationBbox(box, point, frameon=False, pad=0.0))
    ax.set_xticks([])
    ax.set_yticks([])
    return ax


def _image_row(axes, images, cmap, titles=None):
    for i, (axis, image) in enumerate(zip(axes, images, strict=True)):
        axis.imshow(image, cmap=cmap, vmin=0.0 if image.ndim == 2 else None, vmax=1.0 if image.ndim == 2 else None)
        axis.set_xticks([])
        axis.set_yticks([])
        if titles is not None:
            axis.set_title(titles[i], fontsize=9)


def plot_reconstructions(X, X_reconstructed, *, n_images=10, image_shape=None, cmap="gray_r", fig=None):
    """Originals in the top row, their reconstructions below.

    Parameters
    ----------
    X : array-like of shape (n_samples, ...)
        Original images: flat square rows, (n, h, w) or (n, h, w, channels),
        values in [0, 1].
    X_reconstructed : array-like of shape (n_samples, ...) or estimator
        The reconstructions, or a fitted autoencoder, which then
        reconstructs X as ``inverse_transform(transform(X))``.
    n_images : int, default=10
        Number of columns, taken from the start of X.
    image_shape : tuple of int or None, default=None
        Shape of one image when rows are flat and not square.
    cmap : str, default="gray_r"
        Colour map of single-channel images (dark digits on white, as in
        :func:`plot_latent_images`).
    fig : matplotlib.figure.Figure or None, default=None
        Figure to draw on (it is given the subplots); None makes a new one.

    Returns
    -------
    fig : matplotlib.figure.Figure
        The figure, with 2 x ``n_images`` Axes.
    """
    n_images = _count("n_images", n_images)
    X = np.asarray(X)[:n_images]
    if hasattr(X_reconstructed, "inverse_transform") and hasattr(X_reconstructed, "transform"):
        X_reconstructed = X_reconstructed.inverse_transform(X_reconstructed.transform(X))
    originals = _as_images(X, image_shape, "X")
    reconstructed = _as_images(np.asarray(X_reconstructed)[:n_images], image_shape, "X_reconstructed")
    if originals.shape != reconstructed.shape:
        raise ValueError(
            f"X and X_reconstructed must hold images of one shape; got {originals.shape} and {reconstructed.shape}."
        )
    n = len(originals)
    if fig is None:
        fig = _new_figure((1.2 * n, 2.6))
    axes = fig.subplots(2, n, squeeze=False)
    _image_row(axes[0], originals, cmap)
    _image_row(axes[1], reconstructed, cmap)
    axes[0, 0].set_ylabel("original")
    axes[1, 0].set_ylabel("reconstructed")
    return fig


def plot_interpolation(images, *, image_shape=None, cmap="gray_r", fig=None):
    """Show decoded interpolation steps in one row, from start to end.

    Parameters
    ----------
    images : array-like of shape (n_steps, ...)
        Decoded samples, such as the output of :func:`skae.interpolate`.
    image_shape : tuple of int or None, default=None
        Shape of one image when rows are flat and not square.
    cmap : str, default="gray_r"
        Colour map of single-channel images (dark digits on white, as in
        :func:`plot_latent_images`).
    fig : matplotlib.figure.Figure or None, default=None
        Figure to draw on; None makes a new one.

    Returns
    -------
    fig : matplotlib.figure.Figure
        The figure, with one Axes per step titled by its fraction of the way.
    """
    images = _as_images(images, image_shape)
    n = len(images)
    if n == 0:
        raise ValueError("images is empty; pass the decoded steps of skae.interpolate.")
    if fig is None:
        fig = _new_figure((1.2 * n, 1.6))
    axes = fig.subplots(1, n, squeeze=False)[0]
    fractions = np.linspace(0, 1, n) if n > 1 else np.zeros(1)
    _image_row(axes, images, cmap, titles=[f"{f:.2g}" for f in fractions])
    return fig


def _plain_log_labels(axis):
    """Label a log axis's ticks as 0.02 rather than 2 x 10^-2.

    A loss curve usually spans less than a decade, so most labels fall on
    minor ticks, and matplotlib's scientific labels there are wide and hard
    to read. The ticks that get a label stay matplotlib's choice.
    """
    from matplotlib.ticker import LogFormatterSciNotation

    class PlainLogFormatter(LogFormatterSciNotation):
        def __call__(self, x, pos=None):
            return f"{x:g}" if super().__call__(x, pos) else ""

    axis.set_major_formatter(PlainLogFormatter())
    axis.set_minor_formatter(PlainLogFormatter())


def plot_history(history, *, ax=None, log_scale=True, figsize=(6, 4)):
    """Plot training curves: loss (and validation loss) per epoch.

    Parameters
    ----------
    history : estimator, dict or keras.callbacks.History
        A fitted autoencoder (its ``history_`` is used), a dict of metric
        name to per-epoch values, or a Keras ``History``.
    ax : matplotlib.axes.Axes or None, default=None
        Where to draw; None makes a new figure of ``figsize``.
    log_scale : bool, default=True
        Use a logarithmic loss axis (when every value is positive), its ticks
        labelled as plain numbers.
    figsize : tuple of float, default=(6, 4)
        Size of a new figure, in inches.

    Returns
    -------
    ax : matplotlib.axes.Axes
        The Axes drawn on.
    """
    if hasattr(history, "history_"):
        history = history.history_
    elif hasattr(history, "history") and isinstance(history.history, dict):
        history = history.history
    if not isinstance(history, dict) or not history or not all(len(v) for v in history.values()):
        raise ValueError(
            "history must be a fitted autoencoder, a Keras History or a non-empty dict of per-epoch "
            f"values; got {type(history).__name__}."
        )
    ax = _new_axes(ax, figsize)
    for name, values in history.items():
        values = np.asarray(values, dtype=float)
        ax.plot(np.arange(1, len(values) + 1), values, marker="o" if len(values) < 30 else None, label=name)
    positive = all(np.all(np.asarray(v, dtype=float) > 0) for v in history.values())
    if log_scale and positive:
        ax.set_yscale("log")
        _plain_log_labels(ax.yaxis)
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.legend()
    ax.grid(True, alpha=0.3)
    return ax
