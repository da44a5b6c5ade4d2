"""
===========================================
Clustering MNIST with the clustering preset
===========================================

The tutorial clusters the 64 ELU latents of its convolutional model with
KMeans and gets no better than KMeans on raw pixels. Deep-clustering papers
(DEC, N2D) use a different autoencoder: a deep ``784-500-500-2000-10`` dense
encoder with a *linear* latent layer of one unit per cluster.
:func:`skae.presets.clustering_autoencoder` builds exactly that, and
:func:`skae.presets.clustering_pipeline` follows it with N2D's UMAP and a
Gaussian mixture.

.. note::
   Sizes on this page: 10,000 training images and 10 epochs, so that the
   page builds in about a minute on a CPU. The full-size figures (60,000
   images, the preset's default epochs) are in ``benchmarks/results.md``,
   made by ``python benchmarks/run.py``.
"""

# %%
# Load MNIST
# ----------
# Pixels scaled to [0, 1] and flattened to 784 values. The file is read from
# ``SKAE_MNIST`` or from ``../shared/data/mnist.npz``.
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import normalized_mutual_info_score
from sklearn.pipeline import make_pipeline

from skae.presets import clustering_autoencoder, clustering_pipeline

N_TRAIN, EPOCHS = 10_000, 10

try:
    here = Path(__file__).resolve().parents[1]
except NameError:  # run by sphinx-gallery, which has no __file__
    here = Path.cwd()
path = os.environ.get("SKAE_MNIST", here / ".." / "shared" / "data" / "mnist.npz")
with np.load(path) as mnist:
    X = mnist["x_train"][:N_TRAIN].reshape(N_TRAIN, -1).astype(np.float32) / 255
    y = mnist["y_train"][:N_TRAIN]


def accuracy(y_true, y_pred):
    """Clustering accuracy: the best one-to-one matching of clusters to digits."""
    from scipy.optimize import linear_sum_assignment

    counts = np.zeros((10, 10), dtype=int)
    np.add.at(counts, (y_pred, y_true), 1)
    rows, cols = linear_sum_assignment(-counts)
    return counts[rows, cols].sum() / len(y_true)


# %%
# KMeans on raw pixels, the baseline
# ----------------------------------
raw = KMeans(10, n_init=10, random_state=42).fit_predict(X)
print(f"KMeans on pixels:  accuracy {accuracy(y, raw):.3f}, NMI {normalized_mutual_info_score(y, raw):.3f}")

# %%
# The preset's latents, then KMeans
# ---------------------------------
# ``clustering_autoencoder(10)`` is an ordinary :class:`~skae.DenseAutoencoder`;
# any parameter can be changed on the call or later with ``set_params``.
ae = clustering_autoencoder(10, epochs=EPOCHS, random_state=0)
pipe = make_pipeline(ae, KMeans(10, n_init=10, random_state=42))
labels = pipe.fit_predict(X)
print(ae)
print(f"KMeans on latents: accuracy {accuracy(y, labels):.3f}, NMI {normalized_mutual_info_score(y, labels):.3f}")

# %%
# The N2D pipeline: autoencoder, UMAP, Gaussian mixture
# -----------------------------------------------------
# UMAP comes from the optional ``umap-learn`` package (``pip install skae[umap]``).
# Here the dense autoencoder above is already fitted, so UMAP and the mixture
# run on its latent codes. ``clustering_pipeline(10).fit_predict(X)`` does all
# three steps with its default autoencoder, the tutorial's convolutional ELU
# model, which reached 0.97 accuracy on the 60,000 MNIST training images.
try:
    n2d = clustering_pipeline(10, autoencoder=ae, random_state=0)
except ImportError as exc:
    print(exc)
else:
    Z = ae.transform(X)
    n2d_labels = n2d[1:].fit_predict(Z)
    embedding = n2d.named_steps["umap"].embedding_
    print(
        f"UMAP + GMM:        accuracy {accuracy(y, n2d_labels):.3f}, "
        f"NMI {normalized_mutual_info_score(y, n2d_labels):.3f}"
    )

    # The first two UMAP dimensions, coloured by the true digit.
    fig, ax = plt.subplots(figsize=(6, 5))
    points = ax.scatter(embedding[:, 0], embedding[:, 1], c=y, cmap="rainbow", s=2)
    fig.colorbar(points, ax=ax, ticks=range(10), label="digit")
    ax.set(title="UMAP of the clustering preset's latents", xticks=[], yticks=[])
    fig.tight_layout()
    plt.show()
