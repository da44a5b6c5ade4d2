"""Smoke test of the benchmark harness (benchmarks/run.py) on tiny sizes."""

import importlib
import sys
from pathlib import Path

import pytest
from _helpers import MNIST_PATH, needs_mnist

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
pytestmark = needs_mnist


@pytest.fixture
def bench(monkeypatch):
    monkeypatch.setenv("SKAE_MNIST", str(MNIST_PATH))
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    for name in ("run", "sections", "_common", "deep_clustering"):
        sys.modules.pop(name, None)
    return importlib.import_module("run")


@pytest.mark.slow  # every section, each fitting models: minutes
def test_quick_run_writes_every_section_without_touching_results_md(bench, tmp_path):
    results = BENCHMARKS / "results.md"
    before = results.read_bytes() if results.exists() else None
    cfg = bench.Config.quick_config()
    # Even smaller than --quick, so the test suite stays fast.
    cfg.n_train, cfg.n_test, cfg.repeats = 1_200, 300, 1
    cfg.clustering_subset, cfg.scaling_sizes, cfg.big_transform_rows = 600, (300,), 5_000
    cfg.grid_rows, cfg.tsne_rows, cfg.umap, cfg.kinds = 200, 100, False, ("dense",)
    cfg.grid_n_jobs = (1,)  # worker processes each import TensorFlow: left to `run.py --quick`
    report, ok = bench.run(cfg, list(bench.SECTIONS), log=lambda message: None)
    out = tmp_path / "bench.md"
    out.write_text(report)

    assert ok, report
    assert "Failed" not in report
    for title, _ in bench.SECTIONS.values():
        assert f"## {title}" in report
    assert "tensorflow" in report and "Machine:" in report
    assert "| dense (tutorial) | skae `fit` |" in report
    assert "PCA, 64 components" in report
    assert (results.read_bytes() if results.exists() else None) == before


def test_quick_mode_writes_nowhere_unless_told(bench):
    args = bench.parse_args(["--quick"])
    assert args.quick and args.output is None
    assert bench.parse_args([]).output is None and bench.DEFAULT_OUTPUT.name == "results.md"
