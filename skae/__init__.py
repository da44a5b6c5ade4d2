"""skae: scikit-learn-compatible autoencoders built on Keras 3.

Autoencoders that fit, transform to their latent space and decode back like
any scikit-learn transformer, so they compose with ``Pipeline``,
``GridSearchCV``, ``KMeans`` and ``TSNE``.
"""

from . import datasets, metrics, plotting  # plotting imports matplotlib only when called
from ._base import AutoencoderTransformer
from ._conv import ConvAutoencoder
from ._dense import DenseAutoencoder
from ._interpolate import interpolate
from ._persistence import load
from ._variational import VariationalAutoencoder

__version__ = "0.1.0"

__all__ = [
    "AutoencoderTransformer",
    "ConvAutoencoder",
    "DenseAutoencoder",
    "VariationalAutoencoder",
    "datasets",
    "interpolate",
    "load",
    "metrics",
    "plotting",
    "__version__",
]
