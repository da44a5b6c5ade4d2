"""Deep clustering: DEC and IDEC as one scikit-learn clusterer.

:class:`DeepEmbeddedClustering` pretrains any skae autoencoder, places
cluster centres with KMeans on its latent codes and then fine-tunes the
encoder (and, for IDEC, the decoder) together with the centres, so the
latent space itself is reshaped around the clusters. The centres live in a
registered Keras layer, ``ClusteringLayer`` (in ``_clustering_layer``); the fine-tuning model is
built from the fitted autoencoder's own ``encoder_`` and ``decoder_``, so
the fine-tuned weights are the autoencoder's weights and
``autoencoder_.transform`` returns the fine-tuned codes.

Inference needs no Keras model of its own: ``transform`` is the fine-tuned
autoencoder's, and the soft assignments are computed from the codes and
``cluster_centers_`` in NumPy. That keeps pickling, cloning and saving the
estimator as simple as the autoencoder's.
"""

from __future__ import annotations

import contextlib
import time
import warnings
from dataclasses import replace
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin, clone
from sklearn.cluster import KMeans
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import _num_samples, check_array, check_is_fitted

from ._base import AutoencoderTransformer
from ._docstrings import fill_shared_parameters
from ._input import check_input
from ._layout import ANY_ND_INPUT, LayoutRequest, parse_image_shape, resolve_layout
from ._persistence import PlainStateMixin
from ._registry import register_estimator

# Keras, and the modules that import it, are imported inside the methods
# that need them: importing skae, or building this estimator, loads no
# deep-learning framework.

#: KMeans restarts when placing the initial centres (as in DEC's code).
KMEANS_N_INIT = 20
#: DEC's fine-tuning optimizer (Xie et al., 2016), as a Keras config.
DEC_OPTIMIZER = {"class_name": "SGD", "config": {"learning_rate": 0.01, "momentum": 0.9}}
#: ``max_iter="auto"``: this many passes over the data, and at least
#: ``AUTO_MAX_ITER_MIN`` steps; ``tol`` usually stops fine-tuning first.
AUTO_MAX_ITER_PASSES = 20
AUTO_MAX_ITER_MIN = 4000
#: Input corruption of the default network's pretraining: 20% of the values
#: masked, as DEC's stacked autoencoder used dropout on its inputs. On 10,000
#: MNIST images it raised DEC's accuracy on every seed measured.
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


#: How DEC checks X: flat rows, or samples of any shape, kept as they come;
#: the autoencoder then resolves its own layout from them.
_DATA_LAYOUT = LayoutRequest(shape=None, name="X", nd_input=ANY_ND_INPUT, owner="DeepEmbeddedClustering")


def soft_assignments(Z, centers, alpha):
    """DEC's soft assignments ``q`` of codes ``Z`` to ``centers``, in NumPy (float64).

    The kernel is :func:`skae._clustering_layer.student_t_assignments`, the
    one the fine-tuning model trains with.
    """
    from ._clustering_layer import student_t_assignments

    Z = np.asarray(Z, dtype=np.float64).reshape(len(Z), -1)
    return student_t_assignments(Z, np.asarray(centers, dtype=np.float64), float(alpha))


class _PhaseTimes:
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


def target_distribution(q):
    """DEC's sharpened targets ``p``: square ``q``, divide by cluster frequency, renormalise rows."""
    weight = q**2 / q.sum(axis=0)
    return weight / weight.sum(axis=1, keepdims=True)


@register_estimator
@fill_shared_parameters
class DeepEmbeddedClustering(PlainStateMixin, ClusterMixin, TransformerMixin, BaseEstimator):
    """Deep Embedded Clustering (DEC) and its improved variant IDEC.

    ``fit`` pretrains an autoencoder to reconstruct X, places
    ``n_clusters`` centres with KMeans on its latent codes, and then
    trains the encoder and the centres together to sharpen the clusters:
    it minimises the KL divergence from the soft assignments ``q`` (a
    Student's t kernel around each centre) to the target distribution
    ``p`` that squares them and divides by cluster frequency (Xie et al.,
    2016). With ``reconstruction_weight > 0`` the decoder keeps training
    too and its reconstruction loss, times that weight, is added to the
    clustering loss, which keeps the latent space from drifting away from
    the data (IDEC, Guo et al., 2017). The targets are recomputed every
    ``update_interval`` steps, and training stops when fewer than ``tol``
    of the labels changed since the last update, or after ``max_iter``
    steps.

    Parameters
    ----------
    n_clusters : int, default=10
        Number of clusters; for the default network, also the latent size.

        .. versionchanged:: 0.1.0
           The default was 8 (scikit-learn's KMeans default); it is now 10,
           the presets' value. Pass ``n_clusters=8`` to keep the old one.
    autoencoder : skae autoencoder or None, default=None
        The unfitted autoencoder to pretrain: any
        :class:`~skae.AutoencoderTransformer` (a
        :class:`~skae.ConvAutoencoder`, or your own encoder and decoder),
        cloned in ``fit`` with ``epochs=pretrain_epochs`` and a
        ``random_state`` drawn from ours. None builds the papers' network,
        :func:`skae.presets.clustering_autoencoder` with a linear output: a
        ``d-500-500-2000-n_clusters`` dense encoder and its mirror, trained
        with Adam at batch size ``batch_size`` as a denoising autoencoder
        (``noise="mask", noise_level=0.2``: a fifth of the input values set
        to 0, as DEC pretrains with dropout on its inputs).
    init : "kmeans" or array-like of shape (n_clusters, n_latent), default="kmeans"
        Where fine-tuning starts. ``"kmeans"`` is DEC's: KMeans on the
        pretrained codes (20 restarts). An array gives the centres, in the
        autoencoder's latent space. (A spectral clustering of the codes
        was tried as a start: it began higher than KMeans on the measured
        seed but ended lower after fine-tuning, since DEC's kernel pulls
        towards round clusters around their centres; see section "Deep
        clustering" of ``benchmarks/results.md``.)
    reconstruction_weight : float, default=0.0
        Weight of the decoder's reconstruction loss during fine-tuning. 0 is
        DEC (the decoder is left as pretrained); above 0 is IDEC. On 10,000
        MNIST images DEC was the more accurate (see Notes).
    alpha : float, default=1.0
        Degrees of freedom of the Student's t kernel.
    pretrain_epochs : int or "auto", default="auto"
        Epochs of autoencoder pretraining. ``"auto"``: 100, or when the
        images are moved (``shift`` above 0) 200, but no more than 2,000,000
        samples in all (29 epochs on 70,000 images): moved images are new
        data on every pass, and longer pretraining on them raised DEC's
        accuracy (see Notes).

        .. versionchanged:: 0.1.0
           The default was 100 in every case.
    shift : "auto" or float in [0, 1), default="auto"
        Image augmentation in both phases, as in DEC-DA (Guo et al., 2018):
        pretraining and fine-tuning see the images moved by up to this
        fraction of their height and width, a fresh random move every
        batch, while the target distribution is computed from the images
        as they are (see the autoencoders' ``shift``). A float is set on
        the autoencoder too. ``"auto"``: with the default network, 0.1 for
        images at least 16 pixels high and wide (X as images,
        ``(n_samples, height, width[, channels])``, or flat rows with
        ``image_shape``), and 0 otherwise: flat rows need not be images,
        and on 8x8 images a move of one pixel lowered the accuracy (see
        Notes); with a given autoencoder, that autoencoder's own ``shift``.

        .. versionadded:: 0.1.0
    rotation : "auto" or float in [0, 180], default="auto"
        Image augmentation in both phases, beside ``shift``: turn each
        image by a random angle of up to this many degrees either way, as
        DEC-DA does (see the autoencoders' ``rotation``). A float is set on
        the autoencoder too. ``"auto"``: with the default network, 10 for
        images at least 16 pixels high and wide, as for ``shift``, and 0
        otherwise; with a given autoencoder, that autoencoder's own
        ``rotation``. Turned images count as moved for
        ``pretrain_epochs="auto"``.

        .. versionadded:: 0.1.0
        .. versionchanged:: 0.1.0
           ``"auto"`` turns images of at least 16 pixels a side with the
           default network; it was 0.
    image_shape : tuple of int or None, default=None
        ``(height, width)`` or ``(height, width, channels)`` of the image
        that each flat row of X holds (one entry may be -1 and is
        inferred), for X from a :class:`~sklearn.pipeline.Pipeline`, which
        passes flat rows. Flat rows with ``image_shape=(28, 28)`` train
        exactly as the ``(n, 28, 28)`` images would: the same ``"auto"``
        settings, moves and turns, and the same result for the same
        ``random_state``. It is set on the autoencoder too, which must take
        an ``image_shape`` (:class:`~skae.DenseAutoencoder`,
        :class:`~skae.ConvAutoencoder`). None: flat rows are no images,
        and images given as images carry their own shape.

        .. versionadded:: 0.1.0
    max_iter : int or "auto", default="auto"
        Most fine-tuning steps (batches). ``"auto"`` scales with the data:
        20 passes over it, and at least 4,000 steps. Fine-tuning usually
        stops on ``tol`` first.
    update_interval : int, default=140
        Fine-tuning steps between updates of the target distribution (and
        of the convergence test).
    tol : float, default=0.001
        Stop when fewer than this fraction of the labels changed between
        two target updates.
    optimizer : str, keras.optimizers.Optimizer or None, default=None
        Fine-tuning optimizer. None is DEC's
        ``keras.optimizers.SGD(learning_rate=0.01, momentum=0.9)``. An
        instance is copied from its config on every fit.
    %(shared_parameters)s
    verbose : int, default=0
        0 is silent; above 0 prints one line per target update (and, for
        the default network, one per pretraining epoch).

    Attributes
    ----------
    labels_ : ndarray of shape (n_samples,)
        Cluster of each training sample after fine-tuning.
    cluster_centers_ : ndarray of shape (n_clusters, n_latent)
        Cluster centres in the latent space.
    autoencoder_ : AutoencoderTransformer
        The pretrained and fine-tuned autoencoder. Its ``encoder_`` holds
        the fine-tuned weights. With ``reconstruction_weight=0`` its decoder
        is the pretrained one, so ``autoencoder_.inverse_transform`` no
        longer matches the codes exactly.
    init_labels_ : ndarray of shape (n_samples,)
        The labels fine-tuning started from (``init``'s clusters of the
        pretrained codes):
        compare with ``labels_`` to see what fine-tuning changed.
    n_iter_ : int
        Fine-tuning steps run.
    fit_times_ : dict of str to float
        Wall-clock (``"pretrain_s"``, ``"kmeans_s"``, ``"finetune_s"``)
        and process CPU seconds (``"pretrain_cpu_s"``, ...) of the last
        fit's three phases.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when X was a DataFrame with
        string column names.

    See Also
    --------
    skae.presets.clustering_pipeline : Autoencoder, UMAP and a Gaussian mixture.
    sklearn.cluster.KMeans : Clustering without representation learning.

    Notes
    -----
    X is what the autoencoder takes: flat rows, or, for a
    :class:`~skae.ConvAutoencoder`, images or flat rows it reshapes itself.
    The autoencoder validates X, once per call.

    There is no ``score``: like most of scikit-learn's clusterers (DBSCAN,
    AgglomerativeClustering, SpectralClustering) and unlike KMeans, DEC has
    no per-sample objective on new data, since its target distribution
    depends on the whole batch; score a clustering with
    :func:`skae.metrics.make_clustering_scorer` instead.

    The defaults were chosen on MNIST; :ref:`deep_clustering` (section
    "The defaults and what they reach") gives what they reach and the
    runs behind each. DEC with SGD is the default rather than IDEC with
    Adam because it was the more accurate from the same pretrained
    network, and pretraining denoises because the masking noise raised
    DEC's accuracy on every seed measured. The defaults beat KMeans on the
    raw pixels on every seed measured, but the result depends on the
    pretrained codes' KMeans start, so compare settings over several seeds
    and ``labels_`` with ``init_labels_``.

    With the default network, X given as images, ``(n, 28, 28)``, or as
    flat rows with ``image_shape=(28, 28)``, is trained on moved copies
    (``shift="auto"``) with longer pretraining (``pretrain_epochs="auto"``):
    that raised every seed, the weakest most, and made the starts spread
    less (section "Images: train on moved copies"). The copies are turned
    too (``rotation="auto"``, DEC-DA's turns), which raised the accuracy
    further on every seed measured, on 10,000 and on all 70,000 MNIST
    images (section "Turns, too"). Images under 16 pixels a side are
    neither moved nor turned: on the 8x8 digits a one-pixel move lowered
    DEC below KMeans on the raw pixels on every seed.

    A loss that becomes NaN or infinite stops fine-tuning with a
    ``FloatingPointError`` and leaves the estimator as it was.

    References
    ----------
    Xie, Girshick and Farhadi (2016), "Unsupervised deep embedding for
    clustering analysis", ICML. Guo, Gao, Liu and Yin (2017), "Improved
    deep embedded clustering with local structure preservation", IJCAI.
    Guo, Zhu, Liu and Yin (2018), "Deep embedded clustering with data
    augmentation", ACML.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skae import DeepEmbeddedClustering, DenseAutoencoder
    >>> X = load_digits().data[:300] / 16.0
    >>> ae = DenseAutoencoder(hidden_layer_sizes=(32,), latent_dim=10)
    >>> dec = DeepEmbeddedClustering(10, autoencoder=ae, pretrain_epochs=5,
    ...                              max_iter=50, random_state=0).fit(X)
    >>> dec.labels_.shape, dec.cluster_centers_.shape
    ((300,), (10, 10))
    >>> dec.predict_proba(X[:2]).sum(axis=1).round(6)
    array([1., 1.])
    """

    _parameter_constraints: dict = {
        "n_clusters": [Interval(Integral, 1, None, closed="left")],
        "autoencoder": [AutoencoderTransformer, None],
        "init": [StrOptions({"kmeans"}), "array-like"],
        "reconstruction_weight": [Interval(Real, 0, None, closed="left")],
        "alpha": [Interval(Real, 0, None, closed="neither")],
        "pretrain_epochs": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "shift": [StrOptions({"auto"}), Interval(Real, 0, 1, closed="left")],
        "rotation": [StrOptions({"auto"}), Interval(Real, 0, 180, closed="both")],
        "image_shape": ["array-like", None],
        "max_iter": [Interval(Integral, 0, None, closed="left"), StrOptions({"auto"})],
        "update_interval": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, 1, closed="both")],
        "optimizer": [str, HasMethods(["get_config"]), None],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }
    #: Fitted attributes, besides the autoencoder, that ``save`` writes.
    _fitted_attributes = (
        "labels_",
        "cluster_centers_",
        "init_labels_",
        "n_iter_",
        "fit_times_",
        "n_features_in_",
        "feature_names_in_",
    )

    def __init__(
        self,
        n_clusters=10,
        *,
        autoencoder=None,
        init="kmeans",
        reconstruction_weight=0.0,
        alpha=1.0,
        pretrain_epochs="auto",
        shift="auto",
        rotation="auto",
        image_shape=None,
        max_iter="auto",
        update_interval=140,
        tol=0.001,
        optimizer=None,
        batch_size=256,
        random_state=None,
        verbose=0,
    ):
        self.n_clusters = n_clusters
        self.autoencoder = autoencoder
        self.init = init
        self.reconstruction_weight = reconstruction_weight
        self.alpha = alpha
        self.pretrain_epochs = pretrain_epochs
        self.shift = shift
        self.rotation = rotation
        self.image_shape = image_shape
        self.max_iter = max_iter
        self.update_interval = update_interval
        self.tol = tol
        self.optimizer = optimizer
        self.batch_size = batch_size
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------
    # Fitting, in phases

    def fit(self, X, y=None):
        """Pretrain the autoencoder, initialise the centres and fine-tune.

        Parameters
        ----------
        X : array-like or scipy sparse matrix of shape (n_samples, n_features) or (n_samples, ...)
            Training data: flat rows (images of ``image_shape`` where it is
            given), or images, ``(n_samples, height, width[, channels])``. A
            sparse matrix (CSR) is taken when the autoencoder takes one, as
            the default dense one does.
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        self : DeepEmbeddedClustering
            The fitted estimator.

        Raises
        ------
        ValueError
            If ``n_clusters`` is larger than the number of samples.
        FloatingPointError
            If the fine-tuning loss becomes NaN or infinite; the estimator is
            left as it was.
        """
        from ._rollback import Rollback

        with Rollback(self):
            self._validate_params()
            n_samples = _num_samples(X)
            if self.n_clusters > n_samples:
                raise ValueError(
                    f"n_clusters={self.n_clusters} is larger than the number of samples, n_samples={n_samples}: "
                    "each cluster needs at least one sample. Lower n_clusters or give more samples."
                )
            ae_seed, kmeans_seed, shuffle_seed = check_random_state(self.random_state).randint(
                np.iinfo(np.int32).max, size=3
            )
            shared = self._shared_placement()
            if shared.processes is not None:
                # Process 0's seeds, so that random_state=None pretrains,
                # starts KMeans and shuffles alike in every process.
                ae_seed, kmeans_seed, shuffle_seed = shared.processes.gather([ae_seed, kmeans_seed, shuffle_seed])[0]
            times = _PhaseTimes()
            with times("pretrain"):
                # X is converted and checked once, here (this records
                # n_features_in_ and feature_names_in_ on DEC, the estimator
                # the caller gave X to). The autoencoder gets the float
                # samples, in X's own shape, and learns its layout from them.
                rows, data = check_input(self, X, request=self._data_request())
                samples = data.restore(rows) if data.is_nd else rows
                shift, rotation = self._moves(data.data_shape)
                epochs = self._pretrain_epochs(n_samples, shift or rotation)
                autoencoder = self._make_autoencoder(int(ae_seed), shift, epochs, rotation)
                self._say(f"Pretraining {type(autoencoder).__name__} for {epochs} epochs ...")
                autoencoder.fit(samples)
                network = autoencoder.network_
                x = network.to_model(rows.astype(np.float32, copy=False))
            with times("kmeans"):
                codes = network.encode(x).reshape(x.shape[0], -1)
                centers, init_labels = self._initialize_centers(codes, int(kmeans_seed))
            with times("finetune"):
                labels, centers, n_iter = self._fine_tune(
                    autoencoder, x, codes, centers, init_labels, int(shuffle_seed)
                )
        self.autoencoder_ = autoencoder
        self.cluster_centers_ = centers
        self.init_labels_ = init_labels
        self.labels_ = labels
        self.n_iter_ = n_iter
        self.fit_times_ = times.seconds
        return self

    def _data_request(self):
        """How DEC checks X: ``_DATA_LAYOUT``, with the ``image_shape`` that flat rows hold where it is given.

        N-D samples are their own images, and must agree with ``image_shape``.
        """
        if self.image_shape is None:
            return _DATA_LAYOUT
        return replace(_DATA_LAYOUT, noun="images", image_shape=parse_image_shape(self.image_shape))

    def _moves(self, data_shape):
        """Return this fit's ``(shift, rotation)`` for samples of ``data_shape``, "auto" resolved (class docstring).

        With the default network, "auto" moves and turns images at least
        ``AUTO_SHIFT_MIN_SIDE`` pixels high and wide; with a given
        autoencoder, it is that autoencoder's own setting.
        """
        image = resolve_layout(data_shape, self._data_request()).image
        large = image is not None and min(image[:2]) >= AUTO_SHIFT_MIN_SIDE
        moves = []
        for name, default in (("shift", DEFAULT_SHIFT), ("rotation", DEFAULT_ROTATION)):
            value = getattr(self, name)
            if value == "auto":
                if self.autoencoder is not None:
                    value = getattr(self.autoencoder, name)
                else:
                    value = default if large else 0.0
            moves.append(float(value))
        return tuple(moves)

    def _pretrain_epochs(self, n_samples, moved):
        """Return this fit's pretraining epochs: ``pretrain_epochs``, with "auto" resolved.

        ``moved`` is true when pretraining moves or turns the images.
        """
        if self.pretrain_epochs != "auto":
            return self.pretrain_epochs
        if not moved:
            return AUTO_PRETRAIN_EPOCHS
        return min(AUTO_PRETRAIN_EPOCHS_MOVED, -(-AUTO_PRETRAIN_SAMPLES // n_samples))

    def _make_autoencoder(self, seed, shift=0.0, epochs=AUTO_PRETRAIN_EPOCHS, rotation=0.0):
        """Return the unfitted autoencoder to pretrain for ``epochs``, seeded, moving images as given."""
        if self.autoencoder is None:
            from ._dense import DEC_NETWORK, DenseAutoencoder

            return DenseAutoencoder(
                **DEC_NETWORK,
                latent_dim=self.n_clusters,
                epochs=epochs,
                batch_size=self.batch_size,
                output_activation="linear",
                noise=DEFAULT_NOISE[0],
                noise_level=DEFAULT_NOISE[1],
                shift=shift,
                rotation=rotation,
                image_shape=self.image_shape,
                random_state=seed,
                verbose=2 if self.verbose else 0,  # Keras's one line per epoch
            )
        autoencoder = clone(self.autoencoder)
        autoencoder.set_params(epochs=epochs, random_state=seed, shift=shift, rotation=rotation)
        if self.image_shape is not None:
            if "image_shape" not in autoencoder.get_params(deep=False):
                raise ValueError(
                    f"image_shape={self.image_shape!r} says what image each row of X holds, but the autoencoder, "
                    f"{type(autoencoder).__name__}, takes no image_shape to read them as such. Use a DenseAutoencoder "
                    "or ConvAutoencoder, give X as images of shape (n_samples, height, width[, channels]), or leave "
                    "image_shape=None."
                )
            autoencoder.set_params(image_shape=self.image_shape)
        return autoencoder

    def _initialize_centers(self, codes, seed):
        """Place the centres among the pretrained ``codes`` (flat rows): centres and labels."""
        Z = codes.astype(np.float64)
        if not isinstance(self.init, str):
            centers = check_array(self.init, dtype=np.float64, input_name="init")
            if centers.shape != (self.n_clusters, Z.shape[1]):
                raise ValueError(
                    f"init holds centres of shape {centers.shape}; expected (n_clusters, n_latent) = "
                    f"{(self.n_clusters, Z.shape[1])}, one row per cluster in the autoencoder's latent space."
                )
            return centers, soft_assignments(Z, centers, self.alpha).argmax(axis=1).astype(np.int64)
        kmeans = KMeans(self.n_clusters, n_init=KMEANS_N_INIT, random_state=seed).fit(Z)
        return kmeans.cluster_centers_.astype(np.float64), kmeans.labels_.astype(np.int64)

    def _max_iter(self, n_samples):
        if self.max_iter != "auto":
            return self.max_iter
        steps_per_pass = -(-n_samples // self.batch_size)
        return max(AUTO_MAX_ITER_MIN, AUTO_MAX_ITER_PASSES * steps_per_pass)

    def _fine_tuning_model(self, autoencoder, centers):
        """Build the fine-tuning model: the encoder, the centres and, for IDEC, the decoder."""
        import keras

        from . import _builders, _clustering_layer

        inputs = keras.Input(autoencoder.network_.layout.sample_shape)
        latent = autoencoder.encoder_(inputs)
        clustering = _clustering_layer.ClusteringLayer(self.n_clusters, alpha=self.alpha, name="clustering")
        outputs = [clustering(latent)]
        losses = [keras.losses.KLDivergence()]
        weights = [1.0]
        if self.reconstruction_weight > 0:
            outputs.append(autoencoder.decoder_(latent))
            losses.append(autoencoder.loss)
            weights.append(float(self.reconstruction_weight))
        model = keras.Model(inputs, outputs, name="deep_embedded_clustering")
        clustering.set_weights([centers.astype(np.float32)])
        optimizer = _builders.make_optimizer(DEC_OPTIMIZER if self.optimizer is None else self.optimizer)
        model.compile(optimizer=optimizer, loss=losses, loss_weights=weights)
        return model, clustering

    def _shared_placement(self):
        """Return the placement of the autoencoder's strategy over several processes, else one device's."""
        from . import _distribution

        return _distribution.shared_placement(getattr(self.autoencoder, "distribute_strategy", None))

    def _fine_tune(self, autoencoder, x, codes, centers, labels, seed):
        """Train on KL(P || Q) in rounds of ``update_interval`` steps; return labels, centres and steps.

        ``codes`` are the pretrained codes of ``x``, which the first round
        uses as they are; later rounds encode ``x`` again. The steps see
        the images moved as the autoencoder's pretraining did (its
        ``shift`` and ``rotation``); the targets come from ``x`` as it is.
        Over several processes (the autoencoder's ``distribute_strategy``)
        each step is shared out as in the autoencoder's fit.
        """
        from . import _guards, _training

        shared = self._shared_placement()
        with shared.build_scope():
            model, clustering = self._fine_tuning_model(autoencoder, centers)
        idec = self.reconstruction_weight > 0
        max_iter = self._max_iter(x.shape[0])
        network = autoencoder.network_
        moves = network.image_moves(autoencoder.shift, autoencoder.rotation, owner=type(autoencoder).__name__)
        n_iter, n_emptied = 0, 0
        self._say(f"Fine-tuning ({'IDEC' if idec else 'DEC'}) for at most {max_iter} steps ...")
        while True:
            if n_iter:
                # The encoder's compiled inference reads its live, fine-tuned weights.
                codes = network.encode(x)
            q = soft_assignments(codes, clustering.get_weights()[0], self.alpha)
            new_labels = q.argmax(axis=1)
            changed = float(np.mean(new_labels != labels)) if n_iter else 1.0
            labels = new_labels
            empty = self.n_clusters - len(np.unique(labels))
            if empty > n_emptied:
                warnings.warn(
                    f"{empty} of the {self.n_clusters} clusters lost all their samples after "
                    f"{n_iter} fine-tuning steps. Try fewer clusters, more pretraining "
                    "(pretrain_epochs) or a smaller learning rate.",
                    UserWarning,
                    stacklevel=3,
                )
                n_emptied = empty
            if n_iter:
                self._say(f"  step {n_iter}: {changed:.2%} of the labels changed")
            if (n_iter and changed < self.tol) or n_iter >= max_iter:
                break
            p = target_distribution(q).astype(np.float32)
            n_steps = min(self.update_interval, max_iter - n_iter)
            batches = _training.StepBatches(
                x,
                (p, None) if idec else p,
                batch_size=self.batch_size,
                seed=seed,
                first_step=n_iter,
                n_steps=n_steps,
                multiple_of=shared.n_devices,
                part=shared.part,
                **moves,
            )
            # Afterwards the next round encodes x in each process alone.
            with shared.training(model):
                _guards.guarded_fit(
                    model,
                    batches,
                    owner=type(self).__name__,
                    hint="Give an optimizer with a lower learning rate, scale X (to [0, 1], or standardise "
                    "it), or pretrain longer (pretrain_epochs).",
                    stacklevel=4,
                    verbose=0,
                )
            n_iter += n_steps
        return labels.astype(np.int64), clustering.get_weights()[0].astype(np.float64), n_iter

    def _say(self, message):
        if self.verbose:
            print(message, flush=True)

    # ------------------------------------------------------------------
    # Inference

    def transform(self, X):
        """Encode X into the fine-tuned latent space.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, ...)
            New data, in a layout the autoencoder takes.

        Returns
        -------
        Z : ndarray of shape (n_samples, n_latent)
            Latent codes; float32 for float32 input and float64 otherwise.
        """
        check_is_fitted(self)
        # X is validated once, against the fitted autoencoder's layout.
        network = self.autoencoder_.network_
        rows, _ = check_input(self, X, layout=network.layout)
        return network.transform(rows)

    def predict_proba(self, X):
        """Soft assignments ``q`` of X to the clusters.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, ...)
            New data.

        Returns
        -------
        q : ndarray of shape (n_samples, n_clusters)
            Student's t similarity to each centre; rows sum to 1.
        """
        return soft_assignments(self.transform(X), self.cluster_centers_, self.alpha)

    def predict(self, X):
        """Cluster of each sample of X: the most probable one.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, ...)
            New data.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Index of the cluster each sample belongs to.
        """
        return self.predict_proba(X).argmax(axis=1)

    def fit_predict(self, X, y=None):
        """Fit and return the training samples' clusters (``labels_``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, ...)
            Training data.
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Cluster labels.
        """
        return self.fit(X).labels_

    # ------------------------------------------------------------------
    # Saving

    def save(self, path):
        """Write the fitted estimator to one file, without pickle.

        The file holds this estimator's parameters and fitted attributes
        and the fine-tuned autoencoder's own saved state (see
        :meth:`AutoencoderTransformer.save`); :func:`skae.load` reads it
        back as a ``DeepEmbeddedClustering``.

        Parameters
        ----------
        path : str or path-like
            Where to write.
        """
        from . import _persistence

        _persistence.save(self, path)

    def _saved_state(self):
        """Return the fitted autoencoder, which ``save`` writes with its own state."""
        return {"estimators": {"autoencoder_": self.autoencoder_}}

    def _restore_saved_state(self, *, fitted, models, estimators):
        """Take back the fitted attributes and the autoencoder that ``_saved_state`` returned."""
        super()._restore_saved_state(fitted=fitted, models=models, estimators=estimators)
        self.autoencoder_ = estimators["autoencoder_"]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        tags.input_tags.allow_nan = False
        # Sparse rows where the autoencoder takes them: the default one is a
        # DenseAutoencoder, whose layout takes flat rows.
        if self.autoencoder is None:
            from ._dense import FLAT_REQUEST

            tags.input_tags.sparse = FLAT_REQUEST.takes_sparse
        else:
            tags.input_tags.sparse = self.autoencoder.__sklearn_tags__().input_tags.sparse
        return tags
