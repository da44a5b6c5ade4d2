"""Train the tutorial's dense autoencoder on MNIST and cluster its latent codes.

Run from the repository root::

    python examples/quickstart.py
"""

import os
from pathlib import Path

import numpy as np
from sklearn.cluster import KMeans
from sklearn.datasets import load_digits
from sklearn.metrics import normalized_mutual_info_score
from sklearn.pipeline import Pipeline

from skae import DenseAutoencoder

mnist = Path(os.environ.get("SKAE_MNIST", Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "mnist.npz"))
if mnist.exists():
    with np.load(mnist) as f:
        X, y = f["x_train"][:10000].reshape(10000, -1) / 255.0, f["y_train"][:10000]
    name = f"MNIST ({mnist})"
else:
    digits = load_digits()
    X, y = digits.data / 16.0, digits.target
    name = "scikit-learn's 8x8 digits (no MNIST file found)"

print(f"data: {name}, {X.shape[0]} samples of {X.shape[1]} features")
pipe = Pipeline(
    [("ae", DenseAutoencoder(epochs=5, random_state=0, verbose=2)), ("kmeans", KMeans(10, n_init=10, random_state=42))]
)
labels = pipe.fit_predict(X)
ae = pipe.named_steps["ae"]
print(f"reconstruction MSE: {-ae.score(X):.4f}")
print(f"KMeans on the 64-d latent codes: NMI {normalized_mutual_info_score(y, labels):.3f}")
