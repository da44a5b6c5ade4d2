"""A registry of skae's estimator classes, by name, for loading saved files.

:func:`skae.load` must turn the class name written in a file back into a
class without importing or running anything the file names. Classes
register themselves here when they are defined (as Keras's
``register_keras_serializable`` does for layers), so loading only looks
names up among classes the running program already imported.
"""

from __future__ import annotations

_CLASSES = {}


def class_name(cls):
    """Return the name a class is registered and saved under: ``module.qualname``."""
    return f"{cls.__module__}.{cls.__qualname__}"


def register_estimator(estimator_class):
    """Register an estimator class so that :func:`skae.load` can find it.

    Every subclass of :class:`skae.AutoencoderTransformer` is registered
    automatically; use this as a class decorator for other estimators.
    The class implements the saved-state protocol that
    ``skae._persistence`` describes (``_saved_state`` and
    ``_restore_saved_state``) and lists its plain fitted attributes in
    ``_fitted_attributes``.

    Parameters
    ----------
    estimator_class : type
        The estimator class.

    Returns
    -------
    estimator_class : type
        The same class, registered.
    """
    _CLASSES[class_name(estimator_class)] = estimator_class
    return estimator_class


def registered_class(name):
    """Return the registered class called ``name``, or None."""
    return _CLASSES.get(name)


def is_registered(cls):
    """Whether ``cls`` is a registered estimator class."""
    return _CLASSES.get(class_name(cls)) is cls
