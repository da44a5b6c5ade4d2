"""N2D's clustering of codes (McConville et al., 2020): UMAP, then a Gaussian mixture.

:func:`skae.presets.clustering_pipeline` puts these steps after its
autoencoder; :class:`~skae.DeepEmbeddedClustering` starts fine-tuning from
their clusters (``init="umap"``). umap-learn is imported when the steps
are built, not with skae.
"""

from __future__ import annotations

#: UMAP settings of N2D (McConville et al., 2020): a local, tightly packed embedding.
N2D_UMAP_PARAMS = {"n_neighbors": 20, "min_dist": 0.0, "metric": "euclidean"}


def umap_mixture_steps(n_clusters, *, random_state=None, umap_params=None, needed_by="clustering_pipeline", hint=""):
    """N2D's clustering of codes, unfitted: the steps ``("umap", UMAP)`` and ``("mixture", GaussianMixture)``.

    :func:`skae.presets.clustering_pipeline` puts them after its autoencoder;
    :class:`~skae.DeepEmbeddedClustering` starts fine-tuning from their
    clusters (``init="umap"``). Without umap-learn, an ``ImportError``
    says that ``needed_by`` needs it, and ``hint`` what else to do.
    """
    try:
        from umap import UMAP
    except ImportError as exc:
        raise ImportError(
            f"{needed_by} needs umap-learn; install it with `pip install umap-learn` "
            f'(or, in a checkout of skae, `pip install -e ".[umap]"`){hint}.'
        ) from exc
    from sklearn.mixture import GaussianMixture

    return [
        (
            "umap",
            UMAP(
                n_components=n_clusters,
                random_state=random_state,
                # A seeded UMAP runs on one thread anyway; saying so avoids
                # its warning that it changed n_jobs (and a parameter
                # that fit would otherwise rewrite).
                **{**({"n_jobs": 1} if random_state is not None else {}), **N2D_UMAP_PARAMS, **(umap_params or {})},
            ),
        ),
        # One mixture fit can settle in a local optimum that merges two
        # digits and splits another (the accuracy swung widely over
        # mixture seeds on one fixed UMAP embedding, NMI steadier); the
        # fit with the highest likelihood of ten was the accurate one,
        # and made the accuracy steady over seeds (benchmarks/results.md,
        # section 4b).
        ("mixture", GaussianMixture(n_clusters, covariance_type="full", n_init=10, random_state=random_state)),
    ]
