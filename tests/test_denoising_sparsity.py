"""The noise (denoising) and latent_l1 (sparse code) options of every autoencoder."""

import keras
import numpy as np
import pytest
from _helpers import training_batches
from sklearn.utils._param_validation import InvalidParameterError

from skae import ConvAutoencoder, DenseAutoencoder, VariationalAutoencoder

SMALL = dict(hidden_layer_sizes=(32,), latent_dim=8, batch_size=64, random_state=0)


def make_training_data(x, **kwargs):
    return training_batches(x, **kwargs)


def first_epochs(dataset, n_epochs=2):
    """The (input, target) batches of the first epochs, as Keras gets them."""
    epochs = []
    for _ in range(n_epochs):
        epochs.append([dataset[i] for i in range(len(dataset))])
        dataset.on_epoch_end()
    return epochs


@pytest.mark.parametrize("noise", ["gaussian", "mask"])
def test_training_data_corrupts_inputs_only_and_redraws_each_epoch(noise, digits):
    X = digits[0][:300]
    level = 0.3
    epochs = first_epochs(make_training_data(X, batch_size=100, seed=0, noise=noise, noise_level=level))
    x0, y0 = epochs[0][0]
    # Targets are clean rows of X; inputs are not.
    rows = {r.tobytes() for r in X}
    assert all(r.tobytes() in rows for r in y0)
    assert not np.array_equal(x0, y0)
    inputs = np.concatenate([x for x, _ in epochs[0]])
    targets = np.concatenate([y for _, y in epochs[0]])
    if noise == "gaussian":
        assert np.std(inputs - targets) == pytest.approx(level, rel=0.1)
    else:
        # Masked values are exactly 0; kept values are untouched.
        changed = inputs != targets
        assert np.all(inputs[changed] == 0)
        assert np.mean((inputs == 0) & (targets != 0)) / np.mean(targets != 0) == pytest.approx(level, abs=0.05)
    # Fresh noise each epoch, and the same noise for the same seed.
    noise0 = {(x - y).tobytes() for x, y in epochs[0]}
    assert all((x - y).tobytes() not in noise0 for x, y in epochs[1])
    again = first_epochs(make_training_data(X, batch_size=100, seed=0, noise=noise, noise_level=level), 1)
    assert all(np.array_equal(a[0], b[0]) for a, b in zip(epochs[0], again[0], strict=True))


def test_unknown_noise_kind_in_training_data():
    with pytest.raises(ValueError, match="noise must be None or one of"):
        make_training_data(np.zeros((4, 2), np.float32), batch_size=2, seed=0, noise="salt")


@pytest.mark.parametrize(
    "make",
    [
        lambda **kw: DenseAutoencoder(**SMALL, **kw),
        lambda **kw: ConvAutoencoder(image_shape=(8, 8, 1), filters=(8,), latent_dim=8, random_state=0, **kw),
        lambda **kw: VariationalAutoencoder(**SMALL, **kw),
    ],
    ids=["dense", "conv", "vae"],
)
@pytest.mark.slow
def test_noise_changes_training_not_the_model_or_inference(make, digits):
    # Reproducibility of the noise itself is checked on the training data above.
    X = digits[0][:600]
    clean = make(epochs=2).fit(X)
    noisy = make(epochs=2, noise="mask", noise_level=0.3).fit(X)
    assert [type(layer) for layer in noisy.model_.layers] == [type(layer) for layer in clean.model_.layers]
    assert noisy.history_["loss"] != clean.history_["loss"]
    np.testing.assert_array_equal(noisy.transform(X), noisy.transform(X))
    np.testing.assert_array_equal(noisy.score_samples(X), noisy.score_samples(X))


@pytest.mark.slow  # two 25-epoch fits; the tests above check the noise itself, fast
def test_denoising_autoencoder_restores_corrupted_digits_better(digits):
    X = digits[0]
    corrupted = X * (np.random.default_rng(1).random(X.shape) >= 0.4)

    def error(**kw):
        ae = DenseAutoencoder(**{**SMALL, "hidden_layer_sizes": (64,), "latent_dim": 16}, epochs=25, **kw).fit(X)
        return np.mean((ae.inverse_transform(ae.transform(corrupted)) - X) ** 2)

    # Measured: 0.036 with masking noise against 0.045 without (40 epochs).
    assert error(noise="mask", noise_level=0.4) < 0.9 * error()


@pytest.mark.parametrize(
    ("params", "error", "match"),
    [
        ({"noise": "salt"}, InvalidParameterError, "'noise' parameter"),
        ({"noise_level": -0.1}, InvalidParameterError, "'noise_level' parameter"),
        ({"noise": "mask", "noise_level": 1.0}, ValueError, r"noise_level in \[0, 1\); got noise_level=1.0"),
        ({"latent_l1": -1.0}, InvalidParameterError, "'latent_l1' parameter"),
    ],
)
def test_bad_noise_and_sparsity_parameters_are_named(params, error, match, digits):
    with pytest.raises(error, match=match):
        DenseAutoencoder(**SMALL, epochs=1, **params).fit(digits[0])


def _all_layers(model):
    for layer in model.layers:
        yield layer
        if isinstance(layer, keras.Model):
            yield from _all_layers(layer)


@pytest.mark.slow
def test_latent_l1_regularises_only_the_latent_code_and_sparsifies_codes(digits):
    X = digits[0]
    plain = DenseAutoencoder(**SMALL, epochs=8).fit(X)
    sparse = DenseAutoencoder(**SMALL, epochs=8, latent_l1=0.01).fit(X)
    assert all(layer.activity_regularizer is None for layer in _all_layers(plain.model_))
    assert plain.model_.layers == [plain.encoder_, plain.decoder_]
    regularised = [layer.name for layer in _all_layers(sparse.model_) if layer.activity_regularizer is not None]
    # The penalty sits between the encoder and the decoder: on the latent code.
    assert regularised == ["latent_l1"]
    assert sparse.model_.layers[1].l1 == pytest.approx(0.01)
    # Measured: 90% of the ReLU codes are exactly 0 with the penalty, 27% without.
    zeros = lambda ae: np.mean(ae.transform(X) == 0)  # noqa: E731
    assert zeros(sparse) > zeros(plain) + 0.2


def test_latent_l1_survives_pickling(digits):
    import pickle

    X = digits[0]
    ae = ConvAutoencoder(image_shape=(8, 8), filters=(8,), latent_dim=4, epochs=1, latent_l1=0.1, random_state=0)
    ae.fit(X)
    twin = pickle.loads(pickle.dumps(ae))
    assert twin.model_.get_layer("latent_l1").l1 == pytest.approx(0.1)
    np.testing.assert_array_equal(twin.transform(X), ae.transform(X))
