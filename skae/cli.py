"""The ``skae`` command: ``skae demo`` runs the tutorial end to end.

``skae demo`` loads MNIST (or, when it cannot be had, scikit-learn's 8x8
digits), trains the tutorial's dense, convolutional or ELU convolutional
autoencoder, compares its reconstructions with PCA's and its latent
clusters with KMeans on raw pixels, clusters the same latent codes the way
skae recommends (:func:`skae.presets.clustering_pipeline`: UMAP, then a
Gaussian mixture), and writes the tutorial's figures and a Markdown report
to a folder. ``python -m skae demo`` does the same.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

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


def _non_negative_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer of 0 or more, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer of 0 or more, got {text!r}")
    return value


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def build_parser():
    """Return the ``argparse`` parser of the ``skae`` command."""
    parser = argparse.ArgumentParser(
        prog="skae",
        description="scikit-learn-compatible autoencoders on Keras 3. Run `skae demo` to see the tutorial end to end.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    demo = commands.add_parser(
        "demo",
        help="train an autoencoder on MNIST, compare it with PCA and KMeans, and write figures and a report",
        description=(
            "Run the tutorial end to end: load MNIST (or scikit-learn's 8x8 digits when MNIST cannot be had), "
            "train an autoencoder with one line of progress per epoch, report its test reconstruction MSE "
            "against PCA with as many components, cluster its latent codes with KMeans and report accuracy, "
            "NMI and ARI against KMeans on raw pixels, and write the figures and a Markdown report to the "
            "output folder. It also clusters the latent codes as skae recommends (UMAP, then a Gaussian mixture) and "
            "reports that beside them. The defaults take a few minutes on two CPU cores."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    demo.add_argument(
        "--model",
        choices=MODELS,
        default="conv-elu",
        help="the tutorial's dense model, its convolutional model, or the convolutional model with ELU",
    )
    demo.add_argument(
        "--dataset",
        choices=DATASETS,
        default="auto",
        help="'auto' uses MNIST when it can be had and the 8x8 digits otherwise; 'mnist' fails without MNIST; "
        "'digits' uses scikit-learn's bundled 8x8 digits",
    )
    demo.add_argument(
        "--data",
        metavar="PATH",
        default=None,
        help="a Keras-format mnist.npz; default: the file named by $SKAE_MNIST, else Keras's cache or download",
    )
    demo.add_argument(
        "--n-samples",
        type=_positive_int,
        default=DEFAULT_N_SAMPLES,
        help="training images (MNIST: the first of its 60,000; the 8x8 digits have 1,797 in all, 20%% of them "
        "kept for testing); MNIST's test images are the first n-samples/5 of its 10,000",
    )
    demo.add_argument(
        "--epochs",
        type=_positive_int,
        default=None,
        help=f"training epochs; default {MNIST_DEFAULTS[0]} on MNIST, {DIGITS_DEFAULTS[0]} on the digits",
    )
    demo.add_argument(
        "--latent-dim",
        type=_positive_int,
        default=None,
        help=f"size of the latent code; default {MNIST_DEFAULTS[2]} on MNIST (the tutorial's), "
        f"{DIGITS_DEFAULTS[2]} on the 64-pixel digits",
    )
    demo.add_argument(
        "--batch-size",
        type=_positive_int,
        default=None,
        help=f"images per gradient step; default {MNIST_DEFAULTS[1]} on MNIST (the tutorial's), "
        f"{DIGITS_DEFAULTS[1]} on the digits",
    )
    demo.add_argument(
        "--tsne-samples",
        type=_positive_int,
        default=2000,
        help="training images shown in the t-SNE latent maps (t-SNE's time grows with it)",
    )
    demo.add_argument(
        "--output", metavar="DIR", default="skae-demo", help="folder for the figures and report.md (created)"
    )
    demo.add_argument(
        "--random-state",
        type=int,
        default=0,
        help="seed of the autoencoder and of the digits' test split (KMeans keeps the tutorial's 42, t-SNE its 0)",
    )
    demo.add_argument(
        "--threads",
        type=_non_negative_int,
        default=1,
        help="OpenMP threads for KMeans and t-SNE; 0 keeps the libraries' default (all cores). One thread is "
        "slower on an idle machine but avoids their busy-waiting, which can make them many times slower on a CPU "
        "shared with other processes",
    )
    demo.add_argument(
        "--clustering",
        choices=CLUSTERINGS,
        default="umap",
        help="'umap' also clusters the latent codes as skae recommends: UMAP, then a Gaussian mixture "
        "(skae.presets.clustering_pipeline on the trained autoencoder; needs umap-learn: `pip install umap-learn`); "
        "'none' skips it",
    )
    demo.add_argument("--no-plots", action="store_true", help="skip the figures (and matplotlib)")
    demo.add_argument("--quiet", action="store_true", help="print only the final summary")
    return parser


def _version():
    from ._version import __version__

    return __version__


# ---------------------------------------------------------------------------
# Steps of the demo


def _load_data(args, say):
    """Return ``(name, X_train, y_train, X_test, y_test)``: flat float32 rows in [0, 1]."""
    from .datasets import load_digits, load_mnist

    if args.dataset in ("auto", "mnist"):
        try:
            n_test = max(1, min(10_000, args.n_samples // 5))
            X_train, y_train = load_mnist(args.data, split="train", n_samples=args.n_samples)
            X_test, y_test = load_mnist(args.data, split="test", n_samples=n_test)
            source = args.data or os.environ.get("SKAE_MNIST") or "Keras's cache"
            return f"MNIST ({source})", X_train, y_train, X_test, y_test
        except (OSError, ValueError) as exc:
            if args.dataset == "mnist":
                raise
            say(f"MNIST is not available, so the demo uses scikit-learn's 8x8 digits instead.\n  reason: {exc}")
    from sklearn.model_selection import train_test_split

    X, y = load_digits()
    X, y = X[: args.n_samples + max(1, args.n_samples // 4)], y[: args.n_samples + max(1, args.n_samples // 4)]
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=args.random_state)
    return "scikit-learn's 8x8 digits (offline stand-in for MNIST)", X_train, y_train, X_test, y_test


def _make_model(args, side, *, epochs, batch_size, latent_dim, callbacks):
    from . import ConvAutoencoder, DenseAutoencoder

    common = {
        "latent_dim": latent_dim,
        "epochs": epochs,
        "batch_size": batch_size,
        "random_state": args.random_state,
        "callbacks": callbacks,
    }
    if args.model == "dense":
        return DenseAutoencoder(**common)
    activation = "elu" if args.model == "conv-elu" else "relu"
    return ConvAutoencoder(image_shape=(side, side, 1), activation=activation, **common)


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


def _clustering_scores(y, labels):
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    from .metrics import clustering_accuracy

    return {
        "accuracy": clustering_accuracy(y, labels),
        "NMI": normalized_mutual_info_score(y, labels),
        "ARI": adjusted_rand_score(y, labels),
    }


def _recommended_clustering(ae, X, n_clusters, args, say):
    """Cluster X as skae recommends, reusing the trained ``ae``; return ``(labels, seconds)`` or None.

    :func:`skae.presets.clustering_pipeline` with the demo's fitted
    autoencoder frozen in it: the pipeline's UMAP and Gaussian mixture are
    fitted on its latent codes, and the autoencoder is not trained again.
    """
    from sklearn.frozen import FrozenEstimator

    from .presets import clustering_pipeline

    try:
        pipeline = clustering_pipeline(n_clusters, autoencoder=FrozenEstimator(ae), random_state=args.random_state)
    except ImportError as exc:
        say(f"the recommended clustering is skipped: {exc}")
        return None
    say(f"recommended clustering ({RECOMMENDED}, skae.presets.clustering_pipeline) ...")
    start = time.perf_counter()
    with warnings.catch_warnings():
        # A seeded UMAP runs single-threaded and says so; the demo is seeded on purpose.
        warnings.filterwarnings("ignore", message="n_jobs value .* overridden", category=UserWarning)
        labels = pipeline.fit_predict(X)
    seconds = time.perf_counter() - start
    say(f"  done in {seconds:.1f} s")
    return labels, seconds


def _write_figures(out_dir, ae, history, X_train, y_train, X_test, y_test, args, say, recommended_labels=None):
    """Draw the tutorial's figures into ``out_dir``; return ``{title: file name}``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from . import interpolate, plotting

    figures = {}

    def save(fig, name, title):
        fig.savefig(out_dir / name, dpi=100, bbox_inches="tight")
        plt.close(fig)
        figures[title] = name
        say(f"  wrote {out_dir / name}")

    ax = plotting.plot_history(history)
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


def _report(path, r):
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
    rows = [
        ("KMeans on latent codes", r["cluster_ae"], r["kmeans_seconds_ae"]),
        ("KMeans on raw pixels", r["cluster_raw"], r["kmeans_seconds_raw"]),
    ]
    if r["cluster_recommended"] is not None:
        rows.append((f"recommended: {RECOMMENDED}", r["cluster_recommended"], r["recommended_seconds"]))
    for name, scores, seconds in rows:
        lines.append(
            f"| {name} | {scores['accuracy']:.3f} | {scores['NMI']:.3f} | {scores['ARI']:.3f} | {seconds:.1f} |"
        )
    lines += ["", "Accuracy matches clusters to digits one to one (Hungarian method)."]
    if r["cluster_recommended"] is not None:
        lines += [
            "The recommended clustering is `skae.presets.clustering_pipeline` with the trained autoencoder "
            "frozen in it: UMAP (N2D's settings) embeds the latent codes and a Gaussian mixture clusters them."
        ]
    if r["figures"]:
        lines += ["", "## Figures", ""]
        for title, name in r["figures"].items():
            lines += [f"### {title}", "", f"![{title}]({name})", ""]
    path.write_text("\n".join(lines).rstrip() + "\n", encoding="utf-8")


def run_demo(args, say=print):
    """Run ``skae demo`` with parsed ``args``; return its results as a dict."""
    from threadpoolctl import threadpool_limits  # a dependency of scikit-learn

    with threadpool_limits(limits=args.threads if args.threads > 0 else None, user_api="openmp"):
        return _run_demo(args, say)


def _run_demo(args, say):
    from sklearn.cluster import KMeans
    from sklearn.decomposition import PCA

    from .metrics import reconstruction_error

    progress = (lambda message: None) if args.quiet else say
    out_dir = Path(args.output)
    out_dir.mkdir(parents=True, exist_ok=True)

    name, X_train, y_train, X_test, y_test = _load_data(args, progress)
    side = int(round(np.sqrt(X_train.shape[1])))
    is_mnist = name.startswith("MNIST")
    default_epochs, default_batch_size, default_latent_dim = MNIST_DEFAULTS if is_mnist else DIGITS_DEFAULTS
    epochs = args.epochs or default_epochs
    batch_size = args.batch_size or default_batch_size
    latent_dim = args.latent_dim or default_latent_dim
    progress(f"data: {name}")
    progress(f"  {len(X_train)} training and {len(X_test)} test images of {side}x{side} pixels")

    ae = _make_model(
        args,
        side,
        epochs=epochs,
        batch_size=batch_size,
        latent_dim=latent_dim,
        callbacks=[_epoch_printer(epochs, progress)],
    )
    progress(
        f"model: {args.model} ({type(ae).__name__}), latent size {latent_dim}, {epochs} epochs, batch size {batch_size}"
    )
    start = time.perf_counter()
    ae.fit(X_train)
    fit_seconds = time.perf_counter() - start
    # The callback printed progress; the fitted estimator need not keep it.
    ae.set_params(callbacks=None)

    n_components = min(latent_dim, *X_train.shape)
    pca = PCA(n_components=n_components, random_state=args.random_state).fit(X_train)
    n_clusters = len(np.unique(y_train))
    progress(f"KMeans ({n_clusters} clusters) on latent codes and on raw pixels ...")
    kmeans = {"n_clusters": n_clusters, "n_init": 10, "random_state": 42}
    start = time.perf_counter()
    labels_ae = KMeans(**kmeans).fit_predict(ae.transform(X_train))
    kmeans_seconds_ae = time.perf_counter() - start
    start = time.perf_counter()
    labels_raw = KMeans(**kmeans).fit_predict(X_train)
    kmeans_seconds_raw = time.perf_counter() - start
    recommended = None
    if args.clustering == "umap":
        recommended = _recommended_clustering(ae, X_train, n_clusters, args, say if args.quiet else progress)

    results = {
        "data": name,
        "n_train": len(X_train),
        "n_test": len(X_test),
        "n_features": X_train.shape[1],
        "model": args.model,
        "estimator": type(ae).__name__,
        "n_params": int(ae.model_.count_params()),
        "latent_dim": latent_dim,
        "epochs": len(ae.history_["loss"]),
        "fit_seconds": fit_seconds,
        "final_loss": ae.history_["loss"][-1],
        "mse_ae": reconstruction_error(ae, X_test),
        "mse_pca": reconstruction_error(pca, X_test),
        "pca_components": n_components,
        "n_clusters": n_clusters,
        "cluster_ae": _clustering_scores(y_train, labels_ae),
        "cluster_raw": _clustering_scores(y_train, labels_raw),
        "kmeans_seconds_ae": kmeans_seconds_ae,
        "kmeans_seconds_raw": kmeans_seconds_raw,
        "cluster_recommended": None if recommended is None else _clustering_scores(y_train, recommended[0]),
        "recommended_seconds": None if recommended is None else recommended[1],
        "figures": {},
    }
    if args.no_plots:
        progress("figures skipped (--no-plots)")
    else:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            say("matplotlib is not installed, so no figures: `pip install matplotlib` to get them")
        else:
            results["figures"] = _write_figures(
                out_dir,
                ae,
                ae.history_,
                X_train,
                y_train,
                X_test,
                y_test,
                args,
                progress,
                recommended_labels=None if recommended is None else recommended[0],
            )
    _report(out_dir / "report.md", results)

    say("")
    say(f"data: {name}; model: {args.model}, latent size {latent_dim}, trained in {fit_seconds:.1f} s")
    say(f"test reconstruction MSE: autoencoder {results['mse_ae']:.5f}, PCA ({n_components}) {results['mse_pca']:.5f}")
    for label, key in (
        ("KMeans on latent codes", "cluster_ae"),
        ("KMeans on raw pixels  ", "cluster_raw"),
        (f"recommended ({RECOMMENDED})", "cluster_recommended"),
    ):
        s = results[key]
        if s is not None:
            say(f"{label}: accuracy {s['accuracy']:.3f}, NMI {s['NMI']:.3f}, ARI {s['ARI']:.3f}")
    say(f"report: {out_dir / 'report.md'}")
    return results


def main(argv=None):
    """Entry point of the ``skae`` console script and of ``python -m skae``.

    Parameters
    ----------
    argv : list of str or None, default=None
        Arguments without the program name; None reads ``sys.argv``.

    Returns
    -------
    status : int
        0 on success, 1 when the demo fails (with the reason on stderr).
    """
    args = build_parser().parse_args(argv)
    try:
        run_demo(args)
    except (OSError, ValueError) as exc:
        print(f"skae demo: error: {exc}", file=sys.stderr)
        return 1
    return 0
