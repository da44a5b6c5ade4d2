"""Routed parameters: ``encoder__units``, ``decoder__units`` and ``optimizer__beta_1`` reach the user's network."""

import pickle

import keras
import numpy as np
import pytest
from _helpers import sized_decoder, sized_encoder, sized_wrapper, small_dense
from sklearn.base import clone
from sklearn.cluster import KMeans
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.model_selection import GridSearchCV, HalvingGridSearchCV, RandomizedSearchCV
from sklearn.pipeline import Pipeline

import skae
from skae import AutoencoderTransformer, DeepEmbeddedClustering

# Also run under JAX and PyTorch in CI (the backend set).
pytestmark = pytest.mark.backends


def hidden_units(ae):
    """The widths of the encoder's and the decoder's hidden Dense layers."""
    encoder = [layer.units for layer in ae.encoder_.layers[:-1]]
    decoder = [layer.units for layer in ae.decoder_.layers[:-1]]
    return encoder, decoder


def test_routed_names_are_parameters_of_their_own():
    ae = sized_wrapper(encoder_params={"units": 8})
    params = ae.get_params(deep=True)
    assert params["encoder__units"] == 8 and "encoder__units" not in ae.get_params(deep=False)
    given = {"units": 8}
    ae = sized_wrapper(encoder_params=given).set_params(encoder__depth=2, decoder__units=12, optimizer__beta_1=0.8)
    assert given == {"units": 8}, "set_params changed the caller's dict"
    assert ae.encoder_params == {"units": 8, "depth": 2}
    assert ae.decoder_params == {"units": 12} and ae.optimizer_params == {"beta_1": 0.8}
    copy = clone(ae)
    assert copy.get_params(deep=True)["encoder__depth"] == 2 and copy.encoder_params is not ae.encoder_params


def test_routed_parameters_reach_the_builders_and_the_optimizer(digits):
    ae = (
        sized_wrapper()
        .set_params(encoder__units=8, encoder__depth=2, decoder__units=12, optimizer__beta_1=0.8)
        .fit(digits[0])
    )
    assert hidden_units(ae) == ([8, 8], [12])
    assert float(keras.ops.convert_to_numpy(ae.model_.optimizer.beta_1)) == pytest.approx(0.8)


def test_builders_get_the_facts_about_the_data_they_ask_for(digits):
    seen = {}

    def encoder(input_shape, meta, sample_shape):
        seen.update(meta=meta, sample_shape=sample_shape)
        return sized_encoder(input_shape)

    AutoencoderTransformer(encoder, sized_decoder, epochs=1, random_state=0).fit(digits[0])
    assert seen["meta"] == {"n_features_in_": 64, "sample_shape": (64,), "data_shape": (64,)}
    assert seen["sample_shape"] == (64,)


def test_pipeline_and_deep_clustering_route_nested_names(digits):
    pipe = Pipeline([("ae", sized_wrapper()), ("kmeans", KMeans(3, n_init=2, random_state=0))])
    pipe.set_params(ae__encoder__units=8, ae__decoder__units=6)
    assert pipe.get_params()["ae__encoder__units"] == 8
    pipe.fit(digits[0][:300])
    assert hidden_units(pipe.named_steps["ae"]) == ([8], [6])
    dec = DeepEmbeddedClustering(3, autoencoder=sized_wrapper(), pretrain_epochs=1, max_iter=10, random_state=0)
    dec.set_params(autoencoder__encoder__units=8)
    assert dec.get_params()["autoencoder__encoder__units"] == 8
    dec.fit(digits[0][:300])
    assert hidden_units(dec.autoencoder_)[0] == [8]


# The grid search sends the routed names to worker processes (each starts
# the backend: seconds); the other two run in-process, since they hand
# their candidates to the same joblib path as the grid, and this file runs
# under every backend in CI.
@pytest.mark.parametrize(
    "search",
    [
        lambda est, grid: GridSearchCV(est, grid, cv=2, n_jobs=2),
        lambda est, grid: RandomizedSearchCV(est, grid, n_iter=2, cv=2, random_state=0),
        lambda est, grid: HalvingGridSearchCV(est, grid, cv=2, min_resources=100, random_state=0),
    ],
    ids=["grid", "randomized", "halving"],
)
def test_searches_tune_a_users_network_by_routed_names(digits, search):
    grid = {"encoder__units": [4, 16], "decoder__units": [4, 16]}
    found = search(sized_wrapper(epochs=1), grid).fit(digits[0][:400])
    best = found.best_estimator_
    assert {"encoder__units", "decoder__units"} <= set(found.best_params_)
    assert hidden_units(best) == ([found.best_params_["encoder__units"]], [found.best_params_["decoder__units"]])
    assert len(found.cv_results_["params"]) >= 2


def test_routed_parameters_survive_save_pickle_and_skops(digits, tmp_path):
    sio = pytest.importorskip("skops.io")
    ae = sized_wrapper(encoder_params={"units": 8, "depth": 2}, decoder_params={"units": 6}).fit(digits[0])
    ae.set_params(optimizer__beta_1=0.85)
    X = digits[0][:20]
    ae.save(tmp_path / "ae.skae")
    pickled = pickle.loads(pickle.dumps(ae))
    skopsed = sio.loads(sio.dumps(ae), trusted=sio.get_untrusted_types(data=sio.dumps(ae)))
    for loaded in (skae.load(tmp_path / "ae.skae"), pickled, skopsed):
        assert loaded.get_params(deep=True)["encoder__depth"] == 2
        assert loaded.decoder_params == {"units": 6} and loaded.optimizer_params == {"beta_1": 0.85}
        np.testing.assert_array_equal(loaded.transform(X), ae.transform(X))


def test_a_name_the_builder_does_not_take_is_refused_before_the_model_is_touched(digits):
    ae = sized_wrapper().fit(digits[0])
    before = ae.transform(digits[0][:5])
    with pytest.raises(ValueError, match=r"sized_encoder takes no parameter 'widht'.*It takes 'units', 'depth'"):
        ae.set_params(encoder__widht=8).fit(digits[0])
    np.testing.assert_array_equal(ae.transform(digits[0][:5]), before)
    with pytest.raises(
        ValueError,
        match="The optimizer Adam takes no parameter 'momentum' \\(given as optimizer__momentum\\). It takes",
    ):
        sized_wrapper().set_params(optimizer__momentum=0.9).fit(digits[0])


def test_routed_parameters_for_a_keras_model_are_refused(digits):
    encoder = sized_encoder((64,))
    decoder = sized_decoder((4,), (64,), n_features_in_=64)
    with pytest.raises(ValueError, match="encoder__units.*not a builder function: there is nothing to pass them to"):
        AutoencoderTransformer(encoder, decoder, encoder_params={"units": 8}, epochs=1).fit(digits[0])


def test_a_misspelt_prefix_gets_scikit_learns_error():
    with pytest.raises(ValueError, match="Invalid parameter 'encodr'"):
        sized_wrapper().set_params(encodr__units=8)
    with pytest.raises(ValueError, match="Invalid parameter 'encoder'"):
        # The built-in models build their own networks: no encoder to route into.
        small_dense().set_params(encoder__units=8)


def test_skae_passes_the_data_facts_itself():
    with pytest.raises(ValueError, match="skae passes n_features_in_ to"):
        sized_wrapper().set_params(decoder__n_features_in_=3).fit(np.zeros((10, 64)))
