"""Grid search in parallel: joblib's process backend and a local Dask cluster."""

import os

import joblib
import numpy as np
import pytest
from _helpers import dense_grid_search

# conftest.py's fitted_search is the same search fitted in this process on
# these rows: the reference each parallel one must match.


@pytest.fixture(scope="module")
def data(digits):
    return digits[0][:400]


def _worker_threads():
    import tensorflow as tf

    from skae._guards import limit_worker_threads

    return limit_worker_threads(), tf.config.threading.get_intra_op_parallelism_threads()


def assert_same_search(result, reference):
    assert result.best_params_ == reference.best_params_
    # Workers run TensorFlow with fewer threads, which may reorder float sums.
    np.testing.assert_allclose(
        result.cv_results_["mean_test_score"], reference.cv_results_["mean_test_score"], rtol=1e-3
    )


# Worker processes each import TensorFlow, and a Dask cluster starts its own:
# these are slow. The fast set searches in two processes in test_wrapper.py.
@pytest.mark.slow
def test_grid_search_with_two_processes(data, fitted_search):
    result = dense_grid_search(n_jobs=2).fit(data)
    assert_same_search(result, fitted_search)
    assert result.best_estimator_.transform(data[:5]).shape == (5, result.best_params_["latent_dim"])
    # In the workers, TensorFlow gets the share of cores joblib gives each one.
    with joblib.parallel_config(backend="loky", n_jobs=2):
        threads = joblib.Parallel()(joblib.delayed(_worker_threads)() for _ in range(2))
    # joblib keeps an OMP_NUM_THREADS the parent already has, else gives cpu_count() // n_jobs.
    expected = int(os.environ.get("OMP_NUM_THREADS", max(joblib.cpu_count() // 2, 1)))
    assert threads == [(expected, expected)] * 2


def test_threads_are_left_alone_in_the_main_process(monkeypatch):
    from skae._guards import limit_worker_threads

    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert limit_worker_threads() is None


@pytest.mark.slow
def test_grid_search_on_a_local_dask_cluster(data, fitted_search):
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        assert len(client.scheduler_info()["workers"]) == 2
        with joblib.parallel_config(backend="dask"):
            result = dense_grid_search(n_jobs=-1).fit(data)
        # The fits ran in the cluster's workers, which kept TensorFlow to one thread.
        assert client.run(_worker_threads) and all(
            threads == (1, 1) for threads in client.run(_worker_threads).values()
        )
    assert_same_search(result, fitted_search)


@pytest.mark.slow
def test_transform_a_dask_array_on_a_local_cluster(data, fitted_search):
    distributed = pytest.importorskip("distributed")
    da = pytest.importorskip("dask.array")
    est = fitted_search.best_estimator_
    expected = est.transform(data)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
        ) as cluster,
        distributed.Client(cluster),
    ):
        blocks = da.from_array(data, chunks=(100, -1))
        Z = blocks.map_blocks(est.transform, dtype=data.dtype, chunks=(100, est._n_features_out)).compute()
    np.testing.assert_allclose(Z, expected, rtol=1e-5, atol=1e-6)
