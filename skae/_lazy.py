"""Import on first use: why ``import skae`` does not load TensorFlow.

TensorFlow and Keras take seconds to import, and most of what a program does
with an estimator before fitting it (constructing it, ``get_params``,
``clone``, putting it in a ``Pipeline`` or ``GridSearchCV``, ``skae --help``)
needs neither. So the modules that import Keras (``_builders``,
``_networks``, ``_training``, ``_guards``, ``_persistence``,
``_inference``) are reached only through :class:`LazyModule` references,
which import the real module the first time one of its attributes is read:
in practice the first ``fit``, ``transform``, ``partial_fit`` or
:func:`skae.load`.

The package's public names use the same idea through PEP 562: the module
``__getattr__`` that :func:`lazy_attributes` returns imports the submodule
that defines a name when the name is first read, so ``import skae`` costs
little more than importing scikit-learn.

Both go through :func:`importlib.import_module`, so a module is imported
once, under Python's own import lock (safe from many threads), and nothing
appears in ``sys.modules`` before it is really imported.
"""

from __future__ import annotations

import importlib


class LazyModule:
    """A stand-in for a module that imports it when an attribute is first read.

    Parameters
    ----------
    name : str
        Absolute name of the module, such as ``"skae._networks"``.
    """

    __slots__ = ("_name",)

    def __init__(self, name):
        self._name = name

    def __getattr__(self, attr):
        # importlib returns the module from sys.modules after the first
        # import, so each read costs a dictionary lookup.
        return getattr(importlib.import_module(self._name), attr)

    def __repr__(self):
        return f"<lazy module {self._name!r}>"


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
