"""skae.interpolate: decoding the points between two samples' latent codes."""

import numpy as np
import pytest

from skae import interpolate


def test_linear_ends_are_the_reconstructions_and_the_middle_the_mean_code(fitted_dense, digits):
    X = digits[0]
    samples, Z = interpolate(fitted_dense, X[0], X[1], n_steps=3, return_latent=True)
    assert samples.shape == (3, 64) and Z.shape == (3, 6)
    codes = fitted_dense.transform(X[:2])
    np.testing.assert_allclose(Z[[0, 2]], codes, rtol=1e-6)
    np.testing.assert_allclose(Z[1], codes.mean(axis=0), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(samples[[0, 2]], fitted_dense.inverse_transform(codes), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(samples[1], fitted_dense.inverse_transform(Z[1:2])[0], rtol=1e-5, atol=1e-6)


def test_linear_steps_are_evenly_spaced(fitted_dense, digits):
    _, Z = interpolate(fitted_dense, digits[0][3], digits[0][7], n_steps=6, return_latent=True)
    steps = np.diff(Z, axis=0)
    np.testing.assert_allclose(steps, np.broadcast_to(steps[0], steps.shape), rtol=1e-4, atol=1e-6)


def test_spherical_follows_the_great_circle():
    class Identity:
        """Latent space = input space, to check the path itself."""

        def transform(self, X):
            return np.asarray(X, dtype=np.float64)

        def inverse_transform(self, Z):
            return Z

    a, b = np.array([3.0, 0.0]), np.array([0.0, 3.0])
    path = interpolate(Identity(), a, b, n_steps=5, method="spherical")
    np.testing.assert_allclose(np.linalg.norm(path, axis=1), 3.0)  # linear would sag to 2.12 midway
    np.testing.assert_allclose(path[2], [3 / np.sqrt(2), 3 / np.sqrt(2)])
    angles = np.arctan2(path[:, 1], path[:, 0])
    np.testing.assert_allclose(np.diff(angles), np.pi / 8)
    # Parallel codes have no unique great circle: slerp falls back to the line.
    np.testing.assert_allclose(interpolate(Identity(), a, 2 * a, n_steps=3, method="spherical")[1], [4.5, 0.0])


def test_spherical_on_an_autoencoder(fitted_dense, digits):
    samples = interpolate(fitted_dense, digits[0][0], digits[0][5], n_steps=4, method="spherical")
    assert samples.shape == (4, 64) and np.all(np.isfinite(samples))


def test_conv_fitted_on_images_interpolates_images(fitted_conv, digits):
    ae, images = fitted_conv, digits[0].reshape(-1, 8, 8)
    samples = interpolate(ae, images[0], images[1], n_steps=5)
    assert samples.shape == (5, 8, 8)
    np.testing.assert_allclose(samples[0], ae.inverse_transform(ae.transform(images[:1]))[0], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"n_steps": 1}, ValueError, "n_steps must be an int of at least 2"),
        ({"n_steps": 2.0}, ValueError, "n_steps must be an int"),
        ({"method": "cubic"}, ValueError, r"method must be one of \['linear', 'spherical'\]; got 'cubic'"),
    ],
)
def test_bad_arguments(fitted_dense, digits, kwargs, error, match):
    with pytest.raises(error, match=match):
        interpolate(fitted_dense, digits[0][0], digits[0][1], **kwargs)


def test_bad_samples(fitted_dense, digits):
    X = digits[0]
    with pytest.raises(ValueError, match=r"same shape; got \(64,\) and \(2, 64\)"):
        interpolate(fitted_dense, X[0], X[:2])
    with pytest.raises(ValueError, match="64 features"):
        interpolate(fitted_dense, X[0, :10], X[1, :10])
    with pytest.raises(TypeError, match="KMeans has no inverse_transform"):
        from sklearn.cluster import KMeans

        interpolate(KMeans(2, n_init=1).fit(X), X[0], X[1])
