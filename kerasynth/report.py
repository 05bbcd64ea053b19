"""The evaluation report: `metrics.json`, PNG figures and one `report.html`.

`write_report(results, figures, output)` writes everything atomically (a
staged folder renamed into place). The HTML page is self-contained: figures
are embedded as base64 PNGs, so it can be mailed or opened from anywhere.
The summary comes first (quality, privacy verdict, utility), then the
details. Figures are drawn with matplotlib's Agg backend (no screen).
"""

from __future__ import annotations

import base64
import html
import io
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from kerasynth import atomic, imaging  # noqa: E402

REAL_COLOR, SYNTHETIC_COLOR = "#1f77b4", "#ff7f0e"

# === Figures (each returns PNG bytes) ===


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

    grid = imaging.make_grid(images)
    buffer = io.BytesIO()
    Image.fromarray(grid[..., 0] if grid.shape[-1] == 1 else grid).save(buffer, "PNG")
    return buffer.getvalue()


def pairs_png(left: np.ndarray, right: np.ndarray) -> bytes:
    """Pairs side by side: each row is (left[i], right[i])."""
    tiles = np.stack([left, right], axis=1).reshape(-1, *left.shape[1:])
    from PIL import Image

    grid = imaging.make_grid(tiles, columns=2)
    buffer = io.BytesIO()
    Image.fromarray(grid[..., 0] if grid.shape[-1] == 1 else grid).save(buffer, "PNG")
    return buffer.getvalue()


# === The page ===


def _format(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return html.escape(str(value))


def _flatten(rows: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat = {}
    for key, value in rows.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(_flatten(value, f"{name} "))
        elif not isinstance(value, list | tuple):
            flat[name] = value
    return flat


def _table(rows: Mapping[str, Any]) -> str:
    body = "".join(
        f"<tr><th>{html.escape(str(k))}</th><td>{_format(v)}</td></tr>"
        for k, v in _flatten(rows).items()
    )
    return f"<table>{body}</table>"


def _frame_table(frame: pd.DataFrame) -> str:
    return frame.to_html(float_format=lambda v: f"{v:.4g}", border=0)


STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1100px;
       color: #222; }
h1 { margin-bottom: 0.2rem; } .protocol { color: #555; }
.summary { display: flex; gap: 1rem; flex-wrap: wrap; margin: 1rem 0 2rem; }
.card { border: 1px solid #ddd; border-radius: 8px; padding: 0.8rem 1.2rem;
        min-width: 14rem; }
.card .value { font-size: 1.6rem; font-weight: 600; }
.ok { color: #1a7f37; } .warn { color: #b35900; } .bad { color: #c62828; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; }
th, td { border-bottom: 1px solid #eee; padding: 0.25rem 0.7rem; text-align: right; }
th { text-align: left; } figure { margin: 1rem 0 2rem; }
figure img { max-width: 100%; } figcaption { color: #555; }
"""


def _slug(text: str) -> str:
    return html.escape(text.lower().replace(" ", "-"))


def render_html(title: str, summary: list[dict], sections: list[dict]) -> str:
    """The report page.

    Args:
        title: the page title.
        summary: cards ``{"label", "value", "note", "level"}`` (level: ok,
            warn or bad).
        sections: ``{"title", "tables": {name: dict | DataFrame},
            "figures": {caption: png_bytes}, "text"}``.
    """
    cards = "".join(
        f'<div class="card" id="summary-{_slug(c["label"])}">'
        f"<div>{html.escape(c['label'])}</div>"
        f'<div class="value {c.get("level", "ok")}">{_format(c["value"])}</div>'
        f"<div>{html.escape(c.get('note', ''))}</div></div>"
        for c in summary
    )
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f'<section class="summary" id="summary">{cards}</section>',
    ]
    for section in sections:
        parts.append(f"<section><h2>{html.escape(section['title'])}</h2>")
        if section.get("text"):
            parts.append(f"<p class='protocol'>{html.escape(section['text'])}</p>")
        for name, table in section.get("tables", {}).items():
            parts.append(f"<h3>{html.escape(name)}</h3>")
            is_frame = isinstance(table, pd.DataFrame)
            parts.append(_frame_table(table) if is_frame else _table(table))
        for caption, png in section.get("figures", {}).items():
            encoded = base64.b64encode(png).decode("ascii")
            parts.append(
                f"<figure><img alt='{html.escape(caption)}' "
                f"src='data:image/png;base64,{encoded}'>"
                f"<figcaption>{html.escape(caption)}</figcaption></figure>"
            )
        parts.append("</section>")
    parts.append("</body></html>")
    return "".join(parts)


def write_report(
    output: str | Path,
    metrics: dict[str, Any],
    page: str,
    figures: Mapping[str, bytes],
    overwrite: bool = False,
) -> Path:
    """Writes ``metrics.json``, ``figures/*.png`` and ``report.html`` into
    `output`, staged and renamed into place."""
    with atomic.staged_directory(Path(output), overwrite=overwrite) as staging:
        atomic.write_json(staging / "metrics.json", metrics)
        (staging / "figures").mkdir()
        for name, png in figures.items():
            (staging / "figures" / f"{name}.png").write_bytes(png)
        (staging / "report.html").write_text(page, encoding="utf-8")
    return Path(output)
