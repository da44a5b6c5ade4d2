"""VariationalAutoencoder: latent means, sampling, beta, layouts, round trips."""

import copy
import pickle

import keras
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils._param_validation import InvalidParameterError

from skae import VariationalAutoencoder
from skae._builders import GaussianSampler

SMALL = dict(hidden_layer_sizes=(32,), latent_dim=4, batch_size=64, random_state=0)


# fitted_vae and fitted_conv_vae are conftest.py fixtures.


def test_transform_is_the_deterministic_latent_mean(fitted_vae, digits):
    X = digits[0][:50]
    Z = fitted_vae.transform(X)
    assert Z.shape == (50, 4) and Z.dtype == np.float32
    np.testing.assert_array_equal(Z, fitted_vae.transform(X))
    # The mean is the first half of the encoder's (mean, log-variance) layer.
    encoder = fitted_vae.encoder_
    params = keras.Model(encoder.inputs[0], encoder.get_layer("latent_params").output)
    np.testing.assert_allclose(Z, params.predict_on_batch(X)[:, :4], rtol=1e-5, atol=1e-6)
    # Training samples around the mean instead.
    sampled = keras.ops.convert_to_numpy(fitted_vae.encoder_([X], training=True))
    assert not np.allclose(sampled, Z)


def test_sample_generates_rows_like_the_training_data(fitted_vae, digits):
    X = digits[0]
    samples = fitted_vae.sample(500, random_state=0)
    assert samples.shape == (500, 64) and samples.dtype == np.float32
    assert samples.min() >= 0 and samples.max() <= 1
    np.testing.assert_array_equal(samples, fitted_vae.sample(500, random_state=0))
    assert not np.array_equal(samples, fitted_vae.sample(500, random_state=1))
    # Measured: the mean generated image matches the mean digit, r = 0.999.
    assert np.corrcoef(samples.mean(axis=0), X.mean(axis=0))[0, 1] > 0.95
    # Samples differ from one another, not one blurred mean image.
    assert samples.std(axis=0).mean() > 0.05


def test_conv_vae_takes_images_and_samples_images(fitted_conv_vae, digits):
    images = digits[0][:10].reshape(-1, 8, 8)
    assert fitted_conv_vae.transform(images).shape == (10, 4)
    assert fitted_conv_vae.inverse_transform(fitted_conv_vae.transform(images)).shape == (10, 8, 8)
    assert fitted_conv_vae.sample(3, random_state=0).shape == (3, 8, 8)
    assert "Conv2D" in [type(layer).__name__ for layer in fitted_conv_vae.encoder_.layers]


def test_conv_vae_on_flat_rows_with_image_shape(digits):
    X = digits[0][:200]
    vae = VariationalAutoencoder(architecture="conv", image_shape=(8, -1), filters=(4,), latent_dim=2, epochs=1)
    vae.fit(X)
    assert vae.image_shape_ == (8, 8, 1)
    assert vae.sample(2).shape == (2, 64)


def test_beta_weights_the_kl_term(digits):
    X = digits[0][:600]

    def fit(beta):
        return VariationalAutoencoder(**SMALL, epochs=4, beta=beta).fit(X)

    free, tight = fit(0.0), fit(20.0)
    assert tight.encoder_.get_layer("latent").kl_weight == pytest.approx(20.0 / 64)
    # A strong KL weight pulls the latent means towards the prior's 0.
    # Measured on all digits: mean |z| 4.1 with beta=0, 0.08 with beta=20.
    assert np.abs(tight.transform(X)).mean() < 0.5 * np.abs(free.transform(X)).mean()
    assert tight.history_["loss"][-1] > free.history_["loss"][-1]


@pytest.mark.parametrize("round_trip", [pickle.loads, copy.deepcopy], ids=["pickle", "deepcopy"])
def test_round_trips_keep_transform_and_sample(round_trip, fitted_conv_vae, digits):
    images = digits[0][:20].reshape(-1, 8, 8)
    data = pickle.dumps(fitted_conv_vae) if round_trip is pickle.loads else fitted_conv_vae
    twin = round_trip(data)
    np.testing.assert_array_equal(twin.transform(images), fitted_conv_vae.transform(images))
    np.testing.assert_array_equal(twin.sample(4, random_state=3), fitted_conv_vae.sample(4, random_state=3))
    assert isinstance(twin.encoder_.get_layer("latent"), GaussianSampler)
    assert {id(v) for v in twin.encoder_.weights} | {id(v) for v in twin.decoder_.weights} == {
        id(v) for v in twin.model_.weights
    }


def test_clone_is_unfitted_with_equal_params(fitted_vae):
    twin = clone(fitted_vae)
    assert twin.get_params() == fitted_vae.get_params()
    assert not hasattr(twin, "model_")


def test_gaussian_sampler_config_round_trips():
    layer = GaussianSampler(kl_weight=0.5, seed=3, name="latent")
    again = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert isinstance(again, GaussianSampler)
    assert (again.kl_weight, again.seed, again.name) == (0.5, 3, "latent")


def test_sample_errors(fitted_vae):
    with pytest.raises(NotFittedError):
        VariationalAutoencoder().sample(2)
    for bad in (0, -1, 2.5, "3", True):
        with pytest.raises(ValueError, match="n_samples must be a positive int"):
            fitted_vae.sample(bad)


@pytest.mark.parametrize(
    ("params", "match"),
    [({"architecture": "rnn"}, "'architecture' parameter"), ({"beta": -1.0}, "'beta' parameter")],
)
def test_bad_parameters_are_named(params, match, digits):
    with pytest.raises(InvalidParameterError, match=match):
        VariationalAutoencoder(epochs=1, **params).fit(digits[0])


def test_dense_vae_rejects_images_with_a_clear_error(digits):
    with pytest.raises(ValueError, match="Expected 2D array|Found array with dim 3"):
        VariationalAutoencoder(epochs=1).fit(digits[0].reshape(-1, 8, 8))


def test_small_batches_give_the_same_floats_as_single_rows():
    # The conv VAE from the estimator checks, whose CPU kernels round a few
    # outputs differently for one row than for twenty unless inference pads.
    # Trained on the mean squared error, as PyTorch refuses a cross-entropy
    # on these values above 1 (test_backends checks the message).
    X = 3 * np.random.RandomState(0).uniform(size=(20, 3))
    vae = VariationalAutoencoder(
        architecture="conv", image_shape=(1, -1, 1), filters=(4,), kernel_size=1, strides=1, latent_dim=2, epochs=2
    ).set_params(batch_size=16, random_state=1, loss="mse", output_activation="linear")
    vae.fit(X)
    for method in (vae.transform, vae.score_samples, vae.decision_function):
        np.testing.assert_array_equal(method(X), np.concatenate([method(X[i : i + 1]) for i in range(len(X))]))


def test_unscaled_input_trains_to_a_finite_loss():
    # Values in the hundreds once drove the log-variance's exp() to overflow,
    # which stopped training with a NaN loss.
    X = np.random.default_rng(0).normal(scale=300.0, size=(64, 5))
    vae = VariationalAutoencoder(hidden_layer_sizes=(8,), latent_dim=2, epochs=2, batch_size=16, random_state=0)
    vae.set_params(loss="mse", output_activation="linear").fit(X)
    assert np.all(np.isfinite(vae.history_["loss"]))
    assert np.all(np.isfinite(vae.transform(X)))
