"""skae: scikit-learn-compatible autoencoders built on Keras 3.

Autoencoders that fit, transform to their latent space and decode back like
any scikit-learn transformer, so they compose with ``Pipeline``,
``GridSearchCV``, ``KMeans`` and ``TSNE``. :class:`AutoencoderTransformer`
wraps any Keras encoder and decoder; :class:`DenseAutoencoder`,
:class:`ConvAutoencoder` and :class:`VariationalAutoencoder` build theirs
from a few parameters.
"""

from . import datasets, metrics, plotting  # plotting imports matplotlib only when called
from ._base import AutoencoderTransformer
from ._conv import ConvAutoencoder
from ._deep_clustering import DeepEmbeddedClustering
from ._dense import DenseAutoencoder
from ._interpolate import interpolate
from ._persistence import load
from ._registry import register_estimator
from ._variational import VariationalAutoencoder
from ._version import __version__

__all__ = [
    "AutoencoderTransformer",
    "ConvAutoencoder",
    "DeepEmbeddedClustering",
    "DenseAutoencoder",
    "VariationalAutoencoder",
    "datasets",
    "interpolate",
    "load",
    "metrics",
    "plotting",
    "register_estimator",
    "__version__",
]
