"""DataFrames in and out: ``set_output(transform="pandas")`` and ``"polars"``, and DataFrames as X.

scikit-learn wraps ``transform`` and ``fit_transform`` of any estimator with
``get_feature_names_out``; these tests check that every skae estimator has
it, that the frames hold the very values of the arrays, and that a
``Pipeline`` or ``ColumnTransformer`` around skae returns frames too.
"""

import copy

import numpy as np
import pytest
import sklearn
from _helpers import SHARED_ROWS, small_dec, small_dense
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

#: The shared fits (conftest's ``fitted_small``) that take flat rows: every kind of autoencoder.
FLAT_KINDS = ["dense", "conv", "vae", "wrapper"]
PIXELS = [f"px{i}" for i in range(64)]


sklearn_version = tuple(int(part) for part in sklearn.__version__.split(".")[:2])


@pytest.fixture(params=["pandas", "polars"])
def frames(request):
    """``(name, module)`` of a DataFrame library that ``set_output`` takes; skipped where it is not installed."""
    module = pytest.importorskip(
        request.param, reason=f"{request.param} is not installed: no {request.param} DataFrames to test"
    )
    if request.param == "polars" and sklearn_version < (1, 7):
        pytest.skip("this scikit-learn does not take polars frames' column names (1.7 and newer do)")
    return request.param, module


def _frame(module, X, columns):
    """X as a DataFrame of ``module`` (pandas or polars) with ``columns``."""
    if module.__name__ == "polars":
        return module.DataFrame(X, schema=columns)
    return module.DataFrame(X, columns=columns)


def _names(estimator, n):
    return [f"{type(estimator).__name__.lower()}{i}" for i in range(n)]


@pytest.mark.parametrize("kind", FLAT_KINDS)
def test_transform_returns_a_frame_of_the_codes(kind, frames, fitted_small, digits):
    name, module = frames
    X = digits[0][:50]
    estimator = copy.deepcopy(fitted_small(kind))
    codes = estimator.transform(X)
    out = estimator.set_output(transform=name).transform(X)
    assert isinstance(out, module.DataFrame)
    assert list(out.columns) == list(estimator.get_feature_names_out()) == _names(estimator, codes.shape[1])
    assert np.array_equal(out.to_numpy(), codes)
    # The frame decodes as the codes do: inverse_transform reads its values.
    assert np.array_equal(estimator.inverse_transform(out), estimator.inverse_transform(codes))


def test_deep_clustering_names_its_codes_and_returns_frames(frames, fitted_dec, digits):
    name, module = frames
    X = digits[0][:50]
    dec = copy.deepcopy(fitted_dec)
    codes = dec.transform(X)
    out = dec.set_output(transform=name).transform(X)
    assert isinstance(out, module.DataFrame)
    assert list(out.columns) == list(dec.get_feature_names_out()) == _names(dec, codes.shape[1])
    assert np.array_equal(out.to_numpy(), codes)
    # Labels are not a transform: they stay an array.
    assert isinstance(dec.predict(X), np.ndarray)


def test_a_frame_trains_as_its_array_does(frames, fitted_small, digits):
    name, module = frames
    # float64: scikit-learn validates a polars frame of float32 columns as
    # float64 (a pandas one stays float32), and the scores follow X's dtype.
    X = digits[0][:SHARED_ROWS].astype(np.float64)
    frame = _frame(module, X, PIXELS)
    ae = small_dense().fit(frame)
    # fitted_small("dense") is the same estimator fitted on the same rows as
    # an array (of float32: the model trains in float32 either way).
    reference = fitted_small("dense")
    for ours, theirs in zip(ae.encoder_.get_weights(), reference.encoder_.get_weights(), strict=True):
        assert np.array_equal(ours, theirs)
    assert list(ae.feature_names_in_) == PIXELS
    assert np.array_equal(ae.transform(frame), reference.transform(X))
    assert np.array_equal(ae.score_samples(frame), reference.score_samples(X))
    renamed = _frame(module, X, [f"pixel{i}" for i in range(64)])
    with pytest.raises(ValueError, match="feature names should match those that were passed during fit"):
        ae.transform(renamed)


def test_a_pipeline_returns_frames_through_the_autoencoder(frames, digits):
    name, module = frames
    X = digits[0][:200] * 16
    pipe = make_pipeline(MinMaxScaler(), small_dense()).set_output(transform=name)
    out = pipe.fit_transform(X)
    assert isinstance(out, module.DataFrame)
    assert list(out.columns) == list(pipe.get_feature_names_out()) == _names(pipe[-1], 4)
    # The scaler hands the autoencoder a frame too, under the same names.
    assert list(pipe[-1].feature_names_in_) == [f"x{i}" for i in range(64)]
    assert np.array_equal(out.to_numpy(), pipe[-1].transform(pipe[0].transform(X)))


def test_a_pipeline_that_ends_in_deep_clustering_returns_frames(digits):
    # Before DEC had get_feature_names_out, set_output on such a Pipeline
    # raised "Unable to configure output ... set_output is not available".
    pd = pytest.importorskip("pandas")
    X = digits[0][:200] * 16
    pipe = make_pipeline(MinMaxScaler(), small_dec(max_iter=20)).set_output(transform="pandas").fit(X)
    out = pipe.transform(X)
    assert isinstance(out, pd.DataFrame) and list(out.columns) == _names(pipe[-1], 10)
    assert np.array_equal(out.to_numpy(), pipe[-1].transform(pipe[0].transform(X)))


def test_a_column_transformer_names_the_codes_of_its_autoencoder(frames, digits):
    name, module = frames
    X = digits[0][:200].astype(np.float64)  # the dtype of the frame with the float column "row"
    frame = _frame(module, np.column_stack([X, np.arange(200.0)]), [*PIXELS, "row"])
    columns = ColumnTransformer([("codes", small_dense(latent_dim=2), PIXELS), ("keep", "passthrough", ["row"])])
    out = columns.set_output(transform=name).fit_transform(frame)
    assert isinstance(out, module.DataFrame)
    assert list(out.columns) == ["codes__denseautoencoder0", "codes__denseautoencoder1", "keep__row"]
    ae = columns.named_transformers_["codes"]
    assert list(ae.feature_names_in_) == PIXELS
    assert np.array_equal(out.to_numpy()[:, :2], ae.transform(_frame(module, X, PIXELS)))
