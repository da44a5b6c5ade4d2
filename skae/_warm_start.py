"""Continuing training (``warm_start``, ``partial_fit``): what a model was built with, and its history.

A warm start trains the model an estimator already has, so it may change
only the parameters that steer training (:data:`skae._params.TRAINING_PARAMS`).
:class:`WarmStartMixin` records the others when a model is built, refuses a
warm start after one of them changed, and keeps that record through
pickling: a Keras object in it is pickled once, as the parameter itself.
"""

from __future__ import annotations

import numpy as np

from ._params import TRAINING_PARAMS

#: How a pickled record holds a Keras object: the parameter itself (saved
#: once, as the parameter), or one replaced since that fit, which a warm
#: start must see as changed.
_THE_PARAMETER, _REPLACED = "<skae: the parameter itself>", "<skae: a Keras object replaced since the fit>"


def same_value(a, b):
    """Whether parameter values ``a`` and ``b`` are the same (arrays by value; what cannot be compared differs)."""
    if a is b:
        return True
    try:
        return bool(np.array_equal(np.asarray(a), np.asarray(b))) if np.ndim(a) or np.ndim(b) else bool(a == b)
    except Exception:  # values that cannot be compared are taken as changed
        return False


class WarmStartMixin:
    """The record of the parameters a model was built with (``_built_with``), and the history of its epochs."""

    def _model_params(self):
        return {key: value for key, value in self.get_params(deep=False).items() if key not in TRAINING_PARAMS}

    def _record_built(self):
        """Remember the parameters the current model was built with."""
        self._built_with = self._model_params()

    def _check_model_params_unchanged(self):
        """Raise ``ValueError`` if a parameter that shapes the model changed since it was built."""
        built = getattr(self, "_built_with", None)
        if built is None:
            return
        changed = [key for key, value in self._model_params().items() if not same_value(value, built.get(key))]
        if changed:
            raise ValueError(
                f"{type(self).__name__} continues training its current model (warm_start=True or "
                f"partial_fit), but {', '.join(changed)} changed since that model was built: "
                f"{', '.join(f'{key}={built.get(key)!r} -> {getattr(self, key)!r}' for key in changed)}. "
                "Set warm_start=False, or clone the estimator, to build a new model."
            )

    def _record_history(self, history, *, resume):
        """Set ``history_``: this call's epochs, after the earlier ones when training continued."""
        merged = {key: list(values) for key, values in self.history_.items()} if resume else {}
        for key, values in history.items():
            merged.setdefault(key, []).extend(values)
        self.history_ = merged

    def __getstate__(self):
        from ._persistence import encode_keras

        state = super().__getstate__()
        built = state.get("_built_with")
        if isinstance(built, dict):
            state["_built_with"] = {
                name: value
                if encode_keras(value) is None
                else _THE_PARAMETER
                if value is getattr(self, name, None)
                else _REPLACED
                for name, value in built.items()
            }
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        built = self.__dict__.get("_built_with")
        if isinstance(built, dict):
            for name, value in built.items():
                if isinstance(value, str) and value == _THE_PARAMETER:
                    built[name] = getattr(self, name)
