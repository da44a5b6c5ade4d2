"""Checks for structured parameters that ``_parameter_constraints`` cannot express."""

from __future__ import annotations

from numbers import Integral

import numpy as np

#: The kinds of training noise the ``noise`` parameter takes.
NOISE_KINDS = ("gaussian", "mask")


def positive_ints(name, value, *, min_length=0):
    """Return ``value`` as a tuple of positive ints, or raise ValueError."""
    items = tuple(np.ravel(value).tolist()) if not isinstance(value, (tuple, list)) else tuple(value)
    if len(items) < min_length or not all(isinstance(v, Integral) and not isinstance(v, bool) and v > 0 for v in items):
        need = f"at least {min_length} " if min_length else ""
        raise ValueError(f"{name} must be a sequence of {need}positive integers; got {value!r}.")
    return tuple(int(v) for v in items)


def int_pair(name, value):
    """Return an int or a pair of ints as a pair of positive ints."""
    if isinstance(value, Integral) and not isinstance(value, bool):
        value = (value, value)
    pair = positive_ints(name, value)
    if len(pair) != 2:
        raise ValueError(f"{name} must be a positive int or a pair of them; got {value!r}.")
    return pair
