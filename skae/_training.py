"""The one home of training: every estimator's Keras loop runs here.

An estimator describes what to train as a :class:`TrainingPlan`, plain
data made from its parameters (batch size, seed, noise, image moves,
validation, early stopping, callbacks, sample weights, verbosity, and the
hint for a non-finite loss), and hands the Keras model, its validated
samples and the plan to a :class:`Trainer`. The trainer places the work
on devices and processes (:mod:`skae._distribution`), builds the batches
and runs the guarded Keras loop (:mod:`skae._guards`). The two ways skae
trains use the same machinery:

* :meth:`Trainer.fit_epochs`: whole passes over the data, the
  autoencoders' ``fit`` and ``partial_fit`` (and so deep clustering's
  pretraining);
* :meth:`Trainer.fit_steps`: rounds of steps from an endless stream of
  passes, deep clustering's fine-tuning.

Both are served by one batch source, :class:`Batches`, which draws
everything random from NumPy generators seeded by the fit's seed and the
position of the batch, never from a global generator:

* the order of the rows is a seeded permutation per pass, so the same
  ``random_state`` gives the same batches, and so the same weights, on a
  given backend;
* a denoising autoencoder's input noise and the moves and turns of image
  augmentation (:mod:`skae._augment`) are drawn per batch: fresh every
  pass, and the same for the same batch however often (and from whichever
  thread) Keras asks for it.

Under data-parallel training each batch must split evenly over the
devices, so every batch holds a multiple of their number. Over several
processes every process draws the same batches of row indices and feeds
only its ``part`` of each: the noise and the moves are still drawn for
the whole batch, so each row is fed as one process would feed it.

Sample weights travel with their rows: a batch of rows carries their
weights as Keras's third element, which scales each row's loss (the
validation batches too, so ``val_loss`` and early stopping are weighted).
A new training feature is an entry of the plan and its use here.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np

from . import _distribution, _guards
from ._augment import corrupt, random_shift
from ._layout import dense_rows, n_rows
from ._validation import NOISE_KINDS

__all__ = ["Batches", "Epochs", "Steps", "Trainer", "TrainingPlan", "loss_axes", "split_validation"]


@dataclass(frozen=True)
class TrainingPlan:
    """What to train, as plain data made from an estimator's parameters.

    Parameters
    ----------
    owner : str
        Who trains (the estimator's class name), for the messages.
    hint : str
        What the user can change when the loss stops being finite.
    batch_size : int
        Rows per step.
    seed : int
        Seeds the order of the rows, the noise, the moves and the
        validation split.
    noise : {"gaussian", "mask"} or None, default=None
        Corrupt the inputs (not the targets): a denoising autoencoder.
    noise_level : float, default=0.0
        Standard deviation (``"gaussian"``) or masking probability.
    image_shape : tuple of int or None, default=None
        One sample as an image, height and width first, for the moves.
    shift : tuple of (int, int), default=(0, 0)
        Move each image by up to this many pixels along height and width.
    rotation : float, default=0.0
        Turn each image by up to this many degrees either way.
    sample_weight : ndarray of shape (n_samples,) or None, default=None
        Each row's weight, which scales its loss; None weighs rows alike.
    weight_axes : int or tuple of int, default=0
        The axes a row's unreduced loss has beyond the row (2 for the
        squared error of an image, one per row and pixel), which its
        weight is shaped to (Keras matches no more than one); a tuple
        gives them per output of a model of several (:func:`loss_axes`).
    validation_fraction : float, default=0.0
        Fraction of the rows held out for ``val_loss`` (epochs only).
    early_stopping : bool, default=False
        Stop when the monitored loss stops improving, keep the best weights.
    patience : int, default=5
        Epochs without improvement before early stopping.
    callbacks : tuple of keras.callbacks.Callback, default=()
        More Keras callbacks, after skae's own guard.
    verbose : int, default=0
        Keras's verbosity.
    """

    owner: str
    hint: str
    batch_size: int
    seed: int
    noise: str | None = None
    noise_level: float = 0.0
    image_shape: tuple | None = None
    shift: tuple = (0, 0)
    rotation: float = 0.0
    sample_weight: np.ndarray | None = None
    weight_axes: int | tuple = 0
    validation_fraction: float = 0.0
    early_stopping: bool = False
    patience: int = 5
    callbacks: tuple = ()
    verbose: int = 0

    @property
    def weights(self):
        """The keyword arguments of :class:`Batches` that serve the sample weights."""
        return {"sample_weight": self.sample_weight, "weight_axes": self.weight_axes}

    @property
    def moves(self):
        """The keyword arguments of :class:`Batches` that move and turn images."""
        return {"image_shape": self.image_shape, "shift": tuple(self.shift), "rotation": self.rotation}


class Epochs:
    """The rows of each batch of whole passes: one seeded order per epoch.

    Pass ``epoch`` visits the rows in the order of
    ``np.random.default_rng((seed, epoch))`` (or as they are, without
    ``shuffle``); every batch holds a multiple of ``multiple_of`` rows, so
    at most ``multiple_of - 1`` rows of an epoch wait for the next shuffle.
    """

    def __init__(self, n, *, batch_size, seed, shuffle=True, multiple_of=1):
        usable = n - n % multiple_of
        if usable == 0:
            raise ValueError(
                f"Data-parallel training over {multiple_of} devices needs at least {multiple_of} samples; got {n}."
            )
        self.n, self.usable, self.seed, self.shuffle = n, usable, int(seed), shuffle
        self.batch_size = max(multiple_of, batch_size - batch_size % multiple_of)
        self.epoch = 0
        self._order = self._order_of(0)

    def _order_of(self, epoch):
        if not self.shuffle:
            return np.arange(self.usable)
        return np.random.default_rng((self.seed, epoch)).permutation(self.n)[: self.usable]

    def __len__(self):
        return -(-self.usable // self.batch_size)

    def rows(self, index):
        """Return the rows of batch ``index`` of this epoch, and the key its random draws are seeded with."""
        rows = self._order[index * self.batch_size : (index + 1) * self.batch_size]
        if self.shuffle:
            # Sorted rows gather faster, and the batch is the same set.
            rows = np.sort(rows)
        return rows, (self.seed, self.epoch, index)

    def next_epoch(self):
        """Draw the next epoch's order."""
        self.epoch += 1
        self._order = self._order_of(self.epoch)


class Steps:
    """The rows of ``n_steps`` steps from an endless, seeded stream of shuffled passes.

    Deep clustering fine-tunes in rounds of steps, which need not be whole
    passes: round ``r`` serves ``first_step=r * update_interval`` on, and
    the stream goes on where the previous round left it. Pass ``p`` visits
    the rows in the order of ``np.random.default_rng((seed, p))``; its last
    step holds what is left. A step's rows beyond a multiple of
    ``multiple_of`` are left out.
    """

    def __init__(self, n, *, batch_size, seed, first_step, n_steps, multiple_of=1):
        self.n, self.batch_size, self.seed = n, batch_size, seed
        self.first_step, self.n_steps, self.multiple_of = first_step, n_steps, multiple_of
        self._per_pass = -(-n // batch_size)
        self._pass, self._order = None, None

    def __len__(self):
        return self.n_steps

    def rows(self, index):
        """Return the rows of step ``first_step + index``, and the key its random draws are seeded with."""
        step = self.first_step + index
        pass_, within = divmod(step, self._per_pass)
        if pass_ != self._pass:
            self._pass = pass_
            self._order = np.random.default_rng((self.seed, pass_)).permutation(self.n)
        rows = self._order[within * self.batch_size : (within + 1) * self.batch_size]
        return rows[: len(rows) - len(rows) % self.multiple_of], (self.seed, step)

    def next_epoch(self):
        """Nothing: a round of steps is one Keras epoch, and the stream knows its place."""


class Batches(keras.utils.PyDataset):
    """Keras batches ``(input, target[, weight])`` of ``x`` in the order of ``schedule``, on any backend.

    Parameters
    ----------
    x : ndarray, scipy sparse matrix or sparse array
        Samples in the model's layout, float32. Sparse rows (CSR) are
        densified one batch at a time.
    schedule : Epochs or Steps
        Which rows each batch holds, and the key of its random draws.
    targets : ndarray, tuple or None, default=None
        What each row should produce, aligned with ``x``; a tuple for a
        model of several outputs, where None stands for the (moved) input.
        None: the input itself, an autoencoder's target.
    sample_weight : ndarray or None, default=None
        Each row's weight, served with its row; None serves none.
    weight_axes : int or tuple of int, default=0
        Trailing axes of 1 to give each row's weight, per output where it
        is a tuple (see :class:`TrainingPlan`).
    noise, noise_level : see :class:`TrainingPlan`
        Corrupt the inputs only.
    image_shape, shift, rotation : see :class:`TrainingPlan`
        Move and turn the input images, and the targets that are the
        input; the other targets stay as they are.
    subset : ndarray of int or None, default=None
        The schedule's rows are these rows of ``x`` (a training or
        validation split), read batch by batch: a split of a memmap
        copies no rows. None: the rows of ``x``.
    part : callable or None, default=None
        ``part(n)`` is the slice of a batch of ``n`` rows that this process
        feeds (:class:`skae._distribution.Processes`); None feeds all.
    """

    def __init__(
        self,
        x,
        schedule,
        *,
        targets=None,
        sample_weight=None,
        weight_axes=0,
        noise=None,
        noise_level=0.0,
        image_shape=None,
        shift=(0, 0),
        rotation=0.0,
        subset=None,
        part=None,
    ):
        super().__init__()
        if noise is not None and noise not in NOISE_KINDS:
            raise ValueError(f"noise must be None or one of {NOISE_KINDS}; got {noise!r}.")
        self.x, self.schedule, self.targets, self.sample_weight = x, schedule, targets, sample_weight
        self.weight_axes = weight_axes
        self.noise, self.noise_level = noise, noise_level
        self.image_shape, self.shift, self.rotation = image_shape, tuple(shift), rotation
        self.subset, self.part = subset, part

    @property
    def num_batches(self):
        """Batches per epoch (Keras reads it)."""
        return len(self.schedule)

    def __len__(self):
        return len(self.schedule)

    def __getitem__(self, index):
        rows, key = self.schedule.rows(index)
        whole, mine = len(rows), slice(None)
        if self.part is not None:
            mine = self.part(whole)
            rows = rows[mine]
        if self.subset is not None:
            rows = self.subset[rows]
        target = dense_rows(self.x[rows])
        if any(self.shift) or self.rotation:
            rng = np.random.default_rng((*key, 2))
            target = random_shift(target, self.image_shape, self.shift, rng, self.rotation, whole=whole, part=mine)
        inputs = target
        if self.noise is not None:
            rng = np.random.default_rng((*key, 1))
            inputs = corrupt(target, self.noise, self.noise_level, rng, whole=whole, part=mine)
        if self.targets is None:
            y = target
        elif isinstance(self.targets, tuple):
            y = tuple(target if t is None else t[rows] for t in self.targets)
        else:
            y = self.targets[rows]
        if self.sample_weight is None:
            return inputs, y
        weights = self.sample_weight[rows].astype(np.float32)
        if isinstance(self.weight_axes, tuple):
            return inputs, y, tuple(weights.reshape(-1, *(1,) * axes) for axes in self.weight_axes)
        return inputs, y, weights.reshape(-1, *(1,) * self.weight_axes)

    def on_epoch_end(self):
        """Move the schedule on to the next epoch."""
        self.schedule.next_epoch()


def compile_for_training(model, **compile_kwargs):
    """``model.compile(**compile_kwargs)``, and the optimizer's variables made at once.

    Keras on TensorFlow, without a distribution strategy, makes them inside
    the first trace of its train function, and a ``tf.function`` that makes
    variables is traced twice. Made here, the train function is traced
    once (what that saves: ``benchmarks/results.md``, section 21). JAX and
    PyTorch make them before their loop anyway; the bits are the same. Call
    it where the model is built, inside the placement's ``build_scope``, so
    that a strategy's variables are made under it.
    """
    model.compile(**compile_kwargs)
    if not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
    return model


def loss_axes(loss, sample_shape):
    """Return the axes beyond the row of ``loss``'s unreduced value for samples of ``sample_shape``.

    Keras's losses reduce the last axis only: the squared error of flat
    rows is one value a row (0 axes), of ``(28, 28, 1)`` images one a pixel
    (2 axes). A row's weight must have as many, since Keras matches the
    weights to the loss's values by at most one axis.
    """
    function = keras.losses.get(loss) if isinstance(loss, str) else loss
    if isinstance(function, keras.losses.Loss):
        function = function.call
    samples = keras.ops.zeros((2, *sample_shape))
    return len(keras.ops.shape(function(samples, samples))) - 1


def split_validation(n_samples, fraction, seed):
    """Return the rows to train on and to validate on: index arrays, or None and None (no split).

    Indices, not copies: the batches read the rows from ``x`` as they go.
    """
    if fraction == 0:
        return None, None
    n_val = int(round(fraction * n_samples))
    if not 0 < n_val < n_samples:
        raise ValueError(
            f"validation_fraction={fraction} of {n_samples} samples leaves {n_val} for validation and "
            f"{n_samples - n_val} for training; both need at least one. Use more samples or validation_fraction=0."
        )
    order = np.random.default_rng(seed).permutation(n_samples)
    return order[n_val:], order[:n_val]


class Trainer:
    """Where and how one fit trains: its placement on devices and processes, and the guarded Keras loops.

    Made once per fit, before its model is built: the model is built in
    :meth:`build_scope`, then trained with :meth:`fit_epochs` or
    :meth:`fit_steps`.

    Parameters
    ----------
    strategy : str, object or None, default=None
        The ``distribute_strategy`` (:mod:`skae._distribution`).
    processes_only : bool, default=False
        Share the work out only over several processes (JAX), and train on
        one device otherwise: deep clustering's fine-tuning.
    """

    def __init__(self, strategy=None, *, processes_only=False):
        # In a joblib or Dask worker, before the backend's runtime starts.
        _guards.limit_worker_threads()
        if processes_only:
            self.placement = _distribution.shared_placement(strategy)
        else:
            self.placement = _distribution.placement(strategy)

    @property
    def processes(self):
        """The :class:`~skae._distribution.Processes` that train together, or None for one process."""
        return self.placement.processes

    def build_scope(self):
        """Build and compile the model to train inside this context."""
        return self.placement.build_scope()

    def agree(self, x, estimator, seed):
        """Return the seed every process uses, after checking they fit ``estimator`` alike on ``x``.

        The processes compare the estimator's parameters of plain values
        and a fingerprint of ``x``, and take process 0's seed. One process:
        ``seed``.
        """
        if self.processes is None:
            return seed
        plain = (type(None), bool, int, float, str, tuple)
        # verbose changes no step: a job may well print from process 0 alone.
        params = {
            key: value
            for key, value in estimator.get_params(deep=False).items()
            if isinstance(value, plain) and key != "verbose"
        }
        return self.processes.agree(x, params, seed, type(estimator).__name__)

    def agree_seeds(self, seeds):
        """Return process 0's ``seeds`` (ints) in every process, so that ``random_state=None`` draws alike."""
        if self.processes is None:
            return [int(seed) for seed in seeds]
        return [int(seed) for seed in self.processes.gather(seeds)[0]]

    def fit_epochs(self, model, x, plan, *, targets=None, initial_epoch=0, epochs=1):
        """Train the compiled ``model`` to reconstruct ``x`` for ``epochs`` passes; return their logs.

        ``targets`` as for :class:`Batches` (None: ``x`` itself, an
        autoencoder's). ``plan.validation_fraction`` holds out rows for ``val_loss``;
        ``plan.early_stopping`` watches it (or the training loss). Ctrl-C
        after a completed epoch keeps that epoch's weights and warns; a
        non-finite loss raises ``FloatingPointError``.
        """
        train_rows, val_rows = split_validation(n_rows(x), plan.validation_fraction, plan.seed)
        n_devices = self.placement.n_devices
        n_train = n_rows(x) if train_rows is None else len(train_rows)
        batches = Batches(
            x,
            Epochs(n_train, batch_size=plan.batch_size, seed=plan.seed, multiple_of=n_devices),
            targets=targets,
            **plan.weights,
            noise=plan.noise,
            noise_level=plan.noise_level,
            subset=train_rows,
            part=self.placement.part,
            **plan.moves,
        )
        validation = None
        if val_rows is not None:
            validation = Batches(
                x,
                Epochs(len(val_rows), batch_size=plan.batch_size, seed=plan.seed, shuffle=False, multiple_of=n_devices),
                targets=targets,
                **plan.weights,
                subset=val_rows,
                part=self.placement.part,
            )
        callbacks = list(plan.callbacks)
        if plan.early_stopping:
            callbacks.append(
                keras.callbacks.EarlyStopping(
                    monitor="val_loss" if validation is not None else "loss",
                    patience=plan.patience,
                    restore_best_weights=True,
                )
            )
        with self.placement.training(model):
            return _guards.guarded_fit(
                model,
                batches,
                owner=plan.owner,
                hint=plan.hint,
                initial_epoch=initial_epoch,
                epochs=epochs,
                callbacks=callbacks,
                verbose=plan.verbose,
                validation_data=validation,
            )

    def fit_steps(self, model, x, targets, plan, *, first_step, n_steps):
        """Train the compiled ``model`` on ``n_steps`` steps of the stream from ``first_step``; return their logs.

        ``targets`` as for :class:`Batches`. The inputs are moved as
        ``plan`` says; noise, validation and callbacks do not apply.
        """
        schedule = Steps(
            n_rows(x),
            batch_size=plan.batch_size,
            seed=plan.seed,
            first_step=first_step,
            n_steps=n_steps,
            multiple_of=self.placement.n_devices,
        )
        batches = Batches(
            x,
            schedule,
            targets=targets,
            part=self.placement.part,
            **plan.weights,
            **plan.moves,
        )
        with self.placement.training(model):
            return _guards.guarded_fit(model, batches, owner=plan.owner, hint=plan.hint, verbose=plan.verbose)
