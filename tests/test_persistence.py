"""est.save(path) / skae.load(path): one file, no pickle, clear errors."""

import json
import pickle
import zipfile

import keras
import numpy as np
import pytest
from _helpers import small_dense

import skae
from skae import ConvAutoencoder, DenseAutoencoder

# Also run under JAX and PyTorch in CI (the backend set).
pytestmark = pytest.mark.backends


@pytest.fixture(scope="module")
def fitted(fitted_small):
    """A small DenseAutoencoder fitted on the first 300 digits (conftest's shared fit)."""
    return fitted_small("dense")


@pytest.fixture(scope="module")
def saved(fitted, tmp_path_factory):
    path = tmp_path_factory.mktemp("saved") / "ae.skae"
    fitted.save(path)
    return path


def rewrite(src, dst, *, metadata=None, model_bytes=None):
    """Copy a saved file, replacing its metadata and/or its model."""
    with zipfile.ZipFile(src) as archive:
        meta = json.loads(archive.read("skae.json"))
        model = archive.read("model.keras")
    if metadata is not None:
        meta = metadata(meta)
    with zipfile.ZipFile(dst, "w") as archive:
        archive.writestr("skae.json", json.dumps(meta))
        archive.writestr("model.keras", model if model_bytes is None else model_bytes)
    return dst


def test_round_trip_dense_keeps_params_attributes_and_output(fitted, saved, digits):
    X = digits[0][:50]
    loaded = skae.load(saved)
    assert type(loaded) is DenseAutoencoder
    assert loaded.get_params() == fitted.get_params()
    assert loaded.history_ == fitted.history_ and loaded.n_features_in_ == 64
    np.testing.assert_array_equal(loaded.transform(X), fitted.transform(X))
    np.testing.assert_array_equal(
        loaded.inverse_transform(loaded.transform(X)), fitted.inverse_transform(fitted.transform(X))
    )
    # The outlier threshold travels too, so predict agrees.
    assert loaded.offset_ == fitted.offset_
    np.testing.assert_array_equal(loaded.predict(X), fitted.predict(X))
    # The file holds the versions that wrote it and plain JSON parameters.
    with zipfile.ZipFile(saved) as archive:
        assert sorted(archive.namelist()) == ["model.keras", "skae.json"]
        meta = json.loads(archive.read("skae.json"))
    assert set(meta["versions"]) == {"skae", "keras", "sklearn"}
    assert meta["params"]["hidden_layer_sizes"] == {"tuple": [16]}
    # The optimizer state travels too, so training can continue after loading.
    loaded.set_params(warm_start=True, epochs=1).fit(digits[0][:300])
    assert len(loaded.history_["loss"]) == 3


def test_round_trip_conv_images_and_dataframe_names(digits, tmp_path):
    pd = pytest.importorskip("pandas")
    images = digits[0][:200].reshape(-1, 8, 8)
    conv = ConvAutoencoder(filters=(4,), latent_dim=3, epochs=1, random_state=0).fit(images)
    conv.save(tmp_path / "conv.skae")
    loaded = skae.load(tmp_path / "conv.skae")
    assert loaded.image_shape_ == (8, 8, 1)
    np.testing.assert_array_equal(
        loaded.inverse_transform(loaded.transform(images)), conv.inverse_transform(conv.transform(images))
    )
    frame = pd.DataFrame(digits[0][:200], columns=[f"px{i}" for i in range(64)])
    dense = small_dense(epochs=1).fit(frame)
    dense.save(tmp_path / "dense.skae")
    again = skae.load(tmp_path / "dense.skae")
    assert list(again.feature_names_in_) == list(frame.columns)
    np.testing.assert_array_equal(again.transform(frame), dense.transform(frame))
    # set_output's choice travels with the file, as it does with pickle.
    dense.set_output(transform="pandas").save(tmp_path / "pandas.skae")
    out = skae.load(tmp_path / "pandas.skae").transform(frame)
    assert isinstance(out, pd.DataFrame)
    pd.testing.assert_frame_equal(out, dense.transform(frame))
    bad = rewrite(tmp_path / "pandas.skae", tmp_path / "bad.skae", metadata=lambda m: {**m, "output": {"fit": "x"}})
    with pytest.raises(ValueError, match=r"set_output choice \{'fit': 'x'\} is not one of transform="):
        skae.load(bad)


def test_optimizer_instance_is_saved_and_unsaveable_params_are_named(digits, tmp_path):
    X = digits[0][:100]
    est = small_dense(
        epochs=1, optimizer=keras.optimizers.SGD(learning_rate=0.05), callbacks=[keras.callbacks.History()]
    )
    est.fit(X).save(tmp_path / "sgd.skae")
    loaded = skae.load(tmp_path / "sgd.skae")
    assert isinstance(loaded.optimizer, keras.optimizers.SGD) and loaded.callbacks is None
    assert float(keras.ops.convert_to_numpy(loaded.optimizer.learning_rate)) == pytest.approx(0.05)
    with pytest.raises(TypeError, match="Cannot save parameter 'activation'=<function.*lambda or a function defined"):
        small_dense(epochs=1, activation=lambda x: keras.activations.relu(x)).fit(X).save(tmp_path / "fn.skae")
    assert not (tmp_path / "fn.skae").exists()
    # A function defined at the top level of a module is saved by its import name.
    small_dense(epochs=1, activation=keras.activations.relu).fit(X).save(tmp_path / "relu.skae")
    assert skae.load(tmp_path / "relu.skae").activation is keras.activations.relu


def test_save_needs_a_fitted_estimator(tmp_path):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        small_dense().save(tmp_path / "x.skae")


@pytest.mark.parametrize("cut", [0, 10, 0.5, -20])
def test_truncated_file_gets_a_clear_error(saved, tmp_path, cut):
    data = saved.read_bytes()
    n = (
        cut
        if isinstance(cut, int) and cut >= 0
        else int(len(data) * cut)
        if isinstance(cut, float)
        else len(data) + cut
    )
    (tmp_path / "cut.skae").write_bytes(data[:n])
    with pytest.raises(ValueError, match="not a readable skae estimator file.*truncated or corrupted"):
        skae.load(tmp_path / "cut.skae")


def test_corrupted_bytes_get_a_clear_error(saved, tmp_path):
    data = bytearray(saved.read_bytes())
    # Flip bytes inside the compressed model member (after the local headers).
    with zipfile.ZipFile(saved) as archive:
        info = archive.getinfo("model.keras")
    start = info.header_offset + 30 + len(info.filename) + 100
    for i in range(start, start + 50):
        data[i] ^= 0xFF
    (tmp_path / "bad.skae").write_bytes(bytes(data))
    with pytest.raises(ValueError, match="not a readable skae estimator file"):
        skae.load(tmp_path / "bad.skae")


def test_other_files_and_versions_get_clear_errors(saved, tmp_path):
    (tmp_path / "text.skae").write_text("hello")
    with pytest.raises(ValueError, match="not a readable skae estimator file"):
        skae.load(tmp_path / "text.skae")
    for version in (2, 4):
        other = rewrite(saved, tmp_path / f"v{version}.skae", metadata=lambda m, v=version: {**m, "format_version": v})
        with pytest.raises(ValueError, match=f"file format version {version}; this skae .* reads version 3 only"):
            skae.load(other)
    keras4 = rewrite(
        saved, tmp_path / "k4.skae", metadata=lambda m: {**m, "versions": {**m["versions"], "keras": "4.0.0"}}
    )
    with pytest.raises(ValueError, match=r"Keras 4\.0\.0.*another major version"):
        skae.load(keras4)
    old_sklearn = rewrite(
        saved, tmp_path / "sk.skae", metadata=lambda m: {**m, "versions": {**m["versions"], "sklearn": "1.5.0"}}
    )
    with pytest.warns(UserWarning, match="scikit-learn 1.5.0"):
        assert skae.load(old_sklearn).n_features_in_ == 64
    foreign = rewrite(saved, tmp_path / "cls.skae", metadata=lambda m: {**m, "class": "os.system"})
    with pytest.raises(ValueError, match="'os.system', which is not a loaded skae estimator class"):
        skae.load(foreign)
    extra = rewrite(saved, tmp_path / "p.skae", metadata=lambda m: {**m, "params": {**m["params"], "evil": 1}})
    with pytest.raises(ValueError, match=r"invalid estimator metadata: unknown parameters \['evil'\]"):
        skae.load(extra)
    newer = rewrite(
        extra, tmp_path / "new.skae", metadata=lambda m: {**m, "versions": {**m["versions"], "keras": "3.999.0"}}
    )
    with pytest.raises(ValueError, match=r"unknown parameters.*written with Keras 3\.999\.0, newer than this Keras"):
        skae.load(newer)


def test_crafted_model_with_code_is_refused_and_never_runs(saved, tmp_path):
    marker = tmp_path / "ran"
    # A Lambda layer stores its function's bytecode; loading it outside safe
    # mode would run it. skae must refuse it before anything executes.
    code = f"lambda x: (open({str(marker)!r}, 'w').close(), x)[1]"
    encoder = keras.Sequential([keras.Input((64,)), keras.layers.Lambda(eval(code))], name="encoder")  # noqa: S307
    model = keras.Sequential([keras.Input((64,)), encoder, keras.layers.Dense(64, name="decoder")])
    marker.unlink(missing_ok=True)
    model.save(tmp_path / "evil.keras")
    crafted = rewrite(saved, tmp_path / "evil.skae", model_bytes=(tmp_path / "evil.keras").read_bytes())
    with pytest.raises(ValueError, match="cannot be loaded safely.*safe_mode=True"):
        skae.load(crafted)
    assert not marker.exists()


def test_mismatched_model_is_refused(saved, tmp_path):
    other = keras.Sequential(
        [
            keras.Input((10,)),
            keras.Sequential([keras.Input((10,)), keras.layers.Dense(2)], name="encoder"),
            keras.Sequential([keras.Input((2,)), keras.layers.Dense(10)], name="decoder"),
        ]
    )
    other.save(tmp_path / "other.keras")
    crafted = rewrite(saved, tmp_path / "other.skae", model_bytes=(tmp_path / "other.keras").read_bytes())
    with pytest.raises(ValueError, match=r"does not match its metadata.*\(None, 10\), expected \(None, 64\)"):
        skae.load(crafted)


def test_variational_autoencoder_round_trips_with_its_custom_layer(fitted_small, digits, tmp_path):
    X = digits[0][:200]
    vae = fitted_small("vae")
    vae.save(tmp_path / "vae.skae")
    loaded = skae.load(tmp_path / "vae.skae")
    assert type(loaded) is skae.VariationalAutoencoder
    np.testing.assert_array_equal(loaded.transform(X), vae.transform(X))
    np.testing.assert_array_equal(loaded.sample(4, random_state=0), vae.sample(4, random_state=0))


def test_pickle_still_works(fitted, digits):
    X = digits[0][:20]
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(fitted)).transform(X), fitted.transform(X))


@pytest.mark.parametrize("name", ["dense", "conv", "own", "dec"])
def test_files_of_format_3_still_load_and_give_the_same_output(name):
    # Written by the last commit before the fitted network became one
    # object, on TensorFlow (tests/data/make_format3.py). Other backends'
    # CPU kernels sum in their own order, so they match to rounding.
    from pathlib import Path

    from packaging.version import Version

    data = Path(__file__).parent / "data"
    outputs = np.load(data / "format3_outputs.npz")
    try:
        est = skae.load(data / f"format3_{name}.skae")
    except ValueError as exc:
        # Keras 3.15.1 wrote their models, and an older Keras may not read
        # a newer one's layer settings: loading must then say so.
        if Version(keras.__version__) >= Version("3.15.1"):
            raise
        assert "newer than this Keras" in str(exc) and "upgrade Keras to 3.15.1 or newer" in str(exc), exc
        pytest.skip(f"Keras {keras.__version__} cannot read Keras 3.15.1's models, and loading says so")
    probe = outputs["probe"]
    got = {f"{name}_transform": est.transform(probe)}
    if name == "dec":
        got["dec_proba"] = est.predict_proba(probe)
    else:
        got[f"{name}_inverse"] = est.inverse_transform(outputs[f"{name}_transform"])
        got[f"{name}_scores"] = est.score_samples(probe)
    for key, value in got.items():
        if keras.backend.backend() == "tensorflow":
            np.testing.assert_array_equal(value, outputs[key], err_msg=key)
        else:
            np.testing.assert_allclose(value, outputs[key], rtol=1e-5, atol=1e-6, err_msg=key)
