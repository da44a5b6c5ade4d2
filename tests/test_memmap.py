"""Data larger than memory: ``fit`` (also with a validation split), ``partial_fit`` and ``transform`` stream a memmap.

A copy of the whole array would be a NumPy allocation of its size, which
``tracemalloc`` sees (NumPy reports its buffers to it): each call's peak of
traced memory must stay far below the memmap's size. The memmap is 300 MB,
so that what Keras itself allocates in Python (building, tracing and, under
JAX, compiling the model: up to 67 MB in a loaded run of the JAX test set,
which failed a 100 MB memmap's limit) and what skae allocates in proportion
to a batch or a fixed sample (the outlier threshold scores 2,048 rows:
about 26 MB here) stay well below the limit, half its size; and small
enough to write in a moment. A first fit
on a small in-memory array imports and warms up Keras beforehand, whose
Python modules alone take about 90 MB.
"""

import tracemalloc

import numpy as np
import pytest

import skae

ROWS, FEATURES = 75_000, 1_000  # float32: 300 MB


@pytest.fixture(scope="module")
def memmap(tmp_path_factory):
    path = tmp_path_factory.mktemp("memmap") / "X.f32"
    X = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(ROWS, FEATURES))
    rng = np.random.default_rng(0)
    for start in range(0, ROWS, 5_000):
        X[start : start + 5_000] = rng.random((5_000, FEATURES), dtype=np.float32)
    X.flush()
    del X
    return np.load(path, mmap_mode="r")


def peak_of(call):
    """Return ``call()``'s result and the peak of memory it allocated through Python and NumPy, in bytes."""
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        result = call()
        return result, tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()


@pytest.mark.backends
def test_fit_partial_fit_and_transform_stream_a_memmap(memmap):
    size = memmap.nbytes
    assert isinstance(memmap, np.memmap) and size == 300_000_000

    def make():
        return skae.DenseAutoencoder(hidden_layer_sizes=(16,), latent_dim=4, epochs=1, batch_size=500, random_state=0)

    warm = make().fit(np.array(memmap[:1_000]))
    warm.partial_fit(np.array(memmap[:1_000])).transform(np.array(memmap[:1_000]))
    est = make()
    peaks = {}
    _, peaks["fit"] = peak_of(lambda: est.fit(memmap))
    _, peaks["partial_fit"] = peak_of(lambda: est.partial_fit(memmap))
    codes, peaks["transform"] = peak_of(lambda: est.transform(memmap))
    # A validation split selects rows by index, not by copying them.
    split = make().set_params(validation_fraction=0.2, early_stopping=True)
    _, peaks["fit with validation_fraction=0.2"] = peak_of(lambda: split.fit(memmap))
    assert len(split.history_["val_loss"]) == 1
    assert codes.shape == (ROWS, 4) and np.isfinite(codes).all()
    assert len(est.history_["loss"]) == 2
    # A full-size copy would be at least 300 MB; batches of 500 rows are 2 MB.
    for call, peak in peaks.items():
        assert peak < size / 2, f"{call} allocated {peak / 1e6:.0f} MB at its peak for a {size / 1e6:.0f} MB memmap"


@pytest.mark.backends
def test_the_check_catches_a_full_copy(memmap):
    # The measure itself: a copy of the memmap shows as one.
    _, peak = peak_of(lambda: np.array(memmap))
    assert peak >= memmap.nbytes
