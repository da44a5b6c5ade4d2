"""The main job's figures: ``skae demo``'s clustering table over seeds, on the digits and on MNIST.

``skae demo`` reports, on the same images, KMeans on the tutorial model's
latent codes, KMeans on raw pixels and the recommended clustering
(``presets.clustering_pipeline`` on the demo's autoencoder). This runs the
demo with its defaults (``--no-plots --quiet``) once per seed and dataset,
appends one JSON line per run to ``--out`` and prints a Markdown table with
the mean and standard deviation over seeds::

    python benchmarks/demo.py run --dataset digits --seeds 0 1 2 --out demo.jsonl
    python benchmarks/demo.py run --dataset mnist --seeds 0 --out demo.jsonl
    python benchmarks/demo.py report demo.jsonl
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(HERE.parent))

from _common import mean_std, mnist_path, table  # noqa: E402

ROWS = (("cluster_ae", "KMeans on latent codes"), ("cluster_raw", "KMeans on raw pixels"))
RECOMMENDED = ("cluster_recommended", "recommended: clustering_pipeline")


def run_one(dataset, seed):
    """One default ``skae demo`` run; returns its figures as a dict."""
    from skae.cli import build_parser, run_demo

    with tempfile.TemporaryDirectory() as out:
        argv = ["demo", "--dataset", dataset, "--random-state", str(seed), "--no-plots", "--quiet", "--output", out]
        if dataset == "mnist":
            argv += ["--data", str(mnist_path())]
        args = build_parser().parse_args(argv)
        start, cpu = time.perf_counter(), time.process_time()
        results = run_demo(args, say=lambda message: None)
    row = {
        "dataset": dataset,
        "seed": seed,
        "n_train": results["n_train"],
        "mse_ae": results["mse_ae"],
        "mse_pca": results["mse_pca"],
        "wall_s": time.perf_counter() - start,
        "cpu_s": time.process_time() - cpu,
        "load": os.getloadavg()[0],
    }
    for key, _ in (*ROWS, RECOMMENDED):
        row[key] = results[key]
    return row


def report(runs):
    """Markdown: one table per dataset, a row per run and the mean ± std over seeds."""
    parts = []
    for dataset in sorted({r["dataset"] for r in runs}):
        rows = [r for r in runs if r["dataset"] == dataset]
        header = ["seed", "training images", *(name for _, name in (*ROWS, RECOMMENDED)), "wall (s)", "load"]
        body = []
        for r in rows:
            cells = [
                f"{r[key]['accuracy']:.3f} / {r[key]['NMI']:.3f}" if r[key] else "-" for key, _ in (*ROWS, RECOMMENDED)
            ]
            body.append([r["seed"], f"{r['n_train']:,}", *cells, f"{r['wall_s']:.0f}", f"{r['load']:.1f}"])
        if len(rows) > 1:
            summary = [
                " / ".join(mean_std([r[key][metric] for r in rows]) for metric in ("accuracy", "NMI"))
                for key, _ in (*ROWS, RECOMMENDED)
            ]
            body.append(["mean ± std", "", *summary, "", ""])
        parts += [f"**{dataset}** (accuracy / NMI):", "", table(header, body), ""]
    return "\n".join(parts)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    one = sub.add_parser("run", help="run the demo for some seeds, appending JSON lines")
    one.add_argument("--dataset", choices=["digits", "mnist"], required=True)
    one.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    one.add_argument("--out", type=Path, required=True)
    show = sub.add_parser("report", help="print the Markdown tables of a JSON-lines file")
    show.add_argument("jsonl", type=Path)
    args = parser.parse_args(argv)
    if args.command == "report":
        runs = [json.loads(line) for line in args.jsonl.read_text().splitlines() if line.strip()]
        print(report(runs))
        return
    for seed in args.seeds:
        row = run_one(args.dataset, seed)
        with open(args.out, "a") as f:
            f.write(json.dumps(row) + "\n")
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
