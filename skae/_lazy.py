"""Import on first use: why ``import skae`` loads no deep-learning framework.

Keras and its backend (TensorFlow, JAX or PyTorch) take seconds to import,
and most of what a program does with an estimator before fitting it
(constructing it, ``get_params``, ``clone``, putting it in a ``Pipeline``
or ``GridSearchCV``, ``skae --help``) needs none of them. So the modules
that import Keras (``_builders``, ``_networks``, ``_training``,
``_guards``, ``_inference``, ``_distribution``) are imported inside the
methods that need them, with ordinary ``from . import`` statements that a
reader, and the package's import-cycle test, can see.

The package's public names are imported on first use through PEP 562: the
module ``__getattr__`` that :func:`lazy_attributes` returns imports the
submodule that defines a name when the name is first read, so ``import
skae`` costs little more than importing scikit-learn. It goes through
:func:`importlib.import_module`, so a module is imported once, under
Python's own import lock (safe from many threads), and nothing appears in
``sys.modules`` before it is really imported.
"""

from __future__ import annotations

import importlib


def lazy_attributes(package, attributes):
    """Return PEP 562 ``__getattr__`` and ``__dir__`` functions for ``package``.

    Parameters
    ----------
    package : str
        The package's ``__name__``.
    attributes : dict of str to str
        Public name to the submodule, relative to ``package``, that defines
        it. A name equal to its submodule (``"datasets": "datasets"``) is
        the submodule itself.

    Returns
    -------
    getattr, dir : callable
        To assign to the package's ``__getattr__`` and ``__dir__``.
    """

    def __getattr__(name):
        try:
            submodule = attributes[name]
        except KeyError:
            raise AttributeError(f"module {package!r} has no attribute {name!r}") from None
        module = importlib.import_module(f"{package}.{submodule}")
        value = module if name == submodule else getattr(module, name)
        # Later reads find it in the package's namespace, without this call.
        setattr(importlib.import_module(package), name, value)
        return value

    def __dir__():
        return sorted({*vars(importlib.import_module(package)), *attributes})

    return __getattr__, __dir__
