"""``skae.load``: the one place that imports every estimator class.

Saving is a method of each estimator, which imports :mod:`skae._persistence`
to write; loading must find any of those classes by the name a file gives.
Importing them all here, and not in ``_persistence``, keeps the imports
one-way: estimator modules import ``_persistence``, this module imports
both, and nothing imports this module but ``skae`` itself.
"""

from __future__ import annotations

# Importing a module registers its estimator classes (see _registry);
# none of these imports Keras.
from . import _conv, _deep_clustering, _dense, _variational  # noqa: F401
from ._persistence import read


def load(path):
    """Load an estimator written by ``save``.

    Loading never unpickles and runs no code from the file: parameters and
    fitted attributes are JSON, and the Keras model is read with
    ``safe_mode=True``, which refuses serialised Python code such as
    ``Lambda`` layers.

    Parameters
    ----------
    path : str or path-like
        File written by :meth:`AutoencoderTransformer.save`.

    Returns
    -------
    estimator : AutoencoderTransformer
        The fitted estimator, its transform identical to the saved one's.

    Raises
    ------
    ValueError
        If the file is not a skae file, is truncated or corrupted, was
        written by an incompatible version, or holds a model that safe mode
        refuses. No half-loaded estimator is ever returned.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> import skae
    >>> X = np.random.default_rng(0).random((50, 6))
    >>> ae = skae.DenseAutoencoder(hidden_layer_sizes=(4,), latent_dim=2,
    ...                            epochs=1, random_state=0).fit(X)
    >>> path = os.path.join(tempfile.mkdtemp(), "ae.skae")
    >>> ae.save(path)
    >>> again = skae.load(path)
    >>> bool(np.array_equal(again.transform(X), ae.transform(X)))
    True
    """
    return read(path)
