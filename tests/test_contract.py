"""Every estimator's whole contract, in one pass: what CI also runs under JAX and PyTorch.

Each estimator fits, transforms, decodes, scores, flags outliers, continues
training, saves and loads, clones, pickles and composes with ``Pipeline``
and ``GridSearchCV`` (also in two processes) on whichever Keras backend the
environment sets.
"""

import copy
import pickle

import keras
import numpy as np
import pytest
from _helpers import SHARED_ROWS, shared_data, small_dec, small_dense
from sklearn.base import clone
from sklearn.cluster import KMeans
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline

import skae

pytestmark = pytest.mark.backends

# Kinds of _helpers.SHARED_FITS: each autoencoder, and the conv one on images too.
AUTOENCODERS = ["dense", "conv", "conv-images", "vae", "wrapper"]


@pytest.fixture(scope="module")
def X(digits):
    """The rows the shared fits were fitted on."""
    return digits[0][:SHARED_ROWS]


@pytest.fixture(scope="module", params=AUTOENCODERS)
def fitted(request, fitted_small):
    """The kind, and its estimator fitted on ``X`` (conftest's shared fit)."""
    return request.param, fitted_small(request.param)


def test_transform_inverse_transform_and_scores(fitted, X):
    kind, est = fitted
    data = shared_data(kind, X)
    Z = est.transform(data)
    assert Z.shape[0] == len(X) and Z.dtype == np.float32 and np.all(np.isfinite(Z))
    assert est.inverse_transform(Z).shape == data.shape
    scores = est.score_samples(data)
    assert scores.shape == (len(X),) and np.all(scores <= 0)
    assert est.score(data) == pytest.approx(float(np.mean(scores)), rel=1e-6)
    np.testing.assert_allclose(est.decision_function(data), scores - est.offset_, rtol=1e-6)
    assert set(np.unique(est.predict(data))) <= {-1, 1}
    assert 0 < np.mean(est.predict(data) == -1) < 0.3  # contamination=0.1 of the training rows
    assert est.transform(data.astype(np.float64)).dtype == np.float64


def test_save_load_pickle_deepcopy_are_bit_identical(fitted, X, tmp_path):
    kind, est = fitted
    data = shared_data(kind, X)
    Z = est.transform(data)
    est.save(tmp_path / "est.skae")
    for copied in (skae.load(tmp_path / "est.skae"), pickle.loads(pickle.dumps(est)), copy.deepcopy(est)):
        np.testing.assert_array_equal(copied.transform(data), Z)
        np.testing.assert_array_equal(copied.inverse_transform(Z[:3]), est.inverse_transform(Z[:3]))


@pytest.mark.slow
def test_clone_refits_to_the_same_bits(fitted, X):
    kind, est = fitted
    data = shared_data(kind, X)
    again = clone(est)
    assert not hasattr(again, "model_")
    np.testing.assert_array_equal(again.fit(data).transform(data), est.transform(data))


@pytest.mark.slow
def test_noise_is_drawn_from_the_seed(X, fitted_small):
    # The corruption is random too: the same seed gives the same bits, and
    # the noise changes them (on each backend CI runs). The clean fit is
    # conftest's shared small_dense() on the same rows.
    noisy = small_dense(noise="gaussian")
    first = noisy.fit(X).transform(X)
    np.testing.assert_array_equal(clone(noisy).fit(X).transform(X), first)
    assert not np.array_equal(fitted_small("dense").transform(X), first)


def test_partial_fit_and_warm_start_continue_the_same_model(X):
    est = small_dense()
    for chunk in np.array_split(X, 3):
        est.partial_fit(chunk)
    assert len(est.history_["loss"]) == 3
    warm = small_dense(warm_start=True).fit(X)
    first = warm.encoder_
    warm.set_params(epochs=1).fit(X)
    assert warm.encoder_ is first and len(warm.history_["loss"]) == 3


def pipeline_and_grid():
    pipe = Pipeline([("ae", small_dense(latent_dim=6)), ("kmeans", KMeans(5, n_init=2, random_state=0))])
    return pipe, {"ae__latent_dim": [2, 4]}


def test_pipeline_and_grid_search(X):
    pipe, grid = pipeline_and_grid()
    labels = pipe.fit_predict(X)
    np.testing.assert_array_equal(pipe.predict(X), labels)
    search = GridSearchCV(pipe, grid, cv=2).fit(X)
    assert search.best_params_["ae__latent_dim"] in (2, 4)
    assert search.best_estimator_.predict(X[:5]).shape == (5,)


# Worker processes each import the backend: slow. test_wrapper.py's parallel
# search over builder functions is the fast set's two-process search.
@pytest.mark.slow
def test_grid_search_in_two_processes_matches_one(X):
    pipe, grid = pipeline_and_grid()
    serial = GridSearchCV(pipe, grid, cv=2).fit(X)
    parallel = GridSearchCV(pipe, grid, cv=2, n_jobs=2).fit(X)
    assert parallel.best_params_ == serial.best_params_
    np.testing.assert_allclose(
        parallel.cv_results_["mean_test_score"], serial.cv_results_["mean_test_score"], rtol=1e-3
    )


@pytest.mark.slow
def test_deep_embedded_clustering_contract(X, tmp_path):
    dec = small_dec().fit(X)
    np.testing.assert_array_equal(dec.predict(X), dec.labels_)
    np.testing.assert_allclose(dec.predict_proba(X[:5]).sum(axis=1), 1.0, rtol=1e-6)
    dec.save(tmp_path / "dec.skae")
    for copied in (skae.load(tmp_path / "dec.skae"), pickle.loads(pickle.dumps(dec))):
        np.testing.assert_array_equal(copied.transform(X), dec.transform(X))
        np.testing.assert_array_equal(copied.predict(X), dec.labels_)
    np.testing.assert_array_equal(clone(dec).fit(X).labels_, dec.labels_)


def test_runs_on_the_environments_backend(fitted):
    _, est = fitted
    module = type(est.encoder_.trainable_variables[0].value).__module__.split(".")[0]
    assert (
        module in {"tensorflow": {"tensorflow"}, "jax": {"jax", "jaxlib"}, "torch": {"torch"}}[keras.backend.backend()]
    )
