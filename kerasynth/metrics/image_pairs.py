"""Image measures per pair: MSE, PSNR and SSIM, and SSIM's diversity measure.

Images are NHWC arrays in [-1, 1], so the data range is 2 everywhere (PSNR's
peak and SSIM's constants). `mse`, `psnr`, `ssim` and `ssim_pairs` give one
number per image pair, arrays the report turns into histograms (the study's
Figures 14 and 18); `pairwise_ssim` averages SSIM over random pairs of one
set, a diversity measure.

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

import numpy as np
import threadpoolctl

DATA_RANGE = 2.0  # images live in [-1, 1]

# SSIM constants (Wang et al. 2004; skimage's defaults with gaussian_weights).
SSIM_SIGMA = 1.5
SSIM_RADIUS = 5  # int(3.5 * sigma + 0.5): skimage's truncate=3.5, an 11-tap window
SSIM_K1 = 0.01
SSIM_K2 = 0.03


def check_images(images: np.ndarray, name: str = "images") -> np.ndarray:
    """`images` as an array; a `ValueError` naming `name` unless it is NHWC."""
    images = np.asarray(images)
    if images.ndim != 4:
        raise ValueError(
            f"Expected `{name}` as an NHWC array [N, H, W, C]. "
            f"Received: {name}.shape={images.shape}"
        )
    return images


def _check_same_shape(reference: np.ndarray, images: np.ndarray) -> None:
    check_images(reference, "reference")
    check_images(images, "images")
    if reference.shape != images.shape:
        raise ValueError(
            f"Expected two image arrays of the same shape. Received: "
            f"reference.shape={reference.shape} and images.shape={images.shape}"
        )


def check_same_image_shape(a: np.ndarray, b: np.ndarray, names: str) -> None:
    """A `ValueError` naming `names` unless `a` and `b` hold images of one
    shape ``[H, W, C]`` (their counts may differ)."""
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
    images_a = check_images(images_a, "images_a")
    images_b = check_images(images_b, "images_b")
    check_same_image_shape(images_a, images_b, "images_a and images_b")
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
    images = check_images(images)
    rows, cols = random_pairs(len(images), max_pairs, seed)
    return float(np.mean(ssim_pairs(images, images, rows, cols)))
