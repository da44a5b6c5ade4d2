"""Validating an autoencoder's X: dense or sparse rows, or N-D samples, as float rows.

Every skae autoencoder validates its input here, once per call: ``fit``
with ``reset=True`` (which records ``n_features_in_`` and resolves the
:class:`~skae._layout.SampleLayout`), and ``transform`` and the scores with
the fitted layout. The layout rules themselves live in :mod:`skae._layout`;
this module applies them to X and words the errors.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import sparse
from sklearn.utils.validation import check_array, validate_data

from ._layout import ANY_ND_INPUT, dense_rows, input_ndim, n_rows, resolve_layout, spread_rows

#: The values an output activation can produce, for the activations skae
#: builds by name: ``fit`` warns when X lies outside them.
OUTPUT_REACH = {
    "sigmoid": (0.0, 1.0),
    "hard_sigmoid": (0.0, 1.0),
    "softmax": (0.0, 1.0),
    "tanh": (-1.0, 1.0),
    "relu": (0.0, np.inf),
    "softplus": (0.0, np.inf),
    "elu": (-1.0, np.inf),
}
#: Rows of X that the reach check reads, evenly spaced: enough to see a
#: scaling mistake, a negligible part of a fit.
REACH_SAMPLES = 1000

__all__ = [
    "FLOAT_DTYPES",
    "OUTPUT_REACH",
    "check_input",
    "check_loss_targets",
    "check_sample_weight",
    "is_plain_rows",
    "warn_out_of_reach",
]

FLOAT_DTYPES = (np.float64, np.float32)


def check_input(estimator, X, *, request=None, layout=None, finite=False):
    """Validate X for ``estimator`` and return ``(rows, layout)``: 2-D float rows and their layout.

    Parameters
    ----------
    estimator : AutoencoderTransformer
        The estimator, which scikit-learn's ``validate_data`` records
        ``n_features_in_`` (and ``feature_names_in_``) on, and checks them
        against.
    X : array-like, scipy sparse matrix or scipy sparse array
        The input.
    request : LayoutRequest or None
        In ``fit``: what the estimator asks of its layout; the layout is
        resolved from X and the features are recorded.
    layout : SampleLayout or None
        After ``fit``: the fitted layout X must fit.
    finite : bool, default=False
        X is float samples that another estimator has validated already
        (deep clustering hands its autoencoder the samples it checked): the
        shapes and the layout are checked, the values not read again.

    Returns
    -------
    rows : ndarray, scipy.sparse.csr_matrix or scipy.sparse.csr_array of shape (n_samples, n_features)
        X as float rows: CSR for sparse input, where the layout takes it,
        a matrix for a sparse matrix and an array for a sparse array.
    layout : SampleLayout
        ``layout``, or the one resolved from X.
    """
    reset = request is not None
    if not reset and is_plain_rows(estimator, X):
        return X, layout
    if sparse.issparse(X):
        return _check_sparse(estimator, X, request, layout, finite)
    ndim = input_ndim(X)
    if reset:
        nd_input = request.nd_input or ()
    else:
        nd_input = ANY_ND_INPUT if layout.is_nd else ()
    if ndim > 2 and ndim in nd_input:
        samples = check_array(
            X, allow_nd=True, dtype=FLOAT_DTYPES, input_name="X", estimator=estimator, ensure_all_finite=not finite
        )
        data_shape = samples.shape[1:]
        if not reset and not layout.accepts(data_shape):
            noun = "images" if len(layout.sample_shape) == 3 else "samples"
            shown = data_shape if len(data_shape) == len(layout.sample_shape) else (*data_shape, 1)
            raise ValueError(
                f"X holds {noun} of shape {shown}, but {type(estimator).__name__} was fitted on {noun} of "
                f"shape {layout.sample_shape}."
            )
        # Finite values were checked above; this pass only records or
        # checks the feature count on the flat view.
        rows = validate_data(estimator, samples.reshape(len(samples), -1), reset=reset, ensure_all_finite=False)
    else:
        rows = validate_data(estimator, X, reset=reset, dtype=FLOAT_DTYPES, ensure_all_finite=not finite)
        data_shape = (rows.shape[1],)
    return rows, (resolve_layout(data_shape, request) if reset else layout)


def _check_sparse(estimator, X, request, layout, finite=False):
    """Validate scipy sparse X as CSR float rows, for a model whose samples are flat rows.

    The rows stay sparse: training and inference densify one batch at a
    time, so a large sparse matrix is never densified whole. The models that
    take them are those whose flat rows stay flat (one rule,
    :attr:`LayoutRequest.takes_sparse`, which the estimator tags report).
    Sparse matrices and sparse arrays (``csr_array``, which scikit-learn
    hands out under ``sparse_interface="sparray"``) are taken alike: each
    keeps its interface, and a batch of either densifies to the same values.
    """
    if X.ndim != 2:
        # Only sparse arrays have other ranks (1-D, and N-D COO); a sparse
        # matrix is always 2-D.
        hint = (
            "Reshape it with X.reshape((1, -1)) if it holds one sample."
            if X.ndim < 2
            else "Flatten its samples with X.reshape((X.shape[0], -1)) for a model of flat rows, or densify it with "
            "X.toarray() for a model of N-D samples (images)."
        )
        raise ValueError(
            f"{type(estimator).__name__} expected sparse X of 2 dimensions, (n_samples, n_features); got a sparse "
            f"{type(X).__name__} of shape {X.shape}. {hint}"
        )
    if request is not None:
        try:
            layout = resolve_layout((X.shape[1],), request)
        except ValueError:  # no flat layout fits: the refusal below says why
            layout = None
    if layout is None or len(layout.sample_shape) != 1:
        reads = f"samples of shape {layout.sample_shape}" if layout is not None else "images (N-D samples)"
        raise TypeError(
            f"{type(estimator).__name__} expected a dense array: its model reads {reads}, and only models of flat "
            f"samples take sparse input. Got a sparse {type(X).__name__} of shape {X.shape}. Densify it with "
            "X.toarray(), or use an estimator of flat rows, such as DenseAutoencoder, which takes it sparse."
        )
    rows = validate_data(
        estimator, X, reset=request is not None, dtype=FLOAT_DTYPES, accept_sparse="csr", ensure_all_finite=not finite
    )
    return rows, layout


def is_plain_rows(estimator, X):
    """Whether X is already what validation would return: finite float rows of the fitted width.

    A web server's one-row ``transform`` spends more time in scikit-learn's
    validation than in the network; an ndarray that needs no conversion
    skips it. Anything else (lists, DataFrames, other dtypes, a model
    fitted on named features, non-finite values) takes the full path,
    which gives the usual errors and warnings.
    """
    return (
        type(X) is np.ndarray
        and X.ndim == 2
        and X.dtype in FLOAT_DTYPES
        and 0 < X.shape[0]
        and X.shape[1] == estimator.n_features_in_
        and not hasattr(estimator, "feature_names_in_")
        and bool(np.isfinite(X).all())
    )


def check_sample_weight(sample_weight, n_samples):
    """Return validated ``sample_weight`` for ``n_samples`` rows: float64 rescaled to mean 1, or None.

    None, and weights that are all alike, give None: a fit with them is
    the fit without them, bit for bit. Other weights are divided by their
    mean, so that their scale does not change the learning rate: a row of
    weight 2 then counts as that row twice, as repeated rows would.

    Raises
    ------
    ValueError
        If the weights are not one finite, non-negative number per sample
        with at least one above 0; the message names ``sample_weight``.
    """
    if sample_weight is None:
        return None
    try:
        weights = np.asarray(sample_weight, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"sample_weight must be numbers, one per sample; got {sample_weight!r:.80}.") from exc
    if weights.ndim != 1 or len(weights) != n_samples:
        raise ValueError(
            f"sample_weight must be a 1-D array of one weight per sample, shape ({n_samples},); got shape "
            f"{weights.shape}."
        )
    if not np.isfinite(weights).all():
        raise ValueError(f"sample_weight must be finite; got {np.count_nonzero(~np.isfinite(weights))} NaN or inf.")
    if (weights < 0).any():
        raise ValueError(f"sample_weight must be non-negative; got {np.count_nonzero(weights < 0)} below 0.")
    if not (weights > 0).any():
        raise ValueError("sample_weight must give at least one sample a weight above 0; got all zero.")
    if (weights == weights[0]).all():
        return None
    return weights / weights.mean()


def warn_out_of_reach(rows, activation, owner):
    """Warn when the sampled values of ``rows`` lie outside what the output ``activation`` can produce.

    Only for activations named in :data:`OUTPUT_REACH`; reads at most
    :data:`REACH_SAMPLES` rows.
    """
    reach = OUTPUT_REACH.get(activation) if isinstance(activation, str) else None
    if reach is None:
        return
    sampled = dense_rows(rows[spread_rows(n_rows(rows), REACH_SAMPLES)])
    low, high = float(sampled.min()), float(sampled.max())
    if reach[0] <= low and high <= reach[1]:
        return
    warnings.warn(
        f"X holds values from {low:g} to {high:g}, but {owner}'s output_activation={activation!r} only produces "
        f"values in [{reach[0]:g}, {reach[1]:g}], so the reconstruction cannot reach them. Scale X to "
        f"[{reach[0]:g}, {reach[1]:g}] (for 0-255 pixels, X / 255), or use output_activation='linear'.",
        UserWarning,
        stacklevel=4,
    )


#: Keras's names of the binary cross-entropy, whose targets must lie in [0, 1].
UNIT_TARGET_LOSSES = frozenset({"binary_crossentropy", "bce"})


def check_loss_targets(rows, loss, owner):
    """Refuse ``rows`` outside [0, 1] for a binary cross-entropy ``loss`` on PyTorch.

    PyTorch's kernel stops the first batch with a bare ``RuntimeError`` on
    such targets, where TensorFlow and JAX compute a loss (and
    :func:`warn_out_of_reach` warns). Every value is read: one the check
    did not see would still stop the fit halfway.
    """
    import keras

    if not (isinstance(loss, str) and loss in UNIT_TARGET_LOSSES) or keras.backend.backend() != "torch":
        return
    low, high = float(rows.min()), float(rows.max())
    if 0.0 <= low and high <= 1.0:
        return
    raise ValueError(
        f"X holds values from {low:g} to {high:g}, but {owner}'s loss={loss!r} needs values in [0, 1], and "
        "PyTorch refuses other targets. Scale X to [0, 1] (for 0-255 pixels, X / 255), or use loss='mse'."
    )
