"""Inference: one compiled function per model and backend, never stale, the same for any batch."""

import logging
import pickle
from concurrent.futures import ThreadPoolExecutor

import keras
import numpy as np
import pytest
from _helpers import small_conv, small_dec, small_dense, small_wrapper
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skae._inference import CHUNKS, ChunkedModel, compile_model

# Also run under JAX and PyTorch in CI (the backend set).
pytestmark = pytest.mark.backends


@pytest.fixture(scope="module")
def X(digits):
    return digits[0][:200]


@pytest.fixture(scope="module", params=["dense", "conv", "conv-same-k3", "vae", "wrapper"])
def fitted(request, fitted_small):
    """The kind, and its estimator fitted on the first 300 digits (conftest's shared fit, also test_contract's)."""
    return request.param, fitted_small(request.param)


def per_row(method, rows):
    return np.concatenate([method(rows[i : i + 1]) for i in range(len(rows))])


def direct(model, x):
    """The Keras model's own eager output, the reference every path must match."""
    return keras.ops.convert_to_numpy(model(np.asarray(x, dtype=np.float32), training=False))


def test_a_row_does_not_depend_on_its_batch(fitted, X):
    _, est = fitted
    Z = est.transform(X)
    # Alone, in a window of its own size or anywhere in all of X: the same bits.
    np.testing.assert_array_equal(per_row(est.transform, X[:40]), Z[:40])
    np.testing.assert_array_equal(est.transform(X[3:10]), Z[3:10])
    np.testing.assert_array_equal(per_row(est.inverse_transform, Z[:40]), est.inverse_transform(Z)[:40])
    np.testing.assert_array_equal(per_row(est.score_samples, X[:40]), est.score_samples(X)[:40])
    np.testing.assert_array_equal(per_row(est.decision_function, X[:40]), est.decision_function(X)[:40])


@pytest.fixture(scope="module")
def many(digits):
    """More rows than one large chunk on every backend: 1,200, each digit with a little noise."""
    rng = np.random.default_rng(0)
    rows = np.concatenate([digits[0]] * 2)[:1200]
    return np.clip(rows + rng.normal(0, 0.05, rows.shape), 0, 1).astype(np.float32)


@pytest.fixture(scope="module")
def alone(fitted, many):
    """Each row of ``many`` through every inference method on its own: the reference."""
    _, est = fitted
    codes = per_row(est.transform, many)
    return {
        "transform": codes,
        "inverse_transform": per_row(est.inverse_transform, codes),
        "score_samples": per_row(est.score_samples, many),
        "decision_function": per_row(est.decision_function, many),
    }


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_window_of_rows_gives_each_rows_own_bits(fitted, many, alone, data):
    # Any number of rows, from anywhere: across the small and the large chunk
    # sizes of every backend (at most 512 rows), and past them.
    _, est = fitted
    n = data.draw(st.one_of(st.integers(1, 40), st.integers(250, 530), st.integers(1000, len(many))), label="n")
    start = data.draw(st.integers(0, len(many) - n), label="start")
    window = slice(start, start + n)
    np.testing.assert_array_equal(est.transform(many[window]), alone["transform"][window])
    np.testing.assert_array_equal(est.inverse_transform(alone["transform"][window]), alone["inverse_transform"][window])
    np.testing.assert_array_equal(est.score_samples(many[window]), alone["score_samples"][window])
    np.testing.assert_array_equal(est.decision_function(many[window]), alone["decision_function"][window])


def test_deep_clustering_predictions_do_not_depend_on_the_batch(digits):
    X = digits[0][:600]
    dec = small_dec(max_iter=20).fit(X)
    proba = dec.predict_proba(X)
    np.testing.assert_array_equal(per_row(dec.predict_proba, X[:30]), proba[:30])
    np.testing.assert_array_equal(dec.predict_proba(X[17:550]), proba[17:550])
    np.testing.assert_array_equal(per_row(dec.predict, X[:30]), dec.predict(X)[:30])


def test_the_tutorial_model_across_the_chunk_boundaries(mnist_small):
    from skae import DenseAutoencoder

    X = np.concatenate([mnist_small[0]] * 5)  # 10,000 rows
    est = DenseAutoencoder(epochs=1, random_state=0).fit(X[:2000])
    Z = est.transform(X)
    small, large, _ = CHUNKS[keras.backend.backend()]
    for row in sorted({0, small - 1, small, large - 1, large, 4095, 4096, 4097, 9983, 9984, len(X) - 1}):
        np.testing.assert_array_equal(est.transform(X[row : row + 1]), Z[row : row + 1], err_msg=f"row {row}")
    for start, n in [(0, 20), (100, 33), (large - 3, 4097), (5000, 5000)]:
        np.testing.assert_array_equal(est.transform(X[start : start + n]), Z[start : start + n], err_msg=f"{n} rows")


def test_chunked_model_calls_only_its_two_sizes(fitted_dense, digits):
    X = np.tile(digits[0], (3, 1))  # 5,391 rows
    chunked = ChunkedModel(fitted_dense.encoder_, (64,), chunks=(8, 256, 256))
    small = chunked.small  # 8, or 1 where the kernels' arithmetic depended on a row's place in 8
    seen = []
    real = chunked._call
    chunked._call = lambda x: seen.append(len(x)) or real(x)
    if chunked.large_matches_small:
        real_large = chunked._call_large
        chunked._call_large = lambda x: seen.append(len(x)) or real_large(x)
        expected = [256] * (len(X) // 256) + [small] * -(-(len(X) % 256) // small)
    else:  # the bulk runs in small calls too
        expected = [small] * -(-len(X) // small)
    out = chunked(X)
    assert seen == expected
    np.testing.assert_allclose(out, direct(fitted_dense.encoder_, X), rtol=1e-5, atol=1e-6)


def test_a_large_path_that_differs_falls_back_to_small_chunks(fitted_dense, digits, monkeypatch):
    # Kernels that summed a row another way in large calls would break the
    # bits; the check at compile time sees it and runs the bulk small.
    real_compile = compile_model

    def off_by_one_ulp_when_large(model, shape):
        call = real_compile(model, shape)
        return lambda x: np.nextafter(call(x), np.inf) if len(x) > 8 else call(x)

    monkeypatch.setattr("skae._inference.compile_model", off_by_one_ulp_when_large)
    monkeypatch.setattr("skae._inference._jax_chunk_loop", lambda model, small: off_by_one_ulp_when_large(model, (64,)))
    chunked = ChunkedModel(fitted_dense.encoder_, (64,), chunks=(8, 64, 64))
    assert not chunked.large_matches_small
    X = np.tile(digits[0], (2, 1))
    np.testing.assert_array_equal(chunked(X)[:5], np.concatenate([chunked(X[i : i + 1]) for i in range(5)]))


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
