import numpy as np
import pytest

from kerasynth.metrics.image import frechet_distance, pixel_pca_frechet_distance


def test_frechet_distance_of_a_set_with_itself_is_zero():
    features = np.random.default_rng(0).normal(size=(200, 4))
    assert frechet_distance(features, features) == pytest.approx(0.0, abs=1e-6)


def test_frechet_distance_of_shifted_gaussians_is_the_squared_shift():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(20000, 3))
    b = rng.normal(size=(20000, 3)) + np.array([2.0, 0.0, 0.0])
    # Same covariance, so the trace term vanishes and 2^2 = 4 is left.
    assert frechet_distance(a, b) == pytest.approx(4.0, rel=0.03)


def test_frechet_distance_of_scaled_gaussians():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(20000, 2))
    b = 3.0 * rng.normal(size=(20000, 2))
    # Per dimension: 1 + 9 - 2*sqrt(9) = 4, so 8 in all.
    assert frechet_distance(a, b) == pytest.approx(8.0, rel=0.03)


def test_frechet_distance_rejects_mismatched_features():
    with pytest.raises(ValueError, match=r"\(5, 3\)"):
        frechet_distance(np.zeros((5, 3)), np.zeros((5, 4)))


def test_pixel_pca_distance_orders_closer_sets_first():
    rng = np.random.default_rng(0)
    real = rng.uniform(-1, 1, (64, 8, 8, 1))
    near = np.clip(real + rng.normal(0, 0.05, real.shape), -1, 1)
    far = rng.uniform(-1, 0, (64, 8, 8, 1))
    assert pixel_pca_frechet_distance(real, near) < pixel_pca_frechet_distance(
        real, far
    )
