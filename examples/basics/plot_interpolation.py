"""
============================
Between two digits
============================

"The midpoint between the left and the right picture": encode two images,
walk between their latent codes and decode each step.
:func:`skae.interpolate` does the walk, and
:func:`skae.plotting.plot_interpolation` draws it.

.. note::
   Sizes on this page: the ELU convolutional autoencoder trains on 10,000
   images for 10 epochs (the tutorial: 60,000 images, 20 epochs); raise
   ``N_TRAIN`` and ``EPOCHS`` below to match it.
"""

# %%
# Fit the autoencoder
# -------------------
import matplotlib.pyplot as plt
import numpy as np

from skae import ConvAutoencoder, interpolate
from skae.datasets import load_mnist
from skae.plotting import plot_interpolation

N_TRAIN, EPOCHS = 10_000, 10

X, y = load_mnist(n_samples=N_TRAIN, as_images=True)
ae = ConvAutoencoder(activation="elu", epochs=EPOCHS, random_state=0).fit(X)

# %%
# From a 1 to a 7, and from a 3 to an 8
# -------------------------------------
# The first and last images are the reconstructions of the two originals;
# the others are decoded from points on the straight line between their
# codes.
fig = plt.figure(figsize=(7.5, 3))
pairs = [(1, 7), (3, 8)]
for subfig, (a, b) in zip(fig.subfigures(2, 1), pairs, strict=True):
    start, end = X[np.flatnonzero(y == a)[0]], X[np.flatnonzero(y == b)[0]]
    path = interpolate(ae, start, end, n_steps=9)
    plot_interpolation(path, fig=subfig)
    subfig.suptitle(f"from {a} to {b}, linear")

# %%
# Spherical interpolation
# -----------------------
# ``method="spherical"`` follows the great circle between the two codes'
# directions, so the steps keep the codes' length rather than shrinking
# towards the origin half way.
start, end = X[np.flatnonzero(y == 3)[0]], X[np.flatnonzero(y == 8)[0]]
path, Z = interpolate(
    ae, start, end, n_steps=9, method="spherical", return_latent=True
)
fig = plot_interpolation(path, fig=plt.figure(figsize=(7.5, 1.6)))
fig.suptitle("from 3 to 8, spherical")
print("norm of each latent step:", np.round(np.linalg.norm(Z, axis=1), 2))

# %%
# The midpoint alone, between the two originals:
mid = interpolate(ae, start, end, n_steps=3)[1]
fig, axes = plt.subplots(1, 3, figsize=(4, 1.8))
titles = ["left", "midpoint", "right"]
for ax, image, title in zip(axes, [start, mid, end], titles, strict=True):
    ax.imshow(image, cmap="gray_r", vmin=0, vmax=1)
    ax.set_title(title)
    ax.axis("off")
fig.tight_layout()
