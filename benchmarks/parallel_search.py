"""Time GridSearchCV over a skae estimator with n_jobs=1 and n_jobs=2.

Run from the repository root::

    python benchmarks/parallel_search.py [--quick] [--repeats 2] [--no-thread-limit]

With n_jobs=2, joblib starts two worker processes (loky) and skae gives
TensorFlow in each one joblib's share of the cores (OMP_NUM_THREADS), so the
two workers do not fight over them. The first n_jobs=2 run pays for starting
the workers and importing TensorFlow in them; later runs reuse the workers.
"""

import argparse
import os
import time

import joblib
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV

from skae import DenseAutoencoder


def run(n_jobs, X, epochs):
    est = DenseAutoencoder(hidden_layer_sizes=(128,), epochs=epochs, batch_size=64, random_state=0)
    search = GridSearchCV(est, {"latent_dim": [4, 8, 16, 32]}, cv=2, n_jobs=n_jobs)
    start = time.perf_counter()
    search.fit(X)
    return time.perf_counter() - start, search.best_params_


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer epochs")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument(
        "--no-thread-limit",
        action="store_true",
        help="let TensorFlow in each worker use every core, for comparison (an empty OMP_NUM_THREADS "
        "reaches the workers, which skae then ignores)",
    )
    args = parser.parse_args()
    if args.no_thread_limit:
        os.environ["OMP_NUM_THREADS"] = ""
    X = (load_digits().data / 16.0).astype(np.float32)
    epochs = 5 if args.quick else 20
    print(f"cores available: {len(os.sched_getaffinity(0))}, joblib.cpu_count(): {joblib.cpu_count()}")
    print(f"8 fits (4 candidates x 2 folds) of a 64-128-latent-64 DenseAutoencoder, {epochs} epochs, 1797 rows")
    serial = [run(1, X, epochs)[0] for _ in range(args.repeats)]
    parallel = [run(2, X, epochs)[0] for _ in range(args.repeats)]
    print("n_jobs=1: " + ", ".join(f"{t:.1f} s" for t in serial))
    print("n_jobs=2: " + ", ".join(f"{t:.1f} s" for t in parallel) + " (the first includes starting the workers)")
    print(f"speed-up, best of each: {min(serial) / min(parallel):.2f}x")


if __name__ == "__main__":
    main()
