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
   The defaults (``pretrain_epochs="auto"``: 100 epochs, 200 on moved
   images; ``max_iter="auto"``) on 10,000 images are measured in
   ``benchmarks/results.md``, section 10, "Deep clustering".
"""

# %%
# Fit
# ---
# ``DeepEmbeddedClustering(10)`` builds the papers' ``784-500-500-2000-10``
# dense autoencoder itself. The images come as flat rows of 784 pixels, as
# a :class:`~sklearn.pipeline.Pipeline` passes them, and are used as they
# are. ``image_shape=(28, 28)`` would say they are images, and DEC would
# train on copies moved by up to 3 pixels and turned by up to 10 degrees:
# that is more accurate with the default, longer pretraining (200 epochs;
# see the note above), but not in a run this short, where it lowered the
# accuracy. ``init_labels_`` keeps KMeans's clusters of the pretrained
# codes, where fine-tuning started.
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
dec = DeepEmbeddedClustering(
    10, pretrain_epochs=PRETRAIN_EPOCHS, max_iter=MAX_ITER, random_state=0
).fit(X)
seconds = time.perf_counter() - start
print(f"fitted in {seconds:.0f} s, {dec.n_iter_} fine-tuning steps")
for name, labels in [
    ("KMeans on the pretrained codes", dec.init_labels_),
    ("DEC after fine-tuning", dec.labels_),
]:
    nmi = normalized_mutual_info_score(y, labels)
    acc = clustering_accuracy(y, labels)
    print(f"{name}: accuracy {acc:.3f}, NMI {nmi:.3f}")

# %%
# Soft assignments
# ----------------
# ``predict_proba`` gives each image's probability of belonging to each
# cluster (a Student's t kernel around the centres). Fine-tuning trains the
# encoder towards a sharpened copy of these probabilities (DEC's target
# distribution), but it does not drive them to 0 or 1: in this short run
# no image gives its cluster much more than four in five. The histogram
# shows how sure the model is of each training image's cluster, and whether
# that confidence goes with being right (the cluster's majority digit):
# most right images crowd near the top of that range; the wrong ones reach
# it too, but also spread far below it. A low probability flags a likely
# mistake; a high one does not promise a right answer.
q = dec.predict_proba(X)
majority = np.array(
    [
        np.bincount(y[dec.labels_ == k], minlength=10).argmax()
        for k in range(10)
    ]
)
right = majority[dec.labels_] == y
confidence = q.max(axis=1)
fig, ax = plt.subplots(figsize=(6, 3.5))
bins = np.linspace(0.1, 1, 31)
ax.hist(
    confidence[right], bins=bins, alpha=0.7, label="cluster's majority digit"
)
ax.hist(confidence[~right], bins=bins, alpha=0.7, label="another digit")
ax.set(xlabel="probability of the assigned cluster", ylabel="training images")
ax.legend()
fig.tight_layout()

# %%
# The fine-tuned latent space
# ---------------------------
# ``transform`` returns the fine-tuned codes. A t-SNE map of 1,000 of them,
# coloured by DEC's clusters, shows the clusters DEC drew. Cluster numbers
# are names, not quantities (cluster 3 need not hold the 3s), so each gets a
# colour of a categorical palette and a legend entry rather than a place on
# a colour bar.
ax = plot_latent_map(
    dec.transform(X[:1000]), dec.labels_[:1000], cmap="tab10", colorbar=False
)
handles, _ = ax.collections[0].legend_elements()
ax.legend(
    handles,
    [str(k) for k in np.unique(dec.labels_[:1000])],
    title="cluster",
    loc="center left",
    bbox_to_anchor=(1, 0.5),
)
ax.set_title("t-SNE of 1,000 fine-tuned codes, coloured by DEC's clusters")
plt.show()

# %%
# New images
# ----------
# ``predict`` assigns images the model never saw to the learned clusters.
X_test, y_test = load_mnist(split="test", n_samples=1000)
test_acc = clustering_accuracy(y_test, dec.predict(X_test))
print(f"accuracy on 1,000 test images: {test_acc:.3f}")
