"""
=======================================================
Generating digits with a variational autoencoder (VAE)
=======================================================

The tutorial calls the decoder a generative model, but a plain
autoencoder's latent space has holes: decoding a random code rarely gives a
digit. :class:`skae.VariationalAutoencoder` trains the encoder to output a
Gaussian around each code and pulls those Gaussians towards a standard
normal prior (the KL term, weighted by ``beta``). Decoding draws from that
prior, which :meth:`~skae.VariationalAutoencoder.sample` does, then gives new
digits.

.. note::
   Sizes on this page: 10,000 training images and 15 epochs, to keep the
   documentation build short. More images and epochs give sharper samples.
"""

# %%
# Fit a VAE on MNIST
# ------------------
# ``architecture="dense"`` (the default) takes flat rows of 784 pixels;
# ``architecture="conv"`` would take (n, 28, 28) images and give images back.
import matplotlib.pyplot as plt
import numpy as np

from skae import VariationalAutoencoder
from skae.datasets import load_mnist

N_TRAIN, EPOCHS = 10_000, 15

X, y = load_mnist(n_samples=N_TRAIN)
vae = VariationalAutoencoder(
    hidden_layer_sizes=(256,), latent_dim=16, epochs=EPOCHS, random_state=0
).fit(X)
print(f"loss per epoch: {np.round(vae.history_['loss'], 4)}")

# %%
# ``transform`` returns the latent mean, deterministic like any transformer.
Z = vae.transform(X[:5])
print(Z.shape, np.allclose(Z, vae.transform(X[:5])))

# %%
# Sample new digits
# -----------------
# ``sample(n, random_state=...)`` decodes ``n`` draws from the standard normal
# prior into rows in the training data's layout, here 784 pixels.
samples = vae.sample(64, random_state=0)

fig, axes = plt.subplots(8, 16, figsize=(7.5, 4.2))
for ax, image in zip(axes[:, :8].ravel(), samples, strict=True):
    ax.imshow(image.reshape(28, 28), cmap="gray_r", vmin=0, vmax=1)
for ax, image in zip(axes[:, 8:].ravel(), X[:64], strict=True):
    ax.imshow(image.reshape(28, 28), cmap="gray_r", vmin=0, vmax=1)
for ax in axes.ravel():
    ax.set_axis_off()
fig.text(0.28, 0.95, "sampled by the VAE", ha="center", fontsize=11)
fig.text(0.72, 0.95, "real training digits", ha="center", fontsize=11)
plt.show()

# %%
# ``beta`` trades reconstruction for a smoother latent space: a larger value
# pulls the codes closer to the prior (blurrier but more regular samples), a
# smaller one gives sharper reconstructions and a patchier latent space.
score = vae.score(X[:2000])
print(
    f"reconstruction score on 2,000 training images (negated MSE): {score:.4f}"
)
