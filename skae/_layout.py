"""How the rows of X map to the samples a Keras model takes.

scikit-learn passes flat rows, of shape (n_samples, n_features), from one
step of a ``Pipeline`` to the next, while a convolutional or sequence
network takes samples of another shape, such as (28, 28, 1). Every
estimator resolves that once, in ``fit``, into a :class:`SampleLayout` kept
as its fitted ``layout_``; ``transform`` and ``inverse_transform`` only ever
reshape through it. Keeping the whole rule here, rather than in hooks spread
over the estimator classes, is what lets the dense, convolutional,
variational and user-supplied networks share one input contract.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import sparse

__all__ = [
    "ANY_ND_INPUT",
    "LayoutRequest",
    "SampleLayout",
    "declared_input_shape",
    "dense_rows",
    "flat_sample",
    "input_ndim",
    "n_rows",
    "parse_image_shape",
    "parse_shape",
    "resolve_layout",
    "square_image",
]

#: ``LayoutRequest.nd_input`` of an estimator that takes N-D samples of any
#: rank (images, sequences, volumes), up to 8 dimensions of X.
ANY_ND_INPUT = tuple(range(3, 9))


@dataclass(frozen=True)
class SampleLayout:
    """The shape of one sample, as the model takes it and as ``fit`` got it.

    Parameters
    ----------
    sample_shape : tuple of int
        One sample as the Keras model takes it, e.g. ``(28, 28, 1)``.
    data_shape : tuple of int
        One sample as the data given to ``fit`` held it, e.g. ``(784,)``
        for flat rows or ``(28, 28)`` for grey images; reconstructions are
        returned in this layout.
    image_shape : tuple of int or None, default=None
        The image that each flat sample holds, height and width first, e.g.
        ``(28, 28)``, where the estimator was told so (a dense model's
        ``image_shape``): training moves and turns the samples as such
        images, while the model and the returned layout stay flat. None
        where neither the data nor the model says more than their shapes.
    """

    sample_shape: tuple
    data_shape: tuple
    image_shape: tuple | None = None

    @property
    def n_features(self):
        """Values per sample."""
        return math.prod(self.sample_shape)

    @property
    def image(self):
        """The shape of one sample as an image, height and width first; None for flat samples of flat data.

        The ``image_shape`` flat rows were said to hold, else the data's
        own image shape, else the model's (a convolutional network reading
        flat rows as images).
        """
        for shape in (self.image_shape, self.data_shape, self.sample_shape):
            if shape is not None and len(shape) >= 2:
                return shape
        return None

    def to_model(self, X):
        """Reshape validated 2-D rows into the model's samples (a view); sparse flat rows stay as they are."""
        if sparse.issparse(X):
            # Only flat samples take sparse rows (``_check_input``), and
            # they are densified one batch at a time, never here.
            return X
        return X.reshape((len(X), *self.sample_shape))

    def restore(self, X):
        """Reshape a batch of samples into the layout ``fit`` was given."""
        return X.reshape((len(X), *self.data_shape))

    def accepts(self, shape):
        """Whether N-D data whose samples have ``shape`` fits this layout."""
        return tuple(shape) in (self.sample_shape, self.data_shape) or (*shape, 1) == self.sample_shape

    @property
    def is_nd(self):
        """Whether the model or the data has N-D samples (so N-D input is taken)."""
        return len(self.sample_shape) > 1 or len(self.data_shape) > 1

    def to_dict(self):
        """Return the layout as plain data (lists of ints), the one form every saved state holds."""
        data = {"sample_shape": list(self.sample_shape), "data_shape": list(self.data_shape)}
        if self.image_shape is not None:
            # Only where set, so the layouts of every other model read and
            # write exactly as before.
            data["image_shape"] = list(self.image_shape)
        return data

    @classmethod
    def from_dict(cls, data):
        """Return the layout that :meth:`to_dict` wrote."""
        image = data.get("image_shape")
        return cls(
            tuple(int(v) for v in data["sample_shape"]),
            tuple(int(v) for v in data["data_shape"]),
            None if image is None else tuple(int(v) for v in image),
        )


@dataclass(frozen=True)
class LayoutRequest:
    """What an estimator asks of its input layout: plain data, no callback into the estimator.

    Parameters
    ----------
    shape : tuple or None
        The requested sample shape, at most one entry -1 (inferred from the
        number of features); None lets ``default`` decide.
    name : str
        The parameter that requested it, for error messages.
    nd_input : tuple of int or None
        The numbers of dimensions of X, besides 2, that the estimator takes
        as samples of their own shape (images, sequences); None takes flat
        rows only.
    default : {"keep", "flat", "image"}
        The sample shape when ``shape`` is None: ``"keep"`` the data's own
        (flat rows stay flat), ``"flat"`` all of a sample's values in one
        axis, ``"image"`` a single-channel image (square for flat rows, a
        channel axis added to grey images).
    noun : str
        What a sample is called in error messages ("images").
    owner : str
        The estimator class's name, for error messages.
    image_shape : tuple or None
        The image that each sample holds where the model reads it flat
        (a dense model's ``image_shape``), at most one entry -1; flat rows
        keep it in their layout, images must agree with it.
    """

    shape: tuple | None
    name: str
    nd_input: tuple | None = None
    default: str = "keep"
    noun: str = "samples"
    owner: str = "The estimator"
    image_shape: tuple | None = None

    @property
    def takes_sparse(self):
        """Whether flat rows stay flat rows in the model, the one case where sparse rows are taken.

        Training and inference densify one batch of flat rows at a time; a
        model that reads N-D samples (images) gets no sparse input.
        """
        if self.shape is not None:
            return len(self.shape) == 1
        return self.default != "image"

    def sample_shape_of(self, data_shape):
        """Return the sample shape ``default`` gives data whose samples have ``data_shape``."""
        if self.default == "flat":
            return flat_sample(data_shape)
        if self.default == "image":
            return square_image(data_shape, self.owner)
        return tuple(data_shape)


def flat_sample(data_shape):
    """Return the sample shape of a model of flat rows: all of a sample's values in one axis."""
    return (math.prod(data_shape),)


def square_image(data_shape, owner="The estimator"):
    """Return the image shape of data without a given ``image_shape``: grey images get a channel axis.

    Flat rows must then hold square single-channel images.
    """
    if len(data_shape) > 1:
        return tuple(data_shape) if len(data_shape) == 3 else (*data_shape, 1)
    (n_features,) = data_shape
    side = math.isqrt(n_features)
    if side * side != n_features:
        raise ValueError(
            f"{owner} got flat rows of {n_features} features and "
            "image_shape=None, which only fits square single-channel images. "
            "Pass image_shape=(height, width, channels) whose product is "
            f"{n_features}, or images of shape (n, height, width[, channels])."
        )
    return (side, side, 1)


def declared_input_shape(model):
    """Return the sample shape a built Keras model declares, one None as -1; else None.

    Reads ``model.inputs`` only, so it needs no Keras import of its own.
    """
    try:
        inputs = model.inputs
    except (AttributeError, ValueError):  # subclassed models have no symbolic inputs
        return None
    if not inputs or len(inputs) != 1:
        return None
    shape = tuple(-1 if v is None else int(v) for v in inputs[0].shape[1:])
    return shape if shape.count(-1) <= 1 else None


def parse_shape(name, value, *, min_len=1, max_len=None, allow_none=False):
    """Return ``value`` as a tuple of positive ints, at most one of them -1.

    ``None`` entries (as in a Keras input shape) count as -1 when
    ``allow_none``.
    """
    items = tuple(np.ravel(np.asarray(value, dtype=object)).tolist())
    if allow_none:
        items = tuple(-1 if v is None else v for v in items)
    ok = (
        min_len <= len(items) <= (max_len or len(items))
        and all(isinstance(v, (int, np.integer, float)) and not isinstance(v, bool) for v in items)
        and all(float(v).is_integer() and (v >= 1 or v == -1) for v in items)
        and sum(v == -1 for v in items) <= 1
    )
    if not ok:
        size = f"{min_len} to {max_len}" if max_len and max_len != min_len else f"{min_len} or more"
        raise ValueError(f"{name} must be a tuple of {size} positive ints, at most one of them -1; got {value!r}.")
    return tuple(int(v) for v in items)


def parse_image_shape(value, name="image_shape"):
    """Return ``value`` as ``(height, width)`` or ``(height, width, channels)`` of positive ints, at most one -1."""
    return parse_shape(name, value, min_len=2, max_len=3)


def _fill_wildcard(shape, n_features, name):
    known = math.prod(v for v in shape if v != -1)
    if -1 in shape:
        if n_features % known:
            raise ValueError(
                f"{name}={shape!r} cannot hold samples of {n_features} values: "
                f"{n_features} is not a multiple of {known}."
            )
        shape = tuple(n_features // known if v == -1 else v for v in shape)
    if math.prod(shape) != n_features:
        raise ValueError(
            f"{name}={shape!r} holds {math.prod(shape)} values per sample, but X has {n_features} features per sample."
        )
    return shape


def resolve_layout(data_shape, request):
    """Return the :class:`SampleLayout` of data whose samples have ``data_shape``.

    Flat rows take the requested shape (its -1 inferred) or the request's
    default, and keep the requested ``image_shape`` (its -1 inferred). N-D
    data keeps its own sample shape, with a trailing channel axis of 1
    added where the request has one more axis; a requested shape or
    ``image_shape`` must then agree with it.

    Raises
    ------
    ValueError
        If the requested shape cannot hold the data's samples.
    """
    data_shape = tuple(int(v) for v in data_shape)
    n_features = math.prod(data_shape)
    if len(data_shape) == 1:
        shape = request.sample_shape_of(data_shape) if request.shape is None else request.shape
        image = request.image_shape
        if image is not None:
            image = _fill_wildcard(tuple(image), n_features, "image_shape")
        return SampleLayout(_fill_wildcard(tuple(shape), n_features, request.name), data_shape, image)
    if request.image_shape is not None and not _agrees(request.image_shape, data_shape):
        raise ValueError(
            f"X holds {request.noun} of shape {data_shape}, but image_shape={request.image_shape!r}: images "
            "carry their own shape. Leave image_shape=None for them, or make the two agree."
        )
    own = tuple(request.sample_shape_of(data_shape))
    if request.shape is not None:
        agrees = [_agrees(request.shape, candidate, channel=False) for candidate in (data_shape, (*data_shape, 1))]
        if not any(agrees):
            raise ValueError(
                f"X holds {request.noun} of shape {own}, but {request.name}={request.shape!r}. "
                f"Leave {request.name}=None for such input, or make them agree."
            )
        own = data_shape if agrees[0] else (*data_shape, 1)
    return SampleLayout(own, data_shape)


def _agrees(requested, data_shape, *, channel=True):
    """Whether a requested shape (at most one -1) fits samples of ``data_shape``.

    With ``channel``, also ``data_shape`` with a channel axis of 1 added, or
    its channel axis of 1 left out: ``(28, 28)`` and ``(28, 28, 1)`` are one
    grey image.
    """
    candidates = [data_shape]
    if channel:
        candidates.append((*data_shape, 1))
        if len(data_shape) > 2 and data_shape[-1] == 1:
            candidates.append(data_shape[:-1])
    return any(
        len(candidate) == len(requested) and all(r in (-1, c) for r, c in zip(requested, candidate, strict=False))
        for candidate in candidates
    )


def input_ndim(X):
    """Return the number of dimensions of X, without converting more than needed."""
    if hasattr(X, "ndim"):
        return X.ndim
    try:
        return np.asarray(X).ndim
    except (TypeError, ValueError):  # e.g. ragged nested lists: check_array reports them
        return 2


def n_rows(X):
    """Return the number of rows of an ndarray or a scipy sparse matrix or array (whose ``len`` is ambiguous)."""
    return X.shape[0]


def spread_rows(n, most):
    """Return at most ``most`` row indices spread evenly over ``n`` rows, first and last included."""
    return np.unique(np.linspace(0, n - 1, min(n, most)).astype(np.intp))


def dense_rows(X, dtype=None):
    """Return a batch of rows as an ndarray: a sparse batch densified (only this batch), else X as it is."""
    if sparse.issparse(X):
        X = X.toarray()
    return X if dtype is None else np.asarray(X, dtype=dtype)
