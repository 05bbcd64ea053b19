"""Distances between two sets of image features: Frechet, KID, precision,
recall, density and coverage.

The caller picks the feature space (see `kerasynth.metrics.projection` and
`kerasynth.metrics.features`) and every report says which; the values
depend on it. `image_fidelity` in `kerasynth.metrics.image` runs them all on
one feature space.
"""

from __future__ import annotations

import numpy as np
from scipy import linalg
from scipy.spatial import distance

from kerasynth.metrics.projection import PixelPCA


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


def manifold_metrics(
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
    metrics = manifold_metrics(real_features, fake_features, k)
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
    metrics = manifold_metrics(real_features, fake_features, k)
    return {"precision": metrics["precision"], "recall": metrics["recall"]}


def pixel_pca_frechet_distance(
    real: np.ndarray, synthetic: np.ndarray, n_components: int = 16, seed: int = 0
) -> float:
    """Frechet distance in the raw-pixel PCA space fitted on `real`."""
    pca = PixelPCA(n_components, seed=seed).fit(real)
    return frechet_distance(pca.transform(real), pca.transform(synthetic))
