"""
===================================================
Grid search over architecture and activation
===================================================

skae's autoencoders are scikit-learn estimators, so
:class:`~sklearn.model_selection.GridSearchCV` can choose between a dense and
a convolutional model and between ReLU and ELU. It ranks them by ``score``,
the negated reconstruction error on each held-out fold: no labels needed.

.. note::
   Sizes on this page: 3,000 MNIST training images, 10 epochs per fit in
   batches of 64 (the tutorial uses 256; smaller batches give the small
   folds enough gradient steps) and 2-fold cross-validation: 4 candidates,
   8 fits and a refit. The tutorial trains on all 60,000 images for 20
   epochs; raise ``N_TRAIN`` and ``EPOCHS`` below for a search at that size.
"""

# %%
# Load MNIST
# ----------
# Flat rows: the dense model takes them as they are and the convolutional
# model reshapes them with ``image_shape``, so both fit in one pipeline.
import matplotlib.pyplot as plt
import pandas as pd
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import Pipeline

from skae import ConvAutoencoder, DenseAutoencoder
from skae.datasets import load_mnist

N_TRAIN, N_TEST, EPOCHS, BATCH = 3_000, 2_000, 10, 64

X_train, _ = load_mnist(n_samples=N_TRAIN)
X_test, _ = load_mnist(split="test", n_samples=N_TEST)

# %%
# The search
# ----------
# The pipeline's single step ``ae`` is itself a parameter: each dict of the
# grid names an architecture and the activations to try with it.
pipe = Pipeline([("ae", DenseAutoencoder())])
dense = DenseAutoencoder(epochs=EPOCHS, batch_size=BATCH, random_state=0)
conv = ConvAutoencoder(
    image_shape=(28, 28, 1), epochs=EPOCHS, batch_size=BATCH, random_state=0
)
param_grid = [
    {"ae": [dense], "ae__activation": ["relu", "elu"]},
    {"ae": [conv], "ae__activation": ["relu", "elu"]},
]
cv = KFold(2, shuffle=True, random_state=0)
search = GridSearchCV(pipe, param_grid, cv=cv)
search.fit(X_train)
n_candidates = len(search.cv_results_["params"])
best_mse = -search.best_score_
print(f"{n_candidates} candidates, best held-out MSE {best_mse:.4f}")

# %%
# Results
# -------
# ``mean_test_score`` is minus the mean squared reconstruction error on the
# held-out folds, so the best model has the score closest to zero.
params = search.cv_results_["params"]
results = pd.DataFrame(
    {
        "model": [type(p["ae"]).__name__ for p in params],
        "activation": search.cv_results_["param_ae__activation"],
        "held-out MSE": -search.cv_results_["mean_test_score"],
        "std": search.cv_results_["std_test_score"],
        "fit time (s)": search.cv_results_["mean_fit_time"],
        "rank": search.cv_results_["rank_test_score"],
    }
).sort_values("rank")
results.round(4)

# %%
# The winner, refitted on all 3,000 images, scored on the test images:
best = search.best_estimator_.named_steps["ae"]
print(f"best: {type(best).__name__}(activation={best.activation!r})")
print(f"test MSE: {-search.score(X_test):.4f}")

# %%
# The same ranking as a chart, best at the top. Horizontal bars leave room
# for each candidate's full name.
fig, ax = plt.subplots(figsize=(6, 2.8), layout="constrained")
labels = results["model"] + ", " + results["activation"].astype(str)
ax.barh(labels, results["held-out MSE"], xerr=results["std"], color="tab:blue")
ax.invert_yaxis()
ax.set(xlabel="held-out MSE (lower is better)")
ax.set(title="2-fold cross-validation")
plt.show()
