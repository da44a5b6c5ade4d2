"""One process of a multi-process fit, for ``test_multiprocess.py``: ``python _multiprocess_worker.py SPEC``.

``SPEC`` is JSON: ``process_id``, ``n_processes``, ``port`` (the coordinator
on 127.0.0.1), ``case`` and ``out`` (a folder). With one process the fit is
the reference: one process, its devices (``XLA_FLAGS``) under
``distribute_strategy="mirrored"``. The worker writes what it saw to
``out/result_<process_id>.json``; an error is written there too, as text.
"""

import json
import sys
import traceback
from pathlib import Path

spec = json.loads(sys.argv[1])
out = Path(spec["out"])
n_processes = spec["n_processes"]

import jax  # noqa: E402

if n_processes > 1:
    # CPU devices of several processes reach each other through gloo.
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    import keras  # noqa: E402

    keras.distribution.initialize(
        job_addresses=f"127.0.0.1:{spec['port']}", num_processes=n_processes, process_id=spec["process_id"]
    )

import numpy as np  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402

import skae  # noqa: E402

# 203 rows: over 2 devices one row waits each epoch, and in batches of 32
# the last batch holds 10 rows, 5 per process.
X = (load_digits().data[:203] / 16.0).astype(np.float32)


def dense(**params):
    settings = dict(
        hidden_layer_sizes=(32,),
        latent_dim=4,
        epochs=3,
        batch_size=32,
        noise="gaussian",
        noise_level=0.1,
        random_state=0,
        distribute_strategy="mirrored",
        # Process 0 alone reports its epochs: verbose is not compared.
        verbose=2 if spec["process_id"] == 0 else 0,
    )
    return skae.DenseAutoencoder(**{**settings, **params})


def fit_case():
    from skae import _training

    result = {"local_devices": jax.local_device_count(), "devices": jax.device_count()}
    # Count the training rows this process reads: its share, not all.
    read = []
    dense_rows = _training.dense_rows
    _training.dense_rows = lambda rows, dtype=None: read.append(len(rows)) or dense_rows(rows, dtype)
    try:
        est = dense().fit(X)
    finally:
        _training.dense_rows = dense_rows
    result["rows_read"] = sum(read)
    result["loss"] = est.history_["loss"]
    result["codes"] = est.transform(X[:64]).tolist()
    result["score"] = float(est.score(X))
    # partial_fit continues the same model on a chunk of an odd size.
    est.partial_fit(X[:101])
    result["partial_loss"] = est.history_["loss"][-1]
    result["partial_codes"] = est.transform(X[:16]).tolist()
    path = out / f"model_{spec['process_id']}.skae"
    est.save(path)
    result["loaded_codes"] = skae.load(path).transform(X[:16]).tolist()
    # Validation split and early stopping: the same epochs in every process.
    stopped = dense(epochs=4, validation_fraction=0.2, early_stopping=True, patience=1).fit(X)
    result["val_loss"] = stopped.history_["val_loss"]
    # Sample weights: each process feeds its share of every batch's weights.
    weights = np.random.default_rng(1).uniform(0.0, 2.0, len(X))
    weighted = dense(validation_fraction=0.2).fit(X, sample_weight=weights)
    result["weighted_loss"] = weighted.history_["loss"] + weighted.history_["val_loss"]
    result["weighted_codes"] = weighted.transform(X[:16]).tolist()
    result["weighted_offset"] = weighted.offset_
    # A user's own network, from builder functions.
    own = skae.AutoencoderTransformer(
        encoder=encoder, decoder=decoder, epochs=2, batch_size=32, random_state=0, distribute_strategy="mirrored"
    ).fit(X)
    result["own_codes"] = own.transform(X[:16]).tolist()
    # DEC: the autoencoder pretrains over the processes, and every
    # fine-tuning step is shared out too. 202 rows: its steps of 32 end in
    # one of 10 rows, which splits evenly, so no row is left out of a step
    # and the one-process reference fine-tunes on one device alike.
    read.clear()
    _training.dense_rows = lambda rows, dtype=None: read.append(len(rows)) or dense_rows(rows, dtype)
    try:
        dec = skae.DeepEmbeddedClustering(
            3, autoencoder=dense(), pretrain_epochs=2, max_iter=20, update_interval=10, batch_size=32, random_state=0
        ).fit(X[:202])
    finally:
        _training.dense_rows = dense_rows
    result["dec_rows_read"] = sum(read)
    result["dec_codes"] = dec.transform(X[:16]).tolist()
    result["dec_labels"] = dec.labels_.tolist()
    weighted_dec = skae.DeepEmbeddedClustering(
        3, autoencoder=dense(), pretrain_epochs=2, max_iter=20, update_interval=10, batch_size=32, random_state=0
    ).fit(X[:202], sample_weight=weights[:202])
    result["weighted_dec_codes"] = weighted_dec.transform(X[:16]).tolist()
    result["weighted_dec_labels"] = weighted_dec.labels_.tolist()
    # random_state=None: the processes take process 0's seed (for DEC's
    # seeds too), so they agree with each other, not with the reference.
    result["unseeded_codes"] = dense(epochs=1, random_state=None).fit(X).transform(X[:16]).tolist()
    unseeded_dec = skae.DeepEmbeddedClustering(
        3, autoencoder=dense(), pretrain_epochs=1, max_iter=10, update_interval=10, batch_size=32
    ).fit(X[:202])
    result["unseeded_dec_labels"] = unseeded_dec.labels_.tolist()
    return result


def encoder(input_shape):
    import keras

    inputs = keras.Input(input_shape)
    return keras.Model(inputs, keras.layers.Dense(3)(keras.layers.Dense(16, activation="relu")(inputs)))


def decoder(latent_shape, output_shape):
    import keras

    inputs = keras.Input(latent_shape)
    return keras.Model(inputs, keras.layers.Dense(output_shape[0], activation="sigmoid")(inputs))


def differ_case():
    # Process 1 changes one value of a row the fingerprint samples.
    mine = X.copy()
    if spec["process_id"] == 1:
        mine[0, 10] += 0.5
    dense(epochs=1).fit(mine)
    return {"fitted": True}


try:
    result = {"fit": fit_case, "differ": differ_case}[spec["case"]]()
except Exception as exc:  # reported to the test, which asserts on it
    result = {"error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()}
(out / f"result_{spec['process_id']}.json").write_text(json.dumps(result))
