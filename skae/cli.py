"""The ``skae`` command: ``skae demo`` runs the tutorial end to end.

This module only parses the command line and dispatches: ``skae demo``'s
steps (data, model, training, baselines, the recommended clustering,
figures, report, summary) live in :mod:`skae._demo`, whose
:func:`~skae._demo.run_demo` this module re-exports. ``python -m skae demo``
does the same.
"""

from __future__ import annotations

import argparse
import sys

from ._demo import (
    CLUSTERINGS,
    DATASETS,
    DEFAULT_N_SAMPLES,
    DIGITS_DEFAULTS,
    MNIST_DEFAULTS,
    MODELS,
    run_demo,
)

__all__ = ["build_parser", "main", "run_demo"]


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
