"""Ready-made configurations, measured on MNIST by ``benchmarks/run.py``.

Each function returns an ordinary, unfitted skae estimator (or a
:class:`~sklearn.pipeline.Pipeline`), so any parameter can still be changed
with ``set_params`` or tuned with ``GridSearchCV``.
"""

from __future__ import annotations

from ._dense import DEC_NETWORK, DenseAutoencoder
from ._n2d import N2D_UMAP_PARAMS, UMAPMixture, n2d_mixture, n2d_umap

__all__ = [
    "N2D_UMAP_PARAMS",
    "clustering_autoencoder",
    "clustering_pipeline",
    "deep_clustering",
    "reconstruction_autoencoder",
]


def clustering_autoencoder(n_clusters=10, *, epochs=20, batch_size=256, random_state=None, **params):
    """Dense autoencoder whose latent codes cluster well with KMeans.

    It is the architecture of DEC and N2D (Xie et al., 2016; McConville et
    al., 2020): a ``d-500-500-2000-n_clusters`` encoder with ReLU hidden
    layers, a linear latent layer of one unit per cluster, and the mirrored
    decoder. A small linear code forces the autoencoder to keep the coarse
    structure of the data (which digit) rather than its fine detail.

    Parameters
    ----------
    n_clusters : int, default=10
        Number of clusters expected; it is also the latent size.
    epochs : int, default=20
        Passes over the training data. KMeans accuracy on the codes keeps
        improving with longer training; ``benchmarks/results.md`` (section
        "Clustering") gives it after the default 20 epochs.
    batch_size : int, default=256
        Rows per gradient step.
    random_state : int, RandomState instance or None, default=None
        Seeds initialisation and shuffling.
    **params
        Any other :class:`~skae.DenseAutoencoder` parameter, overriding the preset.

    Returns
    -------
    autoencoder : DenseAutoencoder
        An unfitted estimator.

    See Also
    --------
    clustering_pipeline : An autoencoder followed by UMAP and a Gaussian mixture.

    Examples
    --------
    >>> from sklearn.cluster import KMeans
    >>> from sklearn.pipeline import make_pipeline
    >>> from skae.presets import clustering_autoencoder
    >>> ae = clustering_autoencoder(10, random_state=0)
    >>> ae.latent_dim, ae.hidden_layer_sizes, ae.latent_activation
    (10, (500, 500, 2000), 'linear')
    >>> pipe = make_pipeline(ae, KMeans(10, n_init=10, random_state=0))

    ``pipe.fit_predict(X)`` then trains the autoencoder on X (for instance
    MNIST pixels scaled to [0, 1]) and returns KMeans's cluster labels.
    """
    settings = {
        **DEC_NETWORK,
        "latent_dim": n_clusters,
        "epochs": epochs,
        "batch_size": batch_size,
        "random_state": random_state,
    }
    settings.update(params)
    return DenseAutoencoder(**settings)


def clustering_pipeline(n_clusters=10, *, autoencoder="dense", random_state=None, umap_params=None):
    """N2D-style pipeline: an autoencoder, then UMAP and a Gaussian mixture (:class:`~skae.UMAPMixture`).

    UMAP (from the optional ``umap-learn`` package: ``pip install -e ".[umap]"``
    in a checkout of skae)
    embeds the latent codes into ``n_clusters`` dimensions with the local
    settings of N2D (``N2D_UMAP_PARAMS``: ``n_neighbors=20``,
    ``min_dist=0``), and a full-covariance
    :class:`~sklearn.mixture.GaussianMixture` finds the clusters, keeping the
    most likely of ten initialisations: a single one sometimes merges two
    digits into one cluster and splits another. UMAP and the mixture run
    from three seeds, and the run whose clusters stand most apart in the
    codes is kept: one UMAP run can merge two digits.
    ``benchmarks/results.md`` gives its accuracy on MNIST over several seeds.

    Parameters
    ----------
    n_clusters : int, default=10
        Number of clusters.
    autoencoder : {"dense", "conv"} or estimator, default="dense"
        ``"dense"``: N2D's autoencoder, :func:`clustering_autoencoder` with a
        linear output and ``epochs="auto"`` (as many passes as make 5,600,000
        samples, at most 100: 80 on all 70,000 MNIST images, 100
        on 10,000), for any tabular data.
        ``"conv"``: the tutorial's ``ConvAutoencoder(activation="elu")`` with
        64 latents, 20 epochs, for square single-channel images given as
        flat rows (set ``image_shape`` through ``set_params`` for other
        images); the default before 0.1.0.
        Or any transformer, used as it is.

        .. versionchanged:: 0.1.0
           The default was ``"conv"``. On MNIST the dense network was
           more accurate on 10,000 and on all 70,000 images
           (``benchmarks/results.md``, section 4c).
    random_state : int or None, default=None
        Seeds the autoencoder (when built here) and the clusterer's runs
        of UMAP and the mixture.
    umap_params : dict or None, default=None
        Overrides of the UMAP settings.

    Returns
    -------
    pipeline : sklearn.pipeline.Pipeline
        Unfitted steps ``"autoencoder"`` and ``"clusterer"`` (a
        :class:`~skae.UMAPMixture`, whose UMAP and mixture are its
        ``embedding`` and ``mixture``: ``clusterer__embedding__n_neighbors``
        names UMAP's ``n_neighbors``); ``fit_predict(X)`` returns cluster labels.

        .. versionchanged:: 0.1.0
           The steps were ``"autoencoder"``, ``"umap"`` and ``"mixture"``,
           fitted once.

    Raises
    ------
    ImportError
        If umap-learn is not installed.
    """
    from sklearn.pipeline import Pipeline

    if isinstance(autoencoder, str):
        if autoencoder == "conv":
            from ._conv import ConvAutoencoder

            autoencoder = ConvAutoencoder(activation="elu", random_state=random_state)
        elif autoencoder == "dense":
            # N2D's network as N2D trains it: a linear output (on 10,000
            # MNIST images it clustered better than a sigmoid one), and
            # passes scaled to the data (benchmarks/results.md, section 4c).
            autoencoder = clustering_autoencoder(
                n_clusters, epochs="auto", output_activation="linear", random_state=random_state
            )
        else:
            raise ValueError(f"autoencoder must be 'conv', 'dense' or an estimator; got {autoencoder!r}.")
    umap = n2d_umap(n_clusters, random_state=random_state, umap_params=umap_params, needed_by="clustering_pipeline")
    mixture = n2d_mixture(n_clusters, random_state=random_state)
    clusterer = UMAPMixture(n_clusters, embedding=umap, mixture=mixture, random_state=random_state)
    return Pipeline([("autoencoder", autoencoder), ("clusterer", clusterer)])


def deep_clustering(n_clusters=10, *, autoencoder="dense", random_state=None, **params):
    """Deep embedded clustering with a dense (DEC) or convolutional (DCEC) autoencoder.

    ``"dense"`` is :class:`~skae.DeepEmbeddedClustering` with its defaults:
    DEC's ``d-500-500-2000-n_clusters`` network, pretrained as a masking
    denoiser (Xie et al., 2016), or on moved and turned copies of images
    (Guo et al., 2018), and on 10,000 samples or more started from N2D's
    clusters of its codes (``init="auto"``). ``"conv"`` follows DCEC (Guo et al., 2017):
    a :class:`~skae.ConvAutoencoder` with two strided 5x5 convolutions of
    32 and 64 filters and a linear code of ``n_clusters`` units, pretrained
    for 50 epochs as a masking denoiser (a fifth of the pixels dropped), and
    kept reconstructing during fine-tuning (``reconstruction_weight=0.1``, DCEC's
    weight) so the codes stay faithful to the images, and it starts from
    KMeans on any data (``init="kmeans"``, DCEC's start; the UMAP start of
    the defaults was measured with the dense network only). It is for
    square single-channel images given as flat rows or images whose sides
    divide by 4 (28x28 MNIST).

    Parameters
    ----------
    n_clusters : int, default=10
        Number of clusters; also the latent size.
    autoencoder : {"dense", "conv"}, default="dense"
        The network to pretrain and fine-tune.
    random_state : int or None, default=None
        Seeds pretraining, the start (``init``) and fine-tuning.
    **params
        Any other :class:`~skae.DeepEmbeddedClustering` parameter, overriding
        the preset.

    Returns
    -------
    estimator : DeepEmbeddedClustering
        Unfitted; ``fit_predict(X)`` returns cluster labels.

    Examples
    --------
    >>> from skae.presets import deep_clustering
    >>> dcec = deep_clustering(10, autoencoder="conv", random_state=0)
    >>> dcec.autoencoder.filters, dcec.reconstruction_weight
    ((32, 64), 0.1)

    On tens of thousands of images, train on moved copies as well
    (``shift=0.1``): on all 70,000 MNIST images they raised the accuracy,
    while on 10,000 they lowered it, so the preset leaves them off
    (:ref:`deep_clustering`, section "A convolutional network", gives the
    figures).

    >>> deep_clustering(10, autoencoder="conv", shift=0.1).shift
    0.1
    """
    from ._deep_clustering import DeepEmbeddedClustering

    if autoencoder == "dense":
        preset = {}
    elif autoencoder == "conv":
        from ._conv import ConvAutoencoder

        preset = {
            "autoencoder": ConvAutoencoder(
                filters=(32, 64),
                kernel_size=5,
                strides=2,
                padding="same",
                latent_dim=n_clusters,
                # DCEC's code is linear: a ReLU code loses its negative half,
                # and KMeans and the Student-t kernel work in the whole space.
                latent_activation="linear",
                output_activation="linear",
                # Masking noise, as in DEC's default pretraining: on 10,000
                # MNIST images it lifted both the KMeans start and DCEC's
                # result (benchmarks/results.md, section 10, "The
                # convolutional preset").
                noise="mask",
                noise_level=0.2,
                # No image moves (shift) by default: they raised the accuracy
                # on all 70,000 MNIST images but lowered it on 10,000 (user
                # guide, Deep clustering, section "A convolutional network").
            ),
            "reconstruction_weight": 0.1,
            "pretrain_epochs": 50,
            # KMeans on any data, as DCEC starts: the UMAP start that
            # init="auto" takes on 10,000 samples or more was measured with
            # the dense network only.
            "init": "kmeans",
        }
    else:
        raise ValueError(f"autoencoder must be 'dense' or 'conv'; got {autoencoder!r}.")
    return DeepEmbeddedClustering(n_clusters, random_state=random_state, **{**preset, **params})


def reconstruction_autoencoder(latent_dim=64, *, epochs=20, batch_size=256, random_state=None, **params):
    """Dense autoencoder tuned for reconstruction error at a given latent size.

    One 784-unit ReLU layer on each side of a linear latent layer: an
    unbounded code keeps more information than the tutorial's ReLU code,
    whose negative half is cut off, and the decoder's hidden layer lets it
    undo the encoder's non-linearity.

    Parameters
    ----------
    latent_dim : int, default=64
        Size of the latent code.
    epochs : int, default=20
        Passes over the training data.
    batch_size : int, default=256
        Rows per gradient step.
    random_state : int, RandomState instance or None, default=None
        Seeds initialisation and shuffling.
    **params
        Any other :class:`~skae.DenseAutoencoder` parameter, overriding the preset.

    Returns
    -------
    autoencoder : DenseAutoencoder
        An unfitted estimator.

    Examples
    --------
    >>> from skae.presets import reconstruction_autoencoder
    >>> ae = reconstruction_autoencoder(32)
    >>> ae.latent_dim, ae.latent_activation, ae.decoder_layer_sizes is None
    (32, 'linear', True)
    """
    settings = {
        "hidden_layer_sizes": (784,),
        "decoder_layer_sizes": None,
        "latent_dim": latent_dim,
        "activation": "relu",
        "latent_activation": "linear",
        "epochs": epochs,
        "batch_size": batch_size,
        "random_state": random_state,
    }
    settings.update(params)
    return DenseAutoencoder(**settings)
