"""skae: scikit-learn-compatible autoencoders built on Keras 3.

Autoencoders that fit, transform to their latent space and decode back like
any scikit-learn transformer, so they compose with ``Pipeline``,
``GridSearchCV``, ``KMeans`` and ``TSNE``.
"""

from ._base import AutoencoderTransformer
from ._conv import ConvAutoencoder
from ._dense import DenseAutoencoder
from ._persistence import load

__version__ = "0.1.0"

__all__ = ["AutoencoderTransformer", "ConvAutoencoder", "DenseAutoencoder", "__version__", "load"]
