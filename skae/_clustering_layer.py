"""The Keras layer that holds DEC's cluster centres.

It lives apart from :mod:`skae._deep_clustering` because defining it needs
Keras, and the estimator module must import without Keras (see ``_lazy``).
"""

from __future__ import annotations

import keras
import numpy as np


@keras.saving.register_keras_serializable(package="skae")
class ClusteringLayer(keras.layers.Layer):
    """Soft assignment of latent codes to cluster centres (DEC's Student's t kernel).

    ``q[i, j]`` is proportional to ``(1 + |z_i - mu_j|^2 / alpha) ** (-(alpha + 1) / 2)``
    and each row sums to 1. The centres ``mu`` are the layer's trainable weight.

    Parameters
    ----------
    n_clusters : int
        Number of centres.
    alpha : float, default=1.0
        Degrees of freedom of the Student's t kernel.
    **kwargs
        Passed to ``keras.layers.Layer``.
    """

    def __init__(self, n_clusters, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(n_clusters, int) or n_clusters < 1:
            raise ValueError(f"n_clusters must be a positive int. Received: n_clusters={n_clusters!r}")
        if not alpha > 0:
            raise ValueError(f"alpha must be positive. Received: alpha={alpha!r}")
        self.n_clusters = n_clusters
        self.alpha = float(alpha)

    def build(self, input_shape):
        n_latent = int(np.prod(input_shape[1:]))
        self.centers = self.add_weight(
            shape=(self.n_clusters, n_latent), initializer="zeros", name="centers", trainable=True
        )

    def call(self, inputs):
        ops = keras.ops
        z = ops.reshape(inputs, (ops.shape(inputs)[0], -1))
        squared = ops.sum(ops.square(ops.expand_dims(z, 1) - ops.expand_dims(self.centers, 0)), axis=2)
        q = ops.power(1.0 + squared / self.alpha, -(self.alpha + 1.0) / 2.0)
        return q / ops.sum(q, axis=1, keepdims=True)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.n_clusters)

    def get_config(self):
        return {**super().get_config(), "n_clusters": self.n_clusters, "alpha": self.alpha}
