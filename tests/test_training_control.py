"""Interrupted and failing training, warm starts, partial_fit, distribution strategies."""

import copy
import pickle
from functools import partial

import _helpers
import keras
import numpy as np
import pytest
from sklearn.base import clone

from skae import ConvAutoencoder

small_dense = partial(_helpers.small_dense, epochs=3)


class InterruptAt(keras.callbacks.Callback):
    """Simulate Ctrl-C at the end of an epoch, recording the weights it saw."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch
        self.seen = None

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            self.seen = self.model.get_weights()
            raise KeyboardInterrupt


def test_ctrl_c_keeps_last_completed_epoch(digits):
    X = digits[0][:200]
    interrupt = InterruptAt(epoch=1)
    est = small_dense(epochs=10, callbacks=[interrupt])
    with pytest.warns(UserWarning, match=r"interrupted.*last completed epoch \(2\)"):
        assert est.fit(X) is est
    assert len(est.history_["loss"]) == 2
    for kept, seen in zip(est.model_.get_weights(), interrupt.seen, strict=True):
        np.testing.assert_array_equal(kept, seen)
    assert est.transform(X).shape == (200, 4)
    # The interrupted estimator is a normal fitted one: it pickles and resumes.
    again = pickle.loads(pickle.dumps(est.set_params(callbacks=None)))
    np.testing.assert_array_equal(again.transform(X), est.transform(X))
    est.set_params(warm_start=True, epochs=1).fit(X)
    assert len(est.history_["loss"]) == 3


class InterruptFirstBatch(keras.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        raise KeyboardInterrupt


def test_ctrl_c_before_any_epoch_leaves_estimator_as_it_was(digits):
    X = digits[0][:200]
    est = small_dense().fit(X)
    Z = est.transform(X)
    model, weights = est.model_, est.model_.get_weights()
    with pytest.raises(KeyboardInterrupt):
        est.set_params(callbacks=[InterruptFirstBatch()]).fit(X)
    assert est.model_ is model
    np.testing.assert_array_equal(est.transform(X), Z)
    # Continuing training and interrupting it mid-epoch restores the weights too.
    with pytest.raises(KeyboardInterrupt):
        est.set_params(callbacks=[InterruptFirstBatch()], warm_start=True).fit(X)
    for kept, before in zip(est.model_.get_weights(), weights, strict=True):
        np.testing.assert_array_equal(kept, before)
    assert len(est.history_["loss"]) == 3


def test_callback_that_stops_training_leaves_fitted_estimator(digits):
    X = digits[0][:200]

    class StopAfterFirst(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            self.model.stop_training = True

    est = small_dense(epochs=10, callbacks=[StopAfterFirst()]).fit(X)
    assert len(est.history_["loss"]) == 1
    assert np.isfinite(est.transform(X)).all()


def test_non_finite_loss_raises_and_keeps_previous_state(digits):
    X = digits[0][:200]
    est = small_dense().fit(X)
    Z = est.transform(X)
    weights = est.model_.get_weights()
    # An enormous learning rate on unscaled data with a linear output diverges.
    huge = X * 1e30
    with pytest.raises(FloatingPointError, match=r"training loss became (nan|inf) in epoch 4.*learning_rate"):
        est.set_params(warm_start=True, learning_rate=None).fit(huge)
    np.testing.assert_array_equal(est.transform(X), Z)
    for kept, before in zip(est.model_.get_weights(), weights, strict=True):
        np.testing.assert_array_equal(kept, before)
    with pytest.raises(FloatingPointError, match="training loss became"):
        small_dense(output_activation="linear").fit(huge)


def test_warm_start_continues_and_cold_start_rebuilds(digits):
    X = digits[0][:300]
    est = small_dense(epochs=2).fit(X)
    model = est.model_
    first = list(est.history_["loss"])
    est.set_params(warm_start=True, epochs=3).fit(X)
    assert est.model_ is model
    assert est.history_["loss"][:2] == first and len(est.history_["loss"]) == 5
    # Training continued: the loss keeps falling from where it stopped.
    assert est.history_["loss"][-1] < first[-1]
    est.set_params(warm_start=False, epochs=2).fit(X)
    assert est.model_ is not model and len(est.history_["loss"]) == 2


def test_auto_epochs_scale_with_the_data(digits, monkeypatch):
    from skae import _params

    # The documented resolution: 5.6 million samples, at most 100 passes.
    assert [_params.resolve_epochs("auto", n) for n in (70_000, 60_000, 42_000, 10_000, 1)] == [80, 94, 100, 100, 100]
    assert _params.resolve_epochs(7, 70_000) == 7
    # A fit resolves it on the rows it gets (a smaller budget keeps the test short).
    monkeypatch.setattr(_params, "AUTO_EPOCHS_SAMPLES", 900)
    X = digits[0]
    est = small_dense(epochs="auto").fit(X[:300])
    assert len(est.history_["loss"]) == 3 and est.epochs == "auto"
    assert len(est.fit(X[:450]).history_["loss"]) == 2
    with pytest.raises(ValueError, match="'epochs' parameter .* among {'auto'}. Got 'many'"):
        small_dense(epochs="many").fit(X[:300])


def test_warm_start_refuses_architecture_changes(digits):
    X = digits[0][:100]
    est = small_dense(epochs=1, warm_start=True).fit(X)
    with pytest.raises(ValueError, match=r"latent_dim changed since that model was built: latent_dim=4 -> 8"):
        est.set_params(latent_dim=8).fit(X)
    assert est.transform(X).shape == (100, 4)
    with pytest.raises(ValueError, match="X has 10 features, but DenseAutoencoder is expecting 64"):
        est.set_params(latent_dim=4).fit(X[:, :10])


def test_partial_fit_streams_chunks(digits):
    X = digits[0]
    est = small_dense()
    for chunk in np.array_split(X, 4):
        est.partial_fit(chunk)
    assert len(est.history_["loss"]) == 4
    assert est.transform(X).shape == (len(X), 4)
    # Chunks train one model: later chunks reconstruct better than an untrained model.
    untrained = -small_dense(epochs=1, learning_rate=1e-9).fit(X).score(X)
    assert -est.score(X) < untrained
    with pytest.raises(ValueError, match="X has 8 features"):
        est.partial_fit(X[:, :8])
    # Same seeds, same chunks: partial_fit is reproducible.
    twin = small_dense()
    for chunk in np.array_split(X, 4):
        twin.partial_fit(chunk)
    np.testing.assert_array_equal(twin.transform(X), est.transform(X))


def test_partial_fit_conv_images(digits):
    images = digits[0].reshape(-1, 8, 8)
    est = ConvAutoencoder(filters=(4,), latent_dim=3, random_state=0)
    est.partial_fit(images[:500]).partial_fit(images[500:1000])
    assert est.inverse_transform(est.transform(images[:5])).shape == (5, 8, 8)
    with pytest.raises(ValueError, match=r"images of shape \(4, 16, 1\)"):
        est.partial_fit(images[:10].reshape(10, 4, 16))


@pytest.mark.parametrize("strategy", ["default", "mirrored", "object"])
def test_distribute_strategy_on_cpu(strategy, digits):
    tf = pytest.importorskip("tensorflow")
    X = digits[0][:200]
    value = tf.distribute.get_strategy() if strategy == "object" else strategy
    # A tf.distribute.Strategy object drives TensorFlow alone, and PyTorch
    # has no data-parallel training in Keras: elsewhere they are refused by name.
    refused = {
        ("jax", "object"): "is not a keras.distribution.Distribution, which the jax backend needs",
        ("torch", "mirrored"): "'mirrored' is not available on the torch backend",
        ("torch", "object"): "is not available on the torch backend",
    }.get((keras.backend.backend(), strategy))
    if refused:
        with pytest.raises(ValueError, match=refused):
            small_dense(epochs=2, distribute_strategy=value).fit(X)
        return
    est = small_dense(epochs=2, distribute_strategy=value).fit(X)
    reference = small_dense(epochs=2).fit(X)
    np.testing.assert_allclose(est.transform(X), reference.transform(X), rtol=1e-4, atol=1e-5)
    if strategy != "object":
        # Strategy names keep the estimator clonable and picklable.
        assert clone(est).get_params()["distribute_strategy"] == strategy
        np.testing.assert_array_equal(copy.deepcopy(est).transform(X), est.transform(X))


def test_invalid_strategy_is_named():
    with pytest.raises(ValueError, match="The 'distribute_strategy' parameter of DenseAutoencoder must be"):
        small_dense(distribute_strategy="tpu").fit(np.zeros((5, 3)))
