"""skops and MLflow: skae estimators and pipelines round-trip with bit-identical output."""

import numpy as np
import pytest
from _helpers import dense_decoder, dense_encoder, small_conv, small_dec, small_dense, small_vae, small_wrapper
from sklearn.cluster import KMeans
from sklearn.pipeline import make_pipeline

from skae import AutoencoderTransformer

sio = pytest.importorskip("skops.io")

pytestmark = pytest.mark.backends

#: The types a skops file of skae estimators asks to trust: the estimator classes alone.
SKAE_TYPES = {
    "skae._base.AutoencoderTransformer",
    "skae._dense.DenseAutoencoder",
    "skae._conv.ConvAutoencoder",
    "skae._variational.VariationalAutoencoder",
    "skae._deep_clustering.DeepEmbeddedClustering",
}


def _keras_params():
    import keras

    return AutoencoderTransformer(
        dense_encoder((64,)),
        dense_decoder((4,), (64,)),
        optimizer=keras.optimizers.Adam(learning_rate=0.01),
        epochs=2,
        random_state=np.random.RandomState(0),
    )


def _sgd():
    import keras

    return keras.optimizers.SGD(learning_rate=0.005, momentum=0.9)


CASES = {
    "dense": lambda: small_dense(),
    "conv": lambda: small_conv(image_shape=(8, 8, 1)),
    "vae": small_vae,
    "wrapper-builders": lambda: small_wrapper(),
    "wrapper-keras-objects": _keras_params,
    "pipeline": lambda: make_pipeline(small_dense(), KMeans(n_clusters=3, n_init=2, random_state=0)),
    "dec": lambda: small_dec(n_clusters=3),
    "dec-keras-optimizer": lambda: small_dec(n_clusters=3, optimizer=_sgd()),
}


def _output(est, X):
    return est.predict(X) if hasattr(est, "steps") or hasattr(est, "cluster_centers_") else est.transform(X)


@pytest.mark.parametrize("kind", list(CASES))
@pytest.mark.slow
def test_skops_round_trip_is_bit_identical(kind, digits):
    X = digits[0][:300]
    est = CASES[kind]().fit(X)
    data = sio.dumps(est)
    untrusted = sio.get_untrusted_types(data=data)
    # No Keras, NumPy or layout types to trust; builder functions are the user's own.
    assert set(untrusted) - {"_helpers.dense_encoder", "_helpers.dense_decoder"} <= SKAE_TYPES, untrusted
    loaded = sio.loads(data, trusted=untrusted)
    np.testing.assert_array_equal(_output(loaded, X), _output(est, X))
    if kind.startswith("dec"):
        np.testing.assert_array_equal(loaded.transform(X), est.transform(X))
        assert type(loaded.optimizer) is type(est.optimizer)


def test_keras_objects_in_parameters_come_back_and_training_continues(digits):
    import keras

    X = digits[0][:300]
    est = _keras_params().set_params(warm_start=True).fit(X)
    loaded = sio.loads(sio.dumps(est), trusted=list(SKAE_TYPES))
    assert isinstance(loaded.encoder, keras.Model) and isinstance(loaded.optimizer, keras.optimizers.Adam)
    assert loaded.optimizer.get_config()["learning_rate"] == pytest.approx(0.01)
    assert est.encoder is not loaded.encoder
    # The record of what the model was built with points at the loaded
    # parameters, so a warm start continues instead of refusing.
    loaded.fit(X)
    assert len(loaded.history_["loss"]) == 4
    # Dumping leaves the live estimator as it was.
    assert isinstance(est.encoder, keras.Model) and est._built_with["encoder"] is est.encoder


@pytest.mark.parametrize("serialization_format", ["cloudpickle", "skops"])
def test_mlflow_round_trip(serialization_format, digits, tmp_path, monkeypatch):
    mlflow = pytest.importorskip("mlflow")
    # A local file store in a temporary folder: nothing leaves the machine.
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    X = digits[0][:300]
    pipe = make_pipeline(small_dense(), KMeans(n_clusters=3, n_init=2, random_state=0)).fit(X)
    mlflow.set_tracking_uri((tmp_path / "mlruns").as_uri())
    trusted = sio.get_untrusted_types(data=sio.dumps(pipe))
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(
            pipe,
            name="model",
            serialization_format=serialization_format,
            skops_trusted_types=trusted if serialization_format == "skops" else None,
            # Given, so MLflow does not load the model in a subprocess to infer them.
            pip_requirements=["skae"],
        )
    loaded = mlflow.sklearn.load_model(info.model_uri)
    np.testing.assert_array_equal(loaded.predict(X), pipe.predict(X))
    np.testing.assert_array_equal(loaded[0].transform(X), pipe[0].transform(X))
