"""Image fidelity metrics.

Images are NHWC arrays in [-1, 1]. Distances between sets work on features
(see `kerasynth.metrics.projection`), and every report says which features.
"""

from __future__ import annotations

import numpy as np
from scipy import linalg

from kerasynth.metrics.projection import PixelPCA

DATA_RANGE = 2.0  # images live in [-1, 1]


def psnr(reference: np.ndarray, images: np.ndarray) -> np.ndarray:
    """Peak signal-to-noise ratio per image pair, in dB, for images in
    [-1, 1] (data range 2): ``10 log10(2^2 / MSE)``. Identical pairs give
    ``inf``.

    Args:
        reference: ``[N, H, W, C]`` reference images.
        images: ``[N, H, W, C]`` images to compare with them.
    """
    reference = np.asarray(reference, np.float64)
    images = np.asarray(images, np.float64)
    if reference.shape != images.shape:
        raise ValueError(
            f"Expected two image arrays of the same shape. Received: "
            f"{reference.shape} and {images.shape}"
        )
    mse = np.mean((reference - images) ** 2, axis=tuple(range(1, reference.ndim)))
    with np.errstate(divide="ignore"):
        return 10.0 * np.log10(DATA_RANGE**2 / mse)


def frechet_distance(features_a: np.ndarray, features_b: np.ndarray) -> float:
    """The Frechet distance between Gaussians fitted to two feature sets.

    ``|mu_a - mu_b|^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2))``, the distance of
    FID (Heusel et al. 2017), on whatever features it is given.

    Args:
        features_a: ``[N, D]`` features of one set (N >= 2).
        features_b: ``[M, D]`` features of the other (M >= 2).
    """
    a = np.asarray(features_a, np.float64)
    b = np.asarray(features_b, np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(
            f"Expected two [N, D] feature arrays with the same D. "
            f"Received: {a.shape} and {b.shape}"
        )
    if len(a) < 2 or len(b) < 2:
        raise ValueError(
            f"Need at least 2 samples per set. Received: {len(a)} and {len(b)}"
        )
    mean_a, mean_b = a.mean(axis=0), b.mean(axis=0)
    cov_a = np.atleast_2d(np.cov(a, rowvar=False))
    cov_b = np.atleast_2d(np.cov(b, rowvar=False))
    covmean = linalg.sqrtm(cov_a @ cov_b)
    if not np.isfinite(covmean).all():
        # A singular product: nudge both covariances (as FID implementations do).
        offset = np.eye(len(cov_a)) * 1e-6
        covmean = linalg.sqrtm((cov_a + offset) @ (cov_b + offset))
    covmean = np.real(covmean)
    distance = np.sum((mean_a - mean_b) ** 2) + np.trace(cov_a + cov_b - 2 * covmean)
    return float(max(distance, 0.0))


def pixel_pca_frechet_distance(
    real: np.ndarray, synthetic: np.ndarray, n_components: int = 16, seed: int = 0
) -> float:
    """Frechet distance in the raw-pixel PCA space fitted on `real`."""
    pca = PixelPCA(n_components, seed=seed).fit(real)
    return frechet_distance(pca.transform(real), pca.transform(synthetic))
