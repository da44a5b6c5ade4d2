"""The Keras building blocks, checked without training anything."""

import keras
import numpy as np
import pytest

from skae import ConvAutoencoder, DenseAutoencoder, VariationalAutoencoder
from skae._builders import conv_shapes, seed_stream
from skae._layout import LayoutRequest, SampleLayout, declared_input_shape, parse_shape, resolve_layout
from skae._networks import compose_autoencoder, keras_default_seeds, latent_shape_of, split_autoencoder


def build(estimator, sample_shape, seed=0):
    """The ``(encoder, decoder)`` pair an estimator builds; its latent shape is checked against the encoder's."""
    encoder, decoder, latent = estimator._build_encoder_decoder(sample_shape, seed_stream(seed), {})
    assert latent == latent_shape_of(encoder, sample_shape)
    return encoder, decoder


def kernels(model):
    return [w for w in model.get_weights() if w.ndim > 1]


@pytest.mark.parametrize(
    ("estimator", "shape", "n_params"),
    [(DenseAutoencoder(), (784,), 716_640), (ConvAutoencoder(), (28, 28, 1), 421_377)],
    ids=["dense", "conv"],
)
def test_tutorial_pairs_have_the_tutorials_parameter_counts(estimator, shape, n_params):
    encoder, decoder = build(estimator, shape)
    assert encoder.count_params() + decoder.count_params() == n_params
    assert encoder.layers[-1].name == "latent" and latent_shape_of(encoder, shape) == (64,)
    assert latent_shape_of(decoder, (64,)) == shape


def test_one_seed_stream_seeds_every_layer_differently_and_reproducibly():
    estimator = DenseAutoencoder(hidden_layer_sizes=(8, 8), latent_dim=8)
    encoder, decoder = build(estimator, (8,))
    square = [k for k in kernels(encoder) + kernels(decoder)]
    assert len(square) == 4
    # Four 8x8 kernels, each from its own seed: no two alike.
    assert len({k.tobytes() for k in square}) == 4
    again = [k for pair in build(estimator, (8,)) for k in kernels(pair)]
    for a, b in zip(square, again, strict=True):
        np.testing.assert_array_equal(a, b)
    shifted = [k for pair in build(estimator, (8,), seed=1) for k in kernels(pair)]
    # Seeds run seed, seed + 1, ...: seed 1's first layer is seed 0's second.
    np.testing.assert_array_equal(shifted[0], square[1])


def test_variational_encoder_ends_in_the_sampler_and_decodes_its_code():
    encoder, decoder = build(VariationalAutoencoder(hidden_layer_sizes=(16,), latent_dim=3), (10,))
    assert [layer.name for layer in encoder.layers][-2:] == ["latent_params", "latent"]
    assert latent_shape_of(encoder, (10,)) == (3,) and latent_shape_of(decoder, (3,)) == (10,)
    encoder, decoder = build(VariationalAutoencoder(architecture="conv", filters=(4,), latent_dim=2), (8, 8, 1))
    assert latent_shape_of(decoder, (2,)) == (8, 8, 1)


def test_compose_and_split_are_inverse():
    encoder, decoder = build(DenseAutoencoder(hidden_layer_sizes=(4,), latent_dim=2), (6,))
    model, latent = compose_autoencoder(encoder, decoder, (6,), latent_l1=0.1)
    assert latent == (2,)
    assert [layer.name for layer in model.layers] == ["encoder", "latent_l1", "decoder"]
    assert split_autoencoder(model) == (encoder, decoder)
    with pytest.raises(ValueError, match="Sequential of an encoder and a decoder"):
        split_autoencoder(keras.Sequential([keras.Input((3,)), keras.layers.Dense(3)]))


def test_conv_shapes_name_the_path_through_the_encoder():
    assert conv_shapes((28, 28, 1), filters=(32, 64), kernel_size=(2, 2), strides=(2, 2), padding="valid") == [
        (14, 14),
        (7, 7),
    ]
    with pytest.raises(ValueError, match=r"maps 6x6 through 3x3 -> 1x1 and the decoder would return 4x4"):
        conv_shapes((6, 6, 1), filters=(4, 8), kernel_size=(2, 2), strides=(2, 2), padding="valid")


def test_layout_resolution():
    flat = LayoutRequest(shape=None, name="input_shape")
    assert resolve_layout((784,), flat) == SampleLayout((784,), (784,))
    wanted = LayoutRequest(shape=(28, -1, 1), name="input_shape")
    layout = resolve_layout((784,), wanted)
    assert layout.sample_shape == (28, 28, 1)
    X = np.arange(2 * 784, dtype=np.float32).reshape(2, 784)
    assert layout.to_model(X).shape == (2, 28, 28, 1)
    assert layout.restore(layout.to_model(X)).shape == (2, 784)
    assert resolve_layout((28, 28), wanted) == SampleLayout((28, 28, 1), (28, 28))
    assert layout.accepts((28, 28)) and layout.accepts((28, 28, 1)) and not layout.accepts((14, 56))
    with pytest.raises(ValueError, match="cannot hold samples of 785 values"):
        resolve_layout((785,), wanted)
    with pytest.raises(ValueError, match="input_shape must be"):
        parse_shape("input_shape", (-1, -1))


def test_declared_input_shape_reads_one_unknown_axis_as_minus_one():
    assert declared_input_shape(keras.Sequential([keras.Input((None, 3)), keras.layers.Dense(2)])) == (-1, 3)
    assert declared_input_shape(keras.Sequential([keras.Input((None, None)), keras.layers.Activation("relu")])) is None
    assert declared_input_shape(keras.Sequential([keras.layers.Dense(2)])) is None


def test_keras_default_seeds_make_unseeded_layers_reproducible():
    def weights():
        with keras_default_seeds(5):
            return keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)]).get_weights()[0]

    np.testing.assert_array_equal(weights(), weights())
