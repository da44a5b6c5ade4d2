"""skae.onnx: fitted autoencoders and pipelines that hold them as ONNX graphs, run by ONNX Runtime."""

import subprocess
import sys

import numpy as np
import pytest
from _helpers import SHARED_ROWS, small_conv, small_dense

pytest.importorskip("skl2onnx")
ort = pytest.importorskip("onnxruntime")

import keras  # noqa: E402
from sklearn.cluster import KMeans  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

pytestmark = pytest.mark.backends

if keras.backend.backend() == "tensorflow":
    pytest.importorskip("tf2onnx", reason="ONNX export on TensorFlow needs tf2onnx (skae[serve])")
elif keras.backend.backend() == "jax":
    pytest.importorskip("jax2onnx", reason="ONNX export on JAX needs jax2onnx, not part of skae[serve]")

from skl2onnx import to_onnx  # noqa: E402

import skae.onnx  # noqa: E402

# Kinds of _helpers.SHARED_FITS, fitted on the digits before SHARED_ROWS; the
# tests check the graphs on the rows after it.
ESTIMATORS = ["dense", "conv-8x8", "vae", "conv-vae", "wrapper"]


def run(model, X):
    session = ort.InferenceSession(model.SerializeToString())
    return session.run(None, {session.get_inputs()[0].name: X})


@pytest.fixture(scope="module", params=ESTIMATORS)
def fitted(request, fitted_small):
    """The kind's estimator, fitted on flat rows (conftest's shared fit)."""
    return fitted_small(request.param)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_graph_encodes_the_flat_rows_transform_takes(fitted, digits, dtype):
    X = digits[0][SHARED_ROWS : SHARED_ROWS + 200].astype(dtype)
    model = to_onnx(fitted, X[:1])
    (codes,) = run(model, X)
    assert codes.dtype == dtype
    np.testing.assert_allclose(codes, fitted.transform(X), atol=1e-4)
    # One row alone gets the code it gets in a batch.
    np.testing.assert_allclose(run(model, X[:1])[0], codes[:1], atol=1e-4)


def test_vae_graph_returns_the_latent_mean(fitted_small, digits):
    vae = fitted_small("vae")
    X = digits[0][SHARED_ROWS : SHARED_ROWS + 10]
    codes = run(to_onnx(vae, X[:1]), X)[0]
    np.testing.assert_allclose(codes, vae.transform(X), atol=1e-4)
    np.testing.assert_allclose(run(to_onnx(vae, X[:1]), X)[0], codes)  # no sampling: the same every run


def test_decoder_graph_matches_inverse_transform(fitted, digits):
    Z = fitted.transform(digits[0][SHARED_ROWS : SHARED_ROWS + 100])
    (out,) = run(skae.onnx.to_onnx_decoder(fitted), Z)
    np.testing.assert_allclose(out, fitted.inverse_transform(Z).reshape(len(Z), -1), atol=1e-4)
    out64 = run(skae.onnx.to_onnx_decoder(fitted, dtype=np.float64), Z.astype(np.float64))[0]
    assert out64.dtype == np.float64


@pytest.mark.parametrize(
    "tail",
    [
        lambda: KMeans(n_clusters=5, n_init=2, random_state=0),
        lambda: LogisticRegression(max_iter=200),
    ],
    ids=["kmeans", "classifier"],
)
def test_pipeline_converts_as_one_graph(digits, tail):
    X, y = digits[0][:400], digits[1][:400]
    pipe = make_pipeline(small_conv(image_shape=(8, 8, 1)), StandardScaler(), tail()).fit(X, y)
    labels = run(to_onnx(pipe, X[:1]), X)[0]
    np.testing.assert_array_equal(labels, pipe.predict(X))


def test_two_autoencoders_in_one_graph_get_their_own_names(digits):
    # Stacked autoencoders: every merged name must be unique in the graph.
    X = digits[0][:300]
    pipe = make_pipeline(small_dense(latent_dim=16), small_dense(latent_dim=3)).fit(X)
    np.testing.assert_allclose(run(to_onnx(pipe, X[:1]), X)[0], pipe.transform(X), atol=1e-4)


def test_wrong_width_and_unfitted_estimators_are_refused(fitted, digits):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(RuntimeError, match="rows of 64 values"):
        to_onnx(fitted, np.zeros((1, 10), dtype=np.float32))
    with pytest.raises(NotFittedError):
        to_onnx(small_dense(), digits[0][:1])
    with pytest.raises(TypeError, match="subclass of AutoencoderTransformer"):
        skae.onnx.register_converter(KMeans)


def test_import_skae_does_not_import_onnx():
    code = "import sys, skae\nprint(sorted(m for m in ('onnx', 'skl2onnx', 'onnxruntime') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
