"""
=====================================
Serve a pipeline with ONNX Runtime
=====================================

A fitted ``Pipeline(ConvAutoencoder, KMeans)`` becomes one ONNX graph with
`skl2onnx <https://onnx.ai/sklearn-onnx/>`_ once :mod:`skae.onnx` is
imported. ONNX Runtime then serves it without TensorFlow, Keras or
scikit-learn: the graph takes the flat rows the pipeline takes and returns
the same cluster labels. Needs the ``serve`` extra
(``pip install -e ".[serve]"`` in a clone of skae).

.. note::
   Sizes on this page: 2,000 MNIST training images and 2 epochs, since the
   point is the export, not the clustering's quality.
"""

import os
import tempfile
import time

import numpy as np
import onnxruntime as ort
from skl2onnx import to_onnx
from sklearn.cluster import KMeans
from sklearn.pipeline import Pipeline

import skae.onnx  # noqa: F401  (registers skae's converters)
from skae import ConvAutoencoder
from skae.datasets import load_mnist

N_TRAIN, EPOCHS = 2_000, 2

X, y = load_mnist(n_samples=N_TRAIN)
X_test, _ = load_mnist(split="test", n_samples=1_000)
pipe = Pipeline(
    [
        ("ae", ConvAutoencoder(epochs=EPOCHS, random_state=0)),
        ("kmeans", KMeans(n_clusters=10, n_init=10, random_state=0)),
    ]
).fit(X)

# %%
# Export
# ------
# ``to_onnx`` reads the input's type and width from one row. The graph
# holds the encoder's weights, the reshape of flat rows to 28x28 images
# and KMeans's centres.
onx = to_onnx(pipe, X[:1])
path = os.path.join(tempfile.mkdtemp(), "pipeline.onnx")
with open(path, "wb") as f:
    f.write(onx.SerializeToString())
print(f"{os.path.getsize(path) / 2**20:.1f} MiB written to pipeline.onnx")

# %%
# Serve
# -----
# A server needs only ``onnxruntime`` and the file. The first output holds
# the labels, the second the distances to the centres.
session = ort.InferenceSession(path)
labels, distances = session.run(None, {"X": X_test})
same = np.mean(labels == pipe.predict(X_test))
print(f"labels equal to pipe.predict on {same:.0%} of the test rows")

row = X_test[:1]
for name, call in [
    ("onnxruntime", lambda: session.run(None, {"X": row})),
    ("pipe.predict", lambda: pipe.predict(row)),
]:
    call()
    start = time.perf_counter()
    for _ in range(100):
        call()
    per_call = (time.perf_counter() - start) / 100
    print(f"{name:>13}: {per_call * 1e3:.2f} ms per row")

# %%
# The decoder too
# ---------------
# :func:`skae.onnx.to_onnx_decoder` exports ``inverse_transform``: latent
# codes in, flat images out.
ae = pipe.named_steps["ae"]
decoder_onx = skae.onnx.to_onnx_decoder(ae)
decoder = ort.InferenceSession(decoder_onx.SerializeToString())
codes = ae.transform(X_test[:8])
images = decoder.run(None, {"X": codes})[0]
same = np.allclose(images, ae.inverse_transform(codes), atol=1e-4)
print("decoder matches inverse_transform:", same)
