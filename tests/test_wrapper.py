"""AutoencoderTransformer wrapping a user's own Keras encoder and decoder."""

import copy
import pickle

import keras
import numpy as np
import pytest
from _helpers import dense_decoder, dense_encoder, small_wrapper
from sklearn.base import clone
from sklearn.cluster import KMeans
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline

import skae
from skae import AutoencoderTransformer


def skip_encoder(input_shape):
    """A functional conv encoder with a skip connection around its convolutions."""
    x = keras.Input(input_shape)
    h = keras.layers.Conv2D(4, 3, strides=2, padding="same", activation="relu")(x)
    h = keras.layers.Conv2D(8, 3, strides=2, padding="same", activation="relu")(h)
    skip = keras.layers.Dense(8)(keras.layers.Flatten()(keras.layers.AveragePooling2D(4)(x)))
    z = keras.layers.Add()([keras.layers.Dense(8)(keras.layers.Flatten()(h)), skip])
    return keras.Model(x, z, name="skip_encoder")


def conv_decoder(latent_shape, output_shape):
    h, w, c = output_shape
    return keras.Sequential(
        [
            keras.Input(latent_shape),
            keras.layers.Dense((h // 4) * (w // 4) * 8, activation="relu"),
            keras.layers.Reshape((h // 4, w // 4, 8)),
            keras.layers.Conv2DTranspose(4, 3, strides=2, padding="same", activation="relu"),
            keras.layers.Conv2DTranspose(c, 3, strides=2, padding="same", activation="sigmoid"),
        ]
    )


def wide_skip_encoder(input_shape):
    x = keras.Input(input_shape)
    h = keras.layers.Conv2D(8, 3, strides=2, padding="same", activation="relu")(x)
    h = keras.layers.Conv2D(16, 3, strides=2, padding="same", activation="relu")(h)
    skip = keras.layers.Dense(8)(keras.layers.Flatten()(x))
    return keras.Model(x, keras.layers.Add()([keras.layers.Dense(8)(keras.layers.Flatten()(h)), skip]))


@pytest.fixture(scope="module")
def mnist_rows(mnist_small):
    return mnist_small[0][:600]


@pytest.mark.slow
def test_functional_pair_on_flat_mnist_in_a_pipeline_grid_search_and_round_trips(mnist_rows, tmp_path):
    X = mnist_rows
    ae = AutoencoderTransformer(skip_encoder, conv_decoder, input_shape=(28, 28, 1), epochs=2, random_state=0)
    pipe = Pipeline([("ae", ae), ("kmeans", KMeans(10, n_init=2, random_state=0))])
    search = GridSearchCV(pipe, {"ae__encoder": [skip_encoder, wide_skip_encoder]}, cv=2).fit(X)
    best = search.best_estimator_
    assert search.best_params_["ae__encoder"] in (skip_encoder, wide_skip_encoder)
    fitted = best.named_steps["ae"]
    assert fitted.layout_.sample_shape == (28, 28, 1) and fitted.layout_.data_shape == (784,)
    Z = fitted.transform(X)
    assert Z.shape == (600, 8)
    assert fitted.inverse_transform(Z).shape == (600, 784)
    labels = best.predict(X)
    assert len(np.unique(labels)) > 1

    np.testing.assert_array_equal(pickle.loads(pickle.dumps(best))[0].transform(X), Z)
    np.testing.assert_array_equal(copy.deepcopy(fitted).transform(X), Z)
    fitted.save(tmp_path / "ae.skae")
    loaded = skae.load(tmp_path / "ae.skae")
    np.testing.assert_array_equal(loaded.transform(X), Z)
    assert loaded.encoder is fitted.encoder  # found again by name among imported modules
    # clone is unfitted with the same parameters; refitting gives the same latents.
    twin = clone(fitted)
    assert twin.get_params()["encoder"] is fitted.encoder
    with pytest.raises(NotFittedError):
        twin.transform(X)
    np.testing.assert_array_equal(twin.fit(X).transform(X), Z)


@pytest.mark.slow
def test_parallel_grid_search_over_builders(digits):
    X = digits[0][:300]
    search = GridSearchCV(small_wrapper(epochs=1), {"encoder": [dense_encoder, skip_free]}, cv=2, n_jobs=2).fit(X)
    assert search.best_estimator_.transform(X).shape[0] == 300


def skip_free(input_shape):
    return keras.Sequential([keras.Input(input_shape), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(4)])


def test_model_templates_are_copied_never_trained_and_seeded(digits):
    X = digits[0][:300]
    encoder = dense_encoder((64,))
    decoder = dense_decoder((4,), (64,))
    before = [w.copy() for w in encoder.get_weights()]
    ae = AutoencoderTransformer(encoder, decoder, epochs=2, random_state=3)
    Z = ae.fit(X).transform(X)
    assert ae.get_params()["encoder"] is encoder and ae.get_params()["decoder"] is decoder
    assert ae.encoder_ is not encoder
    for old, new in zip(before, encoder.get_weights(), strict=True):
        np.testing.assert_array_equal(old, new)
    np.testing.assert_array_equal(
        AutoencoderTransformer(encoder, decoder, epochs=2, random_state=3).fit(X).transform(X), Z
    )
    other = AutoencoderTransformer(encoder, decoder, epochs=2, random_state=4).fit(X).transform(X)
    assert not np.allclose(other, Z)
    # The caller's own random sequence is untouched by seeded building.
    import random

    random.seed(11)
    expected = random.random()
    random.seed(11)
    AutoencoderTransformer(encoder, decoder, epochs=1, random_state=0).fit(X)
    assert random.random() == expected


def test_builders_and_templates_give_the_same_model(digits):
    X = digits[0][:200]
    ae = small_wrapper().fit(X)
    assert ae.model_.layers == [ae.encoder_, ae.decoder_]
    assert (ae.encoder_.name, ae.decoder_.name) == ("encoder", "decoder")
    assert ae.get_feature_names_out().tolist() == [f"autoencodertransformer{i}" for i in range(4)]


def test_encoders_declared_input_shape_serves_and_input_shape_wins(mnist_rows):
    X = mnist_rows[:200]
    template = skip_encoder((28, 28, 1))
    ae = AutoencoderTransformer(template, conv_decoder, epochs=1, random_state=0).fit(X)
    assert ae.layout_.sample_shape == (28, 28, 1)
    images = X.reshape(-1, 28, 28)
    np.testing.assert_array_equal(ae.transform(images), ae.transform(X))
    with pytest.raises(ValueError, match=r"encoder takes samples of shape \(28, 28, 1\), but .* \(14, 56, 1\)"):
        AutoencoderTransformer(template, conv_decoder, input_shape=(14, 56, 1), epochs=1).fit(X)


@pytest.mark.parametrize(
    ("encoder", "decoder", "error", "match"),
    [
        (
            dense_encoder,
            lambda latent, out: dense_decoder(latent, (out[0] - 1,)),
            ValueError,
            r"decoder returns samples of shape \(63,\), but the reconstruction must have the input's shape \(64,\)",
        ),
        (
            lambda shape: dense_encoder((32,)),
            dense_decoder,
            ValueError,
            r"encoder takes samples of shape \(32,\), but the data's samples have shape \(64,\)",
        ),
        (lambda shape: "not a model", dense_decoder, TypeError, "returned str, not a keras.Model"),
        (None, dense_decoder, ValueError, "needs an encoder"),
        (
            dense_encoder,
            lambda latent, out: dense_decoder((3,), out),
            ValueError,
            r"decoder takes samples of shape \(3,\), but the encoder's latent codes have shape \(4,\)",
        ),
    ],
    ids=["decoder-output", "encoder-input", "not-a-model", "no-encoder", "decoder-input"],
)
def test_bad_networks_get_clear_errors_and_leave_the_estimator_unfitted(digits, encoder, decoder, error, match):
    ae = AutoencoderTransformer(encoder, decoder, epochs=1)
    with pytest.raises(error, match=match):
        ae.fit(digits[0][:50])
    assert not hasattr(ae, "model_") and not hasattr(ae, "layout_")
    with pytest.raises(NotFittedError):
        ae.transform(digits[0][:5])


@keras.saving.register_keras_serializable(package="skae_tests")
class Scale(keras.layers.Layer):
    """A custom layer: multiplies by a learned scalar."""

    def build(self, input_shape):
        self.alpha = self.add_weight(shape=(), initializer="ones")

    def call(self, x):
        return x * self.alpha


@keras.saving.register_keras_serializable(package="skae_tests")
class TinyEncoder(keras.Model):
    """A subclassed encoder with get_config, and a custom layer."""

    def __init__(self, units=4, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.dense = keras.layers.Dense(units)
        self.scale = Scale()

    def call(self, x):
        return self.scale(self.dense(x))

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def test_subclassed_template_with_a_custom_layer_saves_and_loads_safely(digits, tmp_path):
    X = digits[0][:200]
    ae = AutoencoderTransformer(TinyEncoder(), dense_decoder, epochs=1, random_state=0).fit(X)
    Z = ae.transform(X)
    again = AutoencoderTransformer(TinyEncoder(), dense_decoder, epochs=1, random_state=0).fit(X)
    np.testing.assert_array_equal(again.transform(X), Z)
    ae.save(tmp_path / "tiny.skae")
    loaded = skae.load(tmp_path / "tiny.skae")
    np.testing.assert_array_equal(loaded.transform(X), Z)
    assert isinstance(loaded.encoder, TinyEncoder) and isinstance(loaded.encoder_, TinyEncoder)
    np.testing.assert_array_equal(loaded.fit(X).transform(X), Z)


def test_functions_are_saved_by_import_name_and_never_imported_on_load(digits, tmp_path):
    import json
    import zipfile

    X = digits[0][:100]

    def local_encoder(shape):
        return dense_encoder(shape)

    with pytest.raises(TypeError, match="a lambda or a function defined inside another has none"):
        small_wrapper(encoder=local_encoder, epochs=1).fit(X).save(tmp_path / "local.skae")
    small_wrapper(epochs=1).fit(X).save(tmp_path / "ok.skae")
    with zipfile.ZipFile(tmp_path / "ok.skae") as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    meta = json.loads(members["skae.json"])
    assert meta["params"]["encoder"] == {"callable": "_helpers:dense_encoder"}
    meta["params"]["encoder"] = {"callable": "skae_tests_never_imported:dense_encoder"}
    members["skae.json"] = json.dumps(meta).encode()
    with zipfile.ZipFile(tmp_path / "missing.skae", "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    with pytest.raises(ValueError, match="'skae_tests_never_imported:dense_encoder', which is not defined in any"):
        skae.load(tmp_path / "missing.skae")
