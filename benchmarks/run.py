"""Run skae's benchmark suite and write a Markdown report.

Usage, from the repository root::

    python benchmarks/run.py            # full run on MNIST, writes benchmarks/results.md
    python benchmarks/run.py --quick    # smoke test of the harness, under 2 minutes
    python benchmarks/run.py --only overhead inference --output /tmp/bench.md

MNIST is read from ``../shared/data/mnist.npz`` or from the file named by the
environment variable ``SKAE_MNIST``. Every section warms up before it times
anything and reports medians of repeated runs where it repeats.
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
import time
import traceback
import warnings
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(HERE.parent))

import figures  # noqa: E402
from _common import Config, environment  # noqa: E402
from deep_clustering import bench_deep_clustering  # noqa: E402
from sections import SECTIONS  # noqa: E402

SECTIONS = {**SECTIONS, "deep_clustering": ("10. Deep clustering", bench_deep_clustering)}

DEFAULT_OUTPUT = HERE / "results.md"

# Calling a functional encoder on a bare tensor (as users do) makes Keras warn on every call.
warnings.filterwarnings("ignore", message="The structure of `inputs` doesn't match")
warnings.filterwarnings("ignore", message="n_jobs value .* overridden", category=UserWarning)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks the harness in under 2 minutes")
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        help=f"Markdown file to write (default: {DEFAULT_OUTPUT.name} beside this script for a full run; "
        "a --quick run only writes when this is given)",
    )
    parser.add_argument("--only", nargs="+", choices=list(SECTIONS), help="run only these sections")
    parser.add_argument("--repeats", type=int, default=None, help="timed runs per contender (default: 3)")
    parser.add_argument("--n-train", type=int, default=None, help="MNIST training images used (default: 60,000)")
    parser.add_argument(
        "--kinds", nargs="+", choices=["dense", "conv", "conv-elu"], default=None, help="tutorial models to time"
    )
    return parser.parse_args(argv)


def _log(message):
    print(message, flush=True)


def run(cfg, names, *, log=_log, on_section=None):
    """Run the named sections; return the report's Markdown and whether every section succeeded.

    ``on_section(markdown_so_far)`` is called after each section, so a long run
    keeps the results of the sections it finished.
    """
    started = datetime.datetime.now(datetime.timezone.utc)
    parts = [
        "# skae benchmarks",
        "",
        f"Run {started:%Y-%m-%d %H:%M} UTC{' (--quick: tiny sizes, numbers are not meaningful)' if cfg.quick else ''}.",
        *environment(),
    ]
    ok = True
    for name in names:
        title, bench = SECTIONS[name]
        log(f"[{time.strftime('%H:%M:%S')}] {title} ...")
        start = time.perf_counter()
        try:
            body = bench(cfg)
        except Exception:  # one broken section must not lose the others' results
            ok = False
            body = f"Failed:\n\n```\n{traceback.format_exc()[-3000:]}\n```"
        took = time.perf_counter() - start
        log(f"[{time.strftime('%H:%M:%S')}] {title} done in {took:.0f} s")
        parts += ["", f"## {title}", "", body, "", f"*Section time: {took:.0f} s.*"]
        if on_section is not None:
            on_section("\n".join([*parts, "", "*(run in progress)*", ""]))
    total = (datetime.datetime.now(datetime.timezone.utc) - started).total_seconds()
    parts += ["", f"Total time: {total / 60:.1f} min.", ""]
    return "\n".join(parts), ok


def main(argv=None):
    args = parse_args(argv)
    cfg = Config.quick_config() if args.quick else Config()
    if args.repeats is not None:
        cfg.repeats = args.repeats
    if args.n_train is not None:
        cfg.n_train = args.n_train
    if args.kinds is not None:
        cfg.kinds = tuple(args.kinds)
    output = args.output if args.output is not None else (None if args.quick else DEFAULT_OUTPUT)
    report, ok = run(cfg, args.only or list(SECTIONS), on_section=output.write_text if output else None)
    if output is None:
        print(report)
    else:
        output.write_text(report)
        print(f"wrote {output}")
        if output.resolve() == DEFAULT_OUTPUT:
            # The machine-readable copy that the figure-consistency test reads.
            figures.write(DEFAULT_OUTPUT, figures.FIGURES)
            print(f"wrote {figures.FIGURES}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
