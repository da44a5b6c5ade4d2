"""Deep clustering's settings and its NumPy side: the defaults, how "auto" resolves, and the targets.

:class:`~skae.DeepEmbeddedClustering` reads its defaults here. Each was
chosen on MNIST, and the user guide's Deep clustering page (section "The
defaults and what they reach") gives the runs behind it. The soft
assignments and the target distribution are computed here in NumPy, from
the one kernel the fine-tuning layer trains with
(:func:`skae._clustering_layer.student_t_assignments`).
"""

from __future__ import annotations

import contextlib
import time

import numpy as np

#: KMeans restarts when placing the initial centres (as in DEC's code).
KMEANS_N_INIT = 20
#: ``init="auto"``: on at least this many samples, fine-tuning starts from
#: N2D's clusters of the pretrained codes ("umap": UMAP, then a Gaussian
#: mixture), else from KMeans. On 10,000 and on all 70,000 MNIST images the
#: UMAP start raised DEC's mean accuracy, most on the seeds that KMeans had
#: started worst, and the one seed that lost, lost little (user guide, Deep
#: clustering, section "Starting from N2D's clusters"). Fewer samples were
#: not measured with it, and keep KMeans.
AUTO_INIT_UMAP_MIN_SAMPLES = 10_000
#: DEC's fine-tuning optimizer (Xie et al., 2016), as a Keras config.
DEC_OPTIMIZER = {"class_name": "SGD", "config": {"learning_rate": 0.01, "momentum": 0.9}}
#: ``max_iter="auto"``: this many passes over the data, and at least
#: ``AUTO_MAX_ITER_MIN`` steps; ``tol`` usually stops fine-tuning first.
AUTO_MAX_ITER_PASSES = 20
AUTO_MAX_ITER_MIN = 4000
#: Input corruption of the default network's pretraining on data it neither
#: moves nor turns: 20% of the values masked, as DEC's stacked autoencoder
#: used dropout on its inputs. On 10,000 MNIST images as flat rows it raised
#: DEC's accuracy on every seed measured. Moved or turned images train clean,
#: as DEC-DA's do: there the masks lowered the k-means starts (user guide,
#: Deep clustering, section "Images: train on moved copies").
DEFAULT_NOISE = ("mask", 0.2)
#: ``shift="auto"`` for X given as images: moves of up to a tenth of the
#: height and width (3 pixels of a 28x28 digit), DEC-DA's shifts (Guo et
#: al., 2018). Training on moved copies raised DEC's accuracy on every
#: MNIST seed measured, the weakest seed most (user guide, Deep clustering,
#: section "Images: train on moved copies").
DEFAULT_SHIFT = 0.1
#: ... but only for images at least this many pixels high and wide. On the
#: 8x8 digits, moves of one pixel (a tenth, rounded) lowered DEC below
#: KMeans on the raw pixels on every seed; 16 is the smallest side DEC-DA
#: reported gains on (USPS).
AUTO_SHIFT_MIN_SIDE = 16
#: ``rotation="auto"`` for the same images: turns of up to 10 degrees either
#: way, DEC-DA's. With the moves, they raised DEC's accuracy on every MNIST
#: seed measured, on 10,000 and on 70,000 images, for about a quarter more
#: time (user guide, Deep clustering, section "Turns, too").
DEFAULT_ROTATION = 10.0
#: ``pretrain_epochs="auto"``: 100 epochs on data as it is. On moved images
#: every pass is new data, and longer pretraining raised DEC's mean accuracy
#: on MNIST, so moved images get up to ``AUTO_PRETRAIN_EPOCHS_MOVED`` epochs,
#: but no more than ``AUTO_PRETRAIN_SAMPLES`` samples in all, which bounds
#: the time of a fit on large data: on all of MNIST, twice that pretraining
#: lowered the accuracy of the seed tried. The user guide's Deep clustering
#: page (sections "The defaults and what they reach" and "Images: train on
#: moved copies") gives the measurements.
AUTO_PRETRAIN_EPOCHS = 100
AUTO_PRETRAIN_EPOCHS_MOVED = 200
AUTO_PRETRAIN_SAMPLES = 2_000_000


def soft_assignments(Z, centers, alpha):
    """DEC's soft assignments ``q`` of codes ``Z`` to ``centers``, in NumPy (float64)."""
    from ._clustering_layer import student_t_assignments

    Z = np.asarray(Z, dtype=np.float64).reshape(len(Z), -1)
    return student_t_assignments(Z, np.asarray(centers, dtype=np.float64), float(alpha))


def target_distribution(q, sample_weight=None):
    """DEC's sharpened targets ``p``: square ``q``, divide by cluster frequency, renormalise rows.

    A cluster's frequency is the (weighted) sum of its soft assignments.
    """
    frequency = q.sum(axis=0) if sample_weight is None else sample_weight @ q
    weight = q**2 / frequency
    return weight / weight.sum(axis=1, keepdims=True)


def resolve_moves(shift, rotation, image, given_autoencoder):
    """Return a fit's ``(shift, rotation)``, "auto" resolved for images of shape ``image`` (None: no images).

    With the default network, "auto" moves and turns images at least
    ``AUTO_SHIFT_MIN_SIDE`` pixels high and wide; with a given autoencoder
    (``given_autoencoder``), it is that autoencoder's own setting.
    """
    large = image is not None and min(image[:2]) >= AUTO_SHIFT_MIN_SIDE
    moves = []
    for name, value, default in (("shift", shift, DEFAULT_SHIFT), ("rotation", rotation, DEFAULT_ROTATION)):
        if value == "auto":
            if given_autoencoder is not None:
                value = getattr(given_autoencoder, name)
            else:
                value = default if large else 0.0
        moves.append(float(value))
    return tuple(moves)


def resolve_pretrain_epochs(pretrain_epochs, n_samples, moved):
    """Return a fit's pretraining epochs, "auto" resolved; ``moved``: pretraining moves or turns images."""
    if pretrain_epochs != "auto":
        return pretrain_epochs
    if not moved:
        return AUTO_PRETRAIN_EPOCHS
    return min(AUTO_PRETRAIN_EPOCHS_MOVED, -(-AUTO_PRETRAIN_SAMPLES // n_samples))


def resolve_init(init, n_samples):
    """Return a fit's ``init``, "auto" resolved for ``n_samples`` samples; an array of centres passes as it is."""
    if isinstance(init, str) and init == "auto":
        return "umap" if n_samples >= AUTO_INIT_UMAP_MIN_SAMPLES else "kmeans"
    return init


def umap_start(codes, clusterer, sample_weight=None):
    """Return N2D's start on ``codes``: centres (each cluster's weighted mean code), labels, each run's silhouette.

    ``clusterer``: an unfitted :class:`skae.UMAPMixture`, fitted here on the
    codes; it keeps, of its runs, the one whose clusters stand most apart in
    the codes. Neither UMAP nor the mixture takes sample weights; the
    centres do. A component left with no sample (possible on tiny data) is
    centred on the code it is most probable for.
    """
    labels = clusterer.fit(codes).labels_
    weights = np.ones(len(codes)) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    centers = np.empty((clusterer.n_clusters, codes.shape[1]))
    proba = None  # the clusterer's probabilities, computed once and only if a component is empty
    for k in range(clusterer.n_clusters):
        members = labels == k
        if weights[members].sum() > 0:
            centers[k] = np.average(codes[members], axis=0, weights=weights[members])
        else:
            proba = clusterer.predict_proba(codes) if proba is None else proba
            centers[k] = codes[proba[:, k].argmax()]
    return centers, labels, clusterer.silhouettes_


def resolve_max_iter(max_iter, n_samples, batch_size):
    """Return a fit's most fine-tuning steps, "auto" resolved."""
    if max_iter != "auto":
        return max_iter
    return max(AUTO_MAX_ITER_MIN, AUTO_MAX_ITER_PASSES * -(-n_samples // batch_size))


def default_autoencoder(n_clusters, *, epochs, batch_size, shift, rotation, image_shape, seed, verbose):
    """Return the papers' network to pretrain: a ``d-500-500-2000-n_clusters`` DenseAutoencoder.

    It denoises (``DEFAULT_NOISE``) unless it moves or turns the images.
    """
    from ._dense import DEC_NETWORK, DenseAutoencoder

    return DenseAutoencoder(
        **DEC_NETWORK,
        latent_dim=n_clusters,
        epochs=epochs,
        batch_size=batch_size,
        output_activation="linear",
        noise=None if shift or rotation else DEFAULT_NOISE[0],
        noise_level=DEFAULT_NOISE[1],
        shift=shift,
        rotation=rotation,
        image_shape=image_shape,
        random_state=seed,
        verbose=2 if verbose else 0,  # Keras's one line per epoch
    )


class PhaseTimes:
    """Wall and CPU seconds of the named phases of a fit, for ``fit_times_``."""

    def __init__(self):
        self.seconds = {}

    @contextlib.contextmanager
    def __call__(self, phase):
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            self.seconds[f"{phase}_s"] = time.perf_counter() - wall
            self.seconds[f"{phase}_cpu_s"] = time.process_time() - cpu
