"""Inference: one compiled function per model and backend, never stale, the same for any batch."""

import logging
import pickle
import time
import warnings
from concurrent.futures import ThreadPoolExecutor

import keras
import numpy as np
import pytest
from _helpers import small_conv, small_dec, small_dense, small_wrapper
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import skae
from skae._inference import ChunkedModel, compile_model

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
    plan = est.inference_plan()
    small, large = plan.small, plan.large
    for row in sorted({0, small - 1, small, large - 1, large, 4095, 4096, 4097, 9983, 9984, len(X) - 1}):
        np.testing.assert_array_equal(est.transform(X[row : row + 1]), Z[row : row + 1], err_msg=f"row {row}")
    for start, n in [(0, 20), (100, 33), (large - 3, 4097), (5000, 5000)]:
        np.testing.assert_array_equal(est.transform(X[start : start + n]), Z[start : start + n], err_msg=f"{n} rows")


def test_chunked_model_calls_only_its_plans_sizes(fitted_dense, digits):
    X = np.tile(digits[0], (3, 1))  # 5,391 rows: 21 chunks of 256 and 15 rows
    chunked = ChunkedModel(fitted_dense.encoder_, (64,), chunks=(8, 256, 256))
    plan = chunked.plan  # (8, 256) where this machine's kernels agree at both, else another plan
    chunked(X)  # on TensorFlow, builds and checks the loop over a block of chunks
    seen = []
    real_small, real_large = chunked._call, chunked._call_large
    chunked._call = lambda x: seen.append(("small", len(x))) or real_small(x)
    chunked._call_large = lambda x: seen.append(("large", len(x))) or real_large(x)
    rest = len(X) % plan.large
    tail = [("large", plan.large)] if rest > plan.large // 8 else [("small", plan.small)] * -(-rest // plan.small)
    whole = [("large", plan.large)] * (len(X) // plan.large)
    if chunked.plan.block_loop:  # all 21 chunks are one block (under 16 MiB): one call of the loop
        real_loop = chunked._loop
        chunked._loop = lambda x: seen.append(("block", len(x))) or real_loop(x)
        whole = [("block", len(whole) * plan.large)]
    out = chunked(X)
    assert seen == whole + tail
    assert chunked.plan.block_loop is (False if keras.backend.backend() != "tensorflow" else True)
    np.testing.assert_allclose(out, direct(fitted_dense.encoder_, X), rtol=1e-5, atol=1e-6)


def stand_in_kernels(monkeypatch, change, cost=0.0):
    """Make the compiled model a stand-in whose bits depend on the call, as some kernels' do.

    A call of ``n`` rows adds ``change(n)`` (an array that broadcasts over
    the outputs, or 0) to the model's outputs, and waits ``cost`` seconds
    first, a fixed cost that makes small calls dear. JAX's compiled loop of
    calls is replaced alike, as one call of all its rows.
    """
    real_compile = compile_model

    def stand_in(model, shape):
        call = real_compile(model, shape)

        def run(x):
            time.sleep(cost)
            return call(x) + np.float32(change(len(x)))

        return run

    monkeypatch.setattr("skae._inference.compile_model", stand_in)
    monkeypatch.setattr("skae._inference._jax_chunk_loop", lambda model, step: stand_in(model, model.input_shape[1:]))
    monkeypatch.setattr("skae._inference._tensorflow_chunk_loop", lambda model, shape, rows: stand_in(model, shape))


def rows_alone(chunked, X, rows):
    return np.concatenate([chunked(X[i : i + 1]) for i in rows])


def test_defaults_that_disagree_make_way_for_a_probed_plan_that_keeps_the_bits(fitted_dense, digits, monkeypatch):
    # Kernels that sum a row another way in every size above 128 rows: the
    # defaults' bulk (512 or 1,024 rows) breaks the bits, so the ladder is
    # probed, and one group of sizes that agree takes over (for this tiny
    # model, padding 1 row to a single large size can cost least).
    stand_in_kernels(monkeypatch, lambda n: n * 1e-6 if n > 128 else 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", skae.InferenceCostWarning)  # the cost is the machine's, not this test's
        chunked = ChunkedModel(fitted_dense.encoder_, (64,))
    plan = chunked.plan
    assert "default sizes gave a row other bits" in plan.reason
    assert all(len(group) == 1 for group in plan.groups if group[0] > 128)  # each larger size: bits of its own
    assert tuple(plan.agreeing) in plan.groups
    assert {plan.small, plan.step} <= set(plan.agreeing)
    X = np.tile(digits[0], (2, 1))  # 3,594 rows: many bulk chunks, and a rest
    out = chunked(X)
    rows = [0, 1, plan.large - 1, plan.large, 1800, len(X) - 1]
    np.testing.assert_array_equal(out[rows], rows_alone(chunked, X, rows))
    # TensorFlow's loop over a block of chunks, one call of all its rows
    # here, gave other bits than a chunk's own call: the blocks ran chunk by chunk.
    assert chunked.plan.block_loop is False
    # The model's outputs, give or take the stand-in's offset (at most 1,024 millionths).
    np.testing.assert_allclose(out, direct(fitted_dense.encoder_, X), rtol=1e-5, atol=2e-3)


def test_a_plan_that_costs_more_than_twice_the_bare_call_warns_once_and_keeps_the_bits(digits, monkeypatch):
    # Above 4 rows a call, a row's bits depend on its position in the call,
    # and every call has a fixed cost: the only plans that keep a row's bits
    # run the bulk in calls of a few rows, far dearer than the bare call.
    X = digits[0][:300]
    est = small_dense().fit(X)
    stand_in_kernels(monkeypatch, lambda n: np.arange(n)[:, None] * 1e-6 if n > 4 else 0, cost=0.001)
    fresh = pickle.loads(pickle.dumps(est))  # nothing compiled yet
    with pytest.warns(skae.InferenceCostWarning, match="inference='fast'") as record:
        Z = fresh.transform(X)
    assert len(record) == 1
    plan = fresh.inference_plan()
    assert plan.bulk_ratio > 2 and plan.large <= 4 and max(plan.agreeing) <= 4
    assert f"calls of {plan.small} rows" in str(plan)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # once per network: not again
        np.testing.assert_array_equal(fresh.transform(X[:7]), Z[:7])
        np.testing.assert_array_equal(per_row(fresh.transform, X[:20]), Z[:20])
        np.testing.assert_array_equal(fresh.transform(X[100:250]), Z[100:250])


def test_fast_inference_runs_blocks_as_one_call_each(digits):
    X = np.tile(digits[0], (4, 1))  # 7,188 rows
    est = small_dense(inference="fast").fit(X[:300])
    Z = est.transform(X)
    plan = est.inference_plan()
    assert (plan.mode, plan.loop, plan.probe_seconds) == ("fast", "one call", 0.0)
    assert plan.large >= len(X)  # 64 float32 features a row: all of them fit one block
    chunked = est.network_._compiled["encoder", "fast"][3]
    seen = []
    real = chunked._call
    chunked._call = lambda x: seen.append(len(x)) or real(x)
    np.testing.assert_array_equal(est.transform(X), Z)
    assert seen == ([8192] if keras.backend.backend() == "jax" else [len(X)])  # JAX pads to a power of two
    np.testing.assert_allclose(Z, direct(est.encoder_, X), rtol=1e-5, atol=1e-6)
    # The exact plan of the same network, after set_params: close to the fast codes, its own bits.
    exact = est.set_params(inference="exact")
    np.testing.assert_allclose(exact.transform(X), Z, rtol=1e-5, atol=1e-6)
    assert exact.inference_plan().mode == "exact"
    np.testing.assert_array_equal(exact.transform(X[5:6]), exact.transform(X)[5:6])


def test_bad_inference_is_named(digits):
    with pytest.raises(ValueError, match="inference"):
        small_dense(inference="quick").fit(digits[0][:50])


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
