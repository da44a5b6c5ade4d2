"""skae: scikit-learn-compatible autoencoders built on Keras 3.

Autoencoders that fit, transform to their latent space and decode back like
any scikit-learn transformer, so they compose with ``Pipeline``,
``GridSearchCV``, ``KMeans`` and ``TSNE``. :class:`AutoencoderTransformer`
wraps any Keras encoder and decoder; :class:`DenseAutoencoder`,
:class:`ConvAutoencoder` and :class:`VariationalAutoencoder` build theirs
from a few parameters.
"""

from ._lazy import lazy_attributes
from ._registry import register_estimator
from ._version import __version__

# Each public name is imported from its module when first used (PEP 562):
# ``import skae`` loads neither TensorFlow nor Keras, and the estimators
# load them only when they fit, transform or load a model.
__getattr__, __dir__ = lazy_attributes(
    __name__,
    {
        "AutoencoderTransformer": "_base",
        "ConvAutoencoder": "_conv",
        "DeepEmbeddedClustering": "_deep_clustering",
        "DenseAutoencoder": "_dense",
        "InferenceCostWarning": "_plan",
        "InferencePlan": "_plan",
        "UMAPMixture": "_n2d",
        "VariationalAutoencoder": "_variational",
        "datasets": "datasets",
        "interpolate": "_interpolate",
        "load": "_load",
        "metrics": "metrics",
        "plotting": "plotting",
        "presets": "presets",
    },
)

__all__ = [
    "AutoencoderTransformer",
    "ConvAutoencoder",
    "DeepEmbeddedClustering",
    "DenseAutoencoder",
    "InferenceCostWarning",
    "InferencePlan",
    "UMAPMixture",
    "VariationalAutoencoder",
    "datasets",
    "interpolate",
    "load",
    "metrics",
    "plotting",
    "register_estimator",
    "__version__",
]
