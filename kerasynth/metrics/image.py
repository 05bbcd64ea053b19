"""Image fidelity metrics: per pair, per set, and one summary.

Images are NHWC arrays in [-1, 1], so the data range is 2 everywhere (PSNR's
peak and SSIM's constants). Three kinds of measures live here:

- per pair (`mse`, `psnr`, `ssim`, `ssim_pairs`): one number per image pair,
  arrays the report turns into histograms (the study's Figures 14 and 18);
- per set, on features (`frechet_distance`, `kid`, `density_coverage`,
  `precision_recall`): the caller picks the feature space (see
  `kerasynth.metrics.projection` and `kerasynth.metrics.features`), and every
  report says which;
- `image_fidelity`, which runs the set measures and the diversity measure
  (`pairwise_ssim`) in one call and names its feature space.

SSIM follows Wang et al. (2004) with an 11-tap Gaussian window (sigma 1.5)
and agrees with ``skimage.metrics.structural_similarity(a, b,
data_range=2.0, gaussian_weights=True, sigma=1.5,
use_sample_covariance=False, channel_axis=-1)``: population (not sample)
covariances, K1 = 0.01, K2 = 0.03, the mean taken over the pixels whose
window lies inside the image (a 5-pixel border is left out, as skimage
crops it), then over channels. `tf.image.ssim(a, b, max_val=2.0)` computes
the same quantity.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np
import threadpoolctl
from scipy import linalg
from scipy.spatial import distance

from kerasynth.metrics.projection import PixelPCA

DATA_RANGE = 2.0  # images live in [-1, 1]

# SSIM constants (Wang et al. 2004; skimage's defaults with gaussian_weights).
SSIM_SIGMA = 1.5
SSIM_RADIUS = 5  # int(3.5 * sigma + 0.5): skimage's truncate=3.5, an 11-tap window
SSIM_K1 = 0.01
SSIM_K2 = 0.03

FeatureFunction = Callable[[np.ndarray], np.ndarray]


# === Per-pair metrics ===


def _check_images(images: np.ndarray, name: str = "images") -> np.ndarray:
    images = np.asarray(images)
    if images.ndim != 4:
        raise ValueError(
            f"Expected `{name}` as an NHWC array [N, H, W, C]. "
            f"Received: {name}.shape={images.shape}"
        )
    return images


def _check_same_shape(reference: np.ndarray, images: np.ndarray) -> None:
    _check_images(reference, "reference")
    _check_images(images, "images")
    if reference.shape != images.shape:
        raise ValueError(
            f"Expected two image arrays of the same shape. Received: "
            f"reference.shape={reference.shape} and images.shape={images.shape}"
        )


def _check_same_image_shape(a: np.ndarray, b: np.ndarray, names: str) -> None:
    if a.shape[1:] != b.shape[1:]:
        raise ValueError(
            f"Expected {names} with the same image shape [H, W, C]. "
            f"Received: {a.shape} and {b.shape}"
        )


def mse(reference: np.ndarray, images: np.ndarray) -> np.ndarray:
    """Mean squared error per image pair, for images in [-1, 1].

    Args:
        reference: ``[N, H, W, C]`` reference images.
        images: ``[N, H, W, C]`` images to compare with them.

    Returns:
        A float64 array ``[N]``.
    """
    reference = np.asarray(reference, np.float64)
    images = np.asarray(images, np.float64)
    _check_same_shape(reference, images)
    return np.mean((reference - images) ** 2, axis=(1, 2, 3))


def psnr(reference: np.ndarray, images: np.ndarray) -> np.ndarray:
    """Peak signal-to-noise ratio per image pair, in dB, for images in
    [-1, 1] (data range 2): ``10 log10(2^2 / MSE)``. Identical pairs give
    ``inf``.

    Args:
        reference: ``[N, H, W, C]`` reference images.
        images: ``[N, H, W, C]`` images to compare with them.

    Returns:
        A float64 array ``[N]``.
    """
    errors = mse(reference, images)
    with np.errstate(divide="ignore"):
        return 10.0 * np.log10(DATA_RANGE**2 / errors)


@functools.lru_cache(maxsize=8)
def _gaussian_band(size: int) -> np.ndarray:
    """The ``[size - 10, size]`` matrix of a 'valid' 11-tap Gaussian filter:
    row ``i`` holds the window centred on pixel ``i + 5``."""
    offsets = np.arange(-SSIM_RADIUS, SSIM_RADIUS + 1)
    weights = np.exp(-0.5 * (offsets / SSIM_SIGMA) ** 2)
    weights /= weights.sum()
    band = np.zeros((size - 2 * SSIM_RADIUS, size), np.float32)
    for row in range(len(band)):
        band[row, row : row + len(weights)] = weights
    band.setflags(write=False)
    return band


def _filter(x: np.ndarray) -> np.ndarray:
    """Gaussian-filters ``[..., H, W]`` maps (valid part): ``[..., H', W']``.

    Two large matrix products (the window is separable) rather than a
    convolution: on a 2-core CPU it is several times faster than
    `tf.nn.conv2d` for many small images.
    """
    *lead, height, width = x.shape
    rows, cols = _gaussian_band(height), _gaussian_band(width)
    y = x.reshape(-1, width) @ cols.T  # (n * H, W')
    y = y.reshape(-1, height, cols.shape[0]).swapaxes(1, 2)  # (n, W', H)
    y = y.reshape(-1, height) @ rows.T  # (n * W', H')
    return y.reshape(*lead, cols.shape[0], rows.shape[0]).swapaxes(-1, -2)


class _LocalMoments:
    """Each image's Gaussian-weighted local mean and variance, computed once
    so that the cost of a pair is a single filtering (of the product)."""

    def __init__(self, images: np.ndarray):
        if min(images.shape[1:3]) < 2 * SSIM_RADIUS + 1:
            raise ValueError(
                f"SSIM needs images of at least {2 * SSIM_RADIUS + 1}x"
                f"{2 * SSIM_RADIUS + 1} pixels. Received: shape={images.shape}"
            )
        # float32, as skimage computes for float32 images; channels first.
        self.images = np.ascontiguousarray(
            np.moveaxis(np.asarray(images, np.float32), -1, 1)
        )  # (n, C, H, W)
        self.mean = _filter(self.images)  # (n, C, H', W')
        self.variance = _filter(self.images**2) - self.mean**2


def _ssim_indexed(
    a: _LocalMoments,
    b: _LocalMoments,
    rows: np.ndarray,
    cols: np.ndarray,
    batch_size: int,
) -> np.ndarray:
    c1 = (SSIM_K1 * DATA_RANGE) ** 2
    c2 = (SSIM_K2 * DATA_RANGE) ** 2
    out = np.empty(len(rows), np.float64)
    for start in range(0, len(rows), batch_size):
        i, j = rows[start : start + batch_size], cols[start : start + batch_size]
        mean_a, mean_b = a.mean[i], b.mean[j]
        covariance = _filter(a.images[i] * b.images[j]) - mean_a * mean_b
        luminance = (2 * mean_a * mean_b + c1) / (mean_a**2 + mean_b**2 + c1)
        structure = (2 * covariance + c2) / (a.variance[i] + b.variance[j] + c2)
        out[start : start + batch_size] = np.mean(
            luminance * structure, axis=(1, 2, 3), dtype=np.float64
        )
    return out


def ssim_pairs(
    images_a: np.ndarray,
    images_b: np.ndarray,
    rows: np.ndarray,
    cols: np.ndarray,
    batch_size: int = 512,
) -> np.ndarray:
    """SSIM of the pairs ``(images_a[rows[p]], images_b[cols[p]])``.

    Each image's local statistics are computed once, so many pairs among few
    images (all pairs of a set, a nearest-neighbour shortlist) cost one
    Gaussian filtering per pair. Same definition as `ssim`.

    Args:
        images_a: ``[N, H, W, C]`` images in [-1, 1].
        images_b: ``[M, H, W, C]`` images in [-1, 1] (may be `images_a`).
        rows: ``[P]`` indices into `images_a`.
        cols: ``[P]`` indices into `images_b`.
        batch_size: pairs filtered at once (memory: about
            ``batch_size * H * W * C * 16`` bytes).

    Returns:
        A float64 array ``[P]``.

    Example:

    ```python
    rows, cols = random_pairs(len(images), max_pairs=500)
    values = ssim_pairs(images, images, rows, cols)  # a histogram's data
    ```
    """
    images_a = _check_images(images_a, "images_a")
    images_b = _check_images(images_b, "images_b")
    _check_same_image_shape(images_a, images_b, "images_a and images_b")
    rows, cols = np.asarray(rows, np.int64), np.asarray(cols, np.int64)
    if rows.shape != cols.shape or rows.ndim != 1:
        raise ValueError(
            f"Expected `rows` and `cols` as index vectors of the same length. "
            f"Received: rows.shape={rows.shape} and cols.shape={cols.shape}"
        )
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1. Received: batch_size={batch_size}")
    # One BLAS thread: the filter's products are skinny (64 wide), and
    # OpenBLAS's threads cost more than they give; 2-3x faster on a busy
    # 2-core machine (130 x 130 pairs at 64x64: 0.9 s against 2.2 s).
    with threadpoolctl.threadpool_limits(limits=1, user_api="blas"):
        if images_b is images_a:
            moments_a = moments_b = _LocalMoments(images_a)
        else:
            moments_a, moments_b = _LocalMoments(images_a), _LocalMoments(images_b)
        return _ssim_indexed(moments_a, moments_b, rows, cols, batch_size)


def ssim(
    reference: np.ndarray, images: np.ndarray, batch_size: int = 512
) -> np.ndarray:
    """Structural similarity per image pair (Wang et al. 2004), data range 2.

    Gaussian window (sigma 1.5, 11 taps), population covariances, K1 = 0.01,
    K2 = 0.03, averaged over the pixels whose window fits inside the image,
    then over channels: the value of ``skimage.metrics.structural_similarity(
    r, x, data_range=2.0, gaussian_weights=True, sigma=1.5,
    use_sample_covariance=False, channel_axis=-1)`` (within about 1e-5:
    computed in float32, as skimage does for float32 images).

    Args:
        reference: ``[N, H, W, C]`` reference images in [-1, 1], H, W >= 11.
        images: ``[N, H, W, C]`` images to compare with them.
        batch_size: pairs filtered at once.

    Returns:
        A float64 array ``[N]``; 1 for identical pairs.
    """
    reference, images = np.asarray(reference), np.asarray(images)
    _check_same_shape(reference, images)
    index = np.arange(len(reference))
    return ssim_pairs(reference, images, index, index, batch_size)


def random_pairs(
    num_images: int, max_pairs: int = 1000, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Distinct unordered pairs ``i < j`` of ``range(num_images)``: all of
    them when there are at most `max_pairs`, else `max_pairs` drawn without
    replacement.

    Returns:
        ``(rows, cols)``, two int64 arrays.
    """
    if num_images < 2:
        raise ValueError(f"Need at least 2 images. Received: num_images={num_images}")
    if max_pairs < 1:
        raise ValueError(f"max_pairs must be >= 1. Received: max_pairs={max_pairs}")
    n = num_images
    total = n * (n - 1) // 2
    if total <= max_pairs:
        rows, cols = np.triu_indices(n, 1)
        return rows.astype(np.int64), cols.astype(np.int64)
    k = np.sort(np.random.default_rng(seed).choice(total, max_pairs, replace=False))
    # Linear index k of the row-major upper triangle -> (i, j): row i starts at
    # k_i = i*n - i*(i+1)/2; solve for i and fix any floating-point slip.
    i = np.floor(((2 * n - 1) - np.sqrt((2 * n - 1) ** 2 - 8 * k)) / 2).astype(np.int64)
    start = i * n - i * (i + 1) // 2
    i = np.where(k < start, i - 1, i)
    start = i * n - i * (i + 1) // 2
    i = np.where(k >= start + (n - 1 - i), i + 1, i)
    start = i * n - i * (i + 1) // 2
    return i, k - start + i + 1


def pairwise_ssim(images: np.ndarray, max_pairs: int = 1000, seed: int = 0) -> float:
    """Mean SSIM over random distinct pairs of a set: a diversity measure.

    Lower means more diverse; a generator that collapses onto a few modes
    scores higher than its training set does. Compare with the same measure
    on the real images.

    Args:
        images: ``[N, H, W, C]`` images in [-1, 1], N >= 2.
        max_pairs: at most this many pairs (all pairs when there are fewer).
        seed: seed of the pair sampling.

    Returns:
        The mean SSIM, a float.
    """
    images = _check_images(images)
    rows, cols = random_pairs(len(images), max_pairs, seed)
    return float(np.mean(ssim_pairs(images, images, rows, cols)))


# === Set distances on features ===


def _check_features(
    features_a: np.ndarray, features_b: np.ndarray, min_samples: int = 2
) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(features_a, np.float64)
    b = np.asarray(features_b, np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(
            f"Expected two [N, D] feature arrays with the same D. "
            f"Received: {a.shape} and {b.shape}"
        )
    if len(a) < min_samples or len(b) < min_samples:
        raise ValueError(
            f"Need at least {min_samples} samples per set. "
            f"Received: {len(a)} and {len(b)}"
        )
    return a, b


def frechet_distance(features_a: np.ndarray, features_b: np.ndarray) -> float:
    """The Frechet distance between Gaussians fitted to two feature sets.

    ``|mu_a - mu_b|^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2))``, the distance of
    FID (Heusel et al. 2017), on whatever features it is given. Its value
    depends on the feature space and is biased by the sample sizes: compare
    values computed with the same features and counts.

    Args:
        features_a: ``[N, D]`` features of one set (N >= 2).
        features_b: ``[M, D]`` features of the other (M >= 2).
    """
    a, b = _check_features(features_a, features_b)
    mean_a, mean_b = a.mean(axis=0), b.mean(axis=0)
    cov_a = np.atleast_2d(np.cov(a, rowvar=False))
    cov_b = np.atleast_2d(np.cov(b, rowvar=False))
    covmean = linalg.sqrtm(cov_a @ cov_b)
    if not np.isfinite(covmean).all():
        # A singular product: nudge both covariances (as FID implementations do).
        offset = np.eye(len(cov_a)) * 1e-6
        covmean = linalg.sqrtm((cov_a + offset) @ (cov_b + offset))
    covmean = np.real(covmean)
    distance_ = np.sum((mean_a - mean_b) ** 2) + np.trace(cov_a + cov_b - 2 * covmean)
    return float(max(distance_, 0.0))


def _cubic_kernel(x: np.ndarray, y: np.ndarray, dim: int) -> np.ndarray:
    base = x @ y.T / dim + 1
    return base * base * base  # several times faster than ** 3


def kid(
    features_a: np.ndarray,
    features_b: np.ndarray,
    subsets: int = 100,
    subset_size: int = 1000,
    seed: int = 0,
) -> tuple[float, float]:
    """Kernel distance (KID, Binkowski et al. 2018) between two feature sets.

    The unbiased estimate of the squared maximum mean discrepancy with the
    cubic polynomial kernel ``k(x, y) = (x.y / D + 1)^3``, averaged over
    random subsets of both sets. Unlike the Frechet distance it has no bias
    from the sample size: two samples of one distribution give about 0 (and
    sometimes slightly below). Like it, it depends on the features' scale:
    the kernel was designed for features of order 1 (Inception's), so
    `image_fidelity` centres and scales features before calling it. When
    both sets have at most `subset_size` samples every subset is a whole
    set, and the std is 0 (as in clean-fid).

    Args:
        features_a: ``[N, D]`` features of one set.
        features_b: ``[M, D]`` features of the other.
        subsets: the number of random subset pairs.
        subset_size: the size of each subset, capped at ``min(N, M)``.
        seed: seed of the subset sampling.

    Returns:
        ``(mean, std)`` of the estimate over the subsets.
    """
    a, b = _check_features(features_a, features_b)
    if subsets < 1 or subset_size < 2:
        raise ValueError(
            f"Need subsets >= 1 and subset_size >= 2. "
            f"Received: subsets={subsets}, subset_size={subset_size}"
        )
    m = min(subset_size, len(a), len(b))
    dim = a.shape[1]
    rng = np.random.default_rng(seed)
    estimates = np.empty(subsets)
    for s in range(subsets):
        x = a[rng.choice(len(a), m, replace=False)]
        y = b[rng.choice(len(b), m, replace=False)]
        k_xx = _cubic_kernel(x, x, dim)
        k_yy = _cubic_kernel(y, y, dim)
        k_xy = _cubic_kernel(x, y, dim)
        within = k_xx.sum() - np.trace(k_xx) + k_yy.sum() - np.trace(k_yy)
        estimates[s] = within / (m * (m - 1)) - 2 * k_xy.mean()
    return float(estimates.mean()), float(estimates.std())


def _manifold_metrics(
    real_features: np.ndarray, fake_features: np.ndarray, k: int
) -> dict[str, float]:
    """Precision, recall, density and coverage from k-NN balls.

    Each real sample gets a ball whose radius is the distance to its k-th
    nearest other real sample (likewise for fake samples, for recall). A
    point lies in a ball when its distance is strictly below the radius, as
    in the authors' `prdc` code.
    """
    real, fake = _check_features(real_features, fake_features, min_samples=k + 1)
    if k < 1:
        raise ValueError(f"k must be >= 1. Received: k={k}")
    real_fake = distance.cdist(real, fake)  # (N, M)
    real_radii = _kth_neighbour_distance(real, k)  # (N,)
    fake_radii = _kth_neighbour_distance(fake, k)  # (M,)
    inside_real = real_fake < real_radii[:, None]  # fake j in real ball i
    return {
        "precision": float(inside_real.any(axis=0).mean()),
        "recall": float((real_fake < fake_radii[None, :]).any(axis=1).mean()),
        "density": float(inside_real.sum(axis=0).mean() / k),
        "coverage": float((real_fake.min(axis=1) < real_radii).mean()),
    }


def _kth_neighbour_distance(features: np.ndarray, k: int) -> np.ndarray:
    distances = distance.cdist(features, features)
    # Column 0 of the sorted distances is the sample itself (0).
    return np.partition(distances, k, axis=1)[:, k]


def density_coverage(
    real_features: np.ndarray, fake_features: np.ndarray, k: int = 5
) -> dict[str, float]:
    """Density and coverage (Naeem et al. 2020) of fake samples.

    Density: the mean number of real k-NN balls that contain a fake sample,
    divided by k (about 1 when both sets come from one distribution, above 1
    when fakes crowd dense real regions). Coverage: the share of real balls
    that contain at least one fake sample (about ``1 - 2^-k`` for two equal
    samples of one distribution, 0 for disjoint sets).

    Args:
        real_features: ``[N, D]`` real features, N > k.
        fake_features: ``[M, D]`` synthetic features, M > k.
        k: the neighbour that sets each real ball's radius.

    Returns:
        ``{"density": ..., "coverage": ...}``.
    """
    metrics = _manifold_metrics(real_features, fake_features, k)
    return {"density": metrics["density"], "coverage": metrics["coverage"]}


def precision_recall(
    real_features: np.ndarray, fake_features: np.ndarray, k: int = 5
) -> dict[str, float]:
    """Improved precision and recall (Kynkaanniemi et al. 2019).

    Precision: the share of fake samples inside at least one real k-NN ball
    (fidelity). Recall: the share of real samples inside at least one fake
    k-NN ball (how much of the real variety is reproduced).

    Args:
        real_features: ``[N, D]`` real features, N > k.
        fake_features: ``[M, D]`` synthetic features, M > k.
        k: the neighbour that sets each ball's radius.

    Returns:
        ``{"precision": ..., "recall": ...}``.
    """
    metrics = _manifold_metrics(real_features, fake_features, k)
    return {"precision": metrics["precision"], "recall": metrics["recall"]}


def pixel_pca_frechet_distance(
    real: np.ndarray, synthetic: np.ndarray, n_components: int = 16, seed: int = 0
) -> float:
    """Frechet distance in the raw-pixel PCA space fitted on `real`."""
    pca = PixelPCA(n_components, seed=seed).fit(real)
    return frechet_distance(pca.transform(real), pca.transform(synthetic))


# === Summary ===


def _feature_space_name(features: FeatureFunction) -> str:
    name = getattr(features, "feature_space", None)
    if isinstance(name, str):
        return name
    return getattr(features, "__qualname__", None) or repr(features)


def image_fidelity(
    real: np.ndarray,
    synthetic: np.ndarray,
    *,
    features: str | FeatureFunction = "pca",
    k: int = 5,
    seed: int = 0,
) -> dict[str, object]:
    """The set-level fidelity and diversity of synthetic images, in one dict.

    Features are extracted from both sets, then centred on the real mean
    and divided by ``feature_scale``, the root mean variance of the real
    features per dimension (one number for all dimensions). Density,
    coverage, precision and recall do not change under that map; the
    Frechet distance becomes comparable across feature spaces (the
    raw-feature value is it times ``feature_scale ** 2``); KID's cubic
    kernel gets features of order 1, as it was designed for.

    Args:
        real: ``[N, H, W, C]`` real images in [-1, 1].
        synthetic: ``[M, H, W, C]`` synthetic images in [-1, 1].
        features: the feature space of the set measures. `"pca"`: raw-pixel
            PCA with 16 components fitted on `real`, plus each image's
            distance to that subspace (``PixelPCA(16, residual=True)``; the
            17th feature keeps noise from passing for an average image).
            `"autoencoder"`: a small autoencoder trained on `real` for this
            call (`kerasynth.metrics.features.train_feature_encoder`, a few
            seconds). Or any callable ``images -> [n, D]``, such as a fitted
            `PixelPCA` or an `EncoderFeatures`; its `feature_space`
            attribute, when present, names it in the result.
        k: the neighbour count of density, coverage, precision and recall.
        seed: seed of the PCA solver, the encoder's training, KID's subsets
            and the diversity pairs.

    Returns:
        A dict of plain floats and strings: ``feature_space``,
        ``feature_scale``, ``num_real``, ``num_synthetic``,
        ``frechet_distance``, ``kid`` and ``kid_std`` (Binkowski et al.
        2018; over 100 subset pairs of ``kid_subset_size``: 1000, or half
        the smaller set when that is less), ``density``, ``coverage``
        (Naeem et al. 2020), ``precision``, ``recall`` (Kynkaanniemi et al.
        2019), ``k``, ``diversity`` (mean pairwise SSIM of the synthetic
        images, lower is more diverse), ``real_diversity`` (the same for the
        real images) and ``seed``.

    Example:

    ```python
    result = image_fidelity(real, model.generate(len(real), seed=0))
    print(result["feature_space"], result["frechet_distance"], result["kid"])
    ```
    """
    real, synthetic = _check_images(real, "real"), _check_images(synthetic, "synthetic")
    _check_same_image_shape(real, synthetic, "real and synthetic images")
    if isinstance(features, str):
        if features == "pca":
            features = PixelPCA(16, seed=seed, residual=True).fit(real)
        elif features == "autoencoder":
            from kerasynth.metrics.features import train_feature_encoder

            features = train_feature_encoder(real, seed=seed)
        else:
            raise ValueError(
                f"features must be 'pca', 'autoencoder' or a callable. "
                f"Received: features={features!r}"
            )
    real_features = np.asarray(features(real), np.float64)
    fake_features = np.asarray(features(synthetic), np.float64)
    # One affine map fitted on real (the same for both sets): k-NN measures
    # do not change, KID's cubic kernel sees features of order 1, and the
    # Frechet distance is in units of the real features' mean variance.
    centre = real_features.mean(axis=0)
    scale = float(np.sqrt(np.mean(real_features.var(axis=0)))) or 1.0
    real_features = (real_features - centre) / scale
    fake_features = (fake_features - centre) / scale
    # Subsets of half the smaller set, so that their spread (kid_std) says
    # something also when the sets are smaller than KID's usual 1000.
    subset_size = min(1000, max(2, min(len(real), len(synthetic)) // 2))
    kid_mean, kid_std = kid(real_features, fake_features, 100, subset_size, seed)
    return {
        "feature_space": _feature_space_name(features),
        "feature_scale": scale,
        "num_real": len(real),
        "num_synthetic": len(synthetic),
        "frechet_distance": frechet_distance(real_features, fake_features),
        "kid": kid_mean,
        "kid_std": kid_std,
        "kid_subset_size": subset_size,
        **_manifold_metrics(real_features, fake_features, k),
        "k": k,
        "diversity": pairwise_ssim(synthetic, seed=seed),
        "real_diversity": pairwise_ssim(real, seed=seed),
        "seed": seed,
    }
