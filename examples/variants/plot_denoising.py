"""
==========================================
Denoising autoencoders: cleaning up digits
==========================================

Every skae autoencoder takes a ``noise`` parameter. With ``noise="mask"``
each input pixel is set to 0 with probability ``noise_level`` while training
(``noise="gaussian"`` adds Gaussian noise instead), and the model learns to
rebuild the *clean* image. The noise is only used while training:
``transform`` and ``inverse_transform`` stay deterministic.

Here a plain and a denoising :class:`~skae.DenseAutoencoder` both repair
test digits with 40% of their pixels erased. Both have a wide 128-number
code: wide enough for the plain model to copy its input, holes included,
while the denoising one has learnt to fill them in.

.. note::
   Sizes on this page: 10,000 training images and 10 epochs per model,
   tested on 1,000 test images, to keep the documentation build short.
"""

# %%
# Fit a plain and a denoising autoencoder
# ---------------------------------------
import matplotlib.pyplot as plt
import numpy as np

from skae import DenseAutoencoder
from skae.datasets import load_mnist

N_TRAIN, N_TEST, EPOCHS, LEVEL = 10_000, 1_000, 10, 0.4

X, _ = load_mnist(n_samples=N_TRAIN)
X_test, _ = load_mnist(split="test", n_samples=N_TEST)
params = dict(
    hidden_layer_sizes=(256,),
    latent_dim=128,
    epochs=EPOCHS,
    batch_size=128,
    random_state=0,
)
plain = DenseAutoencoder(**params).fit(X)
denoising = DenseAutoencoder(**params, noise="mask", noise_level=LEVEL).fit(X)

# %%
# Erase 40% of the test pixels
# ----------------------------
# and ask both models for the clean digit. The error is measured against the
# clean test images.
rng = np.random.default_rng(0)
corrupted = X_test * (rng.random(X_test.shape) >= LEVEL)
models = {"plain": plain, "denoising": denoising}
restored = {}
for name, model in models.items():
    restored[name] = model.inverse_transform(model.transform(corrupted))
    mse = np.mean((restored[name] - X_test) ** 2)
    print(f"{name:>9} autoencoder: MSE to the clean digits {mse:.4f}")

# %%
# On clean inputs the plain model is the better one: denoising trades a
# little accuracy on clean data for robustness to corrupted data.
for name, model in models.items():
    mse = -model.score(X_test)
    print(f"{name:>9} autoencoder: MSE on clean test digits {mse:.4f}")

# %%
# Look at them
# ------------
rows = {
    "corrupted input": corrupted,
    "plain autoencoder": restored["plain"],
    "denoising autoencoder": restored["denoising"],
    "clean original": X_test,
}
fig, axes = plt.subplots(len(rows), 10, figsize=(7.5, 3.6))
for row, (title, images) in zip(axes, rows.items(), strict=True):
    for ax, image in zip(row, images[:10], strict=True):
        ax.imshow(image.reshape(28, 28), cmap="gray_r", vmin=0, vmax=1)
        ax.set_xticks([])
        ax.set_yticks([])
    row[0].set_ylabel(title, rotation=0, ha="right", va="center")
fig.tight_layout()
plt.show()
