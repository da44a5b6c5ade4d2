import sys

import numpy as np
import pytest
from sklearn.base import clone

from skae import ConvAutoencoder, DenseAutoencoder
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
    pipe = clustering_pipeline(5, autoencoder="dense", random_state=0, umap_params={"n_neighbors": 7})
    assert [name for name, _ in pipe.steps] == ["autoencoder", "umap", "mixture"]
    assert pipe.named_steps["autoencoder"].latent_dim == 5
    umap_step = pipe.named_steps["umap"]
    assert umap_step.n_components == 5 and umap_step.n_neighbors == 7
    assert umap_step.min_dist == N2D_UMAP_PARAMS["min_dist"]
    assert pipe.named_steps["mixture"].n_components == 5
    # Ten mixture initialisations, the most likely kept: one can merge two clusters.
    assert pipe.named_steps["mixture"].n_init == 10
    conv = clustering_pipeline(10, random_state=3).named_steps["autoencoder"]
    assert isinstance(conv, ConvAutoencoder) and conv.activation == "elu" and conv.random_state == 3
    mine = DenseAutoencoder(latent_dim=4)
    assert clustering_pipeline(3, autoencoder=mine).named_steps["autoencoder"] is mine
    with pytest.raises(ValueError, match="'conv', 'dense' or an estimator; got 'pca'"):
        clustering_pipeline(3, autoencoder="pca")


def test_clustering_pipeline_without_umap_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "umap", None)
    with pytest.raises(ImportError, match="pip install umap-learn"):
        clustering_pipeline(10)


@pytest.mark.slow  # two 15-epoch fits of 784-unit layers
def test_reconstruction_preset_reconstructs_better_than_the_tutorial_model(digits):
    X, _ = digits
    preset = reconstruction_autoencoder(8, epochs=15, random_state=0).fit(X)
    tutorial = DenseAutoencoder(latent_dim=8, epochs=15, random_state=0).fit(X)
    assert preset.latent_activation == "linear"
    assert np.isfinite(preset.score(X))
    assert preset.score(X) > tutorial.score(X)
