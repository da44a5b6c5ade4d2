"""
=======================================
Clustering the latent codes with KMeans
=======================================

The tutorial clusters MNIST without labels: the ELU convolutional
autoencoder encodes every image into 64 numbers, and
:class:`~sklearn.cluster.KMeans` groups the codes into 10 clusters. In
scikit-learn terms that is a two-step :class:`~sklearn.pipeline.Pipeline`.
The labels are used only afterwards, to see how well the clusters match the
digits.

.. note::
   Sizes on this page: 10,000 training images and 10 epochs. The tutorial
   trains on all 60,000 images for 20 epochs and clusters all 60,000 codes;
   raise ``N_TRAIN`` and ``EPOCHS`` below to match it.
"""

# %%
# Autoencoder, then KMeans
# ------------------------
# The autoencoder takes flat rows with ``image_shape``, as a pipeline passes
# them; KMeans uses the tutorial's settings.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import normalized_mutual_info_score
from sklearn.pipeline import Pipeline

from skae import ConvAutoencoder
from skae.datasets import load_mnist
from skae.metrics import clustering_accuracy

N_TRAIN, EPOCHS = 10_000, 10

X, y = load_mnist(n_samples=N_TRAIN)
ae = ConvAutoencoder(
    image_shape=(28, 28, 1), activation="elu", epochs=EPOCHS, random_state=0
)
kmeans = KMeans(n_clusters=10, n_init=10, random_state=42)
pipe = Pipeline([("ae", ae), ("kmeans", kmeans)])
clusters = pipe.fit_predict(X)
kmeans = pipe.named_steps["kmeans"]
print(f"cluster of the first 20 images: {clusters[:20]}")
print(f"their digits:                   {y[:20]}")
print(f"cluster centres: {kmeans.cluster_centers_.shape}")

# %%
# How well do the clusters match the digits?
# ------------------------------------------
# Cluster numbers are arbitrary, so :func:`skae.metrics.clustering_accuracy`
# first matches clusters to digits one to one. The same KMeans on the raw
# 784 pixels is the baseline.
raw = KMeans(n_clusters=10, n_init=10, random_state=42).fit_predict(X)
for name, labels in [("raw pixels", raw), ("64-d latent codes", clusters)]:
    print(
        f"KMeans on {name}: accuracy {clustering_accuracy(y, labels):.3f}, "
        f"NMI {normalized_mutual_info_score(y, labels):.3f}"
    )

# %%
# Compare the two scores printed above: the codes are no help to KMeans here.
# In the full-size benchmark (``benchmarks/results.md``, section 4,
# "Clustering": all 60,000 training images) they do worse: KMeans reaches
# accuracy 0.514 on the pixels and 0.415 on the tutorial's convolutional ELU
# codes. The reason:
# the autoencoder learned to reconstruct, not to separate digits, and k-means
# wants round clusters of equal size. The user guide's :ref:`latent_space`
# says what does better.
#
# What each cluster looks like
# ----------------------------
# A cluster centre is a point of the latent space, so the decoder can draw
# it: ``inverse_transform`` turns the 10 centres into 10 images, the
# "average digit" of each cluster.
centres = pipe.named_steps["ae"].inverse_transform(
    kmeans.cluster_centers_.astype(np.float32)
)
fig, axes = plt.subplots(1, 10, figsize=(7.5, 1.5))
for k, ax in enumerate(axes):
    ax.imshow(centres[k].reshape(28, 28), cmap="gray_r", vmin=0, vmax=1)
    ax.set_title(f"cluster {k}\n{np.mean(clusters == k):.0%}", fontsize=9)
    ax.axis("off")
fig.tight_layout()

# %%
# Which digits fall in which cluster: each row is a digit, each column a
# cluster.
counts = np.zeros((10, 10), dtype=int)
np.add.at(counts, (y, clusters), 1)
fig, ax = plt.subplots(figsize=(5, 4.5))
im = ax.imshow(counts, cmap="Blues")
ax.set(
    xlabel="cluster", ylabel="true digit", xticks=range(10), yticks=range(10)
)
fig.colorbar(im, ax=ax, label="images")
fig.tight_layout()
