import numpy as np
import pytest
from scipy import ndimage
from skimage.metrics import structural_similarity

from kerasynth.metrics.image import (
    density_coverage,
    frechet_distance,
    image_fidelity,
    kid,
    mse,
    pairwise_ssim,
    pixel_pca_frechet_distance,
    precision_recall,
    psnr,
    random_pairs,
    ssim,
    ssim_pairs,
)
from kerasynth.metrics.projection import PixelPCA


def brain_like(num, size=32, seed=0):
    """Skull-stripped-slice-like images: a bright ellipse of random size with
    a dark inner ellipse (ventricles) and a smooth texture, on black (-1)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size] / (size - 1) - 0.5
    outer = rng.uniform(0.3, 0.45, (num, 2, 1, 1))
    inner = rng.uniform(0.03, 0.15, (num, 2, 1, 1))
    brain = (xx / outer[:, 0]) ** 2 + (yy / outer[:, 1]) ** 2 < 1
    ventricles = (xx / inner[:, 0]) ** 2 + (yy / inner[:, 1]) ** 2 < 1
    texture = ndimage.gaussian_filter(rng.normal(size=(num, size, size)), (0, 2, 2))
    texture /= np.abs(texture).max(axis=(1, 2), keepdims=True)
    images = np.where(brain, 0.4 + 0.3 * texture, -1.0)
    images = np.where(ventricles, -0.6, images)
    return images[..., None].astype(np.float32)


def skimage_ssim(reference, images):
    return np.array(
        [
            structural_similarity(
                r.astype(np.float64),
                x.astype(np.float64),
                data_range=2.0,
                gaussian_weights=True,
                sigma=1.5,
                use_sample_covariance=False,
                channel_axis=-1,
            )
            for r, x in zip(reference, images, strict=True)
        ]
    )


# === Per-pair metrics ===


def test_mse_and_psnr_of_a_known_offset():
    reference = np.zeros((3, 8, 8, 1))
    errors = mse(reference, reference + 0.1)
    np.testing.assert_allclose(errors, 0.01)
    # Data range 2: 10 log10(4 / 0.01).
    np.testing.assert_allclose(psnr(reference, reference + 0.1), 26.0206, atol=1e-4)
    assert np.isinf(psnr(reference, reference)).all()


def test_pair_metrics_reject_mismatched_shapes():
    with pytest.raises(ValueError, match=r"\(2, 16, 16, 1\).*\(3, 16, 16, 1\)"):
        ssim(np.zeros((2, 16, 16, 1)), np.zeros((3, 16, 16, 1)))
    with pytest.raises(ValueError, match=r"\(16, 16\)"):
        mse(np.zeros((16, 16)), np.zeros((16, 16)))
    with pytest.raises(ValueError, match="at least 11x11"):
        ssim(np.zeros((2, 8, 8, 1)), np.zeros((2, 8, 8, 1)))


def test_ssim_agrees_with_skimage():
    rng = np.random.default_rng(0)
    real = brain_like(6, size=48)
    pairs = [
        (real, np.clip(real + rng.normal(0, 0.1, real.shape), -1, 1)),  # noisy
        (real, real[::-1]),  # other images
        (real, np.full_like(real, -1.0)),  # blank
        (rng.uniform(-1, 1, (4, 23, 37, 3)), rng.uniform(-1, 1, (4, 23, 37, 3))),
    ]
    for reference, images in pairs:
        np.testing.assert_allclose(
            ssim(reference, images), skimage_ssim(reference, images), atol=1e-4
        )
    np.testing.assert_allclose(ssim(real, real), 1.0, atol=1e-6)


@pytest.mark.real_data
def test_ssim_agrees_with_skimage_on_the_study_images(tumor_folder):
    from kerasynth.data.images import load_images

    images = load_images(tumor_folder / "yes", image_size=64).images[:12]
    rng = np.random.default_rng(1)
    noisy = np.clip(images + rng.normal(0, 0.05, images.shape), -1, 1)
    for other in (images[::-1], noisy):
        np.testing.assert_allclose(
            ssim(images, other), skimage_ssim(images, other), atol=1e-4
        )


def test_ssim_pairs_matches_ssim_on_gathered_pairs():
    images = brain_like(5)
    rows, cols = np.array([0, 1, 4, 2]), np.array([3, 1, 0, 2])
    np.testing.assert_allclose(
        ssim_pairs(images, images, rows, cols, batch_size=3),
        ssim(images[rows], images[cols]),
        atol=1e-6,
    )


def test_random_pairs_are_distinct_and_ordered():
    for num, most in [(2, 1), (5, 10), (5, 3), (50, 100), (10**6, 500)]:
        rows, cols = random_pairs(num, most, seed=3)
        assert len(rows) == min(most, num * (num - 1) // 2)
        assert (rows < cols).all() and rows.min() >= 0 and cols.max() < num
        assert len(set(zip(rows.tolist(), cols.tolist(), strict=True))) == len(rows)
    np.testing.assert_array_equal(random_pairs(40, 7, 1)[1], random_pairs(40, 7, 1)[1])


def test_pairwise_ssim_measures_diversity():
    diverse = brain_like(20)
    collapsed = np.repeat(diverse[:1], 20, axis=0)
    assert pairwise_ssim(collapsed) == pytest.approx(1.0, abs=1e-6)
    assert pairwise_ssim(diverse, max_pairs=50) < 0.8
    noise = np.random.default_rng(0).uniform(-1, 1, (20, 32, 32, 1))
    assert abs(pairwise_ssim(noise)) < 0.05


# === Set distances on features ===


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


def test_kid_is_about_zero_for_one_distribution_and_grows_with_a_shift():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(400, 8)), rng.normal(size=(400, 8))
    same, same_std = kid(a, b, subsets=50, subset_size=200)
    assert abs(same) < 3 * same_std + 0.02
    assert abs(kid(a, a, subsets=50, subset_size=200)[0]) < 0.05
    shifted, shifted_std = kid(a, b + 1.0, subsets=50, subset_size=200)
    assert shifted > 1.0 and shifted > 10 * shifted_std
    assert kid(a, b + 1.0, seed=1) == kid(a, b + 1.0, seed=1)
    # Subsets as large as both sets: every subset is the whole set.
    assert kid(a[:50], b[:50], subsets=5, subset_size=1000)[1] == pytest.approx(0.0)


def test_density_and_coverage_for_same_and_disjoint_sets():
    rng = np.random.default_rng(0)
    real, fake = rng.normal(size=(500, 4)), rng.normal(size=(500, 4))
    same = density_coverage(real, fake, k=5)
    assert same["density"] == pytest.approx(1.0, abs=0.15)
    assert same["coverage"] == pytest.approx(1 - 2**-5, abs=0.04)
    assert density_coverage(real, fake + 20.0) == {"density": 0.0, "coverage": 0.0}
    pr = precision_recall(real, fake)
    assert pr["precision"] > 0.9 and pr["recall"] > 0.9
    # A collapsed generator: faithful (precision) but not varied (recall).
    collapsed = precision_recall(real, rng.normal(0, 0.1, size=(500, 4)))
    assert collapsed["precision"] > 0.9 and collapsed["recall"] < 0.3
    assert precision_recall(real, fake + 20.0) == {"precision": 0.0, "recall": 0.0}


def test_manifold_metrics_need_more_samples_than_k():
    with pytest.raises(ValueError, match="at least 6 samples"):
        density_coverage(np.zeros((5, 2)), np.zeros((9, 2)), k=5)


# === Summary ===


def test_image_fidelity_tells_real_from_noise():
    real = brain_like(80, seed=0)
    more_real = brain_like(80, seed=1)
    noise = np.random.default_rng(0).uniform(-1, 1, real.shape).astype(np.float32)
    good = image_fidelity(real, more_real)
    bad = image_fidelity(real, noise)
    assert good["feature_space"] == (
        "pixel PCA (16 components + residual norm, fitted on 80 real images)"
    )
    assert good["frechet_distance"] < bad["frechet_distance"] / 5
    assert good["kid"] < bad["kid"] / 5
    assert good["coverage"] > 0.7 and bad["coverage"] == 0.0 and bad["recall"] == 0.0
    assert bad["density"] == 0.0 and bad["precision"] == 0.0
    assert good["diversity"] == pytest.approx(good["real_diversity"], abs=0.1)
    assert bad["diversity"] < 0.1
    assert all(isinstance(v, (int, float, str)) for v in good.values())


def test_image_fidelity_takes_a_feature_function():
    real, fake = brain_like(30, seed=0), brain_like(30, seed=1)
    pca = PixelPCA(4).fit(real)
    result = image_fidelity(real, fake, features=pca)
    assert result["feature_space"].startswith("pixel PCA (4 components, fitted on 30")
    # Features are centred and scaled on real: units do not matter.
    scaled = image_fidelity(real, fake, features=lambda x: 1000 * pca(x) + 5)
    for key in ("frechet_distance", "kid", "kid_std", "density", "coverage"):
        assert scaled[key] == pytest.approx(result[key], rel=1e-6, abs=1e-9)
    assert scaled["feature_scale"] == pytest.approx(1000 * result["feature_scale"])
    mean_pixel = image_fidelity(real, fake, features=lambda x: x.mean(axis=(1, 2)))
    assert "lambda" in mean_pixel["feature_space"]
    with pytest.raises(ValueError, match="'inception'"):
        image_fidelity(real, fake, features="inception")
    with pytest.raises(ValueError, match=r"\(30, 32, 32, 1\).*\(30, 16, 16, 1\)"):
        image_fidelity(real, real[:, :16, :16])


def test_pixel_pca_residual_is_the_distance_to_the_subspace():
    real = brain_like(40, seed=0)
    pca = PixelPCA(8, residual=True).fit(real)
    noise = np.random.default_rng(0).uniform(-1, 1, (10, 32, 32, 1))
    features = pca(noise)
    assert features.shape == (10, 9)
    np.testing.assert_allclose(features[:, :8], PixelPCA(8).fit(real)(noise))
    inner = pca._pca
    reconstruction = inner.inverse_transform(features[:, :8])
    expected = np.linalg.norm(noise.reshape(10, -1) - reconstruction, axis=1)
    np.testing.assert_allclose(features[:, 8], expected, rtol=1e-6)
    assert features[:, 8].min() > 3 * pca(real)[:, 8].max()
    with pytest.raises(ValueError, match=r"\(2, 16, 16, 1\)"):
        pca(np.zeros((2, 16, 16, 1)))


# === Learned features ===


def test_encoder_features_take_the_first_output_batch_by_batch():
    from kerasynth.metrics.features import EncoderFeatures

    calls = []

    def encoder(batch):
        calls.append(len(batch))
        return batch.mean(axis=(1, 2)), batch.std(axis=(1, 2))

    images = brain_like(10)
    features = EncoderFeatures(encoder, batch_size=4, name="mean intensity")
    np.testing.assert_allclose(features(images), images.mean(axis=(1, 2)), rtol=1e-6)
    assert calls == [4, 4, 2]
    result = image_fidelity(images, images, features=features, k=2)
    assert result["feature_space"] == "mean intensity"
    with pytest.raises(ValueError, match="encoder must be callable"):
        EncoderFeatures(3)


@pytest.mark.slow
def test_train_feature_encoder_is_seeded_and_names_itself():
    from kerasynth.metrics.features import EncoderFeatures, train_feature_encoder

    real = brain_like(24, size=20, seed=0)  # 20 does not divide by 8
    features = train_feature_encoder(real, epochs=2, feature_dim=6, seed=3)
    again = train_feature_encoder(real, epochs=2, feature_dim=6, seed=3)
    assert isinstance(features, EncoderFeatures)
    assert features(real).shape == (24, 6)
    np.testing.assert_allclose(features(real), again(real), atol=1e-6)
    assert features.feature_space.startswith("autoencoder features (6-d")
    labels = np.array(["yes", "no"] * 12)
    classifier = train_feature_encoder(real, labels, epochs=1, feature_dim=4)
    assert classifier(real[:3]).shape == (3, 4)
    assert "2-class classifier" in classifier.feature_space
    with pytest.raises(ValueError, match=r"labels.shape=\(5,\)"):
        train_feature_encoder(real, labels[:5])


def test_pca_projection_puts_copies_on_the_real_points():
    from kerasynth.metrics.projection import pca_projection

    real = brain_like(30, seed=0)
    projection = pca_projection(real, real[:5])
    assert projection["real"].shape == (30, 2)
    np.testing.assert_allclose(projection["synthetic"], projection["real"][:5])
    ratios = projection["explained_variance_ratio"]
    assert ratios.shape == (2,) and ratios[0] >= ratios[1] > 0
    assert projection["feature_space"].startswith("pixel PCA (2 components")
    with pytest.raises(ValueError, match=r"\(30, 32, 32, 1\) and \(5, 32, 32\)"):
        pca_projection(real, real[:5, ..., 0])
