"""Accuracy of ``presets.clustering_pipeline()`` over seeds, on MNIST.

One seed is not a result: the pipeline's autoencoder, UMAP and Gaussian
mixture all depend on ``random_state``. This fits the default pipeline once
per seed on the chosen images and prints one Markdown row per seed (accuracy,
NMI, wall and CPU time, load average) as each finishes, then the mean and
standard deviation. Rows are also appended to ``--out`` as JSON lines, so a
run that is stopped keeps what it measured.

    python benchmarks/preset_seeds.py --seeds 0 1 2 3 4            # all 70,000 images
    python benchmarks/preset_seeds.py --n-samples 20000 --seeds 0 1 2
    python benchmarks/preset_seeds.py --seeds 0 --params '{"autoencoder__epochs": 35}'

``--params`` sets the pipeline's parameters (``Pipeline.set_params``
names) before each fit, to measure a variant of the preset.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
from _common import mean_std  # benchmarks/, the script's own folder
from sklearn.metrics import normalized_mutual_info_score

from skae.datasets import load_mnist
from skae.metrics import clustering_accuracy
from skae.presets import clustering_pipeline


def load_all(path, n_samples):
    train_X, train_y = load_mnist(path, split="train")
    test_X, test_y = load_mnist(path, split="test")
    X, y = np.concatenate([train_X, test_X]), np.concatenate([train_y, test_y])
    return (X, y) if n_samples is None else (X[:n_samples], y[:n_samples])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.environ.get("SKAE_MNIST"), help="mnist.npz (default: $SKAE_MNIST)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--n-samples", type=int, default=None, help="first N of the 70,000 images (default: all)")
    parser.add_argument("--out", default="preset_seeds.jsonl")
    parser.add_argument("--params", type=json.loads, default={}, help="JSON of Pipeline.set_params overrides")
    args = parser.parse_args(argv)
    X, y = load_all(args.data, args.n_samples)
    print(f"clustering_pipeline(10) with {args.params or 'its defaults'} on {len(X):,} MNIST images (train then test)")
    print("| seed | accuracy | NMI | wall (s) | CPU (s) | load average |\n|---|---|---|---|---|---|", flush=True)
    rows = []
    for seed in args.seeds:
        wall, cpu = time.perf_counter(), time.process_time()
        labels = clustering_pipeline(10, random_state=seed).set_params(**args.params).fit_predict(X)
        row = {
            "seed": seed,
            "params": args.params,
            "n": len(X),
            "accuracy": float(clustering_accuracy(y, labels)),
            "nmi": float(normalized_mutual_info_score(y, labels)),
            "wall_s": time.perf_counter() - wall,
            "cpu_s": time.process_time() - cpu,
            "load": os.getloadavg()[0],
        }
        rows.append(row)
        with open(args.out, "a") as f:
            f.write(json.dumps(row) + "\n")
        print(
            f"| {seed} | {row['accuracy']:.3f} | {row['nmi']:.3f} | {row['wall_s']:.0f} | {row['cpu_s']:.0f} "
            f"| {row['load']:.1f} |",
            flush=True,
        )
    if len(rows) > 1:
        acc = [r["accuracy"] for r in rows]
        nmi = [r["nmi"] for r in rows]
        print(f"mean accuracy {mean_std(acc)} (min {min(acc):.3f}), NMI {mean_std(nmi)}")


if __name__ == "__main__":
    main()
