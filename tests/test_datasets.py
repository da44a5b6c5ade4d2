"""skae.datasets: MNIST from a file, the env var or Keras's cache; the bundled digits."""

import time

import numpy as np
import pytest
from _helpers import MNIST_PATH, needs_mnist

from skae import datasets
from skae.datasets import load_digits, load_mnist


@pytest.fixture
def tiny_mnist(tmp_path):
    """A Keras-format npz with 5 training and 3 test images."""
    rng = np.random.default_rng(0)
    path = tmp_path / "mnist.npz"
    np.savez(
        path,
        x_train=rng.integers(0, 256, (5, 28, 28), dtype=np.uint8),
        y_train=np.array([5, 0, 4, 1, 9], dtype=np.uint8),
        x_test=np.full((3, 28, 28), 255, dtype=np.uint8),
        y_test=np.array([7, 2, 1], dtype=np.uint8),
    )
    return path


def test_load_mnist_from_path_scales_and_flattens(tiny_mnist):
    X, y = load_mnist(tiny_mnist)
    assert X.shape == (5, 784) and X.dtype == np.float32
    assert 0.0 <= X.min() and X.max() <= 1.0
    with np.load(tiny_mnist) as f:
        np.testing.assert_allclose(X, f["x_train"].reshape(5, -1) / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(y, [5, 0, 4, 1, 9])
    assert y.dtype == np.int64


def test_load_mnist_split_n_samples_and_images(tiny_mnist):
    X, y = load_mnist(tiny_mnist, split="test", n_samples=2, as_images=True)
    assert X.shape == (2, 28, 28)
    np.testing.assert_array_equal(X, 1.0)
    np.testing.assert_array_equal(y, [7, 2])
    X_all, y_all = load_mnist(tiny_mnist, split="all")
    assert X_all.shape == (8, 784)
    np.testing.assert_array_equal(y_all, [5, 0, 4, 1, 9, 7, 2, 1])


def test_load_mnist_reads_the_environment_variable(tiny_mnist, monkeypatch):
    monkeypatch.setenv("SKAE_MNIST", str(tiny_mnist))
    X, y = load_mnist()
    assert X.shape == (5, 784)
    np.testing.assert_array_equal(y, [5, 0, 4, 1, 9])


def test_explicit_path_wins_over_the_environment_variable(tiny_mnist, tmp_path, monkeypatch):
    monkeypatch.setenv("SKAE_MNIST", str(tmp_path / "nowhere.npz"))
    assert load_mnist(tiny_mnist)[0].shape == (5, 784)


def test_missing_file_says_how_to_provide_one(tmp_path):
    with pytest.raises(FileNotFoundError, match="No MNIST file at .*SKAE_MNIST"):
        load_mnist(tmp_path / "missing.npz")


def test_wrong_archive_names_the_missing_arrays(tmp_path):
    path = tmp_path / "other.npz"
    np.savez(path, x_train=np.zeros((2, 28, 28)))
    with pytest.raises(ValueError, match=r"lacks \['y_train', 'x_test', 'y_test'\]"):
        load_mnist(path)
    text = tmp_path / "text.npz"
    text.write_text("not an archive")
    with pytest.raises(ValueError, match="Could not read"):
        load_mnist(text)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"split": "val"}, "split must be"), ({"n_samples": 0}, "n_samples must be"), ({"n_samples": 2.5}, "n_samples")],
)
def test_bad_arguments(tiny_mnist, kwargs, match):
    with pytest.raises(ValueError, match=match):
        load_mnist(tiny_mnist, **kwargs)


def test_offline_without_a_file_fails_fast_with_instructions(tmp_path, monkeypatch):
    # No file anywhere and no network: the error must say how to provide
    # MNIST, and no download may start (a download is what would hang).
    # test_reachable_is_bounded_in_time bounds the network check itself.
    import keras

    def no_download(*args, **kwargs):
        raise AssertionError("load_mnist started a download with no network")

    monkeypatch.delenv("SKAE_MNIST", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setattr(datasets, "_reachable", lambda host: False)
    monkeypatch.setattr(keras.datasets.mnist, "load_data", no_download)
    with pytest.raises(ConnectionError, match="cannot be reached.*SKAE_MNIST.*load_digits"):
        load_mnist()


def test_reachable_is_bounded_in_time():
    # An address that cannot answer (TEST-NET-1, RFC 5737): the check gives
    # up within its timeout.
    start = time.perf_counter()
    assert datasets._reachable("192.0.2.1", timeout=0.5) is False
    assert time.perf_counter() - start < 3


@needs_mnist
def test_load_mnist_shared_file():
    X, y = load_mnist(MNIST_PATH, n_samples=1000)
    assert X.shape == (1000, 784) and X.dtype == np.float32
    np.testing.assert_array_equal(y[:5], [5, 0, 4, 1, 9])
    X_test, y_test = load_mnist(MNIST_PATH, split="test", as_images=True)
    assert X_test.shape == (10000, 28, 28)
    assert np.bincount(y_test).tolist()[:2] == [980, 1135]


def test_load_digits():
    X, y = load_digits()
    assert X.shape == (1797, 64) and X.dtype == np.float32
    assert X.min() == 0.0 and X.max() == 1.0
    assert sorted(np.unique(y)) == list(range(10))
    images, labels = load_digits(n_samples=4, as_images=True)
    assert images.shape == (4, 8, 8)
    np.testing.assert_array_equal(images.reshape(4, -1), X[:4])
    np.testing.assert_array_equal(labels, y[:4])
