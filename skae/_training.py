"""Feeding ``model.fit`` the same way on every Keras backend.

:class:`TrainingBatches` is a ``keras.utils.PyDataset``: Keras runs it
under TensorFlow, JAX and PyTorch alike, so training needs no ``tf.data``.
It draws everything random from NumPy generators seeded by the fit's seed,
the epoch and the batch index, never from a global generator:

* each epoch's order of the rows is a seeded permutation, so the same
  ``random_state`` gives the same batches, and so the same weights, on a
  given backend;
* a denoising autoencoder's input noise is drawn per batch from
  ``(seed, epoch, batch)``: fresh noise every epoch, and the same noise
  for the same batch however often (and from whichever thread) Keras asks
  for it;
* so are the random moves and turns of image augmentation (``shift``,
  ``rotation``), which move
  input and target together: the model learns from more images, not to
  undo the move.

Under data-parallel training each batch must split evenly over the
devices; ``multiple_of`` trims every batch to a multiple of the device
count (at most ``n_devices - 1`` rows of an epoch wait for the next
epoch's shuffle).

Over several processes every process draws the same batches of row
indices and reads only its ``part`` of each: the noise and the moves are
still drawn for the whole batch, so each row is fed as one process would
feed it and the fit does not depend on the number of processes beyond
the order of floating-point sums.
"""

from __future__ import annotations

import keras
import numpy as np

from ._layout import dense_rows, n_rows
from ._validation import NOISE_KINDS


def corrupt(x, noise, noise_level, rng, whole=None, part=slice(None)):
    """Return a corrupted copy of the float32 batch ``x``.

    ``"gaussian"`` adds ``noise_level`` times standard normal noise;
    ``"mask"`` sets each value to 0 with probability ``noise_level``.
    ``x`` may be the rows ``part`` of a batch of ``whole`` rows (one
    process's share): the noise is drawn for the whole batch and cut, so
    that every row gets the noise it would get in one process.
    """
    shape = x.shape if whole is None else (whole, *x.shape[1:])
    if noise == "gaussian":
        return x + np.float32(noise_level) * rng.standard_normal(shape, dtype=np.float32)[part]
    return x * (rng.random(shape, dtype=np.float32)[part] >= noise_level)


def shift_pixels(shift, image_shape):
    """Return the largest move, in whole pixels, along height and width: ``shift`` times each, rounded."""
    return tuple(int(round(shift * size)) for size in image_shape[:2])


def random_shift(x, image_shape, pixels, rng, degrees=0.0, whole=None, part=slice(None)):
    """Return a copy of the batch ``x`` with each image moved by its own random offset and angle.

    Each sample of ``x`` is seen as an image of ``image_shape``, height and
    width first (any further axes, such as channels, move with them). It
    moves by up to ``pixels = (dy, dx)`` whole pixels along each axis and,
    when ``degrees`` is above 0, turns about its centre by up to
    ``degrees`` either way, all drawn uniformly from ``rng``. What it
    uncovers is filled with zeros, and what leaves the frame is lost, as in
    ``keras.layers.RandomTranslation`` and ``RandomRotation`` with
    ``fill_mode="constant"``; a turned image is resampled bilinearly.
    ``x`` may be the rows ``part`` of a batch of ``whole`` rows: the moves
    are drawn for the whole batch and cut, as in :func:`corrupt`.
    """
    dy, dx = pixels
    n = len(x)
    images = x.reshape((n, *image_shape))
    height, width = image_shape[:2]
    drawn = n if whole is None else whole
    # The moves are drawn first, so that degrees=0 keeps the draws (and the
    # batches) of moves alone.
    top = rng.integers(0, 2 * dy + 1, drawn)[part]
    left = rng.integers(0, 2 * dx + 1, drawn)[part]
    if not degrees:
        padded = np.pad(images, [(0, 0), (dy, dy), (dx, dx)] + [(0, 0)] * (images.ndim - 3))
        rows = top[:, None] + np.arange(height)
        cols = left[:, None] + np.arange(width)
        moved = padded[np.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]]
        return moved.reshape(x.shape)
    angles = rng.uniform(-degrees, degrees, drawn)[part]
    return _turned(images, top - dy, left - dx, np.deg2rad(angles)).reshape(x.shape)


def _turned(images, down, right, angles):
    """Return ``images`` turned by ``angles`` (radians) about their centres, then moved by whole pixels.

    Output pixel ``(i, j)`` of image ``k`` reads the input at the point
    that the turn takes there, ``down[k]`` and ``right[k]`` pixels on, by
    bilinear interpolation between the four pixels around it; a point
    outside the image reads zeros.
    """
    n, height, width = images.shape[:3]
    cy, cx = (height - 1) / 2, (width - 1) / 2
    i = np.arange(height, dtype=np.float32)[None, :, None] - np.float32(cy)
    j = np.arange(width, dtype=np.float32)[None, None, :] - np.float32(cx)
    cos = np.cos(angles).astype(np.float32)[:, None, None]
    sin = np.sin(angles).astype(np.float32)[:, None, None]
    src_y = cos * i - sin * j + (cy + down).astype(np.float32)[:, None, None]
    src_x = sin * i + cos * j + (cx + right).astype(np.float32)[:, None, None]
    y0, x0 = np.floor(src_y), np.floor(src_x)
    wy, wx = src_y - y0, src_x - x0
    # A zero border wide enough for every point read (and its neighbours)
    # replaces a bounds check per point and corner.
    pad = int(max(-y0.min(), -x0.min(), y0.max() + 2 - height, x0.max() + 2 - width, 0))
    padded = np.pad(images, [(0, 0), (pad, pad), (pad, pad)] + [(0, 0)] * (images.ndim - 3))
    side = width + 2 * pad
    # One gather per corner from the images as (pixels, channels) rows: a
    # flat index is far faster than indexing three axes at once.
    pixels = padded.reshape(n * (height + 2 * pad) * side, -1)
    flat = (np.arange(n) * ((height + 2 * pad) * side))[:, None, None] + (y0.astype(np.intp) + pad) * side
    flat += x0.astype(np.intp) + pad
    out = ((1 - wy) * (1 - wx))[..., None] * pixels[flat]
    out += ((1 - wy) * wx)[..., None] * pixels[flat + 1]
    out += (wy * (1 - wx))[..., None] * pixels[flat + side]
    out += (wy * wx)[..., None] * pixels[flat + side + 1]
    return out.astype(images.dtype, copy=False).reshape(images.shape)


class TrainingBatches(keras.utils.PyDataset):
    """Shuffled ``(input, target)`` batches of ``x`` for ``model.fit``, on any backend.

    Parameters
    ----------
    x : ndarray or scipy sparse matrix
        Training samples in the model's layout, float32. Sparse rows (CSR)
        are densified one batch at a time, to the same batches as the
        dense rows would give.
    batch_size : int
        Rows per batch; the last batch of an epoch may be smaller.
    seed : int
        Seeds the shuffle and the noise.
    noise : {"gaussian", "mask"} or None, default=None
        Corrupt the inputs (not the targets): a denoising autoencoder.
    noise_level : float, default=0.0
        Standard deviation (``"gaussian"``) or masking probability
        (``"mask"``).
    shuffle : bool, default=True
        Draw a new order of the rows every epoch; False keeps their order
        (validation data).
    multiple_of : int, default=1
        Every batch holds a multiple of this many rows (the number of
        devices of a data-parallel fit).
    image_shape : tuple of int or None, default=None
        The shape of one sample as an image, height and width first, for
        ``shift`` and ``rotation``.
    shift : tuple of (int, int), default=(0, 0)
        Move each image (input and target alike) by up to this many pixels
        along height and width, a fresh random move every epoch: data
        augmentation, see :func:`random_shift`.
    rotation : float, default=0.0
        Also turn each image by up to this many degrees either way.
    subset : ndarray of int or None, default=None
        Serve only these rows of ``x``, in this order (a training or
        validation split), read from ``x`` batch by batch: a split of a
        memmap copies no rows. None serves every row.
    part : callable or None, default=None
        ``part(n)`` is the slice of a global batch of ``n`` rows that this
        process feeds (a multi-process fit, see
        ``skae._distribution.Processes``); None feeds whole batches.
    """

    def __init__(
        self,
        x,
        *,
        batch_size,
        seed,
        noise=None,
        noise_level=0.0,
        shuffle=True,
        multiple_of=1,
        image_shape=None,
        shift=(0, 0),
        rotation=0.0,
        subset=None,
        part=None,
    ):
        super().__init__()
        if noise is not None and noise not in NOISE_KINDS:
            raise ValueError(f"noise must be None or one of {NOISE_KINDS}; got {noise!r}.")
        n = n_rows(x) if subset is None else len(subset)
        usable = n - n % multiple_of
        if usable == 0:
            raise ValueError(
                f"Data-parallel training over {multiple_of} devices needs at least {multiple_of} samples; got {n}."
            )
        self.x = x
        self.batch_size = max(multiple_of, batch_size - batch_size % multiple_of)
        self.seed = int(seed)
        self.noise = noise
        self.noise_level = noise_level
        self.shuffle = shuffle
        self.image_shape = image_shape
        self.shift = tuple(shift)
        self.rotation = rotation
        self.subset = subset
        self.part = part
        self._n = n
        self._usable = usable
        self._epoch = 0
        self._order = self._order_of(0)

    def _order_of(self, epoch):
        if not self.shuffle:
            return np.arange(self._usable)
        return np.random.default_rng((self.seed, epoch)).permutation(self._n)[: self._usable]

    @property
    def num_batches(self):
        """Batches per epoch."""
        return -(-self._usable // self.batch_size)

    def __len__(self):
        return self.num_batches

    def __getitem__(self, index):
        rows = self._order[index * self.batch_size : (index + 1) * self.batch_size]
        if self.shuffle:
            # Sorted rows gather faster and the batch is the same set.
            rows = np.sort(rows)
        whole, mine = len(rows), slice(None)
        if self.part is not None:
            mine = self.part(whole)
            rows = rows[mine]
        if self.subset is not None:
            rows = self.subset[rows]
        target = dense_rows(self.x[rows])
        if any(self.shift) or self.rotation:
            rng = np.random.default_rng((self.seed, self._epoch, index, 2))
            target = random_shift(target, self.image_shape, self.shift, rng, self.rotation, whole=whole, part=mine)
        if self.noise is None:
            return target, target
        rng = np.random.default_rng((self.seed, self._epoch, index, 1))
        return corrupt(target, self.noise, self.noise_level, rng, whole=whole, part=mine), target

    def on_epoch_end(self):
        """Draw the next epoch's order."""
        self._epoch += 1
        self._order = self._order_of(self._epoch)


class StepBatches(keras.utils.PyDataset):
    """``n_steps`` batches from an endless, seeded stream of shuffled passes over ``x``.

    Deep clustering fine-tunes in rounds of ``update_interval`` steps, which
    need not be whole passes: round ``r`` is ``StepBatches(...,
    first_step=r * update_interval)``, and the stream goes on where the
    previous round left it. Pass ``p`` visits the rows in the order of
    ``np.random.default_rng((seed, p))``; its last batch holds what is left.

    Parameters
    ----------
    x : ndarray or scipy sparse matrix
        Inputs, first axis the samples; sparse rows (CSR) are densified
        one batch at a time.
    targets : ndarray, tuple of ndarray or None
        What each row should produce, rows aligned with ``x``; a tuple for
        a model of several outputs. None in a tuple stands for ``x`` itself.
    batch_size : int
        Rows per step.
    seed : int
        Seeds the passes' orders.
    first_step, n_steps : int
        Steps of the stream this dataset serves.
    image_shape : tuple of int or None, default=None
        The shape of one sample as an image, for ``shift`` and ``rotation``.
    shift : tuple of (int, int), default=(0, 0)
        Move each input image by up to this many pixels along height and
        width (:func:`random_shift`), a fresh move every step; a ``None``
        target (the input itself) moves with it, the other targets do not.
    rotation : float, default=0.0
        Also turn each input image by up to this many degrees either way.
    multiple_of : int, default=1
        Every step holds a multiple of this many rows (the devices of a
        data-parallel fit): a step's last rows beyond it are left out.
    part : callable or None, default=None
        ``part(n)`` is the slice of a step of ``n`` rows that this process
        feeds, as in :class:`TrainingBatches`; None feeds whole steps.
    """

    def __init__(
        self,
        x,
        targets,
        *,
        batch_size,
        seed,
        first_step,
        n_steps,
        image_shape=None,
        shift=(0, 0),
        rotation=0.0,
        multiple_of=1,
        part=None,
    ):
        super().__init__()
        self.x = x
        self.targets = targets
        self.batch_size = batch_size
        self.seed = seed
        self.first_step = first_step
        self.n_steps = n_steps
        self.image_shape = image_shape
        self.shift = tuple(shift)
        self.rotation = rotation
        self.multiple_of = multiple_of
        self.part = part
        self._per_pass = -(-n_rows(x) // batch_size)
        self._pass, self._order = None, None

    def __len__(self):
        return self.n_steps

    def rows(self, index):
        """Return the rows of step ``first_step + index``."""
        pass_, within = divmod(self.first_step + index, self._per_pass)
        if pass_ != self._pass:
            self._pass = pass_
            self._order = np.random.default_rng((self.seed, pass_)).permutation(n_rows(self.x))
        return self._order[within * self.batch_size : (within + 1) * self.batch_size]

    def __getitem__(self, index):
        rows = self.rows(index)
        whole, mine = len(rows), slice(None)
        if self.multiple_of > 1 or self.part is not None:
            whole -= whole % self.multiple_of
            mine = slice(None) if self.part is None else self.part(whole)
            rows = rows[:whole][mine]
        xb = dense_rows(self.x[rows])  # a sparse matrix one batch at a time
        if any(self.shift) or self.rotation:
            rng = np.random.default_rng((self.seed, self.first_step + index, 2))
            xb = random_shift(xb, self.image_shape, self.shift, rng, self.rotation, whole=whole, part=mine)
        if isinstance(self.targets, tuple):
            return xb, tuple(xb if t is None else t[rows] for t in self.targets)
        return xb, (xb if self.targets is None else self.targets[rows])
