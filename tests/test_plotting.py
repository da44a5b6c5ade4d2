"""skae.plotting: every figure renders headless (Agg) to a PNG with content."""

import subprocess
import sys
import textwrap

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.offsetbox import AnnotationBbox  # noqa: E402
from sklearn.decomposition import PCA  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from skae import interpolate  # noqa: E402
from skae.plotting import (  # noqa: E402
    embed,
    plot_history,
    plot_interpolation,
    plot_latent_images,
    plot_latent_map,
    plot_reconstructions,
)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def small(digits):
    X, y = digits
    return X[:300], y[:300]


def render(fig, tmp_path, name="figure.png"):
    """Save ``fig`` as a PNG with Agg, read it back and check that it is not blank."""
    path = tmp_path / name
    fig.savefig(path, dpi=40)
    pixels = plt.imread(path)[..., :3]
    colours = np.unique(pixels.reshape(-1, 3).round(2), axis=0)
    assert pixels.std() > 0.02, f"{name} looks blank"
    assert len(colours) > 5, f"{name} has only {len(colours)} colours"
    return pixels


def test_latent_map_has_a_discrete_colour_bar_with_centred_ticks(small, tmp_path):
    X, y = small
    ax = plot_latent_map(X, y, embedder=PCA(n_components=2))
    render(ax.figure, tmp_path)
    points = ax.collections[0]
    assert len(points.get_offsets()) == len(X)
    bar = points.colorbar
    assert bar is not None
    # Ten bands of width one, each tick in the middle of its band.
    np.testing.assert_array_equal(bar.norm.boundaries, np.arange(-0.5, 10))
    np.testing.assert_array_equal(bar.get_ticks(), np.arange(10))
    assert [t.get_text() for t in bar.ax.get_yticklabels()] == [str(d) for d in range(10)]
    # Points of one digit share one colour, different digits differ.
    colours = points.to_rgba(points.get_array())
    assert len(np.unique(colours[y == 3], axis=0)) == 1
    assert len(np.unique(colours, axis=0)) == 10


def test_latent_map_labels_need_not_be_integers(small, tmp_path):
    X, y = small
    names = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"])[y]
    ax = plot_latent_map(X[:, :2], names, embedder="precomputed")
    render(ax.figure, tmp_path)
    assert [t.get_text() for t in ax.collections[0].colorbar.ax.get_yticklabels()] == sorted(set(names))


def test_latent_map_default_is_the_tutorials_tsne(small, tmp_path):
    X, y = small
    # t-SNE's OpenMP threads crawl on a CPU shared with other processes; one
    # thread keeps this test to seconds and changes no result.
    with threadpool_limits(1):
        xy = embed(X[:80])
        ax = plot_latent_map(X[:80], y[:80])
    render(ax.figure, tmp_path)
    np.testing.assert_allclose(ax.collections[0].get_offsets(), xy, rtol=1e-4, atol=1e-4)  # random_state=0


def test_latent_map_without_labels(small, tmp_path):
    ax = plot_latent_map(small[0], embedder=PCA(n_components=2))
    render(ax.figure, tmp_path)
    assert ax.collections[0].colorbar is None


def test_latent_images_draws_thumbnails_at_their_points(small, tmp_path):
    X, y = small
    xy = PCA(n_components=2).fit_transform(X)
    ax = plot_latent_images(xy, X, y, embedder="precomputed", n_images=40, figsize=(6, 6))
    render(ax.figure, tmp_path)
    boxes = [a for a in ax.artists if isinstance(a, AnnotationBbox)]
    assert len(boxes) == 40
    np.testing.assert_allclose([b.xy for b in boxes], xy[:40])
    np.testing.assert_array_equal(boxes[0].offsetbox.get_data(), X[0].reshape(8, 8))
    assert len(ax.get_xticks()) == 0 and len(ax.get_yticks()) == 0


def test_reconstructions_from_an_autoencoder_or_arrays(fitted_dense, digits, tmp_path):
    X = digits[0][:6]
    fig = plot_reconstructions(X, fitted_dense, n_images=6)
    render(fig, tmp_path)
    assert len(fig.axes) == 12
    top, bottom = fig.axes[0].images[0].get_array(), fig.axes[6].images[0].get_array()
    np.testing.assert_allclose(top, X[0].reshape(8, 8))
    np.testing.assert_allclose(
        bottom, fitted_dense.inverse_transform(fitted_dense.transform(X[:1]))[0].reshape(8, 8), rtol=1e-5
    )
    fig = plot_reconstructions(X, 1 - X, n_images=3)
    assert len(fig.axes) == 6


def test_interpolation_strip(fitted_dense, digits, tmp_path):
    steps = interpolate(fitted_dense, digits[0][0], digits[0][1], n_steps=7)
    fig = plot_interpolation(steps)
    render(fig, tmp_path)
    assert len(fig.axes) == 7
    assert [a.get_title() for a in fig.axes][::3] == ["0", "0.5", "1"]


def test_history_from_an_estimator_or_a_dict(fitted_dense, tmp_path):
    ax = plot_history(fitted_dense)
    render(ax.figure, tmp_path)
    np.testing.assert_allclose(ax.lines[0].get_ydata(), fitted_dense.history_["loss"])
    ax = plot_history({"loss": [0.5, 0.2, 0.1], "val_loss": [0.6, 0.3, 0.25]})
    assert [line.get_label() for line in ax.lines] == ["loss", "val_loss"]
    assert ax.get_yscale() == "log"


def test_history_labels_a_log_axis_with_plain_numbers(tmp_path):
    # A loss inside one decade is labelled on minor ticks; they read 0.02,
    # not 2 x 10^-2.
    ax = plot_history({"loss": [0.07, 0.03, 0.015, 0.0095]}, figsize=(5, 3))
    render(ax.figure, tmp_path)
    # The labels a reader sees: matplotlib before 3.11 also labels ticks
    # outside the axis's limits, which are never drawn.
    low, high = ax.get_ylim()
    shown = [t for t in ax.get_yticklabels(minor=True) if low <= t.get_position()[1] <= high]
    labels = [t.get_text() for t in shown if t.get_text()]
    assert labels and all(text.startswith("0.0") for text in labels), labels


def test_new_figures_keep_their_labels_inside(fitted_dense, digits, tmp_path):
    X = digits[0][:4]
    figures = [
        plot_history(fitted_dense, figsize=(3, 2)).figure,
        plot_latent_map(X[:, :2], digits[1][:4], embedder="precomputed", figsize=(3, 2)).figure,
        plot_reconstructions(X, fitted_dense, n_images=4),
        plot_interpolation(X),
    ]
    for fig in figures:
        fig.suptitle("a title that must fit")
        render(fig, tmp_path)
        fig.canvas.draw()  # lay out at the figure's own dpi, not render's
        drawn = fig.get_tightbbox()  # in inches, around everything drawn
        width, height = fig.get_size_inches()
        assert drawn.x0 >= -0.01 and drawn.y0 >= -0.01, drawn
        assert drawn.x1 <= width + 0.01 and drawn.y1 <= height + 0.01, drawn


def test_digits_are_drawn_dark_on_white_everywhere(fitted_dense, digits):
    X = digits[0][:3]
    xy = X[:, :2]
    thumbnails = plot_latent_images(xy, X, embedder="precomputed", n_images=1, figsize=(3, 3))
    cmaps = {
        thumbnails.artists[0].offsetbox.get_children()[0].get_cmap().name,
        plot_reconstructions(X, fitted_dense, n_images=3).axes[0].images[0].get_cmap().name,
        plot_interpolation(X).axes[0].images[0].get_cmap().name,
    }
    assert cmaps == {"gray_r"}


def test_plots_draw_on_given_axes(small):
    X, y = small
    fig, axes = plt.subplots(1, 2)
    assert plot_latent_map(X[:, :2], y, embedder="precomputed", ax=axes[0], colorbar=False) is axes[0]
    assert plot_history({"loss": [1.0, 0.5]}, ax=axes[1]) is axes[1]


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda X, y: embed(X, "tsne"), ValueError, "embedder must be an estimator, 'precomputed' or None"),
        (lambda X, y: embed(X, object()), TypeError, "must have fit_transform"),
        (lambda X, y: embed(X, "precomputed"), ValueError, r"shape \(n_samples, 2\); Z gave shape \(300, 64\)"),
        (lambda X, y: embed(X, PCA(3)), ValueError, "PCA.fit_transform gave shape"),
        (lambda X, y: plot_latent_map(X[:, :2], y[:10], embedder="precomputed"), ValueError, "y has 10 labels"),
        (lambda X, y: plot_latent_images(X[:, :2], X[:5], embedder="precomputed"), ValueError, "images has 5"),
        (lambda X, y: plot_reconstructions(X[:, :10], X[:, :10]), ValueError, "not square images"),
        (lambda X, y: plot_reconstructions(X, X[:, :16]), ValueError, "one shape"),
        (lambda X, y: plot_interpolation(X[:3], image_shape=(5, 5)), ValueError, "cannot be reshaped"),
        (lambda X, y: plot_history({}), ValueError, "non-empty dict"),
    ],
)
def test_bad_input(small, call, error, match):
    with pytest.raises(error, match=match):
        call(*small)


def test_import_skae_does_not_need_matplotlib():
    code = textwrap.dedent(
        """
        import sys
        sys.modules["matplotlib"] = None  # as if it were not installed
        import skae
        import skae.plotting
        try:
            skae.plotting.plot_history({"loss": [1.0]})
        except ImportError as exc:
            print("ImportError:", exc)
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "ImportError: skae.plotting needs matplotlib; install it with `pip install matplotlib`" in result.stdout
