"""``distribute_strategy``: data-parallel training, each backend its own way.

``"mirrored"`` means data parallel over every local device, through what
the backend has for it:

* TensorFlow: ``tf.distribute.MirroredStrategy``. A
  ``tf.distribute.Strategy`` object is used as given.
* JAX: ``keras.distribution.DataParallel`` over
  ``keras.distribution.list_devices()``. A ``keras.distribution``
  ``Distribution`` object is used as given. Each batch is split evenly
  over the devices, so skae trims every batch to a multiple of their
  number (see :class:`skae._training.TrainingBatches`).
* PyTorch: Keras has no data-parallel training for it, so any strategy
  but ``None`` or ``"default"`` raises a ``ValueError`` that says what to
  use instead.

``"default"`` is whatever the backend is set to already: TensorFlow's
current strategy, or the global ``keras.distribution`` of JAX.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import keras


@dataclass
class Placement:
    """Where a model is built and trained.

    Attributes
    ----------
    build_scope : context manager factory
        Build and compile the model inside ``build_scope()``.
    fit_scope : context manager factory
        Run ``model.fit`` inside ``fit_scope()``.
    n_devices : int
        Every training batch must hold a multiple of this many rows.
    """

    build_scope: object = contextlib.nullcontext
    fit_scope: object = contextlib.nullcontext
    n_devices: int = 1


def _tensorflow(strategy):
    import tensorflow as tf

    if strategy == "default":
        strategy = tf.distribute.get_strategy()
    elif strategy == "mirrored":
        strategy = tf.distribute.MirroredStrategy()
    elif not isinstance(strategy, tf.distribute.Strategy):
        raise ValueError(
            f"distribute_strategy={strategy!r} is not a tf.distribute.Strategy, which the tensorflow backend "
            "needs. Use 'mirrored', a tf.distribute.Strategy, or None."
        )
    # Keras's TensorFlow trainer keeps the strategy the model was built
    # under, so fit needs no scope of its own.
    return Placement(build_scope=strategy.scope)


def _jax(strategy):
    distribution = keras.distribution
    if strategy == "default":
        current = distribution.distribution()
        if current is None:
            return Placement()
        strategy = current
    elif strategy == "mirrored":
        strategy = distribution.DataParallel(devices=distribution.list_devices())
    elif not (hasattr(strategy, "device_mesh") and hasattr(strategy, "get_data_layout")):
        # keras.distribution exports DataParallel and ModelParallel, not their base class.
        raise ValueError(
            f"distribute_strategy={strategy!r} is not a keras.distribution.Distribution, which the jax backend "
            "needs (a tf.distribute.Strategy works under KERAS_BACKEND=tensorflow only). Use 'mirrored', a "
            "keras.distribution.DataParallel, or None."
        )
    n_devices = int(strategy.device_mesh.devices.size)
    # The distribution places the variables when they are created and
    # shards each batch in fit: both need it in scope.
    return Placement(build_scope=strategy.scope, fit_scope=strategy.scope, n_devices=n_devices)


def _torch(strategy):
    if strategy == "default":
        return Placement()
    raise ValueError(
        f"distribute_strategy={strategy!r} is not available on the torch backend: Keras has no data-parallel "
        "training for PyTorch. Use distribute_strategy=None to train on one device, or set KERAS_BACKEND=jax "
        "(keras.distribution.DataParallel) or KERAS_BACKEND=tensorflow (tf.distribute.MirroredStrategy) with "
        "distribute_strategy='mirrored'."
    )


def placement(strategy):
    """Return the :class:`Placement` of ``distribute_strategy`` on the current backend.

    Raises
    ------
    ValueError
        If the backend has no such strategy; the message names the backend
        and what to use instead.
    """
    if strategy is None:
        return Placement()
    backend = keras.backend.backend()
    try:
        resolve = {"tensorflow": _tensorflow, "jax": _jax, "torch": _torch}[backend]
    except KeyError:
        raise ValueError(
            f"distribute_strategy={strategy!r} needs the tensorflow or jax Keras backend; KERAS_BACKEND is {backend!r}."
        ) from None
    return resolve(strategy)
