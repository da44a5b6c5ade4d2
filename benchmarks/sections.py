"""Benchmark sections. Each takes a :class:`~_common.Config` and returns Markdown.

To add a section, write a function ``bench_x(cfg) -> str`` and list it in
``SECTIONS``; ``run.py`` runs them in that order.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import textwrap
import time

import numpy as np
from _common import REPO, clustering_accuracy, load_mnist, median_time, table, timed

IMAGE_SHAPE = (28, 28, 1)


def _tutorial(kind, **params):
    from skae import ConvAutoencoder, DenseAutoencoder

    if kind == "dense":
        return DenseAutoencoder(**params)
    if kind == "conv":
        return ConvAutoencoder(image_shape=IMAGE_SHAPE, **params)
    if kind == "conv-elu":
        return ConvAutoencoder(image_shape=IMAGE_SHAPE, activation="elu", **params)
    raise ValueError(f"unknown tutorial model {kind!r}; expected 'dense', 'conv' or 'conv-elu'")


def _model_input(kind, X):
    return X if kind == "dense" else X.reshape(-1, *IMAGE_SHAPE)


# ----------------------------------------------------------------------
# 1. Training overhead


def bench_overhead(cfg):
    """skae ``fit`` against ``model.fit`` (and scikeras) on the identical Keras model."""
    import keras

    X, _, _, _ = load_mnist(cfg)
    epochs = cfg.overhead_epochs
    rows = []
    for kind in cfg.kinds:
        est = _tutorial(kind, epochs=epochs, batch_size=256, random_state=0)
        # Warm-up: one short fit of each contender (graph tracing, oneDNN kernels).
        warm = _tutorial(kind, epochs=1, batch_size=256, random_state=0).fit(X[:1024])
        template = warm.model_  # same architecture and seeded initializers as est's model
        x_model = _model_input(kind, X)

        def raw_fit(template=template, x=x_model, n_epochs=epochs, n=None):
            model = keras.models.clone_model(template)
            model.compile(optimizer="adam", loss="mse")
            data = x if n is None else x[:n]
            model.fit(data, data, batch_size=256, epochs=n_epochs, shuffle=True, verbose=0)

        def skae_fit(est=est, X=X):
            est.fit(X)

        contenders = {"raw `model.fit`": raw_fit, "skae `fit`": skae_fit}
        raw_fit(n_epochs=1, n=1024)
        scikeras_note = ""
        try:
            from scikeras.wrappers import KerasRegressor

            def build(template=template):
                model = keras.models.clone_model(template)
                model.compile(optimizer="adam", loss="mse")
                return model

            def scikeras_fit(build=build, x=x_model, n_epochs=epochs, n=None):
                data = x if n is None else x[:n]
                KerasRegressor(model=build, epochs=n_epochs, batch_size=256, verbose=0, random_state=0).fit(data, data)

            scikeras_fit(n_epochs=1, n=1024)  # warm-up, and does scikeras take this model at all?
            contenders["scikeras `KerasRegressor`"] = scikeras_fit
        except ImportError:
            scikeras_note = "scikeras: not installed"
        except Exception as exc:  # reported in the table rather than failing the section
            scikeras_note = f"scikeras: fails on this model ({type(exc).__name__}: {str(exc).splitlines()[0][:120]})"

        times = {name: [] for name in contenders}
        for _ in range(cfg.repeats):  # interleaved, so load changes hit every contender alike
            for name, fn in contenders.items():
                times[name].append(timed(fn)[0])
        raw = statistics.median(times["raw `model.fit`"])
        raw_min = min(times["raw `model.fit`"])
        for name, ts in times.items():
            med = statistics.median(ts)
            rows.append(
                [
                    f"{kind} (tutorial)",
                    name,
                    f"{med:.2f}",
                    f"{med / raw:.3f}",
                    f"{min(ts) / raw_min:.3f}",
                    ", ".join(f"{t:.2f}" for t in ts),
                ]
            )
        if scikeras_note:
            rows.append([f"{kind} (tutorial)", scikeras_note, "", "", ""])
        cfg.cache[f"fitted-{kind}"] = est
    return (
        f"Fit on {len(X):,} MNIST training images, batch 256, {epochs} epoch(s), same Keras model, data and "
        f"seed; median (and minimum) of {cfg.repeats} interleaved runs after a warm-up; {_load_average()} at the end. "
        "Target: skae/raw at most 1.02.\n\n"
        + table(["model", "contender", "median fit (s)", "ratio to raw", "ratio of minimums", "runs (s)"], rows)
    )


# ----------------------------------------------------------------------
# 2. Inference


def bench_inference(cfg):
    """``transform`` against ``encoder_.predict`` and a direct call of the encoder."""
    X, _, X_test, _ = load_mnist(cfg)
    n_big = cfg.inference_rows
    big = np.concatenate([X_test] * (n_big // len(X_test) + 1))[:n_big]
    rows = []
    for kind in cfg.kinds:
        est = cfg.cache.get(f"fitted-{kind}") or _tutorial(kind, epochs=1, random_state=0).fit(X[:1024])
        one, one_img = big[:1], _model_input(kind, big[:1])
        big_img = _model_input(kind, big)
        n_fast = 20 if cfg.quick else 200
        n_slow = 3 if cfg.quick else 10
        cases = [
            ("skae `transform`", lambda est=est, one=one: est.transform(one), lambda est=est: est.transform(big)),
            (
                "`encoder_.predict` (default batch 32)",
                lambda est=est, x=one_img: est.encoder_.predict(x, verbose=0),
                lambda est=est, x=big_img: est.encoder_.predict(x, verbose=0),
            ),
            (
                "direct call `encoder_(x)`",
                lambda est=est, x=one_img: est.encoder_(x, training=False),
                lambda est=est, x=big_img: est.encoder_(x, training=False),
            ),
        ]
        for name, single, batch in cases:
            slow = "predict" in name
            t1 = median_time(single, repeats=n_slow if slow else n_fast, warmup=2)
            t10k = median_time(batch, repeats=3, warmup=1)
            rows.append([f"{kind} (tutorial)", name, f"{t1 * 1e3:.2f}", f"{t10k:.3f}"])
    return (
        f"Median wall time; 1-row latency and {n_big:,}-row throughput, after warm-up. Targets: skae's 1-row "
        "call at most 1 ms; 10k rows no slower than the direct call.\n\n"
        + table(["model", "call", "1 row (ms)", f"{n_big:,} rows (s)"], rows)
    )


# ----------------------------------------------------------------------
# 3. Reconstruction


def _mse(a, b):
    return float(np.mean((np.asarray(a, dtype=np.float64) - b) ** 2))


def bench_reconstruction(cfg):
    """Test-set MSE of the tutorial's models and skae's recommended one against PCA."""
    from sklearn.decomposition import PCA

    from skae.presets import reconstruction_autoencoder

    X, _, X_test, _ = load_mnist(cfg)
    t, pca = timed(PCA(64, random_state=0).fit, X)
    pca_mse = _mse(X_test, pca.inverse_transform(pca.transform(X_test)))
    rows = [["PCA, 64 components", "64", f"{pca_mse:.4f}", "1.00", f"{t:.1f}"]]
    epochs = cfg.recon_epochs
    models = {
        "tutorial dense (784-64-784, ReLU)": _tutorial("dense", epochs=epochs, random_state=0),
        "tutorial conv, ELU": _tutorial("conv-elu", epochs=epochs, random_state=0),
        "skae `reconstruction_autoencoder()`": reconstruction_autoencoder(
            latent_dim=64, **({"epochs": epochs} if cfg.quick else {}), random_state=0
        ),
    }
    for name, est in models.items():
        t, _ = timed(est.fit, X)
        mse = -est.score(X_test)
        rows.append([f"{name}, {est.epochs} epochs", "64", f"{mse:.4f}", f"{mse / pca_mse:.2f}", f"{t:.1f}"])
        cfg.cache[f"recon-{name}"] = est
    cfg.cache["conv-elu"] = models["tutorial conv, ELU"]
    return (
        f"Mean squared error on {len(X_test):,} MNIST test images after training on {len(X):,}. "
        "Target: the recommended configuration at most half of PCA's error at the same latent size.\n\n"
        + table(["model", "latent size", "test MSE", "ratio to PCA", "fit (s)"], rows)
    )


# ----------------------------------------------------------------------
# 4. Clustering


def _umap_gmm(Z, n_clusters, seed=0):
    import umap
    from sklearn.mixture import GaussianMixture

    from skae.presets import N2D_UMAP_PARAMS

    embedding = umap.UMAP(n_components=n_clusters, random_state=seed, **N2D_UMAP_PARAMS).fit_transform(Z)
    return GaussianMixture(n_clusters, covariance_type="full", random_state=seed).fit_predict(embedding)


def bench_clustering(cfg):
    """KMeans (and UMAP + GMM) on raw pixels, PCA, the tutorial's latents and the clustering preset."""
    from sklearn.cluster import KMeans
    from sklearn.decomposition import PCA
    from sklearn.metrics import normalized_mutual_info_score

    from skae.presets import clustering_autoencoder

    X, y, _, _ = load_mnist(cfg)
    if cfg.clustering_subset is not None:
        X, y = X[: cfg.clustering_subset], y[: cfg.clustering_subset]
    try:
        import umap  # noqa: F401

        has_umap = cfg.umap
    except ImportError:
        has_umap = False

    def kmeans(Z):
        return KMeans(10, n_init=10, random_state=42).fit_predict(Z)

    elu = cfg.cache.get("conv-elu") or _tutorial("conv-elu", epochs=cfg.recon_epochs, random_state=0).fit(X)
    preset = clustering_autoencoder(10, random_state=0)
    if cfg.preset_epochs is not None:
        preset.set_params(epochs=cfg.preset_epochs)
    fit_time, _ = timed(preset.fit, X)
    Z_elu, Z_preset = elu.transform(X), preset.transform(X)
    cases = [
        ("raw pixels", "KMeans", lambda: kmeans(X)),
        ("PCA, 64 components", "KMeans", lambda: kmeans(PCA(64, random_state=0).fit_transform(X))),
        ("tutorial conv ELU latents (64)", "KMeans", lambda: kmeans(Z_elu)),
        (f"skae `clustering_autoencoder()` latents (10), fit {fit_time:.0f} s", "KMeans", lambda: kmeans(Z_preset)),
    ]
    if has_umap:
        cases += [
            (
                'tutorial conv ELU latents (64): `clustering_pipeline(autoencoder="conv")`',
                "UMAP + GaussianMixture",
                lambda: _umap_gmm(Z_elu, 10),
            ),
            (
                f"skae `clustering_autoencoder()` latents (10), fit {fit_time:.0f} s",
                "UMAP + GaussianMixture",
                lambda: _umap_gmm(Z_preset, 10),
            ),
        ]
    rows = []
    for features, method, fn in cases:
        t, labels = timed(fn)
        rows.append(
            [
                features,
                method,
                f"{clustering_accuracy(y, labels):.3f}",
                f"{normalized_mutual_info_score(y, labels):.3f}",
                f"{t:.1f}",
            ]
        )
    note = "" if has_umap else "\n\numap-learn is not installed: the UMAP rows were skipped (`pip install skae[umap]`)."
    return (
        f"{len(X):,} MNIST training images, 10 clusters; accuracy after the best one-to-one matching of "
        "clusters to digits, and NMI. Targets: skae latents + KMeans at least 0.80 accuracy; "
        "the UMAP pipeline at least 0.95.\n\n"
        + table(["features", "clustering", "accuracy", "NMI", "clustering time (s)"], rows)
        + note
    )


# ----------------------------------------------------------------------
# 5. Scaling

_MEMORY_PROBE = textwrap.dedent(
    """
    import json, os, sys
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import numpy as np
    from skae import DenseAutoencoder

    n_rows = int(sys.argv[1])
    rng = np.random.default_rng(0)
    est = DenseAutoencoder(epochs=1, random_state=0).fit(rng.random((1024, 784), dtype=np.float32))
    est.transform(rng.random((5000, 784), dtype=np.float32))  # warm-up at full batch size
    # A zero-stride view: n_rows x 784 rows that take no memory of their own.
    X = np.broadcast_to(rng.random((1, 784), dtype=np.float32), (n_rows, 784))

    def status_mb(key):
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith(key)) / 1024

    before = status_mb("VmRSS")
    with open("/proc/self/clear_refs", "w") as f:  # resets VmHWM, the peak resident size, to the current one
        f.write("5")
    Z = est.transform(X)
    peak = status_mb("VmHWM")
    print(json.dumps({"before": before, "peak": peak, "output_mb": Z.nbytes / 2**20, "shape": list(Z.shape)}))
    """
)


def bench_scaling(cfg):
    """Fit time against sample count, peak memory of a large transform, GridSearchCV with 1 and 2 jobs."""
    from sklearn.model_selection import GridSearchCV

    from skae import DenseAutoencoder
    from skae._inference import INFERENCE_BATCH_SIZE

    X, _, _, _ = load_mnist(cfg)
    parts = []

    _tutorial("dense", epochs=1, random_state=0).fit(X[:1024])  # warm-up
    rows = []
    for n in cfg.scaling_sizes:
        n = min(n, len(X))
        fit = _tutorial("dense", epochs=1, random_state=0).fit
        t = median_time(lambda n=n, fit=fit: fit(X[:n]), repeats=cfg.repeats, warmup=0)
        rows.append([f"{n:,}", f"{t:.2f}", f"{t / n * 1e6:.1f}"])
    parts.append(
        f"Fit time of the tutorial dense model, 1 epoch, batch 256, median of {cfg.repeats} runs:\n\n"
        + table(["samples", "fit (s)", "µs per sample"], rows)
    )

    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run(
        [sys.executable, "-c", _MEMORY_PROBE, str(cfg.big_transform_rows)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if proc.returncode == 0:
        m = json.loads(proc.stdout.strip().splitlines()[-1])
        growth = max(m["peak"] - m["before"], 0.0)
        batch_mb = INFERENCE_BATCH_SIZE * 784 * 4 / 2**20
        parts.append(
            f"Peak memory of `transform` on {cfg.big_transform_rows:,} rows of 784 features (the tutorial dense "
            f"model, in a fresh process; the input is a zero-stride view, so it costs no memory): resident memory "
            f"grew by {growth:.0f} MB at its peak, for an output of {m['output_mb']:.0f} MB "
            f"(shape {tuple(m['shape'])}) and one {INFERENCE_BATCH_SIZE:,}-row input batch of {batch_mb:.0f} MB. "
            f"A copy of the whole input as float32 would be {cfg.big_transform_rows * 784 * 4 / 2**20:,.0f} MB."
        )
    else:
        parts.append(f"Peak-memory probe failed:\n\n```\n{proc.stderr[-2000:]}\n```")

    Xg = X[: cfg.grid_rows]
    grid = {"latent_dim": [16, 32], "activation": ["relu", "elu"]}
    times = {}
    for n_jobs in cfg.grid_n_jobs:
        search = GridSearchCV(
            DenseAutoencoder(hidden_layer_sizes=(128,), epochs=2, random_state=0), grid, cv=2, n_jobs=n_jobs
        )
        times[n_jobs], _ = timed(search.fit, Xg)
    # A table, not a sentence: benchmarks/figures.py reads the figures that
    # the documentation may quote from the tables of results.md.
    speedup = f"{times[1] / times[2]:.2f}x" if 1 in times and 2 in times else "-"
    parts.append(
        f"`GridSearchCV` over 4 `DenseAutoencoder` settings (784-128-latent, 2 epochs), 2-fold CV on "
        f"{len(Xg):,} rows, {os.cpu_count()} CPUs (the parallel run includes starting worker processes):\n\n"
        + table(
            ["search", *(f"`n_jobs={k}` (s)" for k in times), "speed-up"],
            [[f"4 settings x 2 folds, {len(Xg):,} rows", *(f"{t:.1f}" for t in times.values()), speedup]],
        )
    )
    return "\n\n".join(parts)


# ----------------------------------------------------------------------
# 6. t-SNE


def bench_tsne(cfg):
    """The tutorial's TSNE on latent codes, with scikit-learn (and openTSNE when installed)."""
    from sklearn.manifold import TSNE

    X, _, _, _ = load_mnist(cfg)
    n = min(cfg.tsne_rows, len(X))
    est = cfg.cache.get("conv-elu") or _tutorial("conv-elu", epochs=1, random_state=0).fit(X[:1024])
    Z = est.transform(X[:n])
    rows = []
    extra = {} if cfg.tsne_max_iter is None else {"max_iter": cfg.tsne_max_iter}
    tsne = TSNE(n_components=2, learning_rate=100, perplexity=15, random_state=0, **extra)
    t, _ = timed(tsne.fit_transform, Z)
    rows.append(["scikit-learn `TSNE`", f"{t:.1f}"])
    try:
        import openTSNE

        t, _ = timed(openTSNE.TSNE(perplexity=15, learning_rate=100, random_state=0, n_jobs=-1).fit, Z)
        rows.append(["openTSNE", f"{t:.1f}"])
    except ImportError:
        rows.append(["openTSNE", "not installed (skae's plots do not use it)"])
    return (
        f"`TSNE(n_components=2, learning_rate=100, perplexity=15{''.join(f', {k}={v}' for k, v in extra.items())})` "
        f"on {n:,} latent codes of the tutorial conv "
        "ELU model.\n\n" + table(["implementation", "time (s)"], rows)
    )


# ----------------------------------------------------------------------
# 8. Start-up and serving latency


def _load_average():
    try:
        return "load average " + ", ".join(f"{v:.1f}" for v in os.getloadavg())
    except OSError:  # not available on this platform
        return "load average unknown"


def _startup_time(code):
    start = time.perf_counter()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO, env=env, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


STARTUP_CASES = {
    "`import skae`": ("import skae", "import sklearn.decomposition"),
    "`skae --help`": (
        "import sys; from skae.cli import main; sys.argv = ['skae', '--help']; main()",
        "import sklearn.decomposition",
    ),
    "`from skae import DenseAutoencoder`; build, `clone`": (
        "from sklearn.base import clone; from skae import DenseAutoencoder; clone(DenseAutoencoder())",
        "import sklearn.decomposition",
    ),
}


def bench_startup(cfg):
    """Fresh-process start-up of skae against ``import sklearn.decomposition``, alternated."""
    repeats = cfg.startup_repeats
    rows = []
    load_before = _load_average()
    for name, (code, reference) in STARTUP_CASES.items():
        ours, theirs = [], []
        for _ in range(repeats):  # alternating, so load changes hit both alike
            ours.append(_startup_time(code + "\n"))
            theirs.append(_startup_time(reference))
        rows.append(
            [
                name,
                f"{min(ours):.2f} / {statistics.median(ours):.2f}",
                f"{min(theirs):.2f} / {statistics.median(theirs):.2f}",
                f"{min(ours) / min(theirs):.2f} / {statistics.median(ours) / statistics.median(theirs):.2f}",
            ]
        )
    return (
        f"Wall time of a fresh `python -c ...` process (interpreter start included), {repeats} runs each, "
        "alternating with `import sklearn.decomposition`; min / median. Targets: `import skae` at most 1.3x, "
        f"`skae --help` at most 1.5x. Machine: {load_before} before, {_load_average()} after.\n\n"
        + table(["what", "skae (s)", "`import sklearn.decomposition` (s)", "ratio"], rows)
    )


def _keras_batched_transform(est, X):
    """``transform`` as skae 0.x ran it: Keras's ``predict_on_batch`` on 4,096-row chunks."""
    import keras

    x = est.layout_.to_model(np.asarray(X, dtype=np.float32))
    parts = [keras.ops.convert_to_numpy(est.encoder_.predict_on_batch(x[i : i + 4096])) for i in range(0, len(x), 4096)]
    return np.concatenate(parts).reshape(len(X), -1)


def bench_latency(cfg):
    """One-row latency of every inference method against calling the Keras encoder, side by side."""
    X, _, X_test, _ = load_mnist(cfg)
    n_big = cfg.inference_rows
    big = np.concatenate([X_test] * (n_big // len(X_test) + 1))[:n_big]
    repeats = 50 if cfg.quick else 1000
    rows = []
    big_rows = []
    for kind in cfg.kinds:
        est = cfg.cache.get(f"fitted-{kind}") or _tutorial(kind, epochs=1, random_state=0).fit(X[:1024])
        one, one_img = big[:1], _model_input(kind, big[:1])
        z = est.transform(one)
        calls = {
            "`transform`": lambda est=est, x=one: est.transform(x),
            "`inverse_transform`": lambda est=est, z=z: est.inverse_transform(z),
            "`score_samples`": lambda est=est, x=one: est.score_samples(x),
            "`decision_function`": lambda est=est, x=one: est.decision_function(x),
            "`predict`": lambda est=est, x=one: est.predict(x),
            "direct call `encoder_(x)`": lambda est=est, x=one_img: est.encoder_(x, training=False),
        }
        for fn in calls.values():  # warm-up: compiled functions, oneDNN kernels
            for _ in range(20):
                fn()
        times = {name: [] for name in calls}
        for _ in range(repeats):  # interleaved call by call
            for name, fn in calls.items():
                start = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - start)
        direct = statistics.median(times["direct call `encoder_(x)`"])
        for name, ts in times.items():
            med = statistics.median(ts)
            rows.append([f"{kind} (tutorial)", name, f"{med * 1e3:.3f}", f"{min(ts) * 1e3:.3f}", f"{med / direct:.2f}"])
        predict_1 = median_time(lambda est=est, x=one_img: est.encoder_.predict(x, verbose=0), repeats=10, warmup=2)
        rows.append(
            [f"{kind} (tutorial)", "`encoder_.predict`", f"{predict_1 * 1e3:.3f}", "", f"{predict_1 / direct:.2f}"]
        )
        big_img = _model_input(kind, big)
        contenders = {
            "`transform`": lambda est=est: est.transform(big),
            "Keras `predict_on_batch`, 4,096-row chunks (the previous `transform`)": (
                lambda est=est: _keras_batched_transform(est, big)
            ),
            "direct call `encoder_(x)`": lambda est=est, x=big_img: est.encoder_(x, training=False),
        }
        for fn in contenders.values():
            fn()
        big_times = {name: [] for name in contenders}
        for _ in range(3 if cfg.quick else 5):
            for name, fn in contenders.items():
                big_times[name].append(timed(fn)[0])
        for name, ts in big_times.items():
            big_rows.append([f"{kind} (tutorial)", name, f"{statistics.median(ts):.3f}", f"{min(ts):.3f}"])
    return (
        f"1-row calls interleaved call by call, {repeats} rounds after 20 warm-up calls each; {_load_average()} "
        "at the end. Targets: 1-row `transform` median at most 0.25 ms (dense) and 0.5 ms (conv), and at most "
        "half the direct call.\n\n"
        + table(["model", "call", "1 row median (ms)", "min (ms)", "ratio to direct call"], rows)
        + f"\n\n{n_big:,} rows, median and min of interleaved runs:\n\n"
        + table(["model", "call", f"{n_big:,} rows median (s)", "min (s)"], big_rows)
    )


from anomaly import bench_anomaly  # noqa: E402 - benchmarks/ is on sys.path when run.py runs

SECTIONS = {
    "overhead": ("1. Training overhead", bench_overhead),
    "inference": ("2. Inference", bench_inference),
    "reconstruction": ("3. Reconstruction quality", bench_reconstruction),
    "clustering": ("4. Clustering", bench_clustering),
    "scaling": ("5. Scaling", bench_scaling),
    "tsne": ("6. t-SNE", bench_tsne),
    "anomaly": ("7. Anomaly detection", bench_anomaly),
    "startup": ("8. Start-up time", bench_startup),
    "latency": ("9. Serving latency", bench_latency),
}
