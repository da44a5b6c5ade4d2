"""
=================================
Wrapping your own Keras network
=================================

:class:`~skae.AutoencoderTransformer` turns any Keras encoder and decoder
into a scikit-learn transformer. Here the encoder is a hand-written
functional network with a skip connection, which no skae preset builds: a
small stack of convolutions, plus a branch that feeds a downsampled copy of
the image straight to the latent code. It then runs like any skae model:
in a :class:`~sklearn.pipeline.Pipeline` before
:class:`~sklearn.cluster.KMeans`, with
:class:`~sklearn.model_selection.GridSearchCV` choosing between a narrow and
a wide encoder by how well the clusters match the digits.

.. note::
   Sizes on this page: 3,000 MNIST training images, 3 epochs per fit in
   batches of 32 with ``learning_rate=0.003`` (the tutorial uses batches
   of 256 and Adam's default ``learning_rate=0.001``; so few epochs need
   more, larger steps)
   and 3-fold cross-validation (2 candidates, 6 fits and a refit), then
   2,000 test images. The tutorial trains on all 60,000 images for 20
   epochs; raise ``N_TRAIN`` and ``EPOCHS`` below for a search at that
   size. The point here is the wrapping, not the model's quality.
"""

# %%
# The encoder and the decoder, as builder functions
# -------------------------------------------------
# A builder is a function that returns a fresh ``keras.Model``. skae calls
# the encoder's builder with the shape of one sample, here ``(28, 28, 1)``,
# and the decoder's with the shape of one latent code and the shape the
# reconstruction must have. The encoder below is functional, not
# ``Sequential``: two strided convolutions (28x28 to 14x14 to 7x7) lead to a
# ``Dense`` code, and a skip branch averages the image down to 7x7 and adds
# its own ``Dense`` projection to that code.
import keras
import matplotlib.pyplot as plt
import pandas as pd
from keras import layers
from sklearn.cluster import KMeans
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import Pipeline

from skae import AutoencoderTransformer
from skae.datasets import load_mnist
from skae.metrics import clustering_accuracy, make_clustering_scorer
from skae.plotting import plot_reconstructions

N_TRAIN, N_TEST, EPOCHS, BATCH = 3_000, 2_000, 3, 32
LEARNING_RATE, LATENT_DIM = 3e-3, 16


def skip_encoder(input_shape, filters):
    """Conv2D stack plus a pooled skip branch, added into the code."""
    image = keras.Input(input_shape)
    h = image
    for n_filters in filters:
        h = layers.Conv2D(
            n_filters, 3, strides=2, padding="same", activation="relu"
        )(h)
    deep = layers.Dense(LATENT_DIM)(layers.Flatten()(h))
    thumbnail = layers.Flatten()(layers.AveragePooling2D(4)(image))
    skip = layers.Dense(LATENT_DIM)(thumbnail)
    code = layers.Add(name="code")([deep, skip])
    return keras.Model(image, code, name="skip_encoder")


def narrow_encoder(input_shape):
    """The skip encoder with 8 and 16 filters."""
    return skip_encoder(input_shape, filters=(8, 16))


def wide_encoder(input_shape):
    """The skip encoder with 32 and 64 filters."""
    return skip_encoder(input_shape, filters=(32, 64))


def conv_decoder(latent_shape, output_shape):
    """Dense to a 7x7 map, then two transposed convolutions to the image."""
    height, width, channels = output_shape
    return keras.Sequential(
        [
            keras.Input(latent_shape),
            layers.Dense((height // 4) * (width // 4) * 32, activation="relu"),
            layers.Reshape((height // 4, width // 4, 32)),
            layers.Conv2DTranspose(
                16, 3, strides=2, padding="same", activation="relu"
            ),
            layers.Conv2DTranspose(
                channels, 3, strides=2, padding="same", activation="sigmoid"
            ),
        ]
    )


# %%
# The pipeline
# ------------
# MNIST comes as flat rows of 784 pixels, which is also what a
# :class:`~sklearn.pipeline.Pipeline` passes from step to step.
# ``input_shape=(28, 28, 1)`` reshapes each row into the image the
# convolutions take; ``transform`` returns the latent codes as flat rows
# again, ready for KMeans.
X_train, y_train = load_mnist(n_samples=N_TRAIN)
X_test, y_test = load_mnist(split="test", n_samples=N_TEST)

ae = AutoencoderTransformer(
    narrow_encoder,
    conv_decoder,
    input_shape=(28, 28, 1),
    epochs=EPOCHS,
    batch_size=BATCH,
    learning_rate=LEARNING_RATE,
    random_state=0,
)
kmeans = KMeans(n_clusters=10, n_init=10, random_state=42)
pipe = Pipeline([("ae", ae), ("kmeans", kmeans)])

# %%
# Narrow or wide?
# ---------------
# The encoder itself is the parameter searched over. The score is the
# clustering accuracy of each held-out fold:
# :func:`skae.metrics.make_clustering_scorer` calls the pipeline's
# ``predict`` (KMeans's cluster of each image) and compares it with the
# labels, which nothing else in the pipeline sees.
search = GridSearchCV(
    pipe,
    {"ae__encoder": [narrow_encoder, wide_encoder]},
    scoring=make_clustering_scorer("accuracy"),
    cv=KFold(3, shuffle=True, random_state=0),
)
search.fit(X_train, y_train)

params = search.cv_results_["params"]
results = pd.DataFrame(
    {
        "encoder": [p["ae__encoder"].__name__ for p in params],
        "held-out accuracy": search.cv_results_["mean_test_score"],
        "std": search.cv_results_["std_test_score"],
        "fit time (s)": search.cv_results_["mean_fit_time"],
        "rank": search.cv_results_["rank_test_score"],
    }
).sort_values("rank")
print(results.round(3).to_string(index=False))

# %%
# The best pipeline
# -----------------
# ``best_estimator_`` is the winning pipeline, refitted on all 3,000
# images. Its autoencoder holds the trained copies of the networks:
# ``encoder_`` and ``decoder_``, and ``model_``, the two composed. The
# builder functions themselves are untouched parameters.
best = search.best_estimator_
ae = best.named_steps["ae"]
print(f"best encoder: {ae.encoder.__name__}")
layer_names = [layer.name for layer in ae.model_.layers]
print(f"model_: {layer_names}, {ae.model_.count_params():,} parameters")
code_size = ae.transform(X_test[:1]).shape[1]
sample_shape = ae.layout_.sample_shape
print(f"one sample {sample_shape} -> latent code of {code_size} values")
train_acc = clustering_accuracy(y_train, best.predict(X_train))
test_acc = clustering_accuracy(y_test, best.predict(X_test))
print(f"clustering accuracy, training images: {train_acc:.3f}")
print(f"clustering accuracy, test images:     {test_acc:.3f}")

# %%
# For scale, KMeans fitted on the raw training pixels, scored the same way.
# Three epochs on 3,000 images say little about which architecture is
# better at full size; what carries over is the mechanics: any Keras network
# that maps an image to a code and back can be searched, refitted and
# scored like a scikit-learn estimator.
raw = KMeans(n_clusters=10, n_init=10, random_state=42).fit(X_train)
raw_acc = clustering_accuracy(y_test, raw.predict(X_test))
print(f"KMeans on raw pixels, test images:   {raw_acc:.3f}")

# %%
# Reconstructions
# ---------------
# The autoencoder's ``inverse_transform`` decodes codes back to flat rows of
# 784 pixels, the layout it was given, so the test images and their
# reconstructions plot side by side.
fig = plot_reconstructions(
    X_test, ae, n_images=10, fig=plt.figure(figsize=(7.5, 2.2))
)
fig.suptitle(f"{ae.encoder.__name__}, {EPOCHS} epochs on {N_TRAIN:,} images")
plt.show()
