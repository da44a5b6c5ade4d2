"""
================================================
Deep embedded clustering (DEC) of MNIST digits
================================================

KMeans on an autoencoder's latent codes clusters whatever the autoencoder
learned to keep. :class:`~skae.DeepEmbeddedClustering` goes one step further
(Xie et al., 2016): after pretraining the autoencoder and placing the
centres with KMeans, it keeps training the *encoder* so that the codes
gather around the centres, sharpening the clusters it is most sure of.
With ``reconstruction_weight > 0`` the decoder keeps training too (IDEC).

.. note::
   Sizes on this page: 3,000 training images, 20 pretraining epochs and
   at most 1,000 fine-tuning steps, to keep the documentation build short.
   The defaults (100 pretraining epochs, ``max_iter="auto"``) on 10,000
   images are measured in ``benchmarks/results.md``, section 10, "Deep
   clustering".
"""

# %%
# Fit
# ---
# ``DeepEmbeddedClustering(10)`` builds the papers' ``784-500-500-2000-10``
# dense autoencoder itself. ``init_labels_`` keeps KMeans's clusters of the
# pretrained codes, where fine-tuning started.
import time

import matplotlib.pyplot as plt
import numpy as np
from sklearn.metrics import normalized_mutual_info_score

from skae import DeepEmbeddedClustering
from skae.datasets import load_mnist
from skae.metrics import clustering_accuracy
from skae.plotting import plot_latent_map

N_TRAIN, PRETRAIN_EPOCHS, MAX_ITER = 3_000, 20, 1_000

X, y = load_mnist(n_samples=N_TRAIN)
start = time.perf_counter()
dec = DeepEmbeddedClustering(10, pretrain_epochs=PRETRAIN_EPOCHS, max_iter=MAX_ITER, random_state=0).fit(X)
print(f"fitted in {time.perf_counter() - start:.0f} s, {dec.n_iter_} fine-tuning steps")
for name, labels in [("KMeans on the pretrained codes", dec.init_labels_), ("DEC after fine-tuning", dec.labels_)]:
    print(f"{name}: accuracy {clustering_accuracy(y, labels):.3f}, NMI {normalized_mutual_info_score(y, labels):.3f}")

# %%
# Soft assignments
# ----------------
# ``predict_proba`` gives each image's probability of belonging to each
# cluster (a Student's t kernel around the centres). Fine-tuning pushes
# these towards 0 or 1: the histogram shows how sure the model is of each
# training image's cluster, and whether that confidence goes with being
# right (the cluster's majority digit).
q = dec.predict_proba(X)
majority = np.array([np.bincount(y[dec.labels_ == k], minlength=10).argmax() for k in range(10)])
right = majority[dec.labels_] == y
fig, ax = plt.subplots(figsize=(6, 3.5))
bins = np.linspace(0.1, 1, 31)
ax.hist(q.max(axis=1)[right], bins=bins, alpha=0.7, label="cluster's majority digit")
ax.hist(q.max(axis=1)[~right], bins=bins, alpha=0.7, label="another digit")
ax.set(xlabel="probability of the assigned cluster", ylabel="training images")
ax.legend()
fig.tight_layout()

# %%
# The fine-tuned latent space
# ---------------------------
# ``transform`` returns the fine-tuned codes. A t-SNE map of 1,000 of them,
# coloured by DEC's clusters, shows the clusters DEC drew.
ax = plot_latent_map(dec.transform(X[:1000]), dec.labels_[:1000])
ax.set_title("t-SNE of 1,000 fine-tuned codes, coloured by DEC's clusters")
plt.show()

# %%
# New images
# ----------
# ``predict`` assigns images the model never saw to the learned clusters.
X_test, y_test = load_mnist(split="test", n_samples=1000)
print(f"accuracy on 1,000 test images: {clustering_accuracy(y_test, dec.predict(X_test)):.3f}")
