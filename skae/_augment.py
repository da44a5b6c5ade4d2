"""Random changes of training batches: input noise, and image moves and turns.

Each function takes a NumPy generator that the training batches seed from
the fit's seed, the epoch (or step) and the batch: the same batch gets the
same noise and moves however often, and from whichever thread, Keras asks
for it. Each may also draw for a whole batch of which this process feeds
only ``part`` (a multi-process fit), so that every row is changed as one
process would change it.
"""

from __future__ import annotations

import numpy as np


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
