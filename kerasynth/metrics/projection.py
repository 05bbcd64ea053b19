"""Low-dimensional projections of images, fitted on the real set.

Raw-pixel PCA is the feature space that needs no download and no training:
it is what the study's PCA overlap plots show, and what `frechet_distance`
compares when no learned encoder is at hand.
"""

from __future__ import annotations

import numpy as np
from sklearn.decomposition import PCA


def flatten(images: np.ndarray) -> np.ndarray:
    """``[N, H, W, C]`` -> ``[N, H*W*C]`` float64."""
    images = np.asarray(images)
    return images.reshape(len(images), -1).astype(np.float64)


class PixelPCA:
    """PCA on raw pixels, fitted on real images, applied to any image set.

    Args:
        n_components: the number of principal components kept (at most the
            number of real images).
        seed: the seed of the randomized solver.
        residual: whether `transform` appends one more feature, the norm of
            the part of each image that the components do not represent
            (its distance to the PCA subspace). Without it an image far from
            the real ones, pure noise say, can project onto the middle of
            the real cloud and pass for a typical real image.

    A fitted `PixelPCA` is also a feature function (``pca(images)`` is
    ``pca.transform(images)``) whose `feature_space` names it, so it can be
    passed to `kerasynth.metrics.image.image_fidelity(..., features=pca)`.

    Example:

    ```python
    pca = PixelPCA(16).fit(real)
    real_features, fake_features = pca.transform(real), pca.transform(fake)
    ```
    """

    def __init__(self, n_components: int = 16, seed: int = 0, residual: bool = False):
        if n_components < 1:
            raise ValueError(
                f"n_components must be >= 1. Received: n_components={n_components}"
            )
        self.n_components = n_components
        self.seed = seed
        self.residual = residual
        self._pca: PCA | None = None
        self._num_fitted = 0

    def fit(self, images: np.ndarray) -> PixelPCA:
        pixels = flatten(images)
        components = min(self.n_components, *pixels.shape)
        self._pca = PCA(components, random_state=self.seed).fit(pixels)
        self._num_fitted = len(pixels)
        return self

    def transform(self, images: np.ndarray) -> np.ndarray:
        if self._pca is None:
            raise ValueError("PixelPCA.transform called before fit.")
        pixels = flatten(images)
        if pixels.shape[1] != self._pca.n_features_in_:
            raise ValueError(
                f"Expected images of {self._pca.n_features_in_} values, as "
                f"fitted. Received: shape={np.shape(images)}"
            )
        coordinates = self._pca.transform(pixels)  # (n, components)
        if not self.residual:
            return coordinates
        # Orthonormal components: |x - mean|^2 = |coordinates|^2 + residual^2.
        centred = np.sum((pixels - self._pca.mean_) ** 2, axis=1)
        residual = np.sqrt(np.maximum(centred - np.sum(coordinates**2, axis=1), 0))
        return np.concatenate([coordinates, residual[:, None]], axis=1)

    def __call__(self, images: np.ndarray) -> np.ndarray:
        return self.transform(images)

    @property
    def feature_space(self) -> str:
        """What a report says about these features, e.g. ``"pixel PCA (16
        components + residual norm, fitted on 130 real images)"``."""
        if self._pca is None:
            raise ValueError("PixelPCA is not fitted.")
        residual = " + residual norm" if self.residual else ""
        return (
            f"pixel PCA ({self._pca.n_components_} components{residual}, "
            f"fitted on {self._num_fitted} real images)"
        )

    @property
    def explained_variance_ratio(self) -> np.ndarray:
        if self._pca is None:
            raise ValueError("PixelPCA is not fitted.")
        return self._pca.explained_variance_ratio_


def pca_projection(
    real: np.ndarray, synthetic: np.ndarray, n_components: int = 2, seed: int = 0
) -> dict[str, object]:
    """Real and synthetic images in the raw-pixel PCA plane fitted on real:
    the data of the study's PCA overlap plots (its Figures 10, 13 and 17).

    Args:
        real: ``[N, H, W, C]`` real images.
        synthetic: ``[M, H, W, C]`` synthetic images of the same shape.
        n_components: the number of coordinates (2 for a scatter plot).
        seed: the seed of the PCA solver.

    Returns:
        ``{"real": [N, n_components], "synthetic": [M, n_components],
        "explained_variance_ratio": [n_components], "feature_space": str}``.

    Example:

    ```python
    projection = pca_projection(real, fake)
    plt.scatter(*projection["real"].T, label="real")
    plt.scatter(*projection["synthetic"].T, label="synthetic")
    ```
    """
    real, synthetic = np.asarray(real), np.asarray(synthetic)
    if real.ndim != 4 or real.shape[1:] != synthetic.shape[1:]:
        raise ValueError(
            f"Expected real and synthetic NHWC images of one shape. "
            f"Received: {real.shape} and {synthetic.shape}"
        )
    pca = PixelPCA(n_components, seed=seed).fit(real)
    return {
        "real": pca.transform(real),
        "synthetic": pca.transform(synthetic),
        "explained_variance_ratio": pca.explained_variance_ratio,
        "feature_space": pca.feature_space,
    }
