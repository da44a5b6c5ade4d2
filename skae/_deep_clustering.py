"""Deep clustering: DEC and IDEC as one scikit-learn clusterer.

:class:`DeepEmbeddedClustering` pretrains any skae autoencoder, places
cluster centres on its latent codes (KMeans, or UMAP and a Gaussian
mixture on large data) and then fine-tunes the
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

import warnings
from dataclasses import replace
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, ClusterMixin, TransformerMixin, clone
from sklearn.cluster import KMeans
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import _num_samples, check_array, check_is_fitted

from ._base import AutoencoderTransformer
from ._dec_settings import (
    AUTO_INIT_UMAP_MIN_SAMPLES,
    DEC_OPTIMIZER,
    KMEANS_N_INIT,
    PhaseTimes,
    default_autoencoder,
    resolve_init,
    resolve_max_iter,
    resolve_moves,
    resolve_pretrain_epochs,
    soft_assignments,
    target_distribution,
    umap_start,
)
from ._docstrings import fill_shared_parameters
from ._input import check_input, check_sample_weight
from ._layout import ANY_ND_INPUT, LayoutRequest, n_rows, parse_image_shape, resolve_layout
from ._n2d import UMAPMixture, n2d_umap
from ._params import SHARED_CONSTRAINTS, store_init_params
from ._persistence import PlainStateMixin
from ._registry import register_estimator

# Keras, and the modules that import it, are imported inside the methods
# that need them: importing skae, or building this estimator, loads no
# deep-learning framework.

__all__ = ["DeepEmbeddedClustering", "soft_assignments", "target_distribution"]

#: How DEC checks X: flat rows, or samples of any shape, kept as they come;
#: the autoencoder then resolves its own layout from them.
_DATA_LAYOUT = LayoutRequest(shape=None, name="X", nd_input=ANY_ND_INPUT, owner="DeepEmbeddedClustering")
#: What to change when the fine-tuning loss stops being finite.
FINE_TUNE_HINT = (
    "Give an optimizer with a lower learning rate, scale X (to [0, 1], or standardise it), or pretrain longer "
    "(pretrain_epochs)."
)


@register_estimator
@fill_shared_parameters
class DeepEmbeddedClustering(
    PlainStateMixin, ClusterMixin, ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator
):
    """Deep Embedded Clustering (DEC) and its improved variant IDEC.

    ``fit`` pretrains an autoencoder to reconstruct X, places
    ``n_clusters`` centres among its latent codes (``init``: KMeans, or
    on 10,000 samples or more N2D's UMAP and Gaussian mixture), and then
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
        to 0, as DEC pretrains with dropout on its inputs), except on images
        it moves or turns (``shift``, ``rotation``), which it trains on
        clean, as DEC-DA does.

        .. versionchanged:: 0.1.0
           Moved or turned images were masked too.
    init : {"auto", "kmeans", "umap"} or array-like of shape (n_clusters, n_latent), default="auto"
        Where fine-tuning starts. ``"kmeans"`` is DEC's: KMeans on the
        pretrained codes (20 restarts). ``"umap"`` starts from N2D's
        clusters of the codes (McConville et al., 2020), as
        :class:`~skae.UMAPMixture` finds them: UMAP to ``n_clusters``
        dimensions (``n_neighbors=20``, ``min_dist=0``), then a Gaussian
        mixture, from three seeds; the run whose clusters stand most apart
        in the codes (the highest silhouette) is kept, and each centre is
        the mean code of its cluster.
        It needs umap-learn. ``"auto"``: ``"umap"`` on 10,000 samples or
        more, where it was measured, and ``"kmeans"`` below. An array gives
        the centres, in the autoencoder's latent space.

        .. versionchanged:: 0.1.0
           The default was ``"kmeans"``. On MNIST the UMAP start raised
           DEC's mean accuracy on 10,000 and on all 70,000 images (user
           guide, Deep clustering).
    reconstruction_weight : float, default=0.0
        Weight of the decoder's reconstruction loss during fine-tuning. 0 is
        DEC (the decoder is left as pretrained); above 0 is IDEC.
    alpha : float, default=1.0
        Degrees of freedom of the Student's t kernel.
    pretrain_epochs : int or "auto", default="auto"
        Epochs of autoencoder pretraining. ``"auto"``: 100, or when the
        images are moved (``shift`` above 0) 200, but no more than 2,000,000
        samples in all (29 epochs on 70,000 images).

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
        ``image_shape``), and 0 otherwise; with a given autoencoder, that
        autoencoder's own ``shift``.

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
        The labels fine-tuning started from (the pretrained codes' nearest
        starting centres, by the Student's t kernel):
        compare with ``labels_`` to see what fine-tuning changed.
    n_iter_ : int
        Fine-tuning steps run.
    fit_times_ : dict of str to float
        Wall-clock (``"pretrain_s"``, ``"init_s"``, ``"finetune_s"``)
        and process CPU seconds (``"pretrain_cpu_s"``, ...) of the last
        fit's three phases (``"init"``: encoding the codes and placing
        the centres).

        .. versionchanged:: 0.1.0
           ``"kmeans_s"`` is now ``"init_s"``, since the start may be UMAP's.
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

    There is no ``score``: like most of scikit-learn's clusterers and
    unlike KMeans, DEC has no per-sample objective on new data, since its
    target distribution depends on the whole batch; score a clustering
    with :func:`skae.metrics.make_clustering_scorer` instead.

    The defaults were chosen on MNIST, and :ref:`deep_clustering` (section
    "The defaults and what they reach") gives what they reach and why
    each was chosen: DEC with SGD over IDEC with Adam, denoising
    pretraining, and the moves and turns of images of at least 16 pixels
    a side. The result depends on the start (``init``), so compare
    settings over several seeds and ``labels_`` with ``init_labels_``.

    ``sample_weight`` weighs each sample in every phase: the
    autoencoder's pretraining loss, the start (KMeans, or the mean codes
    of UMAP's clusters, though UMAP and the mixture themselves take no
    weights), the cluster frequencies of the target distribution and the
    fine-tuning loss.

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
        "init": [StrOptions({"auto", "kmeans", "umap"}), "array-like"],
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
        # Declared once, with the autoencoders' (skae._params.SHARED).
        **{name: SHARED_CONSTRAINTS[name] for name in ("batch_size", "random_state", "verbose", "inference")},
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
        init="auto",
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
        inference="exact",
    ):
        store_init_params(self, locals())

    # ------------------------------------------------------------------
    # Fitting, in phases

    def fit(self, X, y=None, sample_weight=None):
        """Pretrain the autoencoder, initialise the centres and fine-tune.

        Parameters
        ----------
        X : array-like, scipy sparse matrix or sparse array of shape (n_samples, n_features) or (n_samples, ...)
            Training data: flat rows (images of ``image_shape`` where it is
            given), or images, ``(n_samples, height, width[, channels])``. A
            sparse matrix or sparse array (converted to CSR) is taken when
            the autoencoder takes one, as the default dense one does.
        y : None
            Ignored; present for API consistency.
        sample_weight : array-like of shape (n_samples,) or None, default=None
            Weight of each sample in every phase (see Notes), rescaled to
            mean 1 as the autoencoders' ``fit`` does; None weighs them alike.

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
            trainer = self._trainer()
            # Process 0's seeds, so that random_state=None pretrains, starts
            # KMeans and shuffles alike in every process.
            ae_seed, kmeans_seed, shuffle_seed = trainer.agree_seeds(
                check_random_state(self.random_state).randint(np.iinfo(np.int32).max, size=3)
            )
            start = self._umap_start(n_samples, kmeans_seed)
            times = PhaseTimes()
            with times("pretrain"):
                # X is checked here, once (this records n_features_in_ and
                # feature_names_in_ on DEC, the estimator the caller gave X
                # to). The autoencoder gets the float samples, in X's own
                # shape, and learns its layout from them without reading
                # their values again.
                rows, data = check_input(self, X, request=self._data_request())
                weights = check_sample_weight(sample_weight, n_rows(rows))
                samples = data.restore(rows) if data.is_nd else rows
                shift, rotation = self._moves(data.data_shape)
                epochs = self._pretrain_epochs(n_samples, shift or rotation)
                autoencoder = self._make_autoencoder(ae_seed, shift, epochs, rotation)
                self._say(f"Pretraining {type(autoencoder).__name__} for {epochs} epochs ...")
                # Validated above: the autoencoder checks the samples' shape,
                # not their values or the weights again.
                autoencoder._train(samples, weights, resume=False, epochs=epochs, checked=True)
                network = autoencoder.network_
                x = network.to_model(rows.astype(np.float32, copy=False))
            with times("init"):
                codes = network.encode(x).reshape(x.shape[0], -1)
                centers, init_labels = self._initialize_centers(codes, kmeans_seed, weights, start)
            with times("finetune"):
                labels, centers, n_iter = self._fine_tune(
                    autoencoder, x, codes, centers, init_labels, shuffle_seed, weights, trainer
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
        """Return this fit's ``(shift, rotation)`` for samples of ``data_shape``, "auto" resolved (class docstring)."""
        image = resolve_layout(data_shape, self._data_request()).image
        return resolve_moves(self.shift, self.rotation, image, self.autoencoder)

    def _pretrain_epochs(self, n_samples, moved):
        """Return this fit's pretraining epochs; ``moved``: pretraining moves or turns the images."""
        return resolve_pretrain_epochs(self.pretrain_epochs, n_samples, moved)

    def _make_autoencoder(self, seed, shift=0.0, epochs=100, rotation=0.0):
        """Return the unfitted autoencoder to pretrain for ``epochs``, seeded, moving images as given."""
        if self.autoencoder is None:
            return default_autoencoder(
                self.n_clusters,
                epochs=epochs,
                batch_size=self.batch_size,
                shift=shift,
                rotation=rotation,
                image_shape=self.image_shape,
                seed=seed,
                verbose=self.verbose,
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

    def _initialize_centers(self, codes, seed, sample_weight=None, start=None):
        """Place the centres among the pretrained ``codes`` (flat rows), weighted: centres and labels.

        ``start``: the unfitted :class:`~skae.UMAPMixture` (:meth:`_umap_start`) when ``init`` is, or resolves
        to, "umap".
        """
        Z = codes.astype(np.float64)
        if start is not None:
            centers, _, scores = umap_start(Z, start, sample_weight)
            self._say(f"UMAP start: silhouettes {np.round(scores, 3).tolist()}, run {start.best_run_} kept")
        elif isinstance(self.init, str):  # "kmeans", or "auto" on fewer samples
            kmeans = KMeans(self.n_clusters, n_init=KMEANS_N_INIT, random_state=seed)
            kmeans.fit(Z, sample_weight=sample_weight)
            return kmeans.cluster_centers_.astype(np.float64), kmeans.labels_.astype(np.int64)
        else:
            centers = check_array(self.init, dtype=np.float64, input_name="init")
            if centers.shape != (self.n_clusters, Z.shape[1]):
                raise ValueError(
                    f"init holds centres of shape {centers.shape}; expected (n_clusters, n_latent) = "
                    f"{(self.n_clusters, Z.shape[1])}, one row per cluster in the autoencoder's latent space."
                )
        return centers, soft_assignments(Z, centers, self.alpha).argmax(axis=1).astype(np.int64)

    def _umap_start(self, n_samples, seed):
        """Return the unfitted :class:`~skae.UMAPMixture` to start from, seeded; None where ``init`` needs no UMAP.

        Called before pretraining, so that a missing umap-learn stops the fit at once.
        """
        if not (isinstance(self.init, str) and resolve_init(self.init, n_samples) == "umap"):
            return None
        hint = ", or pass init='kmeans'"
        if self.init == "auto":
            hint += (
                f". init='auto' starts from UMAP's clusters on {AUTO_INIT_UMAP_MIN_SAMPLES:,} samples or more, "
                f"and X holds {n_samples:,}"
            )
        needed_by = f"DeepEmbeddedClustering(init={self.init!r})"
        umap = n2d_umap(self.n_clusters, random_state=seed, needed_by=needed_by, hint=hint)
        return UMAPMixture(self.n_clusters, embedding=umap, random_state=seed)

    def _max_iter(self, n_samples):
        return resolve_max_iter(self.max_iter, n_samples, self.batch_size)

    def _fine_tuning_model(self, autoencoder, centers):
        """Build the fine-tuning model: the encoder, the centres and, for IDEC, the decoder."""
        from . import _builders, _clustering_layer

        optimizer = _builders.make_optimizer(DEC_OPTIMIZER if self.optimizer is None else self.optimizer)
        return _clustering_layer.fine_tuning_model(
            autoencoder.network_,
            centers,
            alpha=self.alpha,
            reconstruction=(autoencoder.loss, self.reconstruction_weight),
            optimizer=optimizer,
        )

    def _trainer(self):
        """Return the fine-tuning's trainer: shared out over the autoencoder's processes, else one device."""
        from ._training import Trainer

        return Trainer(getattr(self.autoencoder, "distribute_strategy", None), processes_only=True)

    def _fine_tune(self, autoencoder, x, codes, centers, labels, seed, sample_weight, trainer):
        """Train on KL(P || Q) in rounds of ``update_interval`` steps; return labels, centres and steps.

        ``codes`` are the pretrained codes of ``x``, which the first round
        uses as they are; later rounds encode ``x`` again. The steps see
        the images moved as the autoencoder's pretraining did (its
        ``shift`` and ``rotation``); the targets come from ``x`` as it is.
        """
        from ._training import TrainingPlan, loss_axes

        with trainer.build_scope():
            model, clustering = self._fine_tuning_model(autoencoder, centers)
        idec = self.reconstruction_weight > 0
        max_iter = self._max_iter(x.shape[0])
        network = autoencoder.network_
        # The assignments' loss is one value a row; IDEC's reconstruction's, the autoencoder's.
        axes = (0, loss_axes(autoencoder.loss, network.layout.sample_shape)) if idec else 0
        plan = TrainingPlan(
            owner=type(self).__name__,
            hint=FINE_TUNE_HINT,
            batch_size=self.batch_size,
            seed=seed,
            sample_weight=sample_weight,
            weight_axes=axes if sample_weight is not None else 0,
            **network.image_moves(autoencoder.shift, autoencoder.rotation, owner=type(autoencoder).__name__),
        )
        n_iter, n_emptied = 0, 0
        self._say(f"Fine-tuning ({'IDEC' if idec else 'DEC'}) for at most {max_iter} steps ...")
        while True:
            if n_iter:
                # The encoder's compiled inference reads its live, fine-tuned weights.
                codes = network.encode(x)
            q = soft_assignments(codes, clustering.get_weights()[0], self.alpha)
            new_labels = q.argmax(axis=1)
            changed = float(np.average(new_labels != labels, weights=sample_weight)) if n_iter else 1.0
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
            p = target_distribution(q, sample_weight).astype(np.float32)
            n_steps = min(self.update_interval, max_iter - n_iter)
            # Afterwards the next round encodes x in each process alone.
            trainer.fit_steps(model, x, (p, None) if idec else p, plan, first_step=n_iter, n_steps=n_steps)
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
        return network.transform(rows, self.inference)

    def inference_plan(self):
        """Return how this machine runs the encoder for ``transform`` and ``predict``: the call sizes, and why.

        See :meth:`AutoencoderTransformer.inference_plan
        <skae.AutoencoderTransformer.inference_plan>`.

        Returns
        -------
        plan : InferencePlan
            The sizes, what the probe measured they cost, and why.
        """
        check_is_fitted(self)
        return self.autoencoder_.network_.inference_plan("encoder", self.inference)

    @property
    def _n_features_out(self):
        """Number of latent features, for ``get_feature_names_out``.

        With it, DEC names its codes as the autoencoders do
        (``deepembeddedclustering0``, ...) and so has ``set_output``: a
        ``Pipeline`` that ends in DEC can return DataFrames.
        """
        return self.autoencoder_.network_.n_latent

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

    def fit_predict(self, X, y=None, sample_weight=None):
        """Fit and return the training samples' clusters (``labels_``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, ...)
            Training data.
        y : None
            Ignored; present for API consistency.
        sample_weight : array-like of shape (n_samples,) or None, default=None
            Weight of each sample, as in ``fit``.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Cluster labels.
        """
        return self.fit(X, sample_weight=sample_weight).labels_

    # ------------------------------------------------------------------
    # Saving

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
