"""skae loads TensorFlow and Keras only when a model is built, run or loaded."""

import subprocess
import sys

import pytest
from _helpers import small_vae

from skae._lazy import lazy_attributes

HEAVY = "sorted(m for m in sys.modules if m.split('.')[0] in ('keras', 'tensorflow', 'jax', 'torch'))"


def heavy_modules_after(code):
    """Run ``code`` in a fresh interpreter; return the Keras and TensorFlow modules it loaded."""
    script = f"import sys\n{code}\nprint({HEAVY})"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return eval(result.stdout.strip().splitlines()[-1])


WITHOUT_KERAS = {
    "import": "import skae",
    "star import": "from skae import *",
    "estimators": """
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
import skae, skae.presets
for cls in (skae.DenseAutoencoder, skae.ConvAutoencoder, skae.VariationalAutoencoder, skae.AutoencoderTransformer):
    est = clone(cls(epochs=3)).set_params(epochs=2)
    est.get_params()
    GridSearchCV(make_pipeline(est), {f"{type(est).__name__.lower()}__epochs": [1, 2]}).get_params()
dir(skae)
skae.load, skae.interpolate, skae.datasets, skae.metrics, skae.plotting
""",
    "bad parameter": """
import skae
from sklearn.utils._param_validation import InvalidParameterError
try:
    skae.DenseAutoencoder(optimizer=object())._validate_params()
except InvalidParameterError as exc:
    assert "get_config" in str(exc), exc
else:
    raise AssertionError("no error")
""",
    "skae --help": "from skae.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass",
    "skae demo --help": "from skae.cli import main\ntry:\n    main(['demo', '--help'])\nexcept SystemExit:\n    pass",
}


@pytest.mark.parametrize("code", list(WITHOUT_KERAS.values()), ids=list(WITHOUT_KERAS))
def test_loads_neither_keras_nor_tensorflow(code):
    assert heavy_modules_after(code) == []


@pytest.mark.slow  # a fresh process that imports the backend and fits: seconds
def test_fit_loads_keras():
    loaded = heavy_modules_after(
        "import numpy as np, skae\n"
        "skae.DenseAutoencoder(hidden_layer_sizes=(4,), latent_dim=2, epochs=1).fit(np.random.rand(20, 6))"
    )
    import keras

    assert "keras" in loaded and keras.backend.backend() in loaded


def test_load_registers_the_vae_sampler(tmp_path, digits):
    # A fresh process that only imports skae must load a VAE (its custom
    # layer) from a file and from a pickle.
    import pickle

    X = digits[0][:64]
    vae = small_vae(hidden_layer_sizes=(8,), latent_dim=2, epochs=1).fit(X)
    vae.save(tmp_path / "vae.skae")
    (tmp_path / "vae.pkl").write_bytes(pickle.dumps(vae))
    import numpy as np

    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "Z.npy", vae.transform(X))
    code = (
        "import pickle, numpy as np, skae\n"
        f"X, Z = np.load({str(tmp_path / 'X.npy')!r}), np.load({str(tmp_path / 'Z.npy')!r})\n"
        f"a = skae.load({str(tmp_path / 'vae.skae')!r})\n"
        f"b = pickle.loads(open({str(tmp_path / 'vae.pkl')!r}, 'rb').read())\n"
        "assert np.array_equal(a.transform(X), Z) and np.array_equal(b.transform(X), Z)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)


def test_lazy_attributes():
    getattr_, dir_ = lazy_attributes("skae", {"DenseAutoencoder": "_dense", "metrics": "metrics"})
    import skae._dense
    import skae.metrics

    assert getattr_("DenseAutoencoder") is skae._dense.DenseAutoencoder
    assert getattr_("metrics") is skae.metrics
    assert {"DenseAutoencoder", "metrics"} <= set(dir_())
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        getattr_("nope")


def test_public_names_resolve_to_what_they_name():
    import types

    import skae

    for name in skae.__all__:
        value = getattr(skae, name)
        if name == "__version__":
            assert isinstance(value, str) and value[:1].isdigit(), value
        elif isinstance(value, types.ModuleType):
            assert value.__name__ == f"skae.{name}", (name, value)
        else:
            # The class or function of that name, defined in skae: a wrong
            # entry in the lazy table resolves to another object.
            assert (value.__name__, value.__module__.split(".")[0]) == (name, "skae"), (name, value)
    assert set(skae.__all__) <= set(dir(skae))
    # A star import binds exactly the public names, to the same objects.
    namespace = {}
    exec("from skae import *", namespace)
    assert {key: value for key, value in namespace.items() if key != "__builtins__"} == {
        name: getattr(skae, name) for name in skae.__all__
    }
