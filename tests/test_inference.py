"""Inference: one compiled function per model and backend, never stale, the same for any batch."""

import logging
import pickle
from concurrent.futures import ThreadPoolExecutor

import keras
import numpy as np
import pytest
from _helpers import small_conv, small_dec, small_dense, small_wrapper

from skae import VariationalAutoencoder
from skae._inference import BUCKETS, compile_model

# Also run under JAX and PyTorch in CI (the backend set).
pytestmark = pytest.mark.backends


@pytest.fixture(scope="module")
def X(digits):
    return digits[0][:200]


@pytest.fixture(
    scope="module",
    params=["dense", "conv", "conv-same-k3", "vae", "wrapper"],
)
def fitted(request, X):
    make = {
        "dense": lambda: small_dense(),
        "conv": lambda: small_conv(),
        "conv-same-k3": lambda: small_conv(kernel_size=3, padding="same", latent_l1=1e-4),
        "vae": lambda: VariationalAutoencoder(hidden_layer_sizes=(16,), latent_dim=3, epochs=2, random_state=0),
        "wrapper": lambda: small_wrapper(),
    }[request.param]
    return request.param, make().fit(X)


def per_row(method, rows):
    return np.concatenate([method(rows[i : i + 1]) for i in range(len(rows))])


def direct(model, x):
    """The Keras model's own eager output, the reference every path must match."""
    return keras.ops.convert_to_numpy(model(np.asarray(x, dtype=np.float32), training=False))


def test_a_row_does_not_depend_on_its_batch(fitted, X):
    _, est = fitted
    small = X[: BUCKETS[0]]
    Z = est.transform(small)
    # Within the smallest bucket every batch runs at one size: identical bits.
    np.testing.assert_array_equal(per_row(est.transform, small), Z)
    np.testing.assert_array_equal(est.transform(small[:7]), Z[:7])
    np.testing.assert_array_equal(per_row(est.inverse_transform, Z), est.inverse_transform(Z))
    np.testing.assert_array_equal(per_row(est.score_samples, small), est.score_samples(small))
    # Across buckets, float32 rounding at most.
    np.testing.assert_allclose(est.transform(X)[: len(small)], Z, rtol=1e-5, atol=1e-6)


def test_compiled_function_matches_keras(fitted, X):
    _, est = fitted
    x = est.layout_.to_model(X[:50])
    function = compile_model(est.encoder_, est.layout_.sample_shape)
    np.testing.assert_allclose(function(x), direct(est.encoder_, x), rtol=1e-5, atol=1e-6)


def test_transform_is_safe_from_many_threads(fitted, X):
    _, est = fitted
    batches = [X[i : i + n] for i, n in zip(range(0, 200, 10), [1, 3, 40, 1, 7, 50, 2, 1] * 3, strict=False)]
    expected = [est.transform(b) for b in batches]
    fresh = pickle.loads(pickle.dumps(est))  # no compiled functions yet: threads race to build them
    with ThreadPoolExecutor(max_workers=8) as pool:
        got = list(pool.map(fresh.transform, batches * 4))
    for result, reference in zip(got, expected * 4, strict=True):
        np.testing.assert_allclose(result, reference, rtol=1e-5, atol=1e-6)


def test_no_retracing_for_any_batch_size(X, caplog):
    est = small_dense().fit(X)
    caplog.clear()  # training's own tracing is Keras's business
    with caplog.at_level(logging.WARNING):
        for n in [1, 2, 5, 33, 34, 35, 77, 100, 150, 199, 200, 64, 65]:
            est.transform(X[:n])
            est.score_samples(X[:n])
    assert "retracing" not in caplog.text


@pytest.mark.parametrize("make", [small_dense, small_conv, small_wrapper], ids=["dense", "conv", "wrapper"])
def test_codes_are_fresh_after_the_encoder_trains_elsewhere(make, mnist_small):
    # Transfer learning: the fitted encoder_ trains on inside a classifier.
    # transform must serve the new weights for one row and for many.
    x, y = mnist_small
    x, y = x[:1000], y[:1000]
    est = make().fit(x)
    before = est.transform(x[:1])
    inputs = keras.Input(est.layout_.sample_shape)
    head = keras.layers.Dense(10, activation="softmax")(keras.layers.Flatten()(est.encoder_(inputs)))
    classifier = keras.Model(inputs, head)
    classifier.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")
    classifier.fit(est.layout_.to_model(x), y, epochs=2, batch_size=100, verbose=0)
    model_x = est.layout_.to_model(x)
    reference = direct(est.encoder_, model_x).reshape(len(x), -1)
    assert not np.allclose(est.transform(x[:1]), before, atol=1e-3)
    np.testing.assert_allclose(est.transform(x[:1]), reference[:1], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(est.transform(x), reference, rtol=1e-5, atol=1e-5)


def test_dec_labels_are_its_predictions_on_few_samples(digits):
    X = digits[0][:30]
    dec = small_dec(max_iter=40, update_interval=10).fit(X)
    np.testing.assert_array_equal(dec.labels_, dec.predict(X))


def test_training_keeps_inference_current_and_the_cache_is_not_pickled(X):
    est = small_dense(warm_start=True).fit(X)
    before = est.transform(X[:1])
    est.partial_fit(X)
    after = est.transform(X[:1])
    assert not np.array_equal(before, after)
    np.testing.assert_allclose(after, direct(est.encoder_, X[:1]), rtol=1e-5, atol=1e-5)
    # Not pickled: the network's state is its layout and model, and a copy compiles its own.
    assert est.network_._compiled
    assert set(est.network_.__getstate__()) == {"layout", "model"}
    copy = pickle.loads(pickle.dumps(est))
    assert copy.network_._compiled == {}
    np.testing.assert_array_equal(copy.transform(X[:1]), after)
