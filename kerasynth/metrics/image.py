"""Image fidelity metrics: per pair, per set, and one summary.

Images are NHWC arrays in [-1, 1]. Three kinds of measures, each in its own
module and all importable from here:

- per pair (`mse`, `psnr`, `ssim`, `ssim_pairs`, in
  `kerasynth.metrics.image_pairs`): one number per image pair, arrays the
  report turns into histograms (the study's Figures 14 and 18);
- per set, on features (`frechet_distance`, `kid`, `density_coverage`,
  `precision_recall`, in `kerasynth.metrics.feature_distances`): the caller
  picks the feature space (see `kerasynth.metrics.projection` and
  `kerasynth.metrics.features`), and every report says which;
- `image_fidelity`, here, which runs the set measures and the diversity
  measure (`pairwise_ssim`) in one call and names its feature space.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from kerasynth.metrics.feature_distances import (
    density_coverage,
    frechet_distance,
    kid,
    manifold_metrics,
    pixel_pca_frechet_distance,
    precision_recall,
)
from kerasynth.metrics.image_pairs import (
    DATA_RANGE,
    SSIM_K1,
    SSIM_K2,
    SSIM_RADIUS,
    SSIM_SIGMA,
    check_images,
    check_same_image_shape,
    mse,
    pairwise_ssim,
    psnr,
    random_pairs,
    ssim,
    ssim_pairs,
)
from kerasynth.metrics.projection import PixelPCA

__all__ = [
    "DATA_RANGE",
    "SSIM_K1",
    "SSIM_K2",
    "SSIM_RADIUS",
    "SSIM_SIGMA",
    "FeatureFunction",
    "density_coverage",
    "frechet_distance",
    "image_fidelity",
    "kid",
    "mse",
    "pairwise_ssim",
    "pixel_pca_frechet_distance",
    "precision_recall",
    "psnr",
    "random_pairs",
    "ssim",
    "ssim_pairs",
]

FeatureFunction = Callable[[np.ndarray], np.ndarray]


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
    real, synthetic = check_images(real, "real"), check_images(synthetic, "synthetic")
    check_same_image_shape(real, synthetic, "real and synthetic images")
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
        **manifold_metrics(real_features, fake_features, k),
        "k": k,
        "diversity": pairwise_ssim(synthetic, seed=seed),
        "real_diversity": pairwise_ssim(real, seed=seed),
        "seed": seed,
    }
