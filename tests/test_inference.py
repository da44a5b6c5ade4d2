"""Inference paths: NumPy for a few rows, one compiled function otherwise, from many threads."""

import logging
import pickle
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from conftest import small_conv, small_dense, small_wrapper

from skae import VariationalAutoencoder
from skae._inference import SMALL_BATCH, InferenceFunction


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
        # Odd kernels with "same" padding exercise the NumPy path's padding.
        "conv-same-k3": lambda: small_conv(kernel_size=3, padding="same", latent_l1=1e-4),
        "vae": lambda: VariationalAutoencoder(hidden_layer_sizes=(16,), latent_dim=3, epochs=2, random_state=0),
        "wrapper": lambda: small_wrapper(),
    }[request.param]
    return request.param, make().fit(X)


def per_row(method, rows):
    return np.concatenate([method(rows[i : i + 1]) for i in range(len(rows))])


def test_small_batches_match_the_batched_path(fitted, X):
    kind, est = fitted
    rows = X[:40]  # more than SMALL_BATCH: the batched, compiled path
    assert len(rows) > SMALL_BATCH
    Z = est.transform(rows)
    np.testing.assert_allclose(per_row(est.transform, rows), Z, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(est.transform(rows[:7]), Z[:7], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(per_row(est.inverse_transform, Z), est.inverse_transform(Z), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(per_row(est.score_samples, rows), est.score_samples(rows), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(per_row(est.decision_function, rows), est.decision_function(rows), rtol=1e-5, atol=1e-6)
    # The NumPy path serves skae's own stacks; a functional model uses the compiled function.
    function = est._inference_cache["encoder"]
    assert (function.numpy_steps is None) == (kind == "wrapper")


def test_compiled_function_matches_keras(fitted, X):
    _, est = fitted
    x = est.layout_.to_model(X[:50])
    function = InferenceFunction(est.encoder_, est.layout_.sample_shape)
    direct = np.asarray(est.encoder_(x, training=False))
    np.testing.assert_allclose(function.predict_on_batch(x), direct, rtol=1e-5, atol=1e-6)


def test_transform_is_safe_from_many_threads(fitted, X):
    _, est = fitted
    batches = [X[i : i + n] for i, n in zip(range(0, 200, 10), [1, 3, 40, 1, 7, 50, 2, 1] * 3, strict=False)]
    expected = [est.transform(b) for b in batches]
    fresh = pickle.loads(pickle.dumps(est))  # no compiled functions yet: threads race to build them
    with ThreadPoolExecutor(max_workers=8) as pool:
        got = list(pool.map(fresh.transform, batches * 4))
    for result, reference in zip(got, expected * 4, strict=True):
        np.testing.assert_allclose(result, reference, rtol=1e-5, atol=1e-5)


def test_no_retracing_for_any_batch_size(X, caplog):
    est = small_dense().fit(X)
    caplog.clear()  # training's own tracing is Keras's business
    with caplog.at_level(logging.WARNING):
        for n in [1, 2, 5, 33, 34, 35, 77, 100, 150, 199, 200, 64, 65]:
            est.transform(X[:n])
            est.score_samples(X[:n])
    assert "retracing" not in caplog.text


def test_training_drops_the_compiled_functions(X):
    est = small_dense(warm_start=True).fit(X)
    before = est.transform(X[:1])
    functions = est._inference_cache
    est.partial_fit(X)
    assert est._inference_cache is not functions  # new functions for the new weights
    after = est.transform(X[:1])
    assert not np.array_equal(before, after)
    np.testing.assert_allclose(after, est.transform(X[:40])[:1], rtol=1e-5, atol=1e-5)
    # Not pickled: a copy compiles its own.
    assert "_inference_cache" not in est.__getstate__()
