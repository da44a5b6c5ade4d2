"""skae's latent features feeding a scikeras classifier (the ``skae[scikeras]`` extra)."""

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline

from skae import DenseAutoencoder

scikeras_wrappers = pytest.importorskip("scikeras.wrappers")


def classifier_model(meta, hidden=16):
    import keras

    return keras.Sequential(
        [
            keras.Input(shape=(meta["n_features_in_"],)),
            keras.layers.Dense(hidden, activation="relu"),
            keras.layers.Dense(meta["n_classes_"], activation="softmax"),
        ]
    )


@pytest.mark.slow
def test_latents_feed_a_keras_classifier_under_grid_search(digits):
    X, y = digits
    X, y = X[:600], y[:600]
    pipe = Pipeline(
        [
            ("ae", DenseAutoencoder(hidden_layer_sizes=(32,), latent_dim=16, epochs=20, batch_size=32, random_state=0)),
            (
                "clf",
                scikeras_wrappers.KerasClassifier(
                    model=classifier_model,
                    loss="sparse_categorical_crossentropy",
                    epochs=30,
                    batch_size=32,
                    verbose=0,
                    random_state=0,
                ),
            ),
        ]
    )
    search = GridSearchCV(pipe, {"ae__latent_dim": [8, 16], "clf__model__hidden": [16]}, cv=2).fit(X, y)
    assert set(search.cv_results_["param_ae__latent_dim"]) == {8, 16}
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    # Ten digit classes: anything well above chance shows the latents carry the signal.
    assert search.best_score_ > 0.5
    assert search.predict(X[:5]).shape == (5,)
