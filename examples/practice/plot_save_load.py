"""
============================
Save, load and keep training
============================

A fitted autoencoder goes to one file with :meth:`~skae.DenseAutoencoder.save`
and comes back with :func:`skae.load`, without pickle. The loaded model keeps
its optimizer state, so it can keep learning from new chunks of data with
``partial_fit``.

.. note::
   Sizes on this page: 3,000 MNIST training images for 20 epochs, then
   2,000 more in 4 chunks of one epoch each, and 1,000 test images (the
   tutorial trains on all 60,000 for 20 epochs), since the point here is
   the file round trip, not the model's quality.
"""

# %%
# Fit, save, load
# ---------------
# The tutorial's dense model, trained on the first 3,000 images.
import os
import tempfile

import matplotlib.pyplot as plt
import numpy as np

import skae
from skae.datasets import load_mnist
from skae.plotting import plot_reconstructions

N_FIRST, N_MORE, N_TEST, EPOCHS = 3_000, 2_000, 1_000, 20

X, _ = load_mnist(n_samples=N_FIRST + N_MORE)
X_test, _ = load_mnist(split="test", n_samples=N_TEST)
ae = skae.DenseAutoencoder(epochs=EPOCHS, random_state=0).fit(X[:N_FIRST])

path = os.path.join(tempfile.mkdtemp(), "mnist.skae")
ae.save(path)
size_mib = os.path.getsize(path) / 2**20
print(f"saved {size_mib:.1f} MiB to {os.path.basename(path)}")

loaded = skae.load(path)
same = np.array_equal(loaded.transform(X_test), ae.transform(X_test))
print("same latents after loading:", same)

# %%
# Keep training
# -------------
# Stream the other 2,000 images through the loaded model, one chunk at a
# time, as you would with data too large for memory. Each ``partial_fit``
# is one epoch on its chunk, continuing from the saved optimizer state.
print(f"test reconstruction error before: {-loaded.score(X_test):.4f}")
for chunk in np.array_split(X[N_FIRST:], 4):
    loaded.partial_fit(chunk)
print(f"test reconstruction error after:  {-loaded.score(X_test):.4f}")
print("epochs trained in all:", len(loaded.history_["loss"]))

# %%
# The loaded, further-trained model is a working autoencoder: the top row
# shows test digits, the bottom row their reconstructions.
fig = plot_reconstructions(
    X_test, loaded, n_images=10, fig=plt.figure(figsize=(7.5, 2))
)
fig.suptitle("Reconstructions by the loaded model after partial_fit")
plt.show()
