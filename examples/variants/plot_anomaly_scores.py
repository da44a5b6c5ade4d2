"""
===========================================
Anomaly detection with reconstruction error
===========================================

An autoencoder trained on one kind of data reconstructs that kind well and
anything else badly. skae's autoencoders are scikit-learn outlier detectors
built on that: ``score_samples`` is the negated reconstruction error,
``contamination`` fixes a threshold ``offset_`` at that quantile of the
training scores, and ``decision_function`` and ``predict`` (-1 for
outliers, 1 for inliers) work as in :class:`~sklearn.ensemble.IsolationForest`.

Here a :class:`~skae.DenseAutoencoder` learns only the digit 0, and every
other digit of the test set is an anomaly.

.. note::
   Sizes on this page: all of MNIST's training zeros (5,923 images) and 10
   epochs, scored on 5,000 test images. ``benchmarks/anomaly.py`` runs the
   same experiment for every digit on the full test set.
"""

# %%
# Train on zeros only
# -------------------
import matplotlib.pyplot as plt
import numpy as np
from sklearn.metrics import roc_auc_score

from skae import DenseAutoencoder
from skae.datasets import load_mnist

EPOCHS, N_TEST = 10, 5_000

X, y = load_mnist()
X_test, y_test = load_mnist(split="test", n_samples=N_TEST)
detector = DenseAutoencoder(
    hidden_layer_sizes=(256,),
    latent_dim=16,
    epochs=EPOCHS,
    contamination=0.05,
    random_state=0,
).fit(X[y == 0])
print(f"threshold offset_ = {detector.offset_:.4f}")

# %%
# Score the test set
# ------------------
scores = detector.score_samples(X_test)
is_anomaly = y_test != 0
auc = roc_auc_score(is_anomaly, -scores)
print(f"ROC AUC, other digits against zeros: {auc:.3f}")
flagged = detector.predict(X_test) == -1
others, zeros = flagged[is_anomaly].mean(), flagged[~is_anomaly].mean()
print(f"flagged as outliers: {others:.1%} of the other digits")
print(f"flagged as outliers: {zeros:.1%} of the zeros")

# %%
# The histogram of scores shows the two populations and the threshold that
# ``contamination=0.05`` put at the 5% worst training reconstructions.
bins = np.linspace(scores.min(), scores.max(), 60)
fig, ax = plt.subplots(figsize=(7.5, 4))
ax.hist(
    scores[~is_anomaly],
    bins=bins,
    alpha=0.7,
    density=True,
    label="0 (trained on)",
)
ax.hist(
    scores[is_anomaly],
    bins=bins,
    alpha=0.7,
    density=True,
    label="1-9 (anomalies)",
)
ax.axvline(
    detector.offset_,
    color="k",
    linestyle="--",
    label="offset_ (predict's threshold)",
)
ax.set_xlabel("score_samples: negated reconstruction MSE")
ax.set_ylabel("density")
ax.legend()
fig.tight_layout()
plt.show()

# %%
# Which digits look most like a zero to the model? The median score per
# digit:
for digit in range(10):
    print(digit, f"{np.median(scores[y_test == digit]):.4f}")
