"""skae's deep clustering beside ClustPy's, on the same MNIST images and seeds.

Each method clusters the first ``--n`` MNIST images (training images first,
then the test images) into 10 clusters, once per seed, in a fresh Python
process of its own: its CPU seconds are that process's alone (all its
threads), and no backend, thread pool or compiled kernel carries over from
one method to the next. Methods run one at a time; run nothing else beside
them. Each run appends a JSON line to ``--out`` as it finishes, so a run
that is stopped keeps what it measured, and prints one Markdown row.

    python benchmarks/peers.py --n 10000 --seeds 0 1 2 --out peers.jsonl
    python benchmarks/peers.py --methods clustpy-n2d skae-preset --seeds 0 --out peers.jsonl
    python benchmarks/peers.py --report peers.jsonl

The methods (``--methods``, all by default):

- ``skae-dec``: ``DeepEmbeddedClustering(10)`` with its defaults, on the
  images as ``(n, 28, 28)``, which it moves and turns during pretraining;
- ``skae-preset``: ``presets.clustering_pipeline(10)`` (N2D's dense
  autoencoder, UMAP, a Gaussian mixture) on flat rows;
- ``clustpy-dec`` and ``clustpy-idec``: ClustPy's ``DEC`` and ``IDEC`` with
  their defaults on flat rows;
- ``clustpy-dec-aug``: ClustPy's ``DEC`` with ``augmentation_invariance=True``
  and its default augmented loaders (``get_default_augmented_dataloaders``:
  images moved, turned and sheared, ClustPy's own way of training on
  augmented data);
- ``clustpy-n2d``: ClustPy's ``N2D`` with UMAP to 10 dimensions,
  ``n_neighbors=20`` and ``min_dist=0`` (N2D's published settings).

ClustPy is a benchmark-only dependency, never one of skae's: ``pip install
clustpy torchvision`` in the same environment (``benchmarks/README.md``).
A method whose package is missing is reported as such, not skipped in
silence.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

N_CLUSTERS = 10
#: N2D's published UMAP settings (McConville et al., 2020).
N2D_UMAP = {"n_components": N_CLUSTERS, "n_neighbors": 20, "min_dist": 0.0}


def _mnist(n, images=False):
    """The first ``n`` MNIST images scaled to [0, 1] and their digits: flat rows, or ``(n, 28, 28)``."""
    from deep_clustering import _load  # benchmarks/deep_clustering.py: training images, then test images

    return _load(n, images=images)


def _skae_dec(n, seed):
    from skae import DeepEmbeddedClustering

    X, y = _mnist(n, images=True)
    return DeepEmbeddedClustering(N_CLUSTERS, random_state=seed).fit(X).labels_, y


def _skae_preset(n, seed):
    from skae.presets import clustering_pipeline

    X, y = _mnist(n)
    return clustering_pipeline(N_CLUSTERS, random_state=seed).fit_predict(X), y


def _clustpy_dec(n, seed, idec=False):
    from clustpy.deep import DEC, IDEC

    X, y = _mnist(n)
    method = IDEC if idec else DEC
    return method(N_CLUSTERS, random_state=seed).fit(X).labels_, y


def _clustpy_dec_aug(n, seed):
    """ClustPy's DEC trained on moved, turned and sheared images: its own default augmented loaders."""
    from clustpy.deep import DEC, get_default_augmented_dataloaders

    X, y = _mnist(n)
    # The training loader yields (index, augmented image, image), shuffled,
    # each scaled to zero mean and unit variance and flattened; the other
    # yields (index, image), in order, for the embedding and the predictions.
    # A copy: the function scales the tensor it is given in place, and X is
    # the array that DEC then fits.
    loaders = get_default_augmented_dataloaders(X.reshape(-1, 28, 28).copy())
    dec = DEC(N_CLUSTERS, random_state=seed, custom_dataloaders=loaders, augmentation_invariance=True)
    return dec.fit(X).labels_, y


def _clustpy_n2d(n, seed):
    from clustpy.deep import N2D
    from umap import UMAP

    X, y = _mnist(n)
    # N2D's manifold is t-SNE unless told: UMAP, as in the N2D paper.
    n2d = N2D(N_CLUSTERS, manifold_class=UMAP, manifold_params=dict(N2D_UMAP), random_state=seed)
    return n2d.fit(X).labels_, y


METHODS = {
    "skae-dec": ("skae `DeepEmbeddedClustering(10)`, defaults, X as images", _skae_dec),
    "skae-preset": ("skae `presets.clustering_pipeline(10)`", _skae_preset),
    "clustpy-dec": ("ClustPy `DEC`, defaults", _clustpy_dec),
    "clustpy-idec": ("ClustPy `IDEC`, defaults", lambda n, seed: _clustpy_dec(n, seed, idec=True)),
    "clustpy-dec-aug": ("ClustPy `DEC`, its augmentation (`augmentation_invariance=True`)", _clustpy_dec_aug),
    "clustpy-n2d": ("ClustPy `N2D`, UMAP to 10 dimensions, `n_neighbors=20`, `min_dist=0`", _clustpy_n2d),
}


def run_one(method, n, seed):
    """Fit ``method`` on the first ``n`` images with ``seed`` in this process; return its scores and times."""
    from sklearn.metrics import normalized_mutual_info_score

    from skae.metrics import clustering_accuracy

    load_before = os.getloadavg()[0]
    wall, cpu = time.perf_counter(), time.process_time()
    labels, y = METHODS[method][1](n, seed)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {
        "method": method,
        "seed": seed,
        "n": n,
        "accuracy": float(clustering_accuracy(y, labels)),
        "nmi": float(normalized_mutual_info_score(y, labels)),
        "wall_s": wall,
        "cpu_s": cpu,
        "load_before": load_before,
        "load_after": os.getloadavg()[0],
    }


def run_in_child(method, n, seed):
    """Run :func:`run_one` in a fresh process; return its result, or the error it ended with."""
    code = (
        "import json, sys; sys.path.insert(0, sys.argv[1]); import peers; "
        "print(json.dumps(peers.run_one(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))))"
    )
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", code, str(HERE), method, str(n), str(seed)],
        capture_output=True,
        text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
        check=False,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        # The exception's last line: a missing package names itself there.
        lines = proc.stderr.strip().splitlines()
        return {"method": method, "seed": seed, "n": n, "error": lines[-1] if lines else f"exit {proc.returncode}"}
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    # The whole process, its imports and data loading included.
    result["process_wall_s"] = time.perf_counter() - start
    result["process_cpu_s"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return result


def report(runs):
    """Markdown: one row per method, mean ± std over its seeds (each seed's accuracy listed)."""
    from _common import mean_std, table

    rows = []
    for method, (description, _) in METHODS.items():
        done = [r for r in runs if r["method"] == method and "error" not in r]
        failed = [r for r in runs if r["method"] == method and "error" in r]
        if failed and not done:
            rows.append([description, f"failed: {failed[0]['error']}", "", "", "", "", ""])
        if not done:
            continue
        acc, nmi = [r["accuracy"] for r in done], [r["nmi"] for r in done]
        rows.append(
            [
                description,
                ", ".join(str(r["seed"]) for r in done),
                mean_std(acc),
                " ".join(f"{a:.3f}" for a in acc),
                mean_std(nmi),
                mean_std([r["wall_s"] for r in done], "{:.0f}"),
                mean_std([r["cpu_s"] for r in done], "{:.0f}"),
            ]
        )
    sizes = sorted({r["n"] for r in runs})
    loads = [r[key] for r in runs if "error" not in r for key in ("load_before", "load_after")]
    note = (
        f"{' and '.join(f'{n:,}' for n in sizes)} MNIST images; one fit at a time, each in a fresh process; "
        f"wall and CPU seconds of the fit alone (imports and data loading left out); 1-minute load average "
        f"{min(loads):.1f} to {max(loads):.1f} around the fits."
        if loads
        else ""
    )
    header = ["method", "seeds", "accuracy", "each seed", "NMI", "wall s", "CPU s"]
    return "\n".join([table(header, rows), "", note]).strip()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", nargs="+", choices=list(METHODS), default=list(METHODS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--n", type=int, default=10_000, help="the first N of the 70,000 images (default 10,000)")
    parser.add_argument("--out", type=Path, default=Path("peers.jsonl"), help="JSON lines, appended")
    parser.add_argument("--report", type=Path, metavar="JSONL", help="only render the table of these JSON lines")
    args = parser.parse_args(argv)
    if args.report is not None:
        print(report([json.loads(line) for line in args.report.read_text().splitlines() if line.strip()]))
        return 0
    runs = []
    print("| method | seed | accuracy | NMI | wall s | CPU s | load |\n|---|---|---|---|---|---|---|", flush=True)
    for seed in args.seeds:  # seed by seed, so that a stopped run has every method of its first seeds
        for method in args.methods:
            result = run_in_child(method, args.n, seed)
            runs.append(result)
            with open(args.out, "a") as f:
                f.write(json.dumps(result) + "\n")
            if "error" in result:
                print(f"| {method} | {seed} | failed: {result['error']} | | | | |", flush=True)
            else:
                print(
                    f"| {method} | {seed} | {result['accuracy']:.3f} | {result['nmi']:.3f} | {result['wall_s']:.0f} "
                    f"| {result['cpu_s']:.0f} | {result['load_before']:.1f} → {result['load_after']:.1f} |",
                    flush=True,
                )
    print()
    print(report(runs))
    return 0 if all("error" not in r for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
