"""The skae command: `skae demo` end to end with tiny settings, its options and its fallbacks."""

import argparse
import re
import subprocess
import sys

import numpy as np
import pytest
from _helpers import MNIST_PATH, needs_mnist
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split

from skae import _demo, cli
from skae.datasets import load_digits

BEST_LINE = re.compile(
    r"best here: (KMeans on latent codes|KMeans on raw pixels|recommended \(latent codes → UMAP → GMM\)), "
    r"accuracy (0\.\d{3}|1\.000) in \d+\.\d s"
)

FIGURES = [
    "history.png",
    "reconstructions.png",
    "interpolation.png",
    "latent_map.png",
    "latent_images.png",
    "latent_map_clusters.png",
]
OPTIONS = [
    "--model",
    "--dataset",
    "--data",
    "--n-samples",
    "--epochs",
    "--latent-dim",
    "--batch-size",
    "--tsne-samples",
    "--output",
    "--clustering",
    "--random-state",
    "--threads",
    "--no-plots",
    "--quiet",
]


def run(argv):
    return cli.main(argv)


def test_help_explains_every_option(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["demo", "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for option in OPTIONS:
        assert option in text
    # Every option of the parser has help text.
    demo = next(a for a in cli.build_parser()._actions if isinstance(a, argparse._SubParsersAction)).choices["demo"]
    assert all(action.help for action in demo._actions)


def test_bare_command_shows_usage(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main([])
    assert exit_info.value.code == 2
    assert "usage: skae" in capsys.readouterr().err


@pytest.mark.slow
def test_demo_on_digits_writes_figures_and_report(tmp_path, capsys):
    out = tmp_path / "demo"
    argv = ["demo", "--dataset", "digits", "--n-samples", "300", "--epochs", "2", "--tsne-samples", "60"]
    assert run([*argv, "--model", "conv-elu", "--output", str(out)]) == 0
    text = capsys.readouterr().out
    assert "data: scikit-learn's 8x8 digits" in text
    assert "300 training and 75 test images of 8x8 pixels" in text
    assert re.search(r"epoch 1/2  loss \d\.\d+", text) and re.search(r"epoch 2/2  loss \d\.\d+", text)
    for name in FIGURES:
        assert (out / name).stat().st_size > 1000, name
    report = (out / "report.md").read_text()
    assert "ConvAutoencoder" in report and "421,377" not in report  # an 8x8 model, not the MNIST one
    assert _demo.DEEP_CLUSTERING_NOTE not in report  # its figures are MNIST's
    assert "| PCA (16 components) |" in report
    assert re.search(r"\| KMeans on latent codes \| 0\.\d{3} \| 0\.\d{3} \| -?0\.\d{3} \|", report)
    assert re.search(r"\| recommended: latent codes → UMAP → GMM \| 0\.\d{3} \| 0\.\d{3} \| -?0\.\d{3} \|", report)
    for name in FIGURES:
        assert f"]({name})" in report
    # The summary ends on the best clustering it ran, and the report says the same.
    best = BEST_LINE.search(text)
    assert best and text.splitlines()[-2] == best.group(0)
    assert f"**Best here:** {best.group(0).removeprefix('best here: ')} (seconds of the clustering alone" in report

    # The PCA baseline is computed, not made up: recompute it from the same split.
    X, y = load_digits()
    X_train, X_test, *_ = train_test_split(X[:375], y[:375], test_size=0.2, random_state=0)
    pca = PCA(16, random_state=0).fit(X_train)
    mse = np.mean((X_test - pca.inverse_transform(pca.transform(X_test))) ** 2)
    assert f"PCA (16) {mse:.5f}" in text


@pytest.mark.slow  # trains, clusters with UMAP; the slow set also runs the demo with its figures
def test_demo_results(tmp_path):
    args = cli.build_parser().parse_args(
        ["demo", "--dataset", "digits", "--model", "dense", "--n-samples", "200", "--epochs", "1", "--no-plots"]
        + ["--latent-dim", "5", "--output", str(tmp_path), "--quiet"]
    )
    results = cli.run_demo(args, say=lambda message: None)
    assert results["n_train"] == 200 and results["latent_dim"] == 5 and results["pca_components"] == 5
    assert results["estimator"] == "DenseAutoencoder" and results["epochs"] == 1
    assert 0 < results["mse_pca"] < results["mse_ae"] < 1  # one epoch is not enough to beat PCA
    for scores in (results["cluster_ae"], results["cluster_raw"]):
        assert 0 < scores["accuracy"] <= 1 and 0 <= scores["NMI"] <= 1
    assert results["cluster_raw"]["accuracy"] > 0.5
    assert 0 < results["cluster_recommended"]["accuracy"] <= 1 and results["recommended_seconds"] > 0
    assert results["figures"] == {}
    assert (tmp_path / "report.md").exists()
    ran = [results["cluster_ae"], results["cluster_raw"], results["cluster_recommended"]]
    assert results["best"]["accuracy"] == max(scores["accuracy"] for scores in ran)
    assert results["best"]["accuracy"] == results[results["best"]["key"]]["accuracy"]


def test_best_clustering_is_the_most_accurate_that_ran_and_the_faster_of_a_tie():
    def scores(accuracy):
        return {"accuracy": accuracy, "NMI": 0.5, "ARI": 0.5}

    results = {
        "cluster_ae": scores(0.8),
        "kmeans_seconds_ae": 2.0,
        "cluster_raw": scores(0.6),
        "kmeans_seconds_raw": 1.0,
        "cluster_recommended": scores(0.9),
        "recommended_seconds": 12.3,
    }
    best = _demo.best_clustering(results)
    assert best == {
        "method": "recommended (latent codes → UMAP → GMM)",
        "key": "cluster_recommended",
        "accuracy": 0.9,
        "seconds": 12.3,
    }
    assert _demo.best_clustering({**results, "cluster_recommended": None, "recommended_seconds": None})["key"] == (
        "cluster_ae"
    )
    tie = {**results, "cluster_raw": scores(0.9)}
    assert _demo.best_clustering(tie)["method"] == "KMeans on raw pixels"


def test_recommended_clustering_can_be_skipped_and_is_skipped_without_umap(tmp_path, monkeypatch, capsys):
    argv = ["demo", "--dataset", "digits", "--model", "dense", "--n-samples", "200", "--epochs", "1", "--no-plots"]
    args = cli.build_parser().parse_args([*argv, "--clustering", "none", "--output", str(tmp_path)])
    results = cli.run_demo(args, say=lambda message: None)
    assert results["cluster_recommended"] is None
    assert results["best"]["key"] in ("cluster_ae", "cluster_raw")
    assert "recommended" not in (tmp_path / "report.md").read_text()

    monkeypatch.setitem(sys.modules, "umap", None)  # as if umap-learn were not installed
    assert run([*argv, "--output", str(tmp_path)]) == 0
    assert "the recommended clustering is skipped: clustering_pipeline needs umap-learn" in capsys.readouterr().out


def test_demo_falls_back_to_digits_without_mnist(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SKAE_MNIST", str(tmp_path / "missing.npz"))
    argv = ["demo", "--n-samples", "200", "--epochs", "1", "--model", "dense", "--no-plots", "--clustering", "none"]
    assert run([*argv, "--output", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    assert "MNIST is not available, so the demo uses scikit-learn's 8x8 digits instead" in text
    assert "No MNIST file at" in text
    assert "data: scikit-learn's 8x8 digits" in text


def test_demo_with_dataset_mnist_fails_clearly_without_it(tmp_path, capsys):
    argv = ["demo", "--dataset", "mnist", "--data", str(tmp_path / "missing.npz"), "--output", str(tmp_path)]
    assert run(argv) == 1
    assert "skae demo: error: No MNIST file at" in capsys.readouterr().err


@pytest.mark.parametrize("bad", [["--epochs", "0"], ["--n-samples", "ten"], ["--model", "vae"], ["--threads", "-1"]])
def test_bad_options_are_refused(bad, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["demo", *bad])
    assert exit_info.value.code == 2
    assert "error: argument" in capsys.readouterr().err


@pytest.mark.slow  # the tutorial's MNIST model, UMAP and t-SNE; the digits run above is the fast one
@needs_mnist
def test_demo_on_mnist(tmp_path, capsys):
    argv = ["demo", "--data", str(MNIST_PATH), "--model", "dense", "--n-samples", "300", "--epochs", "1"]
    assert run([*argv, "--tsne-samples", "60", "--output", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    assert f"data: MNIST ({MNIST_PATH})" in text
    assert "300 training and 60 test images of 28x28 pixels" in text
    report = (tmp_path / "report.md").read_text()
    assert "716,640 parameters" in report  # the tutorial's dense model
    assert _demo.DEEP_CLUSTERING_NOTE in report  # MNIST's pointer to deep clustering and its measured figures
    for name in FIGURES:
        assert (tmp_path / name).exists()


def test_python_dash_m_skae():
    result = subprocess.run(
        [sys.executable, "-m", "skae", "--version"], capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert re.fullmatch(r"skae \d+\.\d+\.\d+\n", result.stdout)
