"""
=====================================
The dense autoencoder on MNIST digits
=====================================

The tutorial's first model: a fully connected autoencoder that squeezes each
28 x 28 digit (784 pixels) through a 64-number latent code and rebuilds it.
:class:`skae.DenseAutoencoder` builds it with its defaults.

.. note::
   Sizes on this page: 20,000 training images and 10 epochs, tested on 2,000
   test images. The tutorial trains on all 60,000 images for 20 epochs;
   raise ``N_TRAIN`` and ``EPOCHS`` below to match it.
"""

# %%
# Load MNIST
# ----------
# :func:`skae.datasets.load_mnist` scales the pixels to [0, 1] and flattens
# each image to 784 values, as the tutorial does. It reads the file named by
# the environment variable ``SKAE_MNIST``.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.decomposition import PCA

from skae import DenseAutoencoder
from skae.datasets import load_mnist
from skae.plotting import plot_history, plot_reconstructions

N_TRAIN, N_TEST, EPOCHS = 20_000, 2_000, 10

X_train, _ = load_mnist(n_samples=N_TRAIN)
X_test, _ = load_mnist(split="test", n_samples=N_TEST)
print(X_train.shape, X_test.shape)

# %%
# Fit the tutorial's dense model
# ------------------------------
# The defaults are the tutorial's: Dense 784 (ReLU), the latent Dense 64
# (ReLU), and a sigmoid Dense back to 784 pixels, trained with Adam on the
# mean squared error in batches of 256.
ae = DenseAutoencoder(epochs=EPOCHS, random_state=0)
ae.fit(X_train)
ae.model_.summary(expand_nested=True)

# %%
# The loss falls with every epoch; ``history_`` keeps it and
# :func:`skae.plotting.plot_history` draws it.
ax = plot_history(ae, figsize=(5, 3))
ax.set_title("DenseAutoencoder training loss (MSE)")
plt.show()

# %%
# Encode, decode and score
# ------------------------
# ``transform`` gives the 64-number codes and ``inverse_transform`` decodes
# them. ``score`` is the negated mean squared error on images the model has
# not seen, compared here with PCA keeping the same 64 dimensions.
Z_test = ae.transform(X_test)
X_rebuilt = ae.inverse_transform(Z_test)
print(f"latent codes: {Z_test.shape}, reconstructions: {X_rebuilt.shape}")
at_zero = np.mean(Z_test == 0)
print(f"entries of the codes at exactly 0 (ReLU floor): {at_zero:.0%}")

pca = PCA(n_components=64, random_state=0).fit(X_train)
pca_mse = np.mean((X_test - pca.inverse_transform(pca.transform(X_test))) ** 2)
print(f"test MSE, dense autoencoder: {-ae.score(X_test):.4f}")
print(f"test MSE, PCA with 64 components: {pca_mse:.4f}")

# %%
# Test digits (top) and their reconstructions (bottom), drawn by
# :func:`skae.plotting.plot_reconstructions`.
fig = plot_reconstructions(
    X_test, X_rebuilt, n_images=10, fig=plt.figure(figsize=(7.5, 2))
)
fig.suptitle("test digits and their reconstructions")
plt.show()
