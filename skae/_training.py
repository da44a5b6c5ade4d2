"""Training and inference plumbing shared by the estimators.

Two things here matter for speed and reproducibility:

* :func:`make_training_data` feeds ``model.fit`` the way Keras itself feeds
  NumPy arrays (shuffled index batches gathered from one tensor), but with a
  seeded shuffle, so a fit is reproducible without reseeding any global
  generator.
* :func:`predict_in_batches` calls ``predict_on_batch`` on large chunks.
  ``model.predict`` builds a data adapter and callbacks on every call (tens
  of milliseconds even for one row) and runs at batch size 32 by default.
"""

from __future__ import annotations

import keras
import numpy as np

# Rows per inference call: large enough to amortise the per-call cost,
# small enough that one batch of conv activations stays around 100 MB.
INFERENCE_BATCH_SIZE = 4096


def make_training_data(x, *, batch_size, seed):
    """Return what to pass as ``x`` (and ``y``) to ``model.fit``.

    With the TensorFlow backend this is a ``tf.data.Dataset`` of ``(x, x)``
    batches, reshuffled each epoch from ``seed``. Other backends get the
    arrays themselves and ``shuffle=True`` (their order then follows
    Keras's own seeding).

    Returns
    -------
    fit_kwargs : dict
        Keyword arguments for ``model.fit``.
    """
    if keras.backend.backend() != "tensorflow":
        return {"x": x, "y": x, "batch_size": batch_size, "shuffle": True}
    import tensorflow as tf

    n = len(x)
    data = tf.convert_to_tensor(x)
    indices = tf.data.Dataset.range(n).shuffle(n, seed=seed, reshuffle_each_iteration=True)

    def as_pair(batch_indices):
        batch = tf.gather(data, batch_indices)
        return batch, batch

    batches = indices.batch(batch_size).map(as_pair, num_parallel_calls=tf.data.AUTOTUNE)
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
        result = keras.ops.convert_to_numpy(model.predict_on_batch(chunk))
        if out is None:
            out = np.empty((n, *result.shape[1:]), dtype=np.float32)
        out[start : start + len(chunk)] = result
    return out
