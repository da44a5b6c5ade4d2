"""Keeping training safe: epoch snapshots, rollback, non-finite losses, worker threads."""

from __future__ import annotations

import math
import multiprocessing
import os
import sys
import warnings

import keras


def model_state(model):
    """Return a copy of ``model``'s weights and its optimizer's state, for :func:`restore_model_state`."""
    optimizer = getattr(model, "optimizer", None)
    optimizer_values = [keras.ops.convert_to_numpy(v.value) for v in optimizer.variables] if optimizer else []
    return model.get_weights(), optimizer_values


def restore_model_state(model, state):
    """Put back the weights and optimizer state that :func:`model_state` copied."""
    weights, optimizer_values = state
    model.set_weights(weights)
    if optimizer_values:
        for variable, value in zip(model.optimizer.variables, optimizer_values, strict=True):
            variable.assign(value)


class EpochGuard(keras.callbacks.Callback):
    """Remember the last completed epoch and stop on a non-finite loss.

    It must run first among the callbacks, so an epoch counts as completed
    (and its weights are kept) before any user callback sees it.

    Attributes
    ----------
    weights : list of ndarray or None
        The model's weights at the end of the last completed epoch.
    history : dict of str to list of float
        The logs of every completed epoch.
    bad_loss : tuple of (int, float) or None
        ``(epoch, loss)`` of the first epoch whose loss was not finite.
    """

    def __init__(self):
        super().__init__()
        self.weights = None
        self.history = {}
        self.bad_loss = None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        loss = logs.get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self.bad_loss = (epoch, float(loss))
            self.model.stop_training = True
            return
        self.weights = self.model.get_weights()
        for key, value in logs.items():
            self.history.setdefault(key, []).append(float(value))


def guarded_fit(model, data, *, owner, hint, epochs=1, initial_epoch=0, callbacks=(), stacklevel=5, **fit_kwargs):
    """``model.fit(data, ...)`` with skae's guards; return the completed epochs' logs.

    :class:`EpochGuard` runs before ``callbacks``. Ctrl-C after a completed
    epoch keeps that epoch's weights and warns; a non-finite loss raises
    ``FloatingPointError`` naming ``owner`` (the estimator's class name)
    and ending with ``hint`` (what to change). The batches shuffle
    themselves from the fit's seed, so Keras is told not to reorder them
    with Python's global ``random``.

    Parameters
    ----------
    model : keras.Model
        A compiled model.
    data : keras.utils.PyDataset
        The training batches.
    owner : str
        Who trains, for the messages.
    hint : str
        What the user can change when the loss stops being finite.
    epochs, initial_epoch : int
        As for ``model.fit``; ``epochs`` counts from ``initial_epoch``.
    callbacks : sequence of keras.callbacks.Callback
        More callbacks, after the guard.
    stacklevel : int, default=5
        Of the interruption warning: it points at the user's ``fit`` call.
    **fit_kwargs
        Passed on to ``model.fit``.

    Returns
    -------
    history : dict of str to list of float
    """
    guard = EpochGuard()
    try:
        model.fit(
            data,
            shuffle=False,
            initial_epoch=initial_epoch,
            epochs=initial_epoch + epochs,
            callbacks=[guard, *callbacks],
            **fit_kwargs,
        )
    except KeyboardInterrupt:
        if guard.weights is None:
            raise
        model.set_weights(guard.weights)
        warnings.warn(
            f"Training was interrupted; {owner} keeps the weights of the last completed epoch "
            f"({initial_epoch + len(guard.history['loss'])}).",
            UserWarning,
            stacklevel=stacklevel,
        )
    if guard.bad_loss is not None:
        epoch, loss = guard.bad_loss
        raise FloatingPointError(
            f"The training loss became {loss} in epoch {epoch + 1}, so {owner} stopped training and kept "
            f"its previous state. {hint}"
        )
    return guard.history


def _in_worker_process():
    """Whether this process is a joblib (loky) or Dask worker."""
    # loky names its workers "LokyProcess-N"; Dask's nanny "Dask Worker process (from Nanny)".
    if multiprocessing.current_process().name.startswith(("LokyProcess", "Dask Worker process")):
        return True
    if "distributed" in sys.modules:
        try:
            sys.modules["distributed"].get_worker()
        except (ValueError, AttributeError):
            return False
        return True
    return False


def limit_worker_threads():
    """Give the backend the worker's share of the cores, in worker processes only.

    joblib's process backend and Dask's nanny tell each worker how many
    threads it may use through ``OMP_NUM_THREADS``. TensorFlow ignores that
    variable and sizes its thread pools for the whole machine, so two
    workers on two cores would each start two or more compute threads and
    fight. In a worker, this sets TensorFlow's intra-op threads (before its
    runtime starts) or PyTorch's threads to ``OMP_NUM_THREADS`` and the
    inter-op threads to 1. JAX reads its thread count when it starts, from
    ``XLA_FLAGS``, which only the user can set in time. Elsewhere (the
    user's own process) it does nothing.

    Returns
    -------
    n_threads : int or None
        The thread count it set, or None when it left the backend alone.
    """
    value = os.environ.get("OMP_NUM_THREADS", "")
    if not value.isdigit() or int(value) < 1 or not _in_worker_process():
        return None
    n_threads = int(value)
    backend = keras.backend.backend()
    if backend == "torch":
        import torch

        if torch.get_num_threads() != n_threads:
            torch.set_num_threads(n_threads)
        return n_threads
    if backend != "tensorflow":
        return None
    import tensorflow as tf

    if tf.config.threading.get_intra_op_parallelism_threads() == n_threads:
        return n_threads
    try:
        tf.config.threading.set_intra_op_parallelism_threads(n_threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:  # the runtime already started in this worker: too late
        return None
    return n_threads
