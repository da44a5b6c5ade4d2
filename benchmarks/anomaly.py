"""Anomaly detection on MNIST: train on one digit, score every test image.

For each digit ``d``, each model is fitted on the training images of ``d``
only and scores all test images with ``score_samples`` (negated
reconstruction error). Images of other digits are the anomalies; the table
reports the ROC AUC of ``-score_samples`` for "is not ``d``", per digit and
averaged, with PCA's reconstruction error as the linear baseline.

Usage, from the repository root::

    python benchmarks/anomaly.py            # all ten digits, prints the Markdown section
    python benchmarks/anomaly.py --quick    # three digits, small sizes: a smoke test

MNIST is read from ``../shared/data/mnist.npz`` or from the file named by
the environment variable ``SKAE_MNIST``. ``bench_anomaly(cfg)`` is the
suite's entry point (it only reads ``cfg.quick``).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import numpy as np  # noqa: E402
from sklearn.decomposition import PCA  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402

from skae import DenseAutoencoder, VariationalAutoencoder  # noqa: E402

DEFAULT_MNIST = HERE.parent / ".." / "shared" / "data" / "mnist.npz"


def load_mnist(path=None):
    """Return ``(X_train, y_train, X_test, y_test)``, flat float32 pixels in [0, 1]."""
    path = Path(path or os.environ.get("SKAE_MNIST", DEFAULT_MNIST))
    if not path.exists():
        raise FileNotFoundError(f"MNIST not found at {path}; set SKAE_MNIST to the mnist.npz file.")
    with np.load(path) as f:
        return (
            f["x_train"].reshape(-1, 784).astype(np.float32) / 255.0,
            f["y_train"],
            f["x_test"].reshape(-1, 784).astype(np.float32) / 255.0,
            f["y_test"],
        )


def models(epochs):
    """The detectors compared, by name; each has ``fit`` and ``score_samples``."""
    return {
        "PCA, 16 components": lambda: _PCADetector(16),
        "DenseAutoencoder (256-16-256)": lambda: DenseAutoencoder(
            hidden_layer_sizes=(256,), decoder_layer_sizes=None, latent_dim=16, epochs=epochs, random_state=0
        ),
        "VariationalAutoencoder (256-16-256)": lambda: VariationalAutoencoder(
            hidden_layer_sizes=(256,), latent_dim=16, epochs=epochs, random_state=0
        ),
    }


class _PCADetector:
    """PCA's reconstruction error as an anomaly score, for comparison."""

    def __init__(self, n_components):
        self.pca = PCA(n_components, random_state=0)

    def fit(self, X):
        self.pca.fit(X)
        return self

    def score_samples(self, X):
        return -np.mean((X - self.pca.inverse_transform(self.pca.transform(X))) ** 2, axis=1)


def run(*, digits=range(10), n_train=None, n_test=None, epochs=20, path=None, log=print):
    """Fit every model on each digit; return ``{model: {digit: (auc, fit_seconds)}}``."""
    X_train, y_train, X_test, y_test = load_mnist(path)
    X_test, y_test = X_test[:n_test], y_test[:n_test]
    results = {}
    for name, make in models(epochs).items():
        results[name] = {}
        for digit in digits:
            X = X_train[y_train == digit][:n_train]
            start = time.perf_counter()
            model = make().fit(X)
            seconds = time.perf_counter() - start
            auc = roc_auc_score(y_test != digit, -model.score_samples(X_test))
            results[name][digit] = (float(auc), seconds)
            log(f"{name}, digit {digit}: ROC AUC {auc:.4f} ({seconds:.1f} s fit on {len(X)} images)")
    return results


def markdown(results, *, n_test, epochs):
    """Render ``run``'s results as a Markdown section body (no heading)."""
    names = list(results)
    digits = list(next(iter(results.values())))
    header = ["model", *[str(d) for d in digits], "mean", "fit (s, mean)"]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|"]
    for name in names:
        aucs = [results[name][d][0] for d in digits]
        fit = np.mean([results[name][d][1] for d in digits])
        cells = [name, *(f"{a:.3f}" for a in aucs), f"**{np.mean(aucs):.3f}**", f"{fit:.1f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return (
        "One model per digit, trained on that digit's MNIST training images only "
        f"(autoencoders: {epochs} epochs); ROC AUC of the reconstruction error for telling the other "
        f"digits apart on {n_test:,} test images (column: the digit trained on).\n\n" + "\n".join(lines)
    )


def anomaly_section(*, quick=False, path=None, log=print):
    """Run the benchmark at full or ``quick`` size and return its Markdown."""
    if quick:
        kwargs = dict(digits=(0, 1, 7), n_train=1000, n_test=1000, epochs=5)
    else:
        kwargs = dict(digits=range(10), n_train=None, n_test=10_000, epochs=20)
    results = run(**kwargs, path=path, log=log)
    return markdown(results, n_test=kwargs["n_test"], epochs=kwargs["epochs"])


def bench_anomaly(cfg):
    """Entry point for ``benchmarks/run.py``: full size, or two digits at ``cfg``'s quick sizes."""
    if not cfg.quick:
        return anomaly_section()
    kwargs = dict(digits=(0, 1), n_train=min(cfg.n_train, 1000), n_test=min(cfg.n_test, 1000), epochs=2)
    return markdown(run(**kwargs, log=lambda message: None), n_test=kwargs["n_test"], epochs=kwargs["epochs"])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="three digits, small sizes: a smoke test")
    parser.add_argument("--output", type=Path, help="also write the section to this Markdown file")
    args = parser.parse_args(argv)
    section = "## Anomaly detection\n\n" + anomaly_section(quick=args.quick) + "\n"
    print(section)
    if args.output:
        args.output.write_text(section)


if __name__ == "__main__":
    main()
