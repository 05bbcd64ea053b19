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

    Example:

    ```python
    pca = PixelPCA(16).fit(real)
    real_features, fake_features = pca.transform(real), pca.transform(fake)
    ```
    """

    def __init__(self, n_components: int = 16, seed: int = 0):
        if n_components < 1:
            raise ValueError(
                f"n_components must be >= 1. Received: n_components={n_components}"
            )
        self.n_components = n_components
        self.seed = seed
        self._pca: PCA | None = None

    def fit(self, images: np.ndarray) -> PixelPCA:
        pixels = flatten(images)
        components = min(self.n_components, *pixels.shape)
        self._pca = PCA(components, random_state=self.seed).fit(pixels)
        return self

    def transform(self, images: np.ndarray) -> np.ndarray:
        if self._pca is None:
            raise ValueError("PixelPCA.transform called before fit.")
        return self._pca.transform(flatten(images))

    @property
    def explained_variance_ratio(self) -> np.ndarray:
        if self._pca is None:
            raise ValueError("PixelPCA is not fitted.")
        return self._pca.explained_variance_ratio_
