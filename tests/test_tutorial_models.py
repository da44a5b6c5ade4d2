"""The tutorial's three models, rebuilt through documented parameters."""

import numpy as np
import pytest

# (layer class, output shape without the batch axis, activation, parameters)
DENSE = [
    ("Dense", (784,), "relu", 615_440),
    ("Dense", (64,), "relu", 50_240),
    ("Dense", (784,), "sigmoid", 50_960),
]
CONV_RELU = [
    ("Conv2D", (14, 14, 32), "relu", 160),
    ("Conv2D", (7, 7, 64), "relu", 8_256),
    ("Flatten", (3136,), None, 0),
    ("Dense", (64,), "relu", 200_768),
    ("Dense", (3136,), "relu", 203_840),
    ("Reshape", (7, 7, 64), None, 0),
    ("Conv2DTranspose", (14, 14, 32), "relu", 8_224),
    ("Conv2DTranspose", (28, 28, 1), "sigmoid", 129),
]
# The ELU variant swaps the latent Dense, the decoder's Dense and the first
# Conv2DTranspose; the encoder convolutions stay ReLU, the output sigmoid.
CONV_ELU = [
    (cls, shape, "elu" if i in (3, 4, 6) else act, params) for i, (cls, shape, act, params) in enumerate(CONV_RELU)
]


def layer_table(model):
    rows = []
    for layer in model.layers:
        activation = getattr(layer, "activation", None)
        rows.append(
            (
                type(layer).__name__,
                tuple(layer.output.shape[1:]),
                activation.__name__ if activation is not None else None,
                layer.count_params(),
            )
        )
    return rows


# The models are conftest's fitted_tutorial(kind), made by
# _helpers.TUTORIAL_MODELS: one epoch on mnist_like, random MNIST-sized rows.


@pytest.mark.parametrize(
    ("kind", "table", "total"),
    [("dense", DENSE, 716_640), ("conv", CONV_RELU, 421_377), ("conv-elu", CONV_ELU, 421_377)],
    ids=["dense", "conv", "conv-elu"],
)
def test_tutorial_model_layer_for_layer(kind, table, total, fitted_tutorial):
    ae = fitted_tutorial(kind)
    assert ae.model_.layers == [ae.encoder_, ae.decoder_]
    assert layer_table(ae.encoder_) + layer_table(ae.decoder_) == table
    assert ae.model_.count_params() == total
    # The latent layer is the tutorial's layer 3 (dense) / its 64-unit Dense.
    assert ae.encoder_.output.shape[1:] == (64,)
    assert type(ae.model_.optimizer).__name__ == "Adam"
    assert ae.model_.loss == "mse"


def test_encoder_and_decoder_share_the_autoencoders_weights(fitted_tutorial, mnist_like):
    ae = fitted_tutorial("conv-images")
    by_id = {id(v) for v in ae.model_.weights}
    assert {id(v) for v in ae.encoder_.weights} | {id(v) for v in ae.decoder_.weights} == by_id
    images = mnist_like[:5].reshape(-1, 28, 28)
    direct = ae.model_.predict_on_batch(images[..., None]).reshape(5, 28, 28)
    np.testing.assert_allclose(ae.inverse_transform(ae.transform(images)), direct, rtol=1e-5, atol=1e-6)
