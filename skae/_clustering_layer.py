"""The Keras layer that holds DEC's cluster centres.

It lives apart from :mod:`skae._deep_clustering` because defining it needs
Keras, and the estimator module must import without Keras (see ``_lazy``).
"""

from __future__ import annotations

import keras
import numpy as np

from ._training import compile_for_training


def student_t_assignments(z, centers, alpha, xp=np):
    """DEC's soft assignments of flat codes ``z`` to ``centers``: rows of ``q`` that sum to 1.

    ``q[i, j]`` is proportional to ``(1 + |z_i - mu_j|^2 / alpha) ** (-(alpha + 1) / 2)``.
    The one definition of the kernel: the layer trains with it in Keras
    ops and the estimator predicts with it in NumPy (``xp``, either
    ``numpy`` or ``keras.ops``). The squared distance is expanded, not
    broadcast over a ``(n, k, d)`` array, so memory stays ``n * k``.
    """
    # NumPy's matmul calls BLAS, whose blocking (and so the order of its
    # sums) depends on the number of rows: einsum's own loop sums each
    # code's products in one fixed order, so a row's q does not depend on
    # the rows that come with it, as transform's codes do not.
    cross = np.einsum("id,jd->ij", z, centers) if xp is np else xp.matmul(z, xp.transpose(centers))
    squared = (
        xp.expand_dims(xp.sum(xp.square(z), axis=1), 1)
        - 2.0 * cross
        + xp.expand_dims(xp.sum(xp.square(centers), axis=1), 0)
    )
    q = xp.power(1.0 + xp.maximum(squared, 0.0) / alpha, -(alpha + 1.0) / 2.0)
    return q / xp.sum(q, axis=1, keepdims=True)


@keras.saving.register_keras_serializable(package="skae")
class ClusteringLayer(keras.layers.Layer):
    """Soft assignment of latent codes to cluster centres (DEC's Student's t kernel).

    The kernel is :func:`student_t_assignments`; the centres ``mu`` are the
    layer's trainable weight.

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
        z = keras.ops.reshape(inputs, (keras.ops.shape(inputs)[0], -1))
        return student_t_assignments(z, self.centers, self.alpha, xp=keras.ops)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.n_clusters)

    def get_config(self):
        return {**super().get_config(), "n_clusters": self.n_clusters, "alpha": self.alpha}


def fine_tuning_model(network, centers, *, alpha, reconstruction, optimizer):
    """Return DEC's compiled fine-tuning model and its clustering layer, built on ``network``'s own layers.

    The model maps a sample to its soft assignments (trained on the KL
    divergence to the targets) and, where the weight of ``reconstruction
    = (loss, weight)`` is above 0 (IDEC), to its reconstruction too. Its
    encoder and decoder are the network's, so fine-tuning trains them.
    """
    inputs = keras.Input(network.layout.sample_shape)
    latent = network.encoder(inputs)
    clustering = ClusteringLayer(len(centers), alpha=alpha, name="clustering")
    assignments = clustering(latent)
    loss, weight = reconstruction
    if weight > 0:
        outputs = [assignments, network.decoder(latent)]
        compiled = {"loss": [keras.losses.KLDivergence(), loss], "loss_weights": [1.0, float(weight)]}
    else:
        # One output, not a list of one: Keras before 3.5 reads a one-item
        # list of losses or loss weights as another number of outputs.
        outputs = assignments
        compiled = {"loss": keras.losses.KLDivergence()}
    model = keras.Model(inputs, outputs, name="deep_embedded_clustering")
    clustering.set_weights([np.asarray(centers, dtype=np.float32)])
    compile_for_training(model, optimizer=optimizer, **compiled)
    return model, clustering
