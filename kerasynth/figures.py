"""The report's figures: matplotlib drawings returned as PNG bytes.

Drawn with matplotlib's Agg backend (no screen); `kerasynth.report` embeds
them in the page, `kerasynth.callbacks.SampleRows` writes them per epoch.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from kerasynth import image_output  # noqa: E402

REAL_COLOR, SYNTHETIC_COLOR = "#1f77b4", "#ff7f0e"


def _png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close(figure)
    return buffer.getvalue()


def distribution_figure(real: pd.DataFrame, synthetic: pd.DataFrame) -> bytes:
    """One panel per column: overlaid histograms for numbers, side-by-side
    frequency bars for categories (the study's Figures 6 to 8)."""
    columns = list(real.columns)
    cols = min(3, len(columns))
    rows = math.ceil(len(columns) / cols)
    figure, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.0 * rows))
    axes = np.atleast_1d(axes).ravel()
    for axis, column in zip(axes, columns, strict=False):
        a, b = real[column].dropna(), synthetic[column].dropna()
        if pd.api.types.is_numeric_dtype(a) and not pd.api.types.is_bool_dtype(a):
            bins = np.histogram_bin_edges(np.concatenate([a, b]).astype(float), 30)
            axis.hist(a, bins, alpha=0.55, density=True, color=REAL_COLOR, label="real")
            axis.hist(b, bins, alpha=0.55, density=True, color=SYNTHETIC_COLOR,
                      label="synthetic")  # fmt: skip
        else:
            shares = pd.DataFrame(
                {"real": a.astype(str).value_counts(normalize=True),
                 "synthetic": b.astype(str).value_counts(normalize=True)}
            ).fillna(0.0)  # fmt: skip
            positions = np.arange(len(shares))
            axis.bar(positions - 0.2, shares["real"], 0.4, color=REAL_COLOR,
                     label="real")  # fmt: skip
            axis.bar(positions + 0.2, shares["synthetic"], 0.4, color=SYNTHETIC_COLOR,
                     label="synthetic")  # fmt: skip
            axis.set_xticks(positions, shares.index, rotation=45, ha="right")
        axis.set_title(str(column))
    for axis in axes[len(columns) :]:
        axis.axis("off")
    axes[0].legend()
    figure.tight_layout()
    return _png(figure)


def heatmaps_figure(matrices: Mapping[str, pd.DataFrame]) -> bytes:
    """Correlation matrices side by side (real, synthetic, difference)."""
    figure, axes = plt.subplots(1, len(matrices), figsize=(4.6 * len(matrices), 4))
    for axis, (title, matrix) in zip(np.atleast_1d(axes), matrices.items(),
                                      strict=True):  # fmt: skip
        matrix = pd.DataFrame(matrix)
        image = axis.imshow(matrix.to_numpy(float), vmin=-1, vmax=1, cmap="coolwarm")
        axis.set_xticks(range(len(matrix)), matrix.columns, rotation=90)
        axis.set_yticks(range(len(matrix)), matrix.index)
        axis.set_title(title)
    figure.colorbar(image, ax=np.atleast_1d(axes).tolist(), shrink=0.8)
    return _png(figure)


def pca_figure(real_points: np.ndarray, synthetic_points: np.ndarray, title: str):
    """The first two principal components of real and synthetic samples
    (the study's Figures 10, 13 and 17)."""
    figure, axis = plt.subplots(figsize=(5, 4.2))
    axis.scatter(*real_points[:, :2].T, s=10, alpha=0.6, color=REAL_COLOR,
                 label="real")  # fmt: skip
    axis.scatter(*synthetic_points[:, :2].T, s=10, alpha=0.6, color=SYNTHETIC_COLOR,
                 label="synthetic")  # fmt: skip
    axis.set_xlabel("PC 1")
    axis.set_ylabel("PC 2")
    axis.set_title(title)
    axis.legend()
    return _png(figure)


def histograms_figure(values: Mapping[str, np.ndarray], title: str) -> bytes:
    """Histograms of per-image metrics (the study's Figures 14 and 18)."""
    figure, axes = plt.subplots(1, len(values), figsize=(4.2 * len(values), 3.2))
    for axis, (name, data) in zip(np.atleast_1d(axes), values.items(), strict=True):
        data = np.asarray(data, float)
        axis.hist(data[np.isfinite(data)], 30, color=SYNTHETIC_COLOR)
        axis.set_title(name)
    figure.suptitle(title)
    figure.tight_layout()
    return _png(figure)


def grid_png(images: np.ndarray) -> bytes:
    """A PNG grid of images in [-1, 1]."""
    from PIL import Image

    grid = image_output.make_grid(images)
    buffer = io.BytesIO()
    Image.fromarray(grid[..., 0] if grid.shape[-1] == 1 else grid).save(buffer, "PNG")
    return buffer.getvalue()


def pairs_png(left: np.ndarray, right: np.ndarray) -> bytes:
    """Pairs side by side: each row is (left[i], right[i])."""
    tiles = np.stack([left, right], axis=1).reshape(-1, *left.shape[1:])
    from PIL import Image

    grid = image_output.make_grid(tiles, columns=2)
    buffer = io.BytesIO()
    Image.fromarray(grid[..., 0] if grid.shape[-1] == 1 else grid).save(buffer, "PNG")
    return buffer.getvalue()


# === The page ===
