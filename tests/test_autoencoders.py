"""Behaviour of the autoencoder estimators beyond scikit-learn's checks."""

import copy
import pickle
import random
from functools import partial

import _helpers
import joblib
import keras
import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.cluster import KMeans
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import Pipeline

from skae import ConvAutoencoder
from skae._inference import ChunkedModel


def tf_global_seed():
    """TensorFlow's global seed, when TensorFlow is the backend (no other has one)."""
    if keras.backend.backend() != "tensorflow":
        return None
    from tensorflow.python.framework import random_seed

    return random_seed.get_seed(None)[0]


small_dense = partial(_helpers.small_dense, hidden_layer_sizes=(32,), latent_dim=6)
small_conv = partial(_helpers.small_conv, latent_dim=6)

# fitted_dense and fitted_conv (conftest.py fixtures) are these two, fitted on the digits.


# --- the sklearn contract -------------------------------------------------


def test_clone_of_fitted_estimator_is_unfitted_with_equal_params(fitted_dense):
    twin = clone(fitted_dense)
    assert twin.get_params() == fitted_dense.get_params()
    assert not hasattr(twin, "model_")
    with pytest.raises(NotFittedError):
        twin.transform(np.zeros((1, 64)))


@pytest.mark.parametrize("fixture", ["fitted_dense", "fitted_conv"])
@pytest.mark.parametrize(
    "round_trip",
    [
        lambda est, tmp_path: pickle.loads(pickle.dumps(est)),
        lambda est, tmp_path: copy.deepcopy(est),
        lambda est, tmp_path: joblib.load(joblib.dump(est, tmp_path / "est.joblib")[0]),
    ],
    ids=["pickle", "deepcopy", "joblib"],
)
def test_round_trips_give_bit_identical_transform(fixture, round_trip, request, digits, tmp_path):
    est = request.getfixturevalue(fixture)
    X = digits[0][:50]
    if isinstance(est, ConvAutoencoder):
        X = X.reshape(-1, 8, 8)
    copy_ = round_trip(est, tmp_path)
    np.testing.assert_array_equal(copy_.transform(X), est.transform(X))
    np.testing.assert_array_equal(copy_.inverse_transform(copy_.transform(X)), est.inverse_transform(est.transform(X)))
    # The restored encoder and decoder still share the restored model's weights.
    assert {id(w) for w in copy_.encoder_.weights} <= {id(w) for w in copy_.model_.weights}
    assert {id(w) for w in copy_.decoder_.weights} <= {id(w) for w in copy_.model_.weights}


@pytest.mark.parametrize("make", [small_dense, small_conv])
@pytest.mark.slow
def test_random_state_makes_fits_identical_and_leaves_global_rngs_alone(make, digits):
    X = digits[0]
    random.seed(123)
    np.random.seed(123)  # noqa: NPY002 - the caller's legacy global state is what must survive
    py_state, np_state = random.getstate(), np.random.get_state()  # noqa: NPY002
    tf_seed = tf_global_seed()
    first = make().fit(X).transform(X)
    second = make().fit(X).transform(X)
    np.testing.assert_array_equal(first, second)
    assert random.getstate() == py_state
    after = np.random.get_state()  # noqa: NPY002
    assert after[0] == np_state[0] and np.array_equal(after[1], np_state[1]) and after[2:] == np_state[2:]
    assert tf_global_seed() == tf_seed


def test_different_random_states_give_different_models(digits):
    X = digits[0]
    assert not np.array_equal(
        small_dense(random_state=0).fit(X).transform(X), small_dense(random_state=1).fit(X).transform(X)
    )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_preserved_and_input_never_modified(dtype, digits):
    X = digits[0].astype(dtype)
    before = X.copy()
    est = small_dense().fit(X)
    Z = est.transform(X)
    assert Z.dtype == dtype and Z.shape == (len(X), 6)
    assert est.inverse_transform(Z).dtype == dtype
    assert est.score_samples(X).dtype == dtype
    np.testing.assert_array_equal(X, before)


def test_integer_input_is_converted_to_float64(digits):
    X = (digits[0] * 16).astype(np.int64)
    assert small_dense().fit(X).transform(X).dtype == np.float64


# --- bad input --------------------------------------------------------------


@pytest.mark.parametrize("make", [small_dense, small_conv])
@pytest.mark.parametrize(
    ("bad", "error", "match"),
    [
        (lambda X: np.where(np.arange(X.size).reshape(X.shape) == 5, np.nan, X), ValueError, "NaN"),
        (lambda X: np.where(np.arange(X.size).reshape(X.shape) == 5, np.inf, X), ValueError, "infinity"),
        (lambda X: X.astype(str).astype(object) + "px", ValueError, "string"),
        (lambda X: X[:0], ValueError, "0 sample"),
    ],
    ids=["nan", "inf", "strings", "empty"],
)
def test_bad_training_input_gets_a_clear_error(make, bad, error, match, digits):
    with pytest.raises(error, match=match):
        make().fit(bad(digits[0][:20]))


def test_sparse_input_is_refused_by_image_models_and_checked_by_dense_ones(digits):
    # Dense models take sparse rows (tests/test_sparse.py); a conv model reads images.
    X = digits[0][:20]
    with pytest.raises(TypeError, match="[Ss]parse"):
        small_conv().fit(sp.csr_matrix(X))
    with pytest.raises(ValueError, match="NaN"):
        small_dense().fit(sp.csr_matrix(np.where(np.arange(X.size).reshape(X.shape) == 5, np.nan, X)))


@pytest.mark.parametrize("fixture", ["fitted_dense", "fitted_conv"])
def test_wrong_feature_count_at_transform(fixture, request):
    est = request.getfixturevalue(fixture)
    with pytest.raises(ValueError, match="X has 10 features, but .* is expecting 64 features"):
        est.transform(np.zeros((3, 10)))
    with pytest.raises(ValueError, match="expects latent codes of 6 features"):
        est.inverse_transform(np.zeros((3, 5)))


def test_use_before_fit_raises_not_fitted(digits):
    for method in ("transform", "inverse_transform", "score", "score_samples", "get_feature_names_out"):
        with pytest.raises(NotFittedError):
            args = () if method == "get_feature_names_out" else (digits[0][:2],)
            getattr(small_dense(), method)(*args)


def test_failed_fit_leaves_a_fitted_estimator_as_it_was(fitted_dense, digits):
    est = copy.deepcopy(fitted_dense)
    Z = est.transform(digits[0])
    model = est.model_
    with pytest.raises(ValueError, match="NaN"):
        est.fit(np.full((10, 5), np.nan))
    with pytest.raises(ValueError, match="hidden_layer_sizes must be a sequence of positive integers"):
        est.set_params(hidden_layer_sizes=(0,)).fit(digits[0])
    assert est.model_ is model and est.n_features_in_ == 64
    np.testing.assert_array_equal(est.transform(digits[0]), Z)


def test_invalid_parameters_are_named(digits):
    with pytest.raises(ValueError, match="The 'latent_dim' parameter of DenseAutoencoder must be"):
        small_dense(latent_dim=0).fit(digits[0])
    with pytest.raises(ValueError, match="Unknown activation|Could not interpret activation"):
        small_dense(activation="nope").fit(digits[0])


# --- convolutional input layouts -------------------------------------------


@pytest.mark.slow
def test_conv_accepts_flat_2d_3d_and_4d_input_alike(digits):
    X = digits[0][:300]
    flat = small_conv(image_shape=(8, 8, 1)).fit(X)
    square = small_conv().fit(X)  # 64 features: square single-channel inferred
    images = small_conv().fit(X.reshape(-1, 8, 8))
    channels = small_conv().fit(X.reshape(-1, 8, 8, 1))
    Z = flat.transform(X)
    for est in (square, images, channels):
        np.testing.assert_array_equal(est.transform(X), Z)
        assert est.image_shape_ == (8, 8, 1)
    assert flat.inverse_transform(Z).shape == (len(X), 64)
    assert images.inverse_transform(Z).shape == (len(X), 8, 8)
    assert channels.inverse_transform(Z).shape == (len(X), 8, 8, 1)
    # A model fitted on images also takes the flat rows a Pipeline passes.
    np.testing.assert_array_equal(images.transform(X.reshape(-1, 8, 8)), Z)


def test_conv_colour_images_and_inferred_dimension():
    rng = np.random.default_rng(0)
    X = rng.random((20, 8 * 4 * 3), dtype=np.float32)
    est = small_conv(image_shape=(8, -1, 3), filters=(4,)).fit(X)
    assert est.image_shape_ == (8, 4, 3)
    assert est.inverse_transform(est.transform(X)).shape == X.shape


@pytest.mark.parametrize(
    ("params", "X_shape", "match"),
    [
        ({}, (10, 50), "only fits square single-channel images"),
        ({"image_shape": (7, 7, 1)}, (10, 64), "holds 49 values per sample, but X has 64 features"),
        ({"image_shape": (6, 6)}, (10, 36), r"does not fit kernel_size=\(2, 2\), strides=\(2, 2\).*multiples of 4x4"),
        ({"image_shape": (8, 8, 1)}, (10, 6, 6), r"images of shape \(6, 6, 1\), but image_shape=\(8, 8, 1\)"),
        ({"filters": (4, 8, 16, 32)}, (10, 8, 8), "too small for 4 convolutions"),
        ({"image_shape": (4, 4, 4, 4)}, (10, 256), "image_shape must be"),
    ],
)
def test_conv_shape_errors_say_what_was_expected(params, X_shape, match):
    X = np.random.default_rng(0).random(X_shape)
    with pytest.raises(ValueError, match=match):
        small_conv(**params).fit(X)


def test_conv_transform_rejects_other_image_shapes(fitted_conv):
    with pytest.raises(
        ValueError, match=r"images of shape \(4, 16, 1\), but ConvAutoencoder was fitted on .*\(8, 8, 1\)"
    ):
        fitted_conv.transform(np.zeros((2, 4, 16)))


@pytest.mark.slow
def test_tutorial_conv_model_on_real_mnist(mnist_small):
    X, _ = mnist_small
    est = ConvAutoencoder(image_shape=(28, 28, 1), epochs=5, batch_size=32, random_state=0).fit(X)
    assert est.transform(X[:10]).shape == (10, 64)
    assert est.inverse_transform(est.transform(X[:10])).shape == (10, 784)
    # A few short epochs already beat predicting every pixel as the mean image.
    baseline = np.mean((X - X.mean(axis=0)) ** 2)
    assert -est.score(X) < baseline


# --- training options ---------------------------------------------------------


@pytest.mark.slow
def test_history_validation_and_early_stopping(digits):
    est = small_dense(epochs=10, validation_fraction=0.2, early_stopping=True, patience=1, learning_rate=1e-4).fit(
        digits[0][:400]
    )
    assert set(est.history_) == {"loss", "val_loss"}
    assert 1 <= len(est.history_["loss"]) <= 10
    assert all(isinstance(v, float) for v in est.history_["val_loss"])


def test_validation_fraction_too_small_for_data():
    with pytest.raises(ValueError, match="validation_fraction=0.1 of 3 samples leaves 0 for validation"):
        small_dense(validation_fraction=0.1).fit(np.random.default_rng(0).random((3, 4)))


def test_optimizer_instance_is_copied_and_learning_rate_applied(digits):
    optimizer = keras.optimizers.SGD(learning_rate=0.5)
    est = small_dense(optimizer=optimizer, learning_rate=0.01).fit(digits[0])
    assert est.model_.optimizer is not optimizer
    assert float(keras.ops.convert_to_numpy(est.model_.optimizer.learning_rate)) == pytest.approx(0.01)
    assert float(keras.ops.convert_to_numpy(optimizer.learning_rate)) == pytest.approx(0.5)
    assert optimizer.iterations.numpy() == 0


def test_user_callbacks_receive_training_events(digits):
    epochs = []
    callback = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: epochs.append(epoch))
    small_dense(epochs=3, callbacks=[callback]).fit(digits[0])
    assert epochs == [0, 1, 2]


def test_score_is_negative_mean_squared_reconstruction_error(fitted_dense, digits):
    X = digits[0]
    reconstruction = fitted_dense.inverse_transform(fitted_dense.transform(X))
    expected = -np.mean((X - reconstruction) ** 2, axis=1)
    np.testing.assert_allclose(fitted_dense.score_samples(X), expected, rtol=1e-5)
    assert fitted_dense.score(X) == pytest.approx(expected.mean(), rel=1e-5)


# --- inference path -----------------------------------------------------------


def test_inference_runs_in_two_fixed_sizes_and_matches_one_call(fitted_dense, digits):
    X = np.tile(digits[0], (3, 1))
    seen = []
    chunked = ChunkedModel(fitted_dense.encoder_, (64,), chunks=(8, 1000, 1000))
    real = chunked._call

    def spy(chunk):
        seen.append(len(chunk))
        return real(chunk)

    chunked(X)  # on TensorFlow, builds and checks the compiled loop over a block of chunks
    chunked._call = chunked._call_large = spy
    if chunked.plan.block_loop:
        loop = chunked._loop
        chunked._loop = lambda x: seen.append(("loop", len(x))) or loop(x)
    out = chunked(X)
    plan = chunked.plan
    if (plan.small, plan.large) != (8, 1000):  # this machine's kernels gave a row other bits at 8 or 1,000 rows
        pytest.skip(f"the plan here is {plan}")
    # Five whole chunks, one call each or one call of TensorFlow's loop over
    # them; the last 391 rows, too many for 8-row calls, in one padded chunk.
    assert seen == ([("loop", 5000)] if plan.block_loop else [1000] * 5) + [1000]
    direct = keras.ops.convert_to_numpy(fitted_dense.encoder_(X.astype(np.float32), training=False))
    np.testing.assert_allclose(out, direct, rtol=1e-5, atol=1e-6)
    # Short inputs are padded to the small size, never run at their own size.
    seen.clear()
    for n in (1, 7, 33):
        chunked(X[:n])
    assert set(seen) == {8}


# --- composition ----------------------------------------------------------------


def test_pipeline_into_kmeans_and_pandas_output(digits):
    pd = pytest.importorskip("pandas")
    X, _ = digits
    frame = pd.DataFrame(X, columns=[f"px{i}" for i in range(64)])
    pipe = Pipeline([("ae", small_dense()), ("km", KMeans(10, n_init=2, random_state=0))]).fit(frame)
    assert pipe.predict(frame).shape == (len(X),)
    ae = pipe.named_steps["ae"]
    assert list(ae.feature_names_in_) == list(frame.columns)
    assert list(ae.get_feature_names_out()) == [f"denseautoencoder{i}" for i in range(6)]
    out = clone(ae).set_output(transform="pandas").fit(frame).transform(frame)
    assert isinstance(out, pd.DataFrame) and list(out.columns) == [f"denseautoencoder{i}" for i in range(6)]
