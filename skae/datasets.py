"""Data sets for trying skae: MNIST, as the tutorial uses, and an offline stand-in.

:func:`load_mnist` reads the Keras-format ``mnist.npz`` from a path, from
the file named by the environment variable ``SKAE_MNIST``, or through
Keras's own download and cache. :func:`load_digits` returns scikit-learn's
8x8 digits, which ship with scikit-learn and need no network at all.

Both return ``(X, y)``: float32 pixels scaled to [0, 1], as flat rows or as
images, and integer labels.
"""

from __future__ import annotations

import os
import socket
import threading
from numbers import Integral
from pathlib import Path

import numpy as np

__all__ = ["MNIST_ENV_VAR", "load_digits", "load_mnist"]

#: Environment variable that names a local Keras-format ``mnist.npz``.
MNIST_ENV_VAR = "SKAE_MNIST"

_MNIST_KEYS = ("x_train", "y_train", "x_test", "y_test")
_MNIST_HOST = "storage.googleapis.com"
# Seconds to wait for MNIST's download server before giving up: an offline
# machine must fail quickly, never hang.
_CONNECT_TIMEOUT = 5.0
_DOWNLOAD_TIMEOUT = 60.0


def _how_to_provide():
    return (
        "Download https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz "
        "on a machine that has internet access, then pass its path as load_mnist(path=...), "
        f"set the environment variable {MNIST_ENV_VAR}=/path/to/mnist.npz, or give "
        "`skae demo --data /path/to/mnist.npz`. skae.datasets.load_digits() needs no file."
    )


def _keras_cache_file():
    cache = os.environ.get("KERAS_HOME", os.path.join(os.path.expanduser("~"), ".keras"))
    return Path(cache) / "datasets" / "mnist.npz"


def _reachable(host, port=443, timeout=_CONNECT_TIMEOUT):
    """Whether a TCP connection to ``host`` opens within ``timeout`` seconds.

    Name resolution ignores socket timeouts, so the attempt runs in a
    daemon thread that is abandoned when it takes too long.
    """
    result = []

    def attempt():
        try:
            socket.create_connection((host, port), timeout=timeout).close()
            result.append(True)
        except OSError:
            result.append(False)

    thread = threading.Thread(target=attempt, daemon=True)
    thread.start()
    thread.join(timeout)
    return bool(result and result[0])


def _keras_mnist():
    """MNIST's four arrays through ``keras.datasets.mnist``, bounded in time."""
    import keras

    if not _keras_cache_file().exists() and not _reachable(_MNIST_HOST):
        raise ConnectionError(
            f"MNIST is not in Keras's cache ({_keras_cache_file()}) and its download server "
            f"{_MNIST_HOST} cannot be reached (no internet?). {_how_to_provide()}"
        )
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(_DOWNLOAD_TIMEOUT)
    try:
        (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    except Exception as exc:
        raise ConnectionError(f"Keras could not download MNIST: {exc}. {_how_to_provide()}") from exc
    finally:
        socket.setdefaulttimeout(previous)
    return {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}


def _npz_mnist(path):
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"No MNIST file at {path}. {_how_to_provide()}")
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:  # what np.load raises for files that are not arrays
        raise ValueError(f"Could not read {path} as a Keras-format MNIST .npz archive: {exc}") from exc
    if not hasattr(archive, "files"):  # a single .npy array
        raise ValueError(f"{path} holds one array, not a Keras-format MNIST .npz archive of {list(_MNIST_KEYS)}.")
    with archive as f:
        missing = [key for key in _MNIST_KEYS if key not in f.files]
        if missing:
            raise ValueError(
                f"{path} is not a Keras-format MNIST file: it lacks {missing}; expected the "
                f"arrays {list(_MNIST_KEYS)}, found {sorted(f.files)}."
            )
        return {key: f[key] for key in _MNIST_KEYS}


def _check_n_samples(n_samples):
    if n_samples is not None and (isinstance(n_samples, bool) or not isinstance(n_samples, Integral) or n_samples < 1):
        raise ValueError(f"n_samples must be a positive int or None; got {n_samples!r}.")


def _finish(images, labels, *, n_samples, as_images, scale):
    if n_samples is not None:
        images, labels = images[:n_samples], labels[:n_samples]
    X = np.asarray(images, dtype=np.float32) / np.float32(scale)
    if not as_images:
        X = X.reshape(len(X), -1)
    return X, np.asarray(labels, dtype=np.int64)


def load_mnist(path=None, *, split="train", n_samples=None, as_images=False):
    """Load MNIST's handwritten digits, scaled to [0, 1].

    The file is looked for in this order: ``path``; the file named by the
    environment variable ``SKAE_MNIST``; Keras's cache, downloading it there
    with ``keras.datasets.mnist.load_data()`` when it is missing. An offline
    machine without a file fails within seconds, with an error that says how
    to provide one.

    Parameters
    ----------
    path : str or path-like, default=None
        A Keras-format ``mnist.npz`` holding ``x_train``, ``y_train``,
        ``x_test`` and ``y_test``.
    split : {"train", "test", "all"}, default="train"
        The 60,000 training images, the 10,000 test images, or both
        (training images first).
    n_samples : int or None, default=None
        Keep only the first ``n_samples`` images of the split.
    as_images : bool, default=False
        Return images of shape (n, 28, 28) instead of flat rows of 784.

    Returns
    -------
    X : ndarray of float32, shape (n, 784) or (n, 28, 28)
        Pixels divided by 255.
    y : ndarray of int64, shape (n,)
        The digit each image shows.

    Raises
    ------
    FileNotFoundError
        If ``path`` (or ``SKAE_MNIST``) names no file.
    ConnectionError
        If no file is given and Keras can neither find MNIST in its cache nor
        download it.
    ValueError
        If the file is not a Keras-format MNIST archive, or for bad arguments.

    See Also
    --------
    load_digits : scikit-learn's 8x8 digits, which need no file.

    Examples
    --------
    >>> from skae.datasets import load_mnist
    >>> X, y = load_mnist(n_samples=100)  # doctest: +SKIP
    >>> X.shape, X.dtype, y[:5]  # doctest: +SKIP
    ((100, 784), dtype('float32'), array([5, 0, 4, 1, 9]))
    """
    if split not in ("train", "test", "all"):
        raise ValueError(f"split must be 'train', 'test' or 'all'; got {split!r}.")
    _check_n_samples(n_samples)
    if path is None and os.environ.get(MNIST_ENV_VAR):
        path = os.environ[MNIST_ENV_VAR]
    arrays = _keras_mnist() if path is None else _npz_mnist(path)
    if split == "all":
        images = np.concatenate([arrays["x_train"], arrays["x_test"]])
        labels = np.concatenate([arrays["y_train"], arrays["y_test"]])
    else:
        images, labels = arrays[f"x_{split}"], arrays[f"y_{split}"]
    return _finish(images, labels, n_samples=n_samples, as_images=as_images, scale=255)


def load_digits(*, n_samples=None, as_images=False):
    """Load scikit-learn's 8x8 handwritten digits, scaled to [0, 1].

    They ship with scikit-learn, so this works offline: 1,797 images of 8x8
    pixels with 17 grey levels, a small stand-in for MNIST.

    Parameters
    ----------
    n_samples : int or None, default=None
        Keep only the first ``n_samples`` images.
    as_images : bool, default=False
        Return images of shape (n, 8, 8) instead of flat rows of 64.

    Returns
    -------
    X : ndarray of float32, shape (n, 64) or (n, 8, 8)
        Pixels divided by 16.
    y : ndarray of int64, shape (n,)
        The digit each image shows.

    See Also
    --------
    load_mnist : The tutorial's 28x28 MNIST digits.

    Examples
    --------
    >>> from skae.datasets import load_digits
    >>> X, y = load_digits()
    >>> X.shape, X.dtype, float(X.max()), y[:5]
    ((1797, 64), dtype('float32'), 1.0, array([0, 1, 2, 3, 4]))
    >>> load_digits(n_samples=10, as_images=True)[0].shape
    (10, 8, 8)
    """
    from sklearn.datasets import load_digits as sklearn_digits

    _check_n_samples(n_samples)
    digits = sklearn_digits()
    return _finish(digits.images, digits.target, n_samples=n_samples, as_images=as_images, scale=16)
