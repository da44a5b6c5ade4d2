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

import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin, clone
from sklearn.cluster import KMeans
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval
from sklearn.utils.validation import check_is_fitted, validate_data

from ._registry import register_estimator

# Keras, and the modules that import it, are imported inside the methods
# that need them: importing skae, or building this estimator, loads no
# deep-learning framework.

FLOAT_DTYPES = (np.float64, np.float32)
#: KMeans restarts when placing the initial centres (as in DEC's code).
KMEANS_N_INIT = 20
#: Input corruption of the default network's pretraining: 20% of the values
#: masked, as DEC's stacked autoencoder used dropout on its inputs. On 10,000
#: MNIST images it raised DEC's accuracy on every seed measured.
DEFAULT_NOISE = ("mask", 0.2)


def soft_assignments(Z, centers, alpha):
    """DEC's soft assignments ``q`` of codes ``Z`` to ``centers``, in NumPy (float64)."""
    Z = np.asarray(Z, dtype=np.float64)
    centers = np.asarray(centers, dtype=np.float64)
    squared = (Z**2).sum(1)[:, None] - 2.0 * Z @ centers.T + (centers**2).sum(1)[None, :]
    q = (1.0 + np.maximum(squared, 0.0) / alpha) ** (-(alpha + 1.0) / 2.0)
    return q / q.sum(axis=1, keepdims=True)


def target_distribution(q):
    """DEC's sharpened targets ``p``: square ``q``, divide by cluster frequency, renormalise rows."""
    weight = q**2 / q.sum(axis=0)
    return weight / weight.sum(axis=1, keepdims=True)


@register_estimator
class DeepEmbeddedClustering(ClusterMixin, TransformerMixin, BaseEstimator):
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
    n_clusters : int, default=8
        Number of clusters; for the default network, also the latent size.
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
    reconstruction_weight : float, default=0.0
        Weight of the decoder's reconstruction loss during fine-tuning. 0 is
        DEC (the decoder is left as pretrained); above 0 is IDEC. On 10,000
        MNIST images DEC was the more accurate (see Notes).
    alpha : float, default=1.0
        Degrees of freedom of the Student's t kernel.
    pretrain_epochs : int, default=100
        Epochs of autoencoder pretraining.
    max_iter : int, default=4000
        Most fine-tuning steps (batches).
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
    batch_size : int, default=256
        Samples per fine-tuning step (and per pretraining step of the
        default network).
    random_state : int, RandomState instance or None, default=None
        Seeds the autoencoder, KMeans and the fine-tuning shuffle; no global
        generator is reseeded.
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
        KMeans's labels on the pretrained latent codes, before fine-tuning:
        compare with ``labels_`` to see what fine-tuning changed.
    n_iter_ : int
        Fine-tuning steps run.
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
    X must be 2-D: one flat row per sample (a :class:`~skae.ConvAutoencoder`
    reshapes rows to images itself). On 10,000 MNIST training images the
    defaults reached the accuracies in ``benchmarks/results.md`` (section
    "Deep clustering"); the research runs behind them found DEC with SGD
    more accurate than IDEC with Adam from the same pretrained network
    (same section). Denoising
    pretraining raised DEC's accuracy on each of three seeds after 50
    epochs, and 100 denoising epochs raised the mean further over those
    seeds, where 100 epochs without noise had been worse than 50. Over
    five seeds the defaults reach 0.778 ± 0.056 on those images (section
    "Deep clustering" gives each seed).

    A loss that becomes NaN or infinite stops fine-tuning with a
    ``FloatingPointError`` and leaves the estimator as it was.

    References
    ----------
    Xie, Girshick and Farhadi (2016), "Unsupervised deep embedding for
    clustering analysis", ICML. Guo, Gao, Liu and Yin (2017), "Improved
    deep embedded clustering with local structure preservation", IJCAI.

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
        "autoencoder": [HasMethods(["fit", "transform"]), None],
        "reconstruction_weight": [Interval(Real, 0, None, closed="left")],
        "alpha": [Interval(Real, 0, None, closed="neither")],
        "pretrain_epochs": [Interval(Integral, 1, None, closed="left")],
        "max_iter": [Interval(Integral, 0, None, closed="left")],
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
        "n_features_in_",
        "feature_names_in_",
    )

    def __init__(
        self,
        n_clusters=8,
        *,
        autoencoder=None,
        reconstruction_weight=0.0,
        alpha=1.0,
        pretrain_epochs=100,
        max_iter=4000,
        update_interval=140,
        tol=0.001,
        optimizer=None,
        batch_size=256,
        random_state=None,
        verbose=0,
    ):
        self.n_clusters = n_clusters
        self.autoencoder = autoencoder
        self.reconstruction_weight = reconstruction_weight
        self.alpha = alpha
        self.pretrain_epochs = pretrain_epochs
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
        X : array-like of shape (n_samples, n_features)
            Training data, one flat row per sample.
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
        snapshot = self.__dict__.copy()
        try:
            self._validate_params()
            X = validate_data(self, X, dtype=FLOAT_DTYPES)
            if self.n_clusters > len(X):
                raise ValueError(
                    f"n_clusters={self.n_clusters} is larger than the number of samples, n_samples={len(X)}: "
                    "each cluster needs at least one sample. Lower n_clusters or give more samples."
                )
            ae_seed, kmeans_seed, shuffle_seed = check_random_state(self.random_state).randint(
                np.iinfo(np.int32).max, size=3
            )
            autoencoder = self._pretrain(X, int(ae_seed))
            centers, init_labels = self._initialize_centers(autoencoder, X, int(kmeans_seed))
            labels, centers, n_iter = self._fine_tune(autoencoder, X, centers, init_labels, int(shuffle_seed))
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(snapshot)
            raise
        self.autoencoder_ = autoencoder
        self.cluster_centers_ = centers
        self.init_labels_ = init_labels
        self.labels_ = labels
        self.n_iter_ = n_iter
        return self

    def _make_autoencoder(self, seed):
        """Return the unfitted autoencoder to pretrain, seeded with ``seed``."""
        if self.autoencoder is None:
            from .presets import clustering_autoencoder

            return clustering_autoencoder(
                self.n_clusters,
                epochs=self.pretrain_epochs,
                batch_size=self.batch_size,
                output_activation="linear",
                noise=DEFAULT_NOISE[0],
                noise_level=DEFAULT_NOISE[1],
                random_state=seed,
                verbose=2 if self.verbose else 0,  # Keras's one line per epoch
            )
        return clone(self.autoencoder).set_params(epochs=self.pretrain_epochs, random_state=seed)

    def _pretrain(self, X, seed):
        autoencoder = self._make_autoencoder(seed)
        self._say(f"Pretraining {type(autoencoder).__name__} for {self.pretrain_epochs} epochs ...")
        return autoencoder.fit(X)

    def _initialize_centers(self, autoencoder, X, seed):
        Z = autoencoder.transform(X)
        kmeans = KMeans(self.n_clusters, n_init=KMEANS_N_INIT, random_state=seed).fit(Z)
        return kmeans.cluster_centers_.astype(np.float64), kmeans.labels_.astype(np.int64)

    def _make_optimizer(self):
        import keras

        if self.optimizer is None:
            return keras.optimizers.SGD(learning_rate=0.01, momentum=0.9)
        optimizer = keras.optimizers.get(self.optimizer) if isinstance(self.optimizer, str) else self.optimizer
        return type(optimizer).from_config(optimizer.get_config())

    def _initialize_model(self, autoencoder, centers):
        """Build the fine-tuning model: the encoder, the centres and, for IDEC, the decoder."""
        import keras

        from . import _clustering_layer

        sample_shape = autoencoder.layout_.sample_shape
        inputs = keras.Input(sample_shape)
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
        model.compile(optimizer=self._make_optimizer(), loss=losses, loss_weights=weights)
        return model, clustering

    def _fine_tune(self, autoencoder, X, centers, labels, seed):
        """Train on KL(P || Q); return the labels, centres and number of steps."""
        model, clustering = self._initialize_model(autoencoder, centers)
        x = autoencoder.layout_.to_model(X.astype(np.float32, copy=False))
        idec = self.reconstruction_weight > 0
        rng = np.random.default_rng(seed)
        n_samples = len(x)
        order, position = rng.permutation(n_samples), 0
        targets = None
        n_iter, n_emptied = 0, 0
        self._say(f"Fine-tuning ({'IDEC' if idec else 'DEC'}) for at most {self.max_iter} steps ...")
        while True:
            if n_iter % self.update_interval == 0 or n_iter >= self.max_iter:
                q = soft_assignments(autoencoder.transform(X), clustering.get_weights()[0], self.alpha)
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
                if (n_iter and changed < self.tol) or n_iter >= self.max_iter:
                    break
                targets = target_distribution(q).astype(np.float32)
            if position >= n_samples:
                order, position = rng.permutation(n_samples), 0
            batch = order[position : position + self.batch_size]
            position += self.batch_size
            xb = x[batch]
            loss = model.train_on_batch(xb, [targets[batch], xb] if idec else targets[batch])
            n_iter += 1
            if not np.all(np.isfinite(loss)):
                raise FloatingPointError(
                    f"The fine-tuning loss became {loss} at step {n_iter}, so {type(self).__name__} stopped "
                    "and kept its previous state. Give an optimizer with a lower learning rate, scale X (to "
                    "[0, 1], or standardise it), or pretrain longer (pretrain_epochs)."
                )
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
        X : array-like of shape (n_samples, n_features)
            New data.

        Returns
        -------
        Z : ndarray of shape (n_samples, n_latent)
            Latent codes; float32 for float32 input and float64 otherwise.
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=FLOAT_DTYPES)
        return self.autoencoder_.transform(X)

    def predict_proba(self, X):
        """Soft assignments ``q`` of X to the clusters.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
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
        X : array-like of shape (n_samples, n_features)
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
        X : array-like of shape (n_samples, n_features)
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

        The file is the fine-tuned autoencoder's own skae file (see
        :meth:`AutoencoderTransformer.save`) with this estimator's
        parameters and fitted attributes added; :func:`skae.load` reads it
        back as a ``DeepEmbeddedClustering``.

        Parameters
        ----------
        path : str or path-like
            Where to write.
        """
        check_is_fitted(self)
        params = self.get_params(deep=False)
        template = params.pop("autoencoder")
        if template is not None:
            # The template is the fitted autoencoder's class and parameters
            # except the two that fit overrides: store those two alone.
            template = {"epochs": template.epochs, "random_state": template.random_state}
        if isinstance(params["random_state"], np.random.RandomState):
            params["random_state"] = None
        wrapper = {
            "params": params,
            "autoencoder_template": template,
            "fitted": {name: getattr(self, name) for name in self._fitted_attributes if hasattr(self, name)},
        }
        from . import _persistence

        _persistence.save(self.autoencoder_, path, wrapper=(self, wrapper))

    @classmethod
    def _from_saved(cls, autoencoder, wrapper):
        """Rebuild a fitted estimator from its loaded autoencoder and saved wrapper entry."""
        params = dict(wrapper["params"])
        template = wrapper.get("autoencoder_template")
        if template is not None:
            template = clone(autoencoder).set_params(**template)
        estimator = cls(autoencoder=template, **params)
        unknown = set(wrapper["fitted"]) - set(cls._fitted_attributes)
        if unknown:
            raise ValueError(f"unknown attributes {sorted(unknown)}")
        for name, value in wrapper["fitted"].items():
            setattr(estimator, name, value)
        estimator.autoencoder_ = autoencoder
        return estimator

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        tags.input_tags.allow_nan = False
        return tags
