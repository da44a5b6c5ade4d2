"""Image augmentation (``shift``, ``rotation``): random moves and turns of training images, for autoencoders and DEC."""

import numpy as np
import pytest
from _helpers import small_conv, small_dec, small_dense, step_batches, training_batches
from sklearn.utils._param_validation import InvalidParameterError

from skae import DeepEmbeddedClustering
from skae._augment import _turned, random_shift, shift_pixels
from skae._training import Trainer


def one_dot_images(n, size=9):
    """``n`` images of ``size`` x ``size`` zeros with a single 1 in the middle."""
    images = np.zeros((n, size, size), np.float32)
    images[:, size // 2, size // 2] = 1.0
    return images


def dot_offsets(images, size=9):
    """Where each ``size`` x ``size`` image's single 1 went, relative to the middle."""
    n = len(images)
    where = np.argwhere(images.reshape(n, size, size) == 1.0)
    assert len(where) == n  # one dot per image, none lost
    return where[:, 1:] - size // 2


@pytest.fixture
def fine_tuning_moves(monkeypatch):
    """The image moves of every round of fine-tuning steps run while the test runs: DEC's fine-tuning moves."""
    seen = []
    original = Trainer.fit_steps

    def spy(self, model, x, targets, plan, **kwargs):
        seen.append(plan.moves)
        return original(self, model, x, targets, plan, **kwargs)

    monkeypatch.setattr(Trainer, "fit_steps", spy)
    return seen


def test_shift_pixels_rounds_the_fraction_of_height_and_width():
    assert shift_pixels(0.1, (28, 28, 1)) == (3, 3)
    assert shift_pixels(0.1, (8, 8)) == (1, 1)
    assert shift_pixels(0.25, (8, 20)) == (2, 5)


def test_random_shift_moves_each_image_by_at_most_the_given_pixels():
    images = one_dot_images(500)
    moved = random_shift(images.reshape(500, -1), (9, 9), (2, 3), np.random.default_rng(0))
    assert moved.shape == (500, 81)  # the batch keeps its layout
    offsets = dot_offsets(moved)
    assert offsets[:, 0].min() == -2 and offsets[:, 0].max() == 2
    assert offsets[:, 1].min() == -3 and offsets[:, 1].max() == 3
    # Every image draws its own move: all 35 of them turn up.
    assert len({tuple(o) for o in offsets}) == 5 * 7
    np.testing.assert_array_equal(images, one_dot_images(500))  # the input is untouched


def test_random_shift_fills_the_uncovered_border_with_zeros_and_keeps_channels():
    images = np.ones((50, 6, 6, 2), np.float32)
    moved = random_shift(images, (6, 6, 2), (2, 2), np.random.default_rng(1))
    assert moved.shape == images.shape
    assert set(np.unique(moved)) <= {0.0, 1.0}
    # Channels move together, and an image that moved lost a border of ones.
    np.testing.assert_array_equal(moved[..., 0], moved[..., 1])
    assert (moved.reshape(50, -1).sum(axis=1) < 72).any()


def test_a_quarter_turn_is_rot90_and_a_turn_of_zero_is_the_move_alone():
    images = np.random.default_rng(0).random((4, 7, 7, 2)).astype(np.float32)
    quarter = _turned(images, np.zeros(4, int), np.zeros(4, int), np.full(4, np.pi / 2))
    np.testing.assert_allclose(quarter, np.rot90(images, k=-1, axes=(1, 2)), atol=1e-5)
    # Turned then moved: the whole-pixel move of shift, after the turn.
    down = np.array([0, 1, -2, 3])
    moved = _turned(images, down, np.zeros(4, int), np.zeros(4))
    np.testing.assert_array_equal(moved[1, :-1], images[1, 1:])
    np.testing.assert_array_equal(moved[1, -1], 0.0)
    np.testing.assert_array_equal(moved[0], images[0])


def test_random_shift_turns_by_at_most_the_given_degrees_and_keeps_the_draws_of_the_moves():
    x = np.random.default_rng(1).random((300, 81)).astype(np.float32)
    plain = random_shift(x, (9, 9), (1, 1), np.random.default_rng(3))
    hardly = random_shift(x, (9, 9), (1, 1), np.random.default_rng(3), 1e-9)
    np.testing.assert_allclose(hardly, plain, atol=1e-6)  # the same moves, drawn first
    # A bar through the middle, turned by up to 30 degrees: 7 pixels right of
    # the centre it rises or falls by at most 7 * tan(30 degrees) pixels.
    bar = np.zeros((300, 21, 21), np.float32)
    bar[:, 10, :] = 1.0
    turned = random_shift(bar.reshape(300, -1), (21, 21), (0, 0), np.random.default_rng(4), 30.0).reshape(bar.shape)
    rows = np.arange(21)[None, :]
    row = (turned[:, :, 17] * rows).sum(axis=1) / turned[:, :, 17].sum(axis=1)
    assert np.all(np.abs(row - 10) <= 7 * np.tan(np.radians(30)) + 0.5)
    assert np.abs(row - 10).max() > 3.5  # and some turn nearly that far
    assert np.all(turned[:, 10, 10] > 0.99)  # the centre stays
    np.testing.assert_array_equal(bar[:, 10, :], 1.0)  # the input is untouched


def test_training_batches_move_input_and_target_together_and_reproducibly():
    x = one_dot_images(40).reshape(40, 1, 81)[:, 0]
    batches = training_batches(x, batch_size=20, seed=0, image_shape=(9, 9), shift=(2, 2))
    inputs, targets = batches[0]
    np.testing.assert_array_equal(inputs, targets)
    assert np.any(dot_offsets(inputs.reshape(-1, 9, 9)) != 0)
    np.testing.assert_array_equal(batches[0][0], inputs)  # the same batch, the same moves
    batches.on_epoch_end()
    assert not all(np.array_equal(a, b) for a, b in zip(batches[0][0], inputs, strict=True))  # fresh ones


def test_training_batches_shift_then_corrupt_the_input_only():
    x = np.ones((40, 64), np.float32)
    batches = training_batches(
        x, batch_size=40, seed=0, noise="mask", noise_level=0.5, image_shape=(8, 8), shift=(1, 1)
    )
    inputs, targets = batches[0]
    assert np.all(inputs <= targets)  # the mask only ever erases the moved target
    assert np.mean(inputs[targets == 1] == 0) == pytest.approx(0.5, abs=0.05)


def test_step_batches_move_the_inputs_and_the_reconstruction_target_not_the_assignments():
    x = one_dot_images(30).reshape(30, -1)
    p = np.random.default_rng(0).random((30, 3)).astype(np.float32)
    moves = {"image_shape": (9, 9), "shift": (2, 2)}
    batches = step_batches(x, (p, None), batch_size=10, seed=0, first_step=0, n_steps=3, **moves)
    xb, (pb, target) = batches[0]
    rows = batches.schedule.rows(0)[0]
    np.testing.assert_array_equal(pb, p[rows])
    np.testing.assert_array_equal(target, xb)
    assert np.any(dot_offsets(xb.reshape(-1, 9, 9)) != 0)
    # A round that starts later draws the moves of the same global steps.
    later = step_batches(x, (p, None), batch_size=10, seed=0, first_step=1, n_steps=2, **moves)
    np.testing.assert_array_equal(later[0][0], batches[1][0])


@pytest.mark.backends
def test_dense_autoencoder_takes_images_and_shifts_them(digits):
    X = digits[0][:300]
    images = X.reshape(-1, 8, 8)
    ae = small_dense(shift=0.1).fit(images)
    assert ae.layout_.sample_shape == (64,) and ae.layout_.data_shape == (8, 8)
    assert ae.n_features_in_ == 64
    # Images and the same values as flat rows are the same samples.
    np.testing.assert_array_equal(ae.transform(images[:5]), ae.transform(X[:5]))
    assert ae.inverse_transform(ae.transform(images[:5])).shape == (5, 8, 8)
    # shift only changes training: the model differs from an unshifted fit.
    plain = small_dense().fit(images)
    assert not np.allclose(plain.transform(images[:5]), ae.transform(images[:5]))


@pytest.mark.backends
def test_conv_autoencoder_shifts_flat_rows_it_reads_as_images(digits):
    ae = small_conv(shift=0.25).fit(digits[0][:200])
    assert ae.network_.image_shape() == (8, 8, 1)
    assert np.isfinite(ae.history_["loss"]).all()


def test_shift_on_flat_rows_of_a_dense_model_says_what_to_give(digits):
    X = digits[0][:100]
    ae = small_dense().fit(X)
    before = ae.transform(X[:3])
    with pytest.raises(ValueError, match=r"shift=0.1 moves images, but DenseAutoencoder got flat rows of 64 features"):
        ae.set_params(shift=0.1).fit(X)
    # The failed fit left the fitted model as it was.
    np.testing.assert_array_equal(ae.transform(X[:3]), before)


def test_training_batches_turn_input_and_target_together():
    x = np.random.default_rng(0).random((40, 81)).astype(np.float32)
    batches = training_batches(x, batch_size=20, seed=0, image_shape=(9, 9), rotation=15.0)
    inputs, targets = batches[0]
    np.testing.assert_array_equal(inputs, targets)
    assert not np.allclose(inputs, x[batches.schedule.rows(0)[0]])
    np.testing.assert_array_equal(batches[0][0], inputs)  # the same batch, the same turns


def test_rotation_on_flat_rows_of_a_dense_model_says_what_to_give(digits):
    X = digits[0][:100]
    with pytest.raises(ValueError, match=r"rotation=10 turns images, but DenseAutoencoder got flat rows of 64"):
        small_dense(rotation=10).fit(X)
    with pytest.raises(ValueError, match=r"rotation=10.0 turns images"):
        small_dec(rotation=10).fit(X)


@pytest.mark.backends
def test_dec_rotation_is_set_on_its_autoencoder_counts_as_moved_and_turns_fine_tuning(digits, fine_tuning_moves):
    X = digits[0][:200].reshape(-1, 8, 8)
    dec = DeepEmbeddedClustering()
    assert dec._moves((8, 8)) == (0.0, 0.0)  # "auto" with the default network: no turns of small images
    assert small_dec(autoencoder=small_dense(latent_dim=10, rotation=5))._moves((8, 8)) == (0.0, 5.0)
    assert dec._pretrain_epochs(70_000, 10.0) == 29  # turned images are moved ones
    fitted = small_dec(autoencoder=small_dense(latent_dim=10), rotation=10, max_iter=10, update_interval=5).fit(X)
    assert fitted.autoencoder_.rotation == 10.0 and fitted.autoencoder_.shift == 0.0
    assert fitted.autoencoder.rotation == 0.0  # the template is left as it was
    assert fine_tuning_moves and all(kwargs["rotation"] == 10.0 for kwargs in fine_tuning_moves)
    np.testing.assert_array_equal(fitted.predict(X), fitted.labels_)


def test_the_conv_preset_moves_images_when_asked():
    from skae.presets import deep_clustering

    assert deep_clustering(10, autoencoder="conv")._moves((784,)) == (0.0, 0.0)  # "auto": its autoencoder's 0
    assert deep_clustering(10, autoencoder="conv", shift=0.1)._moves((784,)) == (0.1, 0.0)


@pytest.mark.parametrize(
    ("name", "value"),
    [("shift", -0.1), ("shift", 1.0), ("shift", "some"), ("rotation", -1), ("rotation", 181), ("rotation", "some")],
)
def test_bad_shift_or_rotation_is_named(name, value, digits):
    with pytest.raises(InvalidParameterError, match=f"'{name}' parameter"):
        small_dense(**{name: value}).fit(digits[0][:50])
    with pytest.raises(InvalidParameterError, match=f"'{name}' parameter"):
        DeepEmbeddedClustering(**{name: value}).fit(digits[0][:50])


def test_dec_auto_moves_and_turns_images_of_16_pixels_a_side_but_not_flat_rows_or_small_images(digits):
    X = digits[0][:200]
    dec = DeepEmbeddedClustering()
    assert dec._moves((28, 28)) == (0.1, 10.0)
    assert dec._moves((16, 20, 1)) == (0.1, 10.0)
    assert dec._moves((28, 8)) == (0.0, 0.0)
    assert dec._moves((784,)) == (0.0, 0.0)  # flat rows need not be images ...
    for image_shape in [(28, 28), (28, -1), (28, 28, 1)]:  # ... unless image_shape says they are
        assert DeepEmbeddedClustering(image_shape=image_shape)._moves((784,)) == (0.1, 10.0)
    assert DeepEmbeddedClustering(image_shape=(8, 8))._moves((64,)) == (0.0, 0.0)
    # On the 8x8 digits a move of one pixel lowered DEC's accuracy: no moves.
    assert dec._moves((8, 8)) == (0.0, 0.0)
    # A float is the fit's own; with a given autoencoder, "auto" is that autoencoder's own.
    assert DeepEmbeddedClustering(shift=0.05, rotation=0)._moves((28, 28)) == (0.05, 0.0)
    assert small_dec(autoencoder=small_conv(latent_dim=10, shift=0.2))._moves((64,)) == (0.2, 0.0)
    fitted = small_dec(autoencoder=small_dense(latent_dim=10), max_iter=5).fit(X.reshape(-1, 8, 8))
    assert fitted.autoencoder_.shift == 0.0 and fitted.autoencoder_.rotation == 0.0
    np.testing.assert_array_equal(fitted.predict(X), fitted.labels_)


def test_dec_pretrain_epochs_auto_trains_moved_images_longer_within_a_sample_budget(digits):
    dec = DeepEmbeddedClustering()
    assert dec._pretrain_epochs(10_000, 0.0) == 100  # unmoved: as before
    assert dec._pretrain_epochs(10_000, 0.1) == 200
    assert dec._pretrain_epochs(1_000, 0.1) == 200
    assert dec._pretrain_epochs(70_000, 0.1) == 29  # 2,000,000 samples at most
    assert DeepEmbeddedClustering(pretrain_epochs=7)._pretrain_epochs(70_000, 0.1) == 7
    X = digits[0][:60].reshape(-1, 8, 8)
    moved = small_dec(autoencoder=small_dense(latent_dim=10), shift=0.25, pretrain_epochs="auto", max_iter=2).fit(X)
    assert moved.autoencoder_.epochs == 200
    assert moved.pretrain_epochs == "auto"  # the parameter is left as given
    unmoved = small_dec(pretrain_epochs="auto", max_iter=2).fit(X)
    assert unmoved.autoencoder_.epochs == 100


@pytest.mark.parametrize("epochs", [0, 2.5, "many"])
def test_bad_pretrain_epochs_is_named(epochs, digits):
    with pytest.raises(InvalidParameterError, match="'pretrain_epochs' parameter"):
        small_dec(pretrain_epochs=epochs).fit(digits[0][:50])


@pytest.mark.backends
def test_dec_given_shift_is_set_on_its_autoencoder_and_used_in_fine_tuning(digits, fine_tuning_moves):
    X = digits[0][:200]
    dec = small_dec(autoencoder=small_dense(latent_dim=10), shift=0.25, max_iter=10, update_interval=5)
    dec.fit(X.reshape(-1, 8, 8))
    assert dec.autoencoder_.shift == 0.25
    assert dec.autoencoder.shift == 0.0  # the template is left as it was
    moves = [(kwargs["image_shape"], kwargs["shift"]) for kwargs in fine_tuning_moves]
    assert moves and all(m == ((8, 8), (2, 2)) for m in moves)
    assert np.array_equal(dec.predict(X.reshape(-1, 8, 8)), dec.labels_)


def test_unmoved_images_cluster_exactly_like_their_flat_rows(digits):
    # 8x8 images get no moves under "auto", so the default network sees the
    # very batches that flat rows give it: the same fit, bit for bit.
    X = digits[0][:200]
    flat = small_dec(autoencoder=None, max_iter=10, update_interval=5, pretrain_epochs=1).fit(X)
    images = small_dec(autoencoder=None, max_iter=10, update_interval=5, pretrain_epochs=1).fit(X.reshape(-1, 8, 8))
    assert images.autoencoder_.shift == 0.0
    np.testing.assert_array_equal(images.labels_, flat.labels_)
    np.testing.assert_array_equal(images.cluster_centers_, flat.cluster_centers_)


# --- Flat rows that are images: ``image_shape`` ---------------------------


@pytest.mark.backends
@pytest.mark.parametrize("image_shape", [(8, 8), (8, -1), (8, 8, 1)])
def test_dense_flat_rows_with_image_shape_train_exactly_as_the_images(digits, image_shape):
    X = digits[0][:200]
    moves = {"shift": 0.25, "rotation": 10}
    images = small_dense(**moves).fit(X.reshape(-1, 8, 8))
    flat = small_dense(image_shape=image_shape, **moves).fit(X)
    # The same moves and turns, so the same network, bit for bit.
    np.testing.assert_array_equal(flat.transform(X), images.transform(X))
    assert flat.layout_.image_shape == tuple(8 if v == -1 else v for v in image_shape)
    # The model reads flat rows and gives flat rows back, as it was given.
    assert flat.layout_.sample_shape == flat.layout_.data_shape == (64,)
    assert flat.inverse_transform(flat.transform(X[:5])).shape == (5, 64)
    # The moves did change training: a fit without them differs.
    assert not np.allclose(small_dense(image_shape=image_shape).fit(X).transform(X[:5]), flat.transform(X[:5]))


@pytest.mark.backends
@pytest.mark.parametrize("make", [small_dense, small_conv], ids=["dense", "conv"])
def test_dec_flat_rows_with_image_shape_cluster_exactly_as_the_images(digits, make, fine_tuning_moves):
    X = digits[0][:200]
    settings = {"autoencoder": make(latent_dim=10), "shift": 0.25, "rotation": 10, "max_iter": 20}
    images = small_dec(**settings).fit(X.reshape(-1, 8, 8))
    flat = small_dec(image_shape=(8, 8), **settings).fit(X)
    np.testing.assert_array_equal(flat.labels_, images.labels_)
    np.testing.assert_array_equal(flat.init_labels_, images.init_labels_)
    np.testing.assert_array_equal(flat.cluster_centers_, images.cluster_centers_)
    assert flat.autoencoder_.image_shape == (8, 8) and flat.autoencoder.image_shape is None  # the template as it was
    # Both phases moved and turned them: fine-tuning read them as images too.
    assert {(kwargs["shift"], kwargs["rotation"]) for kwargs in fine_tuning_moves} == {((2, 2), 10.0)}
    np.testing.assert_array_equal(flat.predict(X), flat.labels_)


def test_dec_default_network_takes_image_shape():
    ae = DeepEmbeddedClustering(image_shape=(28, 28))._make_autoencoder(0, 0.1, 5, 10.0)
    assert ae.image_shape == (28, 28) and (ae.shift, ae.rotation, ae.epochs) == (0.1, 10.0, 5)


def test_image_shape_that_does_not_fit_the_rows_says_both_and_keeps_the_model(digits):
    X = digits[0][:100]
    ae = small_dense(image_shape=(8, 8)).fit(X)
    before = ae.transform(X[:3])
    with pytest.raises(ValueError, match=r"image_shape=\(7, 7\) holds 49 values per sample, but X has 64 features"):
        ae.set_params(image_shape=(7, 7)).fit(X)
    np.testing.assert_array_equal(ae.transform(X[:3]), before)
    with pytest.raises(ValueError, match=r"cannot hold samples of 64 values: 64 is not a multiple of 5"):
        small_dense(image_shape=(5, -1)).fit(X)
    with pytest.raises(ValueError, match=r"X holds images of shape \(8, 8\), but image_shape=\(4, 16\)"):
        small_dense(image_shape=(4, 16)).fit(X.reshape(-1, 8, 8))
    with pytest.raises(ValueError, match=r"image_shape must be a tuple of 2 to 3 positive ints"):
        small_dense(image_shape=(64,)).fit(X)
    with pytest.raises(ValueError, match=r"X holds images of shape \(8, 8\), but image_shape=\(4, 16\)"):
        small_dec(image_shape=(4, 16)).fit(X.reshape(-1, 8, 8))


def test_dec_image_shape_needs_an_autoencoder_that_takes_one(digits):
    from _helpers import sized_decoder, sized_encoder

    from skae import AutoencoderTransformer

    wrapper = AutoencoderTransformer(encoder=sized_encoder, decoder=sized_decoder, epochs=1)
    with pytest.raises(ValueError, match=r"image_shape=\(8, 8\) says what image each row of X holds, but the "):
        small_dec(autoencoder=wrapper, image_shape=(8, 8)).fit(digits[0][:100])


def test_image_shape_is_saved_with_the_model_and_warm_start_keeps_moving(digits, tmp_path):
    import skae

    X = digits[0][:100]
    ae = small_dense(image_shape=(8, -1), shift=0.25, rotation=10).fit(X)
    ae.save(tmp_path / "ae.skae")
    loaded = skae.load(tmp_path / "ae.skae")
    assert loaded.layout_.image_shape == (8, 8)
    np.testing.assert_array_equal(loaded.transform(X), ae.transform(X))
    # Training on reads the rows as images again, from the saved layout.
    loaded.set_params(warm_start=True).fit(X)
    assert loaded.network_.image_shape() == (8, 8) and len(loaded.history_["loss"]) == 4
