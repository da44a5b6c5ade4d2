"""DeepEmbeddedClustering: DEC and IDEC as a scikit-learn clusterer."""

import copy
import pickle
import random
import sys

import keras
import numpy as np
import pytest
from _helpers import dense_decoder, dense_encoder, small_conv, small_dec
from sklearn.base import BaseEstimator, clone
from sklearn.exceptions import NotFittedError
from sklearn.metrics import adjusted_rand_score

import skae
from skae import AutoencoderTransformer, DeepEmbeddedClustering, UMAPMixture, VariationalAutoencoder
from skae._clustering_layer import ClusteringLayer
from skae._dec_settings import umap_start
from skae._deep_clustering import soft_assignments, target_distribution

# Also run under JAX and PyTorch in CI (the backend set).
pytestmark = pytest.mark.backends


def test_fit_sets_the_documented_attributes(fitted_dec, digits):
    X = digits[0][:600]
    assert fitted_dec.labels_.shape == (600,)
    assert fitted_dec.init_labels_.shape == (600,)
    assert fitted_dec.cluster_centers_.shape == (10, 10)
    assert fitted_dec.n_features_in_ == 64
    assert 0 < fitted_dec.n_iter_ <= 60
    # The autoencoder's encoder holds the fine-tuned weights.
    np.testing.assert_array_equal(fitted_dec.autoencoder_.transform(X), fitted_dec.transform(X))
    np.testing.assert_array_equal(fitted_dec.predict(X), fitted_dec.labels_)


def test_predict_proba_rows_sum_to_one_and_predict_is_their_argmax(fitted_dec, digits):
    X = digits[0][600:700]
    q = fitted_dec.predict_proba(X)
    assert q.shape == (100, 10)
    np.testing.assert_allclose(q.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(fitted_dec.predict(X), q.argmax(axis=1))


@pytest.mark.slow
def test_fine_tuning_sharpens_the_soft_assignments(digits):
    # DEC's objective: the same pretraining and KMeans (same random_state),
    # then fine-tuning makes the assignments more confident.
    X = digits[0][:600]
    start = small_dec(max_iter=0).fit(X)
    tuned = small_dec(max_iter=100).fit(X)
    assert start.n_iter_ == 0 and tuned.n_iter_ > 0
    np.testing.assert_array_equal(start.init_labels_, tuned.init_labels_)
    np.testing.assert_array_equal(start.labels_, start.init_labels_)
    assert tuned.predict_proba(X).max(axis=1).mean() > start.predict_proba(X).max(axis=1).mean()


@pytest.mark.slow
def test_same_random_state_same_result_without_global_seeding(digits):
    X = digits[0][:300]
    np_state, py_state = np.random.get_state()[1].copy(), random.getstate()  # noqa: NPY002
    a = small_dec(max_iter=20).fit(X)
    np.testing.assert_array_equal(np.random.get_state()[1], np_state)  # noqa: NPY002
    assert random.getstate() == py_state
    b = small_dec(max_iter=20).fit(X)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    np.testing.assert_array_equal(a.cluster_centers_, b.cluster_centers_)
    c = small_dec(max_iter=20, random_state=1).fit(X)
    assert not np.array_equal(a.cluster_centers_, c.cluster_centers_)


@pytest.mark.slow
def test_idec_trains_the_decoder_and_dec_leaves_it(digits):
    X = digits[0][:300]
    dec = small_dec(max_iter=20).fit(X)
    idec = small_dec(max_iter=20, reconstruction_weight=1.0).fit(X)
    pretrained = small_dec(max_iter=0).fit(X)
    pretrained_decoder = pretrained.autoencoder_.decoder_.get_weights()
    for a, b in zip(dec.autoencoder_.decoder_.get_weights(), pretrained_decoder, strict=True):
        np.testing.assert_array_equal(a, b)
    assert any(
        not np.array_equal(a, b)
        for a, b in zip(idec.autoencoder_.decoder_.get_weights(), pretrained_decoder, strict=True)
    )


def test_default_autoencoder_is_the_papers_network(digits):
    X = digits[0][:200]
    dec = DeepEmbeddedClustering(4, pretrain_epochs=1, max_iter=2, random_state=0).fit(X)
    ae = dec.autoencoder_
    assert type(ae).__name__ == "DenseAutoencoder"
    assert ae.hidden_layer_sizes == (500, 500, 2000)
    assert ae.latent_dim == 4 and ae.epochs == 1 and ae.output_activation == "linear"
    assert (ae.noise, ae.noise_level) == ("mask", 0.2)  # denoising pretraining
    # Moved and turned images (28x28 here) train clean, as DEC-DA's do.
    images = DeepEmbeddedClustering(4, pretrain_epochs=1, max_iter=2, random_state=0).fit(
        np.random.default_rng(0).random((20, 28, 28))
    )
    assert images.autoencoder_.noise is None
    assert (images.autoencoder_.shift, images.autoencoder_.rotation) == (0.1, 10.0)


def test_conv_autoencoder_can_be_given(digits):
    X = digits[0][:200]
    dec = small_dec(autoencoder=small_conv(latent_dim=10), max_iter=5).fit(X)
    assert dec.transform(X[:5]).shape == (5, 10)
    assert dec.autoencoder_.epochs == 3  # pretrain_epochs, not the template's


def test_conv_dec_takes_images_and_flat_rows_like_its_autoencoder(digits):
    X = digits[0][:200]
    images = X.reshape(-1, 8, 8)
    dec = small_dec(autoencoder=small_conv(latent_dim=10), max_iter=5).fit(images)
    assert dec.autoencoder_.layout_.sample_shape == (8, 8, 1)
    assert dec.n_features_in_ == 64
    np.testing.assert_array_equal(dec.predict(images), dec.labels_)
    np.testing.assert_array_equal(dec.predict(X), dec.predict(images))
    with pytest.raises(ValueError, match="shape"):
        dec.predict(X.reshape(-1, 4, 16))


@pytest.mark.slow
def test_init_gives_the_starting_centres(digits):
    X = digits[0][:300]
    first = small_dec(max_iter=0).fit(X)
    centres = first.cluster_centers_ + 0.5
    given = small_dec(init=centres, max_iter=0).fit(X)
    np.testing.assert_allclose(given.cluster_centers_, centres, atol=1e-6)
    np.testing.assert_array_equal(given.init_labels_, given.predict_proba(X).argmax(axis=1))
    with pytest.raises(ValueError, match=r"init holds centres of shape \(2, 10\); expected \(n_clusters, n_latent\)"):
        small_dec(init=np.zeros((2, 10)), max_iter=0).fit(X)
    with pytest.raises(ValueError, match="init"):
        small_dec(init="spectral").fit(X)


def test_init_auto_starts_from_umap_on_10000_samples_or_more():
    from skae._dec_settings import AUTO_INIT_UMAP_MIN_SAMPLES, resolve_init

    assert AUTO_INIT_UMAP_MIN_SAMPLES == 10_000
    assert resolve_init("auto", 9_999) == "kmeans"
    assert resolve_init("auto", 10_000) == "umap"
    assert resolve_init("kmeans", 70_000) == "kmeans" and resolve_init("umap", 50) == "umap"
    assert DeepEmbeddedClustering().init == "auto"
    assert DeepEmbeddedClustering()._umap_start(9_999, 0) is None
    assert DeepEmbeddedClustering(init="kmeans")._umap_start(70_000, 0) is None
    # N2D's clusterer, as the clustering preset has it: three runs seeded
    # apart by the fit's seed.
    start = DeepEmbeddedClustering(8)._umap_start(70_000, 3)
    assert isinstance(start, UMAPMixture) and (start.n_clusters, start.n_runs, start.random_state) == (8, 3, 3)
    runs = start._runs()
    assert [embed.get_params() for embed, _ in runs] == [embed.get_params() for embed, _ in start._runs()]
    seeds = set()
    for embed, mixture in runs:
        assert (embed.n_components, embed.n_neighbors, embed.min_dist) == (8, 20, 0.0)
        assert (mixture.n_components, mixture.covariance_type, mixture.n_init) == (8, "full", 10)
        assert embed.random_state == mixture.random_state
        seeds.add(embed.random_state)
    assert len(seeds) == 3


def test_umap_start_centres_the_kept_run_on_its_clusters_weighted_mean_codes():
    from sklearn.mixture import GaussianMixture
    from sklearn.preprocessing import FunctionTransformer

    rng = np.random.default_rng(0)
    codes = np.concatenate([rng.normal(centre, 0.3, size=(100, 2)) for centre in ([0, 0], [0, 6], [6, 0])])
    truth = np.repeat([0, 1, 2], 100)
    weights = rng.uniform(0.5, 2.0, size=len(codes))
    # tests/test_umap_mixture.py checks which run is kept; DEC starts from its clusters.
    clusterer = UMAPMixture(3, embedding=FunctionTransformer(), mixture=GaussianMixture(), random_state=0)
    centers, labels, scores = umap_start(codes, clusterer, weights)
    assert adjusted_rand_score(truth, labels) == 1.0 and len(scores) == 3
    for k in range(3):
        np.testing.assert_allclose(centers[k], np.average(codes[labels == k], axis=0, weights=weights[labels == k]))
    # A component that no code falls in (possible on tiny data) is centred on
    # the code it is most probable for: here the fourth, far from every blob.
    means = [[0, 0], [0, 6], [6, 0], [30, 30]]
    nearest = UMAPMixture(4, embedding=FunctionTransformer(), mixture=NearestMean(means), n_runs=1)
    centers, labels, _ = umap_start(codes, nearest, weights)
    assert set(labels) == {0, 1, 2}
    np.testing.assert_array_equal(centers[3], codes[NearestMean(means).predict_proba(codes)[:, 3].argmax()])


class NearestMean(BaseEstimator):
    """A stand-in mixture: each sample's probabilities fall with its squared distance to fixed means."""

    def __init__(self, means=None, n_components=None):
        self.means = means
        self.n_components = n_components

    def fit_predict(self, X, y=None):
        return self.predict(X)

    def predict(self, X):
        return self.predict_proba(X).argmax(axis=1)

    def predict_proba(self, X):
        closeness = -((X[:, None, :] - np.asarray(self.means)[None]) ** 2).sum(axis=-1)
        e = np.exp(closeness - closeness.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)


def test_umap_start_without_umap_learn_stops_before_pretraining(monkeypatch, digits):
    monkeypatch.setitem(sys.modules, "umap", None)  # as if umap-learn were not installed
    dec = small_dec(init="umap")
    trained = []
    monkeypatch.setattr(AutoencoderTransformer, "_train", lambda *a, **k: trained.append(1))
    with pytest.raises(ImportError, match=r"DeepEmbeddedClustering\(init='umap'\) needs umap-learn.*init='kmeans'"):
        dec.fit(digits[0][:100])
    assert not trained and not hasattr(dec, "labels_")
    with pytest.raises(ImportError, match="init='auto' starts from UMAP's clusters on 10,000 samples or more"):
        DeepEmbeddedClustering()._umap_start(10_000, 0)


def test_sparse_rows_cluster_like_dense_ones(digits):
    from scipy import sparse

    X = digits[0][:200]
    dense = small_dec(max_iter=20).fit(X)
    rows = small_dec(max_iter=20).fit(sparse.csr_matrix(X))
    assert DeepEmbeddedClustering().__sklearn_tags__().input_tags.sparse
    np.testing.assert_array_equal(rows.labels_, dense.labels_)
    np.testing.assert_allclose(rows.transform(sparse.csr_matrix(X)), dense.transform(X), atol=1e-6)
    np.testing.assert_allclose(rows.cluster_centers_, dense.cluster_centers_, atol=1e-5)


def test_transform_validates_once(fitted_dec, digits, monkeypatch):
    from skae import _input

    calls = []
    real = _input.validate_data
    monkeypatch.setattr(_input, "validate_data", lambda *a, **k: calls.append(1) or real(*a, **k))
    rows = digits[0][:5].tolist()  # a list: not the fast path for plain arrays
    fitted_dec.transform(rows)
    assert len(calls) == 1
    calls.clear()
    fitted_dec.predict(rows)
    assert len(calls) == 1


def test_fit_times_and_scaled_max_iter(fitted_dec):
    assert set(fitted_dec.fit_times_) == {
        f"{phase}_{kind}" for phase in ("pretrain", "init", "finetune") for kind in ("s", "cpu_s")
    }
    assert all(seconds >= 0 for seconds in fitted_dec.fit_times_.values())
    auto = DeepEmbeddedClustering(max_iter="auto", batch_size=256)
    # 20 passes, at least 4,000 steps: a fixed 4,000 stopped a 70,000-image fit before tol did.
    assert auto._max_iter(10_000) == 4000
    assert auto._max_iter(70_000) == 20 * 274
    assert DeepEmbeddedClustering(max_iter=7)._max_iter(70_000) == 7


def test_defaults_match_the_presets_and_there_is_no_score():
    assert DeepEmbeddedClustering().n_clusters == 10
    # No per-sample objective on new data (the targets depend on the batch).
    assert not hasattr(DeepEmbeddedClustering(), "score")


def test_fine_tuning_batches_continue_one_stream_of_passes():
    from _helpers import step_batches

    x = np.arange(10, dtype=np.float32)[:, None]
    p = np.eye(10, dtype=np.float32)
    rounds = [step_batches(x, p, batch_size=4, seed=3, first_step=k * 2, n_steps=2) for k in range(3)]
    rows = np.concatenate([r.schedule.rows(i)[0] for r in rounds for i in range(len(r))])
    expected = np.concatenate([np.random.default_rng((3, n)).permutation(10) for n in (0, 1)])
    np.testing.assert_array_equal(rows, expected)
    xb, pb = rounds[1][0]
    np.testing.assert_array_equal(pb.argmax(axis=1), xb[:, 0].astype(int))
    xb, (pb, target) = step_batches(x, (p, None), batch_size=4, seed=3, first_step=0, n_steps=1)[0]
    np.testing.assert_array_equal(target, xb)


@pytest.mark.parametrize(
    "autoencoder, latent_dim",
    [
        (VariationalAutoencoder(hidden_layer_sizes=(16,), latent_dim=3), 3),
        (AutoencoderTransformer(dense_encoder, dense_decoder), 4),
    ],
    ids=["variational", "own-network"],
)
@pytest.mark.slow
def test_any_skae_autoencoder_can_be_given(digits, autoencoder, latent_dim):
    X = digits[0][:300]
    dec = small_dec(autoencoder=autoencoder, n_clusters=4, max_iter=20).fit(X)
    assert type(dec.autoencoder_) is type(autoencoder)
    assert dec.transform(X[:5]).shape == (5, latent_dim)
    assert dec.cluster_centers_.shape == (4, latent_dim)
    np.testing.assert_allclose(dec.predict_proba(X[:5]).sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(dec.predict(X), dec.labels_)


def test_given_autoencoder_is_cloned_not_changed(digits):
    template = small_dec().autoencoder
    dec = small_dec(autoencoder=template, max_iter=2).fit(digits[0][:200])
    assert not hasattr(template, "model_")
    assert template.epochs == 20 and dec.autoencoder_ is not template


def test_clone_pickle_and_deepcopy(fitted_dec, digits):
    X = digits[0][:50]
    unfitted = clone(fitted_dec)
    assert unfitted.get_params()["pretrain_epochs"] == 3
    with pytest.raises(NotFittedError):
        unfitted.predict(X)
    for copied in (pickle.loads(pickle.dumps(fitted_dec)), copy.deepcopy(fitted_dec)):
        np.testing.assert_array_equal(copied.predict_proba(X), fitted_dec.predict_proba(X))
        np.testing.assert_array_equal(copied.transform(X), fitted_dec.transform(X))


def test_save_and_load_round_trip(fitted_dec, digits, tmp_path):
    X = digits[0][:50]
    path = tmp_path / "dec.skae"
    fitted_dec.save(path)
    loaded = skae.load(path)
    assert type(loaded) is DeepEmbeddedClustering
    np.testing.assert_array_equal(loaded.predict_proba(X), fitted_dec.predict_proba(X))
    np.testing.assert_array_equal(loaded.labels_, fitted_dec.labels_)
    assert loaded.n_iter_ == fitted_dec.n_iter_
    params, expected = loaded.get_params(deep=False), fitted_dec.get_params(deep=False)
    assert params.pop("autoencoder").get_params() == expected.pop("autoencoder").get_params()
    assert params == expected


def test_default_network_and_optimizer_instance_round_trip(digits, tmp_path):
    X = digits[0][:200]
    dec = DeepEmbeddedClustering(
        3, pretrain_epochs=1, max_iter=3, optimizer=keras.optimizers.Adam(1e-4), random_state=0
    ).fit(X)
    dec.save(tmp_path / "dec.skae")
    loaded = skae.load(tmp_path / "dec.skae")
    assert loaded.autoencoder is None
    assert loaded.optimizer.get_config()["learning_rate"] == pytest.approx(1e-4)
    np.testing.assert_array_equal(loaded.predict(X), dec.predict(X))


def test_too_many_clusters_is_a_clear_error(digits):
    with pytest.raises(ValueError, match=r"n_clusters=20 .* n_samples=10"):
        small_dec(n_clusters=20).fit(digits[0][:10])


def test_a_cluster_that_empties_warns(digits):
    X = np.repeat(digits[0][:2], 20, axis=0)  # two distinct samples for three clusters
    with pytest.warns(UserWarning, match="lost all their samples"):
        small_dec(n_clusters=3, max_iter=5).fit(X)


def test_nan_loss_raises_and_leaves_the_estimator_unfitted(digits):
    dec = small_dec(optimizer=keras.optimizers.SGD(learning_rate=1e30), max_iter=50)
    with pytest.raises(FloatingPointError, match="learning rate"):
        dec.fit(digits[0][:300])
    assert not hasattr(dec, "labels_") and not hasattr(dec, "autoencoder_")


def test_bad_parameters_get_sklearn_errors(digits):
    with pytest.raises(ValueError, match="reconstruction_weight"):
        small_dec(reconstruction_weight=-1).fit(digits[0][:50])


def test_clustering_layer_matches_numpy_and_round_trips():
    rng = np.random.default_rng(0)
    z, centers = rng.normal(size=(5, 3)).astype("float32"), rng.normal(size=(4, 3)).astype("float32")
    layer = ClusteringLayer(4, alpha=2.0)
    layer.build((None, 3))
    layer.set_weights([centers])
    q = keras.ops.convert_to_numpy(layer(z))
    np.testing.assert_allclose(q, soft_assignments(z, centers, 2.0), rtol=1e-5)
    again = ClusteringLayer.from_config(layer.get_config())
    assert (again.n_clusters, again.alpha) == (4, 2.0)
    p = target_distribution(soft_assignments(z, centers, 1.0))
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    with pytest.raises(ValueError, match="Received: n_clusters=0"):
        ClusteringLayer(0)


def test_x_is_read_for_its_values_once(monkeypatch, digits):
    # DEC checks X's values; its autoencoder checks the shapes of the float
    # samples it is handed, not their values again.
    from skae import _input

    checks = []
    validate = _input.validate_data

    def spy(estimator, X, **kwargs):
        checks.append((type(estimator).__name__, kwargs.get("ensure_all_finite", True)))
        return validate(estimator, X, **kwargs)

    monkeypatch.setattr(_input, "validate_data", spy)
    small_dec(max_iter=5).fit(digits[0][:100])
    assert checks[:2] == [("DeepEmbeddedClustering", True), ("DenseAutoencoder", False)]
    with pytest.raises(ValueError, match="NaN"):
        small_dec().fit(np.full((20, 64), np.nan))
