"""``skae demo``, step by step: the tutorial end to end, from data to report.

:func:`run_demo` calls one function per step, in this order:

1. :func:`load_data`: MNIST, or scikit-learn's 8x8 digits when MNIST cannot
   be had;
2. :func:`build_model`: the tutorial's dense, convolutional or ELU
   convolutional autoencoder, with a callback that prints each epoch;
3. :func:`fit_model`: train it and time it;
4. :func:`baselines`: its test reconstruction against PCA's with as many
   components, and KMeans on its latent codes against KMeans on raw pixels;
5. :func:`recommended_clustering`: the latent codes clustered as skae
   recommends (:func:`skae.presets.clustering_pipeline`: UMAP, then a
   Gaussian mixture);
6. :func:`best_clustering`: the best-scoring of the clusterings it ran;
7. :func:`write_figures`: the tutorial's figures;
8. :func:`write_report`: ``report.md``;
9. :func:`print_summary`: the closing lines on the terminal.

The command line (:mod:`skae.cli`) only parses options and calls
:func:`run_demo`. This module imports no Keras, scikit-learn estimator or
matplotlib at import time, so ``skae demo --help`` stays instant; each step
imports what it needs.
"""

from __future__ import annotations

import os
import time
import warnings
from pathlib import Path
from typing import NamedTuple

import numpy as np

MODELS = ("dense", "conv", "conv-elu")
DATASETS = ("auto", "mnist", "digits")
CLUSTERINGS = ("umap", "none")
RECOMMENDED = "latent codes → UMAP → GMM"
DEFAULT_N_SAMPLES = 20_000
# Defaults per data set: (epochs, batch size, latent size). The 8x8 digits
# have only 1,437 training images, so they get more and smaller steps, and a
# code smaller than their 64 pixels.
MNIST_DEFAULTS = (10, 256, 64)
DIGITS_DEFAULTS = (30, 32, 16)
# The clusterings the demo can run: results key, name in the summary (and
# in the "best here" line), name in the report's table, and the key of its
# seconds.
CLUSTERING_ROWS = (
    ("cluster_ae", "KMeans on latent codes", "KMeans on latent codes", "kmeans_seconds_ae"),
    ("cluster_raw", "KMeans on raw pixels", "KMeans on raw pixels", "kmeans_seconds_raw"),
    ("cluster_recommended", f"recommended ({RECOMMENDED})", f"recommended: {RECOMMENDED}", "recommended_seconds"),
)
# What the recommended clustering reaches with the preset's own autoencoder
# rather than the demo's, as measured (benchmarks/results.md, section 4c).
PRESET_NOTE = (
    "With its own default autoencoder (N2D's dense network, trained 80 epochs) rather than the demo's, "
    "`clustering_pipeline(10)` reached 0.979 ± 0.001 accuracy on all 70,000 MNIST images over seeds 0-4, "
    "715 to 745 s a fit on two CPU cores (`benchmarks/results.md`, section 4c)."
)
# What the report points MNIST users to beyond the demo's own clusterings:
# the deep clustering defaults as measured (benchmarks/results.md, section
# 10, "Moved images without the masks"). The demo does not run it: a fit takes
# minutes more than the whole demo.
DEEP_CLUSTERING_NOTE = (
    "**Beyond this demo:** `DeepEmbeddedClustering(10, image_shape=(28, 28))` (in a `Pipeline` of flat rows, "
    "or on `(n, 28, 28)` images) trains the encoder itself for clustering, on moved and turned copies of the "
    "images, starting from N2D's clusters of its codes. On all 70,000 MNIST images it reached 0.977 ± 0.001 "
    "accuracy over seeds 0-2, 9.2 minutes a fit on two CPU cores (`benchmarks/results.md`, section 10)."
)


class DemoData(NamedTuple):
    """The demo's images: flat float32 rows in [0, 1], and their digits."""

    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray

    @property
    def side(self):
        """Side of the square images in pixels (28 for MNIST, 8 for the digits)."""
        return int(round(np.sqrt(self.X_train.shape[1])))

    @property
    def defaults(self):
        """``(epochs, batch size, latent size)`` the demo uses for this data set."""
        return MNIST_DEFAULTS if self.name.startswith("MNIST") else DIGITS_DEFAULTS


def load_data(args, say):
    """Load MNIST, or the 8x8 digits when MNIST cannot be had (or is not asked for).

    Parameters
    ----------
    args : argparse.Namespace
        The demo's options; reads ``dataset``, ``data``, ``n_samples`` and
        ``random_state``.
    say : callable
        Prints a line of progress.

    Returns
    -------
    data : DemoData
        ``n_samples`` training images and a fifth as many test images.

    Raises
    ------
    OSError or ValueError
        With ``--dataset mnist``, when MNIST cannot be loaded.
    """
    from .datasets import load_digits, load_mnist

    if args.dataset in ("auto", "mnist"):
        try:
            n_test = max(1, min(10_000, args.n_samples // 5))
            X_train, y_train = load_mnist(args.data, split="train", n_samples=args.n_samples)
            X_test, y_test = load_mnist(args.data, split="test", n_samples=n_test)
            source = args.data or os.environ.get("SKAE_MNIST") or "Keras's cache"
            return DemoData(f"MNIST ({source})", X_train, y_train, X_test, y_test)
        except (OSError, ValueError) as exc:
            if args.dataset == "mnist":
                raise
            say(f"MNIST is not available, so the demo uses scikit-learn's 8x8 digits instead.\n  reason: {exc}")
    from sklearn.model_selection import train_test_split

    X, y = load_digits()
    n = args.n_samples + max(1, args.n_samples // 4)
    X_train, X_test, y_train, y_test = train_test_split(X[:n], y[:n], test_size=0.2, random_state=args.random_state)
    return DemoData("scikit-learn's 8x8 digits (offline stand-in for MNIST)", X_train, y_train, X_test, y_test)


def _epoch_printer(epochs, say):
    import keras

    class EpochLine(keras.callbacks.Callback):
        """Print one line per epoch: its loss and time."""

        def on_epoch_begin(self, epoch, logs=None):
            self._start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            seconds = time.perf_counter() - self._start
            loss = (logs or {}).get("loss", float("nan"))
            say(f"  epoch {epoch + 1:>{len(str(epochs))}}/{epochs}  loss {loss:.5f}  {seconds:.1f} s")

    return EpochLine()


def build_model(args, data, say):
    """Return the tutorial's autoencoder for ``args.model``, not yet fitted.

    Options left unset take the data set's defaults (:attr:`DemoData.defaults`).

    Parameters
    ----------
    args : argparse.Namespace
        Reads ``model``, ``epochs``, ``batch_size``, ``latent_dim`` and
        ``random_state``.
    data : DemoData
        The images, for their side and their defaults.
    say : callable
        Prints the model's line and, while it trains, one line per epoch.

    Returns
    -------
    autoencoder : DenseAutoencoder or ConvAutoencoder
    """
    from . import ConvAutoencoder, DenseAutoencoder

    default_epochs, default_batch_size, default_latent_dim = data.defaults
    epochs = args.epochs or default_epochs
    batch_size = args.batch_size or default_batch_size
    latent_dim = args.latent_dim or default_latent_dim
    common = {
        "latent_dim": latent_dim,
        "epochs": epochs,
        "batch_size": batch_size,
        "random_state": args.random_state,
        "callbacks": [_epoch_printer(epochs, say)],
    }
    if args.model == "dense":
        ae = DenseAutoencoder(**common)
    else:
        activation = "elu" if args.model == "conv-elu" else "relu"
        ae = ConvAutoencoder(image_shape=(data.side, data.side, 1), activation=activation, **common)
    say(
        f"model: {args.model} ({type(ae).__name__}), latent size {latent_dim}, {epochs} epochs, batch size {batch_size}"
    )
    return ae


def fit_model(ae, X):
    """Train ``ae`` on ``X``; return its line of the results.

    Parameters
    ----------
    ae : DenseAutoencoder or ConvAutoencoder
        From :func:`build_model`; fitted in place.
    X : ndarray of shape (n_samples, n_features)
        Training images.

    Returns
    -------
    results : dict
        ``estimator``, ``n_params``, ``latent_dim``, ``epochs`` (those run),
        ``fit_seconds`` and ``final_loss``.
    """
    start = time.perf_counter()
    ae.fit(X)
    fit_seconds = time.perf_counter() - start
    # The callback printed progress; the fitted estimator need not keep it.
    ae.set_params(callbacks=None)
    return {
        "estimator": type(ae).__name__,
        "n_params": int(ae.model_.count_params()),
        "latent_dim": ae.latent_dim,
        "epochs": len(ae.history_["loss"]),
        "fit_seconds": fit_seconds,
        "final_loss": ae.history_["loss"][-1],
    }


def _clustering_scores(y, labels):
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    from .metrics import clustering_accuracy

    return {
        "accuracy": clustering_accuracy(y, labels),
        "NMI": normalized_mutual_info_score(y, labels),
        "ARI": adjusted_rand_score(y, labels),
    }


def baselines(ae, data, args, say):
    """Compare the fitted ``ae`` with PCA (reconstruction) and KMeans on raw pixels (clustering).

    PCA gets as many components as the latent code has values; KMeans keeps
    the tutorial's settings (``n_init=10``, ``random_state=42``) and as many
    clusters as there are digits, on the latent codes and on the pixels of
    the training images.

    Parameters
    ----------
    ae : DenseAutoencoder or ConvAutoencoder
        Fitted.
    data : DemoData
        The images.
    args : argparse.Namespace
        Reads ``random_state`` (PCA's).
    say : callable
        Prints a line of progress.

    Returns
    -------
    results : dict
        ``mse_ae``, ``mse_pca``, ``pca_components``, ``n_clusters``,
        ``cluster_ae`` and ``cluster_raw`` (accuracy, NMI and ARI each),
        ``kmeans_seconds_ae`` and ``kmeans_seconds_raw``.
    """
    from sklearn.cluster import KMeans
    from sklearn.decomposition import PCA

    from .metrics import reconstruction_error

    X_train, y_train = data.X_train, data.y_train
    n_components = min(ae.latent_dim, *X_train.shape)
    pca = PCA(n_components=n_components, random_state=args.random_state).fit(X_train)
    n_clusters = len(np.unique(y_train))
    say(f"KMeans ({n_clusters} clusters) on latent codes and on raw pixels ...")
    kmeans = {"n_clusters": n_clusters, "n_init": 10, "random_state": 42}
    start = time.perf_counter()
    labels_ae = KMeans(**kmeans).fit_predict(ae.transform(X_train))
    kmeans_seconds_ae = time.perf_counter() - start
    start = time.perf_counter()
    labels_raw = KMeans(**kmeans).fit_predict(X_train)
    kmeans_seconds_raw = time.perf_counter() - start
    return {
        "mse_ae": reconstruction_error(ae, data.X_test),
        "mse_pca": reconstruction_error(pca, data.X_test),
        "pca_components": n_components,
        "n_clusters": n_clusters,
        "cluster_ae": _clustering_scores(y_train, labels_ae),
        "cluster_raw": _clustering_scores(y_train, labels_raw),
        "kmeans_seconds_ae": kmeans_seconds_ae,
        "kmeans_seconds_raw": kmeans_seconds_raw,
    }


def recommended_clustering(ae, data, n_clusters, args, say):
    """Cluster the training images as skae recommends, reusing the fitted ``ae``.

    :func:`skae.presets.clustering_pipeline` with the demo's autoencoder
    frozen in it: the pipeline's UMAP and Gaussian mixture are fitted on its
    latent codes, and the autoencoder is not trained again.

    Parameters
    ----------
    ae : DenseAutoencoder or ConvAutoencoder
        Fitted.
    data : DemoData
        The images; the training ones are clustered.
    n_clusters : int
        Components of the Gaussian mixture.
    args : argparse.Namespace
        Reads ``random_state``.
    say : callable
        Prints a line of progress, or why the step is skipped.

    Returns
    -------
    labels : ndarray of shape (n_train,) or None
        The clusters, or None when umap-learn is not installed.
    results : dict
        ``cluster_recommended`` (accuracy, NMI and ARI) and
        ``recommended_seconds``; both None when skipped.
    """
    from sklearn.frozen import FrozenEstimator

    from .presets import clustering_pipeline

    skipped = None, {"cluster_recommended": None, "recommended_seconds": None}
    try:
        pipeline = clustering_pipeline(n_clusters, autoencoder=FrozenEstimator(ae), random_state=args.random_state)
    except ImportError as exc:
        say(f"the recommended clustering is skipped: {exc}")
        return skipped
    say(f"recommended clustering ({RECOMMENDED}, skae.presets.clustering_pipeline) ...")
    start = time.perf_counter()
    with warnings.catch_warnings():
        # A seeded UMAP runs single-threaded and says so; the demo is seeded on purpose.
        warnings.filterwarnings("ignore", message="n_jobs value .* overridden", category=UserWarning)
        labels = pipeline.fit_predict(data.X_train)
    seconds = time.perf_counter() - start
    say(f"  done in {seconds:.1f} s")
    return labels, {"cluster_recommended": _clustering_scores(data.y_train, labels), "recommended_seconds": seconds}


def best_clustering(results):
    """Return the best-scoring clustering the demo ran: the one to use within its time.

    The demo runs only what fits its time budget, so the best of what it
    ran is its recommendation. Accuracy decides; a tie goes to the faster.

    Parameters
    ----------
    results : dict
        The demo's results so far, with the ``cluster_*`` scores and their
        seconds (a skipped clustering's scores are None).

    Returns
    -------
    best : dict
        ``method`` (its name in the report), ``key`` (its results key),
        ``accuracy`` and ``seconds`` (of the clustering alone; the methods on
        latent codes also need the autoencoder's ``fit_seconds``).
    """
    ran = [
        {"method": name, "key": key, "accuracy": results[key]["accuracy"], "seconds": results[seconds]}
        for key, name, _, seconds in CLUSTERING_ROWS
        if results.get(key) is not None
    ]
    return max(ran, key=lambda row: (row["accuracy"], -row["seconds"]))


def _describe_best(best):
    return f"{best['method']}, accuracy {best['accuracy']:.3f} in {best['seconds']:.1f} s"


def write_figures(out_dir, ae, data, args, say, recommended_labels=None):
    """Draw the tutorial's figures into ``out_dir``.

    The training loss, test images beside their reconstructions, a latent
    interpolation between two different digits, a t-SNE map of the latent
    codes (plain, with images, and coloured by the recommended clusters
    when there are any).

    Parameters
    ----------
    out_dir : pathlib.Path
        An existing folder.
    ae : DenseAutoencoder or ConvAutoencoder
        Fitted.
    data : DemoData
        The images.
    args : argparse.Namespace
        Reads ``model`` and ``tsne_samples``.
    say : callable
        Prints each file written.
    recommended_labels : ndarray of shape (n_train,), default=None
        The recommended clusters, for the coloured map.

    Returns
    -------
    figures : dict
        ``{title: file name}`` in the order drawn.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from . import interpolate, plotting

    X_train, y_train, X_test, y_test = data.X_train, data.y_train, data.X_test, data.y_test
    figures = {}

    def save(fig, name, title):
        fig.savefig(out_dir / name, dpi=100, bbox_inches="tight")
        plt.close(fig)
        figures[title] = name
        say(f"  wrote {out_dir / name}")

    ax = plotting.plot_history(ae.history_)
    ax.set_title(f"training loss ({args.model})")
    save(ax.figure, "history.png", "Training loss")

    save(
        plotting.plot_reconstructions(X_test, ae, n_images=10), "reconstructions.png", "Test images and reconstructions"
    )

    # Two test images of different digits, as in "the midpoint between the left and the right picture".
    other = int(np.flatnonzero(y_test != y_test[0])[0]) if np.any(y_test != y_test[0]) else min(1, len(X_test) - 1)
    steps = interpolate(ae, X_test[0], X_test[other], n_steps=10)
    fig = plotting.plot_interpolation(steps)
    fig.suptitle(f"decoding the line between a {y_test[0]} and a {y_test[other]} in latent space", y=1.05)
    save(fig, "interpolation.png", "Latent interpolation")

    n = min(args.tsne_samples, len(X_train))
    say(f"t-SNE of {n} latent codes ...")
    start = time.perf_counter()
    xy = plotting.embed(ae.transform(X_train[:n]))
    say(f"  done in {time.perf_counter() - start:.1f} s")
    ax = plotting.plot_latent_map(xy, y_train[:n], embedder="precomputed")
    ax.set_title(f"t-SNE of {n} latent codes, coloured by digit")
    save(ax.figure, "latent_map.png", "Latent map (t-SNE)")
    ax = plotting.plot_latent_images(xy, X_train[:n], y_train[:n], embedder="precomputed", n_images=200)
    save(ax.figure, "latent_images.png", "Latent map with images")
    if recommended_labels is not None:
        ax = plotting.plot_latent_map(xy, recommended_labels[:n], embedder="precomputed")
        ax.set_title(f"the same t-SNE map, coloured by the recommended clusters ({RECOMMENDED})")
        save(ax.figure, "latent_map_clusters.png", "Latent map (t-SNE) coloured by the recommended clusters")
    return figures


def write_report(path, results):
    """Write the demo's results as Markdown to ``path``.

    Parameters
    ----------
    path : pathlib.Path
        The report file (overwritten).
    results : dict
        Everything :func:`run_demo` returns.
    """
    r = results
    lines = [
        "# skae demo",
        "",
        f"- data: {r['data']}: {r['n_train']} training and {r['n_test']} test images of {r['n_features']} pixels",
        f"- model: `{r['model']}` ({r['estimator']}), {r['n_params']:,} parameters, latent size {r['latent_dim']}",
        f"- training: {r['epochs']} epochs in {r['fit_seconds']:.1f} s; final loss {r['final_loss']:.5f}",
        "",
        "## Reconstruction (test images, mean squared error; lower is better)",
        "",
        "| model | MSE |",
        "| --- | --- |",
        f"| autoencoder ({r['model']}, {r['latent_dim']}-d code) | {r['mse_ae']:.5f} |",
        f"| PCA ({r['pca_components']} components) | {r['mse_pca']:.5f} |",
        "",
        f"## Clustering ({r['n_clusters']} clusters, training images; higher is better)",
        "",
        "| features | accuracy | NMI | ARI | seconds |",
        "| --- | --- | --- | --- | --- |",
    ]
    for key, _, name, seconds in CLUSTERING_ROWS:
        scores = r[key]
        if scores is not None:
            lines.append(
                f"| {name} | {scores['accuracy']:.3f} | {scores['NMI']:.3f} | {scores['ARI']:.3f} | {r[seconds]:.1f} |"
            )
    lines += ["", "Accuracy matches clusters to digits one to one (Hungarian method)."]
    if r["cluster_recommended"] is not None:
        lines += [
            "The recommended clustering is `skae.presets.clustering_pipeline` with the trained autoencoder "
            "frozen in it: UMAP (N2D's settings) embeds the latent codes and a Gaussian mixture clusters them."
        ]
        if r["data"].startswith("MNIST"):
            lines += [PRESET_NOTE]
    lines += [
        "",
        f"**Best here:** {_describe_best(r['best'])} (seconds of the clustering alone; the methods on latent "
        f"codes also need the autoencoder's {r['fit_seconds']:.1f} s of training).",
    ]
    if r["data"].startswith("MNIST"):
        lines += ["", DEEP_CLUSTERING_NOTE]
    if r["figures"]:
        lines += ["", "## Figures", ""]
        for title, name in r["figures"].items():
            lines += [f"### {title}", "", f"![{title}]({name})", ""]
    path.write_text("\n".join(lines).rstrip() + "\n", encoding="utf-8")


def print_summary(results, report_path, say):
    """Print the demo's closing lines: data and model, reconstruction, clusterings, the best one, the report.

    Parameters
    ----------
    results : dict
        Everything :func:`run_demo` returns.
    report_path : pathlib.Path
        Where the report was written.
    say : callable
        Prints a line.
    """
    r = results
    say("")
    say(f"data: {r['data']}; model: {r['model']}, latent size {r['latent_dim']}, trained in {r['fit_seconds']:.1f} s")
    say(f"test reconstruction MSE: autoencoder {r['mse_ae']:.5f}, PCA ({r['pca_components']}) {r['mse_pca']:.5f}")
    # The KMeans lines line up; the recommended one's longer name is not padded.
    width = len("KMeans on latent codes")
    for key, name, _, _ in CLUSTERING_ROWS:
        s = r[key]
        if s is not None:
            say(f"{name.ljust(width)}: accuracy {s['accuracy']:.3f}, NMI {s['NMI']:.3f}, ARI {s['ARI']:.3f}")
    say(f"best here: {_describe_best(r['best'])}")
    say(f"report: {report_path}")


def run_demo(args, say=print):
    """Run ``skae demo`` with parsed ``args``; return its results as a dict.

    Parameters
    ----------
    args : argparse.Namespace
        The options of ``skae demo`` (:func:`skae.cli.build_parser`).
    say : callable, default=print
        Prints a line; ``--quiet`` keeps only the final summary.

    Returns
    -------
    results : dict
        The data (``data``, ``n_train``, ``n_test``, ``n_features``), the
        model and its training (``model``, :func:`fit_model`'s keys), the
        comparisons (:func:`baselines`' and
        :func:`recommended_clustering`'s keys), ``best``
        (:func:`best_clustering`) and ``figures`` (``{title: file name}``,
        empty without figures).
    """
    from threadpoolctl import threadpool_limits  # a dependency of scikit-learn

    with threadpool_limits(limits=args.threads if args.threads > 0 else None, user_api="openmp"):
        return _run_steps(args, say)


def _run_steps(args, say):
    progress = (lambda message: None) if args.quiet else say
    out_dir = Path(args.output)
    out_dir.mkdir(parents=True, exist_ok=True)

    data = load_data(args, progress)
    progress(f"data: {data.name}")
    progress(f"  {len(data.X_train)} training and {len(data.X_test)} test images of {data.side}x{data.side} pixels")
    ae = build_model(args, data, progress)
    results = {
        "data": data.name,
        "n_train": len(data.X_train),
        "n_test": len(data.X_test),
        "n_features": data.X_train.shape[1],
        "model": args.model,
        **fit_model(ae, data.X_train),
    }
    results.update(baselines(ae, data, args, progress))
    recommended_labels = None
    if args.clustering == "umap":
        # Its progress and any reason to skip it print even with --quiet.
        recommended_labels, recommended = recommended_clustering(ae, data, results["n_clusters"], args, say)
    else:
        recommended = {"cluster_recommended": None, "recommended_seconds": None}
    results.update(recommended)
    results["best"] = best_clustering(results)
    results["figures"] = {}
    if args.no_plots:
        progress("figures skipped (--no-plots)")
    else:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            say("matplotlib is not installed, so no figures: `pip install matplotlib` to get them")
        else:
            results["figures"] = write_figures(out_dir, ae, data, args, progress, recommended_labels)
    write_report(out_dir / "report.md", results)
    print_summary(results, out_dir / "report.md", say)
    return results
