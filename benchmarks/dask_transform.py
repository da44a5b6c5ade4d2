"""Throughput of ``transform`` on a Dask array: a LocalCluster against one process.

Usage, from the repository root (needs ``pip install -e ".[dask]"``)::

    python benchmarks/dask_transform.py                 # 200,000 MNIST-sized rows, dense and conv
    python benchmarks/dask_transform.py --rows 20000    # quicker

Fits the tutorial dense and conv models for one epoch on 2,000 MNIST images
(the weights do not matter for speed), then transforms the same array in
this process and block by block (``dask.array.map_blocks``) on a
``LocalCluster`` of single-threaded worker processes, alternating the two,
and prints rows per second (median of the runs) and the load average.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(HERE.parent))

import numpy as np  # noqa: E402
from _common import Config, load_mnist  # noqa: E402


def _transform_block(block, estimator):
    return estimator.transform(block)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--block", type=int, default=10_000, help="rows per Dask block")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)

    import dask.array as da
    from distributed import Client, LocalCluster

    from skae import ConvAutoencoder, DenseAutoencoder

    X, _, _, _ = load_mnist(Config(n_train=2_000, n_test=500))
    big = np.concatenate([X] * (args.rows // len(X) + 1))[: args.rows]
    models = {
        "dense": DenseAutoencoder(epochs=1, random_state=0).fit(X),
        "conv": ConvAutoencoder(epochs=1, random_state=0).fit(X),
    }
    print(f"{args.rows:,} rows of 784 values, blocks of {args.block:,}, {args.workers} worker processes x 1 thread")
    with (
        LocalCluster(
            n_workers=args.workers, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        blocks = client.persist(da.from_array(big, chunks=(args.block, -1)))  # the data already lives on the workers
        for name, est in models.items():
            n_out = est._n_features_out
            # Sent once: each worker unpickles (and compiles) the model once, not once per block.
            [remote] = client.scatter([est], broadcast=True)

            def on_cluster(remote=remote, n_out=n_out):
                return blocks.map_blocks(
                    _transform_block, remote, dtype=big.dtype, chunks=(args.block, n_out)
                ).compute()

            def local(est=est):
                return est.transform(big)

            np.testing.assert_allclose(on_cluster(), local(), rtol=1e-4, atol=1e-5)  # warm-up, and the same result
            times = {"one process": [], "cluster": []}
            for _ in range(args.repeats):
                for label, fn in (("one process", local), ("cluster", on_cluster)):
                    start = time.perf_counter()
                    fn()
                    times[label].append(time.perf_counter() - start)
            rates = {label: args.rows / statistics.median(ts) for label, ts in times.items()}
            print(
                f"{name}: one process {rates['one process']:,.0f} rows/s, cluster {rates['cluster']:,.0f} rows/s "
                f"({rates['cluster'] / rates['one process']:.2f}x); runs {times}"
            )
    print("load average", os.getloadavg())


if __name__ == "__main__":
    main()
