"""Training and inference plumbing shared by the estimators.

Two things here matter for speed and reproducibility:

* :func:`make_training_data` feeds ``model.fit`` the way Keras itself feeds
  NumPy arrays (shuffled index batches gathered from one tensor), but with a
  seeded shuffle, so a fit is reproducible without reseeding any global
  generator.
* :func:`predict_in_batches` calls ``predict_on_batch`` on large chunks.
  ``model.predict`` builds a data adapter and callbacks on every call (tens
  of milliseconds even for one row) and runs at batch size 32 by default.
  The estimators pass it a :class:`skae._inference.InferenceFunction`,
  whose ``predict_on_batch`` is compiled once for every batch size (Keras's
  own retraces for each new one).
"""

from __future__ import annotations

import keras
import numpy as np

from ._validation import NOISE_KINDS

# Rows per inference call: large enough to amortise the per-call cost,
# small enough that one batch of conv activations stays around 100 MB.
INFERENCE_BATCH_SIZE = 4096
# Chunks shorter than this are zero-padded to it. The CPU kernels are chosen
# by batch size, so without padding a row's output could differ in its last
# bits depending on whether it came alone or with a few other rows.
MIN_INFERENCE_BATCH_SIZE = 32


def _corrupt_numpy(x, noise, noise_level, seed):
    rng = np.random.default_rng(seed)
    if noise == "gaussian":
        return (x + noise_level * rng.standard_normal(x.shape)).astype(x.dtype, copy=False)
    return x * (rng.random(x.shape) >= noise_level).astype(x.dtype)


def _corrupt_tensor(batch, noise, noise_level, seed):
    import tensorflow as tf

    if noise == "gaussian":
        return batch + noise_level * tf.random.stateless_normal(tf.shape(batch), seed=seed, dtype=batch.dtype)
    keep = tf.random.stateless_uniform(tf.shape(batch), seed=seed, dtype=batch.dtype) >= noise_level
    return batch * tf.cast(keep, batch.dtype)


def make_training_data(x, *, batch_size, seed, noise=None, noise_level=0.0):
    """Return what to pass as ``x`` (and ``y``) to ``model.fit``.

    With the TensorFlow backend this is a ``tf.data.Dataset`` of ``(x, x)``
    batches, reshuffled each epoch from ``seed``. Other backends get the
    arrays themselves and ``shuffle=True`` (their order then follows
    Keras's own seeding).

    With ``noise`` (``"gaussian"``: add ``noise_level`` times standard
    normal noise; ``"mask"``: set each value to 0 with probability
    ``noise_level``), the model's inputs are corrupted while its targets
    stay clean: a denoising autoencoder. Under TensorFlow every batch of
    every epoch draws fresh noise from ``seed``; other backends corrupt
    the data once per fit.

    Returns
    -------
    fit_kwargs : dict
        Keyword arguments for ``model.fit``.
    """
    if noise is not None and noise not in NOISE_KINDS:
        raise ValueError(f"noise must be None or one of {NOISE_KINDS}; got {noise!r}.")
    if keras.backend.backend() != "tensorflow":
        x_in = x if noise is None else _corrupt_numpy(x, noise, noise_level, seed)
        return {"x": x_in, "y": x, "batch_size": batch_size, "shuffle": True}
    import tensorflow as tf

    n = len(x)
    data = tf.convert_to_tensor(x)
    indices = tf.data.Dataset.range(n).shuffle(n, seed=seed, reshuffle_each_iteration=True)

    if noise is None:

        def as_pair(batch_indices):
            batch = tf.gather(data, batch_indices)
            return batch, batch

        batches = indices.batch(batch_size).map(as_pair, num_parallel_calls=tf.data.AUTOTUNE)
    else:
        # One stateless seed per batch, drawn afresh every epoch.
        noise_seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)

        def as_corrupted_pair(batch_indices, noise_seed):
            batch = tf.gather(data, batch_indices)
            return _corrupt_tensor(batch, noise, noise_level, noise_seed), batch

        batches = tf.data.Dataset.zip((indices.batch(batch_size), noise_seeds)).map(
            as_corrupted_pair, num_parallel_calls=tf.data.AUTOTUNE
        )
    # shuffle=False only tells Keras not to warn: the dataset is shuffled.
    return {"x": batches.prefetch(tf.data.AUTOTUNE), "shuffle": False}


def predict_in_batches(model, x, *, batch_size=INFERENCE_BATCH_SIZE):
    """Run ``model`` on ``x`` chunk by chunk and return a float32 array.

    Memory stays bounded by the output plus one batch: each chunk is cast
    to float32 on its own, never the whole input at once.
    """
    n = len(x)
    out = None
    for start in range(0, n, batch_size):
        chunk = np.asarray(x[start : start + batch_size], dtype=np.float32)
        n_rows = len(chunk)
        if n_rows < MIN_INFERENCE_BATCH_SIZE:
            padding = np.zeros((MIN_INFERENCE_BATCH_SIZE - n_rows, *chunk.shape[1:]), dtype=np.float32)
            chunk = np.concatenate([chunk, padding])
        result = keras.ops.convert_to_numpy(model.predict_on_batch(chunk))[:n_rows]
        if out is None:
            out = np.empty((n, *result.shape[1:]), dtype=np.float32)
        out[start : start + n_rows] = result
    return out
