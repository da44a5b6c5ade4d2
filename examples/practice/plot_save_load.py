"""
============================
Save, load and keep training
============================

A fitted autoencoder goes to one file with :meth:`~skae.DenseAutoencoder.save`
and comes back with :func:`skae.load`, without pickle. The loaded model keeps
its optimizer state, so it can keep learning from new chunks of data with
``partial_fit``.

.. note::
   Sizes on this page: scikit-learn's 1,797 8x8 digits and 10 epochs (the
   tutorial trains on 60,000 MNIST images for 20), since the point here is
   the file round trip, not the model's quality.
"""

import os
import tempfile

import numpy as np
from sklearn.datasets import load_digits

import skae

X = (load_digits().data / 16.0).astype(np.float32)
ae = skae.DenseAutoencoder(hidden_layer_sizes=(64,), latent_dim=8, epochs=10, batch_size=32, random_state=0)
ae.fit(X[:1000])

path = os.path.join(tempfile.mkdtemp(), "digits.skae")
ae.save(path)
print(f"saved {os.path.getsize(path) / 1024:.0f} KiB to {os.path.basename(path)}")

loaded = skae.load(path)
print("same latents after loading:", np.array_equal(loaded.transform(X), ae.transform(X)))

# %%
# Stream the rest of the data through the loaded model, one chunk at a time,
# as you would with data too large for memory.
print(f"reconstruction error before: {-loaded.score(X[1000:]):.4f}")
for chunk in np.array_split(X[1000:], 4):
    loaded.partial_fit(chunk)
print(f"reconstruction error after:  {-loaded.score(X[1000:]):.4f}")
print("epochs trained in all:", len(loaded.history_["loss"]))

# %%
# The loaded, further-trained model is a working autoencoder: the top row
# shows held-out digits, the bottom row their reconstructions, still blurred
# after so few epochs on 1,000 small images.
import matplotlib.pyplot as plt

from skae.plotting import plot_reconstructions

fig = plot_reconstructions(X[1000:], loaded, n_images=8)
fig.suptitle("Reconstructions by the loaded model after partial_fit")
plt.show()
