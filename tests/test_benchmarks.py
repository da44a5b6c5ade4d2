"""Smoke tests of the benchmark harnesses on tiny sizes: benchmarks/run.py, and gpu_check.py without a GPU."""

import importlib
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from _helpers import MNIST_PATH, needs_mnist

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture
def bench(monkeypatch):
    monkeypatch.setenv("SKAE_MNIST", str(MNIST_PATH))
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    for name in ("run", "sections", "_common", "deep_clustering"):
        sys.modules.pop(name, None)
    return importlib.import_module("run")


@needs_mnist
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
    cfg.startup_repeats = 1  # 6 fresh processes, not 18
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


@needs_mnist
def test_quick_mode_writes_nowhere_unless_told(bench):
    args = bench.parse_args(["--quick"])
    assert args.quick and args.output is None
    assert bench.parse_args([]).output is None and bench.DEFAULT_OUTPUT.name == "results.md"


# ----------------------------------------------------------------------
# gpu_check.py: nothing here needs, or uses, a GPU.


@pytest.fixture
def gpu_check(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    sys.modules.pop("gpu_check", None)
    return importlib.import_module("gpu_check")


def test_gpu_check_stops_at_once_where_no_gpu_is_visible(tmp_path):
    # An empty CUDA_VISIBLE_DEVICES hides every GPU, so this holds on a machine with one too.
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    out = tmp_path / "report.md"
    command = [sys.executable, str(BENCHMARKS / "gpu_check.py"), "--output", str(out)]
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60, check=False)

    assert result.returncode == 2, result.stderr
    message = result.stderr.strip()
    assert message.startswith("gpu_check: no GPU visible: CUDA_VISIBLE_DEVICES is ''"), message
    assert "--allow-cpu" in message and len(message.splitlines()) == 1
    assert not out.exists()  # it stopped before starting anything


def test_gpu_check_finds_gpus_by_nvidia_smi_alone(gpu_check, tmp_path):
    gpus, reason = gpu_check.find_gpu({}, which=lambda name: None, driver=tmp_path / "no-driver")
    assert gpus == [] and reason.startswith("nvidia-smi is not installed and there is no NVIDIA driver")

    def fake_smi(command, **kwargs):
        if "--query-gpu=name,driver_version,memory.total" in command:
            return subprocess.CompletedProcess(command, 0, "NVIDIA H100 80GB HBM3, 550.54.15, 81559 MiB\n", "")
        return subprocess.CompletedProcess(command, 0, "| NVIDIA-SMI 550.54.15    CUDA Version: 12.4     |", "")

    gpus, reason = gpu_check.find_gpu({}, which=lambda name: "/usr/bin/nvidia-smi", run=fake_smi)
    assert reason == ""
    assert gpus == [{"name": "NVIDIA H100 80GB HBM3", "driver": "550.54.15", "memory": "81559 MiB", "cuda": "12.4"}]


def test_gpu_check_reads_pytest_output_whole_or_cut_off(gpu_check):
    failed = "FAILED tests/test_x.py::test_y - AssertionError"
    done = f"bringing up nodes...\n..s.F\n{failed}\n1 failed, 3 passed, 1 skipped in 9.1s\n"
    assert gpu_check.parse_pytest(done) == (
        {"failed": 1, "passed": 3, "skipped": 1},
        None,
        failed,
    )
    cut = "bringing up nodes...\n" + "." * 70 + "  [ 18%]\n" + "..s.E.."
    counts, progress, first = gpu_check.parse_pytest(cut)
    assert counts == {"passed": 75, "skipped": 1, "error": 1} and progress == "18%" and first is None


def test_gpu_check_report_says_what_ran_and_what_did_not(gpu_check, tmp_path):
    args = gpu_check.parse_args(["--quick", "--output", str(tmp_path / "r.md")])
    run = gpu_check.Run(args, "python benchmarks/gpu_check.py --quick", tmp_path)
    run.results["meta"].update(gpus=[{"name": "NVIDIA H100", "driver": "1", "memory": "80 GiB", "cuda": "12.4"}])
    run.results["meta"]["data"] = "synthetic rows of MNIST's shape"
    run.results["probes"] = {
        "tensorflow": {"gpus": ["NVIDIA H100"], "version": "2.21.0", "build": "CUDA 12.5"},
        "jax": {"gpus": [], "error": "jax not installed"},
        "torch": {"gpus": [], "version": "2.13.0+cpu", "build": "a CPU build"},
    }
    per_size = {str(size): {"differ": 0, "max_abs": 0.0} for size in args.sizes["batch_sizes"]}
    fast = {**per_size, "2000": {"differ": 5, "max_abs": 3e-7}}
    identity = {
        "device": "GPU:0",
        "plan": "tensorflow, exact: ...",
        "sizes": [4, 1024, 1024],
        "loop": "one call",
        "agreeing": [4, 1024],
        "groups": [[1], [4, 1024]],
        "probe_s": 0.4,
        "fast_block": 5349,
        "checked": 24,
        "zero_outputs": 0.3,
        "modes": {"exact": per_size, "fast": fast},
    }
    timing = {"device": "GPU:0", "fit_epoch_s": 0.5, "first_epoch_s": 2.0, "plan_s": 0.4}
    timing.update(one_exact_ms=0.5, one_fast_ms=0.4, bulk_exact_ms=12.0, bulk_fast_ms=10.0)
    run.results["runs"] = {
        "tensorflow": {
            "gpu": {"identity": {"dense": identity}, "timings": {"dense": timing}, "error": "timed out after 150 s"},
            "cpu": {"skipped": "not run: out of time"},
        }
    }
    run.results["tests"] = {"tensorflow": {"status": "passed", "counts": {"passed": 33}, "progress": "100%"}}
    run.results["tests"]["tensorflow"].update(seconds=80.0, first_failure=None)
    run.results["tests_command"] = "python -m pytest -n 4 -m 'backends and not benchmark' -x -q"
    run.problem("tensorflow on the GPU: timed out after 150 s (kept what it finished)")
    run.write()
    report = args.output.read_text()

    assert report.startswith("# skae on a GPU") and "NVIDIA H100, driver 1, CUDA 12.4" in report
    assert "| jax | - | - | jax not installed |" in report
    assert "| torch | 2.13.0+cpu | a CPU build | no GPU |" in report
    assert "| tensorflow | dense | GPU:0 | exact: 4,1024,1024 (one call) | 30% | 0 | 0 | 0 | 0 | 0 |" in report
    assert "| tensorflow | dense | GPU:0 | fast: blocks of 5349 |  | 0 | 0 | 0 | 0 | 5 (3.0e-07) |" in report
    assert "| tensorflow | conv | - | - | - | timed out after 150 s |" in report  # the model it did not reach
    assert "| tensorflow | dense | `fit`, s per epoch | 0.50 | not run: out of time | - | GPU:0 |" in report
    assert "| tensorflow | passed | 33 | 0 | 0 | 100% | 80 | - |" in report
    assert "## Problems" in report and "synthetic rows of MNIST's shape" in report
    assert args.output.with_suffix(".json").exists()


def test_gpu_check_synthetic_rows_look_like_mnist_in_shape_range_and_sparsity(gpu_check):
    # Without MNIST, these rows stand in; mostly zeros, as MNIST's are, so the dense model's codes stay live.
    rows = gpu_check.synthetic_rows(500)
    assert rows.shape == (500, 784) and rows.dtype == np.float32
    assert rows.min() >= 0.0 and rows.max() <= 1.0
    assert 0.5 < np.mean(rows == 0) < 0.9
    assert np.array_equal(rows, gpu_check.synthetic_rows(500))


# ----------------------------------------------------------------------
# peers.py: skae beside ClustPy. The fits take hours; here, the table and
# the failure path, with no fit.


@pytest.fixture
def peers(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    for name in ("peers", "_common", "deep_clustering"):
        sys.modules.pop(name, None)
    return importlib.import_module("peers")


def test_peers_report_gives_each_method_its_seeds_spread_and_failures(peers):
    def run(method, seed, accuracy, cpu=100.0):
        return {
            "method": method,
            "seed": seed,
            "n": 10_000,
            "accuracy": accuracy,
            "nmi": accuracy - 0.1,
            "wall_s": cpu / 2,
            "cpu_s": cpu,
            "load_before": 0.5,
            "load_after": 1.5,
        }

    runs = [
        run("skae-dec", 0, 0.9),
        run("skae-dec", 1, 0.8, cpu=140.0),
        run("clustpy-n2d", 0, 0.85),
        {"method": "clustpy-dec", "seed": 0, "n": 10_000, "error": "ModuleNotFoundError: No module named 'clustpy'"},
    ]
    report = peers.report(runs)
    lines = report.splitlines()
    dec = next(line for line in lines if line.startswith("| skae `DeepEmbeddedClustering"))
    assert "| 0, 1 | 0.850 ± 0.071 | 0.900 0.800 | 0.750 ± 0.071 | 60 ± 14 | 120 ± 28 |" in dec
    n2d = next(line for line in lines if line.startswith("| ClustPy `N2D`"))
    assert "| 0 | 0.850 | 0.850 | 0.750 | 50 | 100 |" in n2d
    assert any(line.startswith("| ClustPy `DEC`, defaults | failed: ") and "clustpy" in line for line in lines)
    # Methods that did not run have no row; the note gives the size and the load.
    assert not any("IDEC" in line for line in lines)
    assert "10,000 MNIST images" in report and "load average 0.5 to 1.5" in report


@pytest.mark.skipif(importlib.util.find_spec("clustpy") is not None, reason="ClustPy is installed: it would fit")
def test_peers_names_a_missing_package_instead_of_skipping_it(peers):
    result = peers.run_in_child("clustpy-dec", 100, 0)
    assert result["method"] == "clustpy-dec" and result["seed"] == 0
    assert "No module named 'clustpy'" in result["error"]
