import sys

import numpy as np
import pytest
from sklearn.base import clone

from skae import ConvAutoencoder, DenseAutoencoder, UMAPMixture
from skae.presets import N2D_UMAP_PARAMS, clustering_autoencoder, clustering_pipeline, reconstruction_autoencoder


def test_clustering_autoencoder_is_the_dec_architecture_with_a_linear_code(digits):
    X, _ = digits
    ae = clustering_autoencoder(7, epochs=1, random_state=0)
    assert isinstance(ae, DenseAutoencoder)
    assert clone(ae).get_params() == ae.get_params()
    ae.fit(X[:200])
    units = [layer.units for layer in (*ae.encoder_.layers, *ae.decoder_.layers)]
    assert units == [500, 500, 2000, 7, 2000, 500, 500, 64]
    assert ae.encoder_.get_layer("latent").activation.__name__ == "linear"
    assert ae.transform(X[:5]).shape == (5, 7)


def test_preset_parameters_can_be_overridden():
    ae = clustering_autoencoder(10, epochs=3, batch_size=64, hidden_layer_sizes=(100,), learning_rate=0.01)
    assert (ae.epochs, ae.batch_size, ae.hidden_layer_sizes, ae.learning_rate) == (3, 64, (100,), 0.01)
    assert ae.latent_dim == 10
    with pytest.raises(TypeError, match="unexpected keyword"):
        clustering_autoencoder(10, no_such_parameter=1)


def test_clustering_pipeline_steps():
    pytest.importorskip("umap")
    pipe = clustering_pipeline(5, random_state=0, umap_params={"n_neighbors": 7})
    assert [name for name, _ in pipe.steps] == ["autoencoder", "clusterer"]
    # N2D's network as N2D trains it, for as many passes as the data affords.
    dense = pipe.named_steps["autoencoder"]
    assert isinstance(dense, DenseAutoencoder) and dense.hidden_layer_sizes == (500, 500, 2000)
    assert (dense.latent_dim, dense.output_activation, dense.epochs) == (5, "linear", "auto")
    # UMAP and the mixture from three seeds, the run that separates the codes kept.
    clusterer = pipe.named_steps["clusterer"]
    assert isinstance(clusterer, UMAPMixture)
    assert (clusterer.n_clusters, clusterer.n_runs, clusterer.random_state) == (5, 3, 0)
    umap_step = clusterer.embedding
    assert umap_step.n_components == 5 and umap_step.n_neighbors == 7
    assert umap_step.min_dist == N2D_UMAP_PARAMS["min_dist"]
    # Ten mixture initialisations, the most likely kept: one can merge two clusters.
    mixture = clusterer.mixture
    assert (mixture.n_components, mixture.covariance_type, mixture.n_init) == (5, "full", 10)
    # Their settings are the pipeline's, for set_params and grid searches.
    pipe.set_params(clusterer__embedding__n_neighbors=30, clusterer__mixture__n_init=4)
    assert (umap_step.n_neighbors, clusterer.mixture.n_init) == (30, 4)
    conv = clustering_pipeline(10, autoencoder="conv", random_state=3).named_steps["autoencoder"]
    assert isinstance(conv, ConvAutoencoder) and conv.activation == "elu" and conv.random_state == 3
    mine = DenseAutoencoder(latent_dim=4)
    assert clustering_pipeline(3, autoencoder=mine).named_steps["autoencoder"] is mine
    with pytest.raises(ValueError, match="'conv', 'dense' or an estimator; got 'pca'"):
        clustering_pipeline(3, autoencoder="pca")


@pytest.mark.backends
def test_clustering_pipeline_fits_and_predicts_end_to_end(digits):
    # The preset as users call it, on every backend: its own autoencoder
    # trains and the clusterer runs on the codes. An identity stands in for
    # UMAP, whose first call compiles for 20 s, and the net is small.
    pytest.importorskip("umap")
    from sklearn.preprocessing import FunctionTransformer

    from skae.metrics import clustering_accuracy

    X, y = digits
    pipe = clustering_pipeline(10, random_state=0).set_params(
        autoencoder__hidden_layer_sizes=(64,),
        autoencoder__epochs=15,
        clusterer__embedding=FunctionTransformer(),
        clusterer__mixture__n_init=2,
    )
    labels = pipe.fit_predict(X)
    assert labels.shape == (len(X),) and len(np.unique(labels)) == 10
    # Far above chance (0.1): the codes keep the digits apart.
    assert clustering_accuracy(y, labels) > 0.5
    # New rows take the fitted path; the same rows get the labels of the fit.
    np.testing.assert_array_equal(pipe.predict(X), labels)
    assert pipe[-1].best_run_ == np.argmax(pipe[-1].silhouettes_)


def test_clustering_pipeline_without_umap_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "umap", None)
    with pytest.raises(ImportError, match="pip install umap-learn"):
        clustering_pipeline(10)


# Here, not in test_deep_clustering.py: NumPy and UMAP only, so the JAX and
# PyTorch test sets need not compile UMAP's kernels again.
@pytest.mark.slow  # UMAP's first call compiles its kernels (about 20 s)
def test_umap_start_centres_each_cluster_on_its_mean_code():
    from skae._dec_settings import umap_start

    rng = np.random.default_rng(0)
    blobs = [rng.normal(centre, 0.3, size=(100, 4)) for centre in (0.0, 5.0, 10.0)]
    codes = np.concatenate(blobs)
    weights = rng.uniform(0.5, 2.0, size=len(codes))
    centers, labels, scores = umap_start(codes, UMAPMixture(3, n_runs=2, random_state=0), weights)
    assert len(scores) == 2 and min(scores) > 0.9  # three blobs far apart: UMAP finds them from either seed
    # Each blob is one cluster, centred on its weighted mean code.
    assert sorted(np.unique(labels[i * 100 : (i + 1) * 100]).size for i in range(3)) == [1, 1, 1]
    assert len(np.unique(labels)) == 3
    for k in range(3):
        members = labels == k
        np.testing.assert_allclose(centers[k], np.average(codes[members], axis=0, weights=weights[members]))


@pytest.mark.slow  # two 15-epoch fits of 784-unit layers
def test_reconstruction_preset_reconstructs_better_than_the_tutorial_model(digits):
    X, _ = digits
    preset = reconstruction_autoencoder(8, epochs=15, random_state=0).fit(X)
    tutorial = DenseAutoencoder(latent_dim=8, epochs=15, random_state=0).fit(X)
    assert preset.latent_activation == "linear"
    assert np.isfinite(preset.score(X))
    assert preset.score(X) > tutorial.score(X)


def test_deep_clustering_presets_build_dec_and_dcec(mnist_small):
    from skae import DeepEmbeddedClustering
    from skae.presets import deep_clustering

    dec = deep_clustering(10, random_state=0)
    assert isinstance(dec, DeepEmbeddedClustering)
    assert dec.get_params() == DeepEmbeddedClustering(10, random_state=0).get_params()

    X, _ = mnist_small
    X = X[:300]
    dcec = deep_clustering(10, autoencoder="conv", random_state=0, pretrain_epochs=1, max_iter=4, update_interval=2)
    assert dcec.reconstruction_weight == 0.1
    # DCEC's KMeans start on any data: the UMAP start was measured with the dense network only.
    assert dcec.init == "kmeans" and dec.init == "auto"
    dcec.fit(X)
    # A linear code of one unit per cluster: negative values survive.
    codes = dcec.transform(X)
    assert codes.shape == (300, 10)
    assert (codes < 0).any()
    assert dcec.predict(X.reshape(-1, 28, 28)).shape == (300,)
    with pytest.raises(ValueError, match="'dense' or 'conv'"):
        deep_clustering(autoencoder="dcec")


def test_conv_latent_activation_defaults_to_activation(digits):
    X = digits[0][:64]
    tutorial = ConvAutoencoder(image_shape=(8, 8, 1), filters=(4,), latent_dim=3, epochs=1, random_state=0).fit(X)
    linear = clone(tutorial).set_params(latent_activation="linear").fit(X)
    assert tutorial.encoder_.layers[-1].get_config()["activation"] == "relu"
    assert linear.encoder_.layers[-1].get_config()["activation"] == "linear"
