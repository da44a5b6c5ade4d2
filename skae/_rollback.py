"""Leaving an estimator as it was when its ``fit`` fails.

A failed fit (bad input, a bad parameter, a Keras error, a NaN loss,
Ctrl-C before the first epoch) must leave a previously fitted estimator
exactly as it was: its attributes and, when training continued a model it
already had, that model's weights and optimizer state too. Every skae
estimator's ``fit`` runs inside one :class:`Rollback`.
"""

from __future__ import annotations


class Rollback:
    """Context manager that restores an estimator if its block raises.

    Parameters
    ----------
    estimator : object
        The estimator whose attributes (``__dict__``) are restored.

    Examples
    --------
    >>> class Estimator:
    ...     pass
    >>> est = Estimator()
    >>> est.coef_ = 1
    >>> try:
    ...     with Rollback(est):
    ...         est.coef_ = 2
    ...         raise ValueError("bad input")
    ... except ValueError:
    ...     pass
    >>> est.coef_
    1
    """

    def __init__(self, estimator):
        self._estimator = estimator
        self._snapshot = dict(estimator.__dict__)
        self._models = []

    def keep(self, model):
        """Also restore ``model``'s weights and optimizer state, as they are now, on failure."""
        # Keras only once a model exists: a parameter error rolls back
        # without importing a framework.
        from . import _guards

        self._models.append((model, _guards.model_state(model)))

    def __enter__(self):
        return self

    def __exit__(self, kind, value, traceback):
        if kind is None:
            return False
        if self._models:
            from . import _guards

            for model, state in self._models:
                _guards.restore_model_state(model, state)
        self._estimator.__dict__.clear()
        self._estimator.__dict__.update(self._snapshot)
        return False
