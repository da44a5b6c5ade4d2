"""
==============================================
The convolutional autoencoder and its ELU twin
==============================================

The tutorial's second and third models: a convolutional autoencoder on
28 x 28 x 1 images, first with ReLU and then with ELU in the latent layer,
the decoder's ``Dense`` and its first transposed convolution.
:class:`skae.ConvAutoencoder` builds both: its defaults are the ReLU model
and ``activation="elu"`` gives the ELU variant, with the same 421,377
parameters.

.. note::
   Sizes on this page: 10,000 training images and 10 epochs per model,
   tested on 2,000 test images. The tutorial trains on all 60,000 images
   for 20 epochs; raise ``N_TRAIN`` and ``EPOCHS`` below to match it.
"""

# %%
# Load MNIST as images
# --------------------
# :class:`~skae.ConvAutoencoder` takes images of shape (n, 28, 28) directly,
# or flat rows together with ``image_shape=(28, 28, 1)``.
import matplotlib.pyplot as plt
import numpy as np

from skae import ConvAutoencoder
from skae.datasets import load_mnist

N_TRAIN, N_TEST, EPOCHS = 10_000, 2_000, 10

X_train, _ = load_mnist(n_samples=N_TRAIN, as_images=True)
X_test, _ = load_mnist(split="test", n_samples=N_TEST, as_images=True)
print(X_train.shape, X_test.shape)

# %%
# Fit the ReLU and the ELU model
# ------------------------------
# Both start from the same seed, so they differ only in the activation.
models = {
    "relu": ConvAutoencoder(epochs=EPOCHS, random_state=0).fit(X_train),
    "elu": ConvAutoencoder(
        activation="elu", epochs=EPOCHS, random_state=0
    ).fit(X_train),
}
# ``line_length`` keeps the summary within the page's column.
models["elu"].model_.summary(expand_nested=True, line_length=72)

# %%
# Compare them
# ------------
# ``score`` is the negated mean squared error on the test images.
# ``inverse_transform`` returns images in the layout given to ``fit``, here
# (n, 28, 28).
for name, ae in models.items():
    Z = ae.transform(X_test)
    at_zero, near_minus_one = np.mean(Z == 0), np.mean(Z < -0.99)
    print(
        f"{name}: test MSE {-ae.score(X_test):.4f}, "
        f"final training MSE {ae.history_['loss'][-1]:.4f},\n"
        f"  latent entries at 0: {at_zero:.0%}, "
        f"within 0.01 of -1: {near_minus_one:.0%}"
    )

fig, ax = plt.subplots(figsize=(5, 3))
for name, ae in models.items():
    ax.plot(
        np.arange(1, EPOCHS + 1), ae.history_["loss"], marker="o", label=name
    )
ax.set(
    xlabel="epoch",
    ylabel="training MSE",
    title="ConvAutoencoder training loss",
)
ax.legend()
fig.tight_layout()

# %%
# Originals, then the ReLU and the ELU model's reconstructions.
rows = {"original": X_test[:10]}
rows.update(
    {
        name: ae.inverse_transform(ae.transform(X_test[:10]))
        for name, ae in models.items()
    }
)
fig, axes = plt.subplots(3, 10, figsize=(7.5, 2.6))
for r, (name, images) in enumerate(rows.items()):
    for i in range(10):
        axes[r, i].imshow(images[i], cmap="gray_r", vmin=0, vmax=1)
        axes[r, i].set_xticks([])
        axes[r, i].set_yticks([])
    axes[r, 0].set_ylabel(name)
fig.tight_layout()

# %%
# The latent codes
# ----------------
# ReLU codes cannot be negative: every unit whose input is negative outputs
# exactly 0. ELU codes can go down to -1, and many entries sit near that
# floor, as the tutorial observed.
fig, axes = plt.subplots(1, 2, figsize=(7.5, 3), sharey=True)
for ax, (name, ae) in zip(axes, models.items(), strict=True):
    ax.hist(ae.transform(X_test).ravel(), bins=60)
    ax.set(title=f"{name} latent values", xlabel="value")
axes[0].set_ylabel("count")
fig.tight_layout()
