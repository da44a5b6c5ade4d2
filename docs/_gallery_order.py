"""The order of the gallery's examples: the order that teaches, not the alphabet.

sphinx-gallery imports this class by name (``_gallery_order.TeachingOrder``),
as its ``within_subsection_order``; an example not listed goes last, by name.
"""

from pathlib import Path

ORDER = [
    # basics
    "plot_dense_autoencoder.py",
    "plot_conv_autoencoder.py",
    "plot_kmeans_latents.py",
    "plot_tsne_map.py",
    "plot_interpolation.py",
    # latent space
    "plot_clustering_preset.py",
    # variants
    "plot_vae_samples.py",
    "plot_denoising.py",
    "plot_anomaly_scores.py",
    "plot_deep_clustering.py",
    "plot_own_network.py",
    # practice
    "plot_grid_search.py",
    "plot_save_load.py",
    "plot_onnx_serving.py",
]


class TeachingOrder:
    """Sort key of the examples within a gallery section."""

    def __init__(self, src_dir):
        self.src_dir = src_dir

    def __call__(self, filename):
        name = Path(filename).name
        return (ORDER.index(name) if name in ORDER else len(ORDER), name)

    def __repr__(self):
        return f"{type(self).__name__}()"
