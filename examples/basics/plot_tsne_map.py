"""
==========================
The t-SNE map of the codes
==========================

The tutorial's last figures: t-SNE lays the 64-number latent codes out in
the plane, coloured by the true digit, once as points and once with the
images themselves drawn at their points. :func:`skae.plotting.plot_latent_map`
and :func:`skae.plotting.plot_latent_images` draw them with the tutorial's
settings (``TSNE(n_components=2, learning_rate=100, perplexity=15,
random_state=0)``, the 'rainbow' colour map and one colour-bar tick per
digit). The user guide's :ref:`tsne` says how to read them.

.. note::
   Sizes on this page: the autoencoder trains on 10,000 images for 10
   epochs, and t-SNE maps the first 2,000 codes. The tutorial trains on all
   60,000 images for 20 epochs and maps the first 5,000 codes; raise
   ``N_TRAIN``, ``EPOCHS`` and ``N_MAP`` below to match it.
"""

# %%
# Encode MNIST
# ------------
import matplotlib.pyplot as plt
from sklearn.manifold import TSNE

from skae import ConvAutoencoder
from skae.datasets import load_mnist
from skae.plotting import plot_latent_images, plot_latent_map

N_TRAIN, EPOCHS, N_MAP = 10_000, 10, 2_000

X, y = load_mnist(n_samples=N_TRAIN, as_images=True)
ae = ConvAutoencoder(activation="elu", epochs=EPOCHS, random_state=0).fit(X)
Z = ae.transform(X[:N_MAP])
print(f"latent codes to map: {Z.shape}")

# %%
# The map
# -------
# t-SNE runs once and both figures reuse its 2-D points
# (``embedder="precomputed"``).
xy = TSNE(
    n_components=2, learning_rate=100, perplexity=15, random_state=0
).fit_transform(Z)
ax = plot_latent_map(xy, y[:N_MAP], embedder="precomputed")
ax.set_title("t-SNE of the ELU model's latent codes")
plt.show()

# %%
# The map with images
# -------------------
# The first 200 digits drawn at their points, on the tutorial's 16 x 16 inch
# canvas. Look at the borders between colours and at points sitting inside
# another digit's island: their images show why the codes mix them.
ax = plot_latent_images(
    xy, X[:N_MAP], y[:N_MAP], embedder="precomputed", n_images=200
)
