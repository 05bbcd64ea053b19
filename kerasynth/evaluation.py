"""Evaluate synthetic data against real data: fidelity, privacy, utility.

`evaluate_table` and `evaluate_images` compute every metric of
`kerasynth.metrics` on a real and a synthetic set and lay out the report
(`kerasynth.report`); `evaluate_run` and `evaluate_synthetic` find those sets
for ``kerasynth evaluate --run DIR`` and ``--synthetic PATH``. Every figure
is stored with its protocol (sample counts, feature space, seed) in
``metrics.json``.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kerasynth import figures as figures_module
from kerasynth import report

logger = logging.getLogger("kerasynth")

# What makes a synthetic image a copy of a training image.
IMAGE_COPY_THRESHOLD = 0.95  # SSIM
# SSIM misses noisy copies (noise of 0.05 drags a copy's SSIM to ~0.92 on
# flat MRI background), so the audit also runs on normalized correlation.
IMAGE_NCC_COPY_THRESHOLD = 0.99
# How the table headline figures are defined (shared/FIDELITY.md).
QUALITY_DEFINITION = (
    "sdmetrics 0.32 QualityReport: Column Pair Trends over the pairs with "
    "real |r| > 0.5 or Cramer's V > 0.3"
)
DETECTION_DEFINITION = (
    "random forest (200 trees), training vs synthetic rows, 5-fold out-of-fold ROC AUC"
)


@dataclasses.dataclass
class Evaluation:
    """Metrics (JSON-ready), the report page and its figures."""

    metrics: dict[str, Any]
    page: str
    figures: dict[str, bytes]

    def write(self, output, overwrite: bool = False) -> Path:
        return report.write_report(
            output, self.metrics, self.page, self.figures, overwrite=overwrite
        )

    def summary(self) -> str:
        """One line for the CLI."""
        parts = [f"{k} {v}" for k, v in self.metrics.get("headline", {}).items()]
        return "; ".join(parts)


def _jsonable(value):
    if isinstance(value, pd.DataFrame):
        return value.to_dict()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


# === Tables ===


def evaluate_table(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    *,
    holdout: pd.DataFrame | None = None,
    target: str | None = None,
    transformer=None,
    seed: int = 0,
    title: str = "Synthetic table report",
    protocol: dict[str, Any] | None = None,
    floor: pd.DataFrame | None = None,
) -> Evaluation:
    """Every table metric, the figures and the page.

    The headline figures follow `shared/FIDELITY.md`: sdmetrics 0.32's
    quality score (Column Pair Trends over the pairs whose real association
    meets its threshold), a random forest's detection AUC, the worst gap of
    the strong relationships, and with a holdout the DCR excess.

    Args:
        real: the real rows the generator learned from (its training rows).
        synthetic: synthetic rows with (a subset of) the same columns; the
            real tables are restricted to the synthetic table's columns.
        holdout: real rows the generator never saw (privacy and utility need
            them; without them those sections are left out and say why).
        target: a column to predict for train-synthetic-test-real utility.
        transformer: the run's `TableTransformer` (privacy distances are
            taken in its normalised space), or `None`.
        seed: seeds every sampled metric.
        title: the page title.
        protocol: facts about the sets, stored with the metrics.
        floor: optional rows of a floor model (columns drawn independently)
            with the synthetic table's columns: its headline figures
            (`metrics["floor"]`) are shown beside the model's.
    """
    from kerasynth.metrics import privacy, table, utility

    missing = [c for c in synthetic.columns if c not in real.columns]
    if missing:
        raise ValueError(f"Synthetic columns {missing} are not in the real table.")
    columns = list(synthetic.columns)
    real = real[columns]
    holdout = None if holdout is None else holdout[columns]
    # The run's schema, so the report judges each column as the model saw it.
    schema = None if transformer is None else transformer.schema
    kinds = None if schema is None else {c: schema.column(c).kind for c in columns}
    quality = table.quality_score(real, synthetic, schema=schema)
    metrics: dict[str, Any] = {
        "protocol": {
            "real_rows": len(real),
            "synthetic_rows": len(synthetic),
            "holdout_rows": None if holdout is None else len(holdout),
            "columns": columns,
            "seed": seed,
            "quality": QUALITY_DEFINITION,
            "detection": DETECTION_DEFINITION,
            **(protocol or {}),
        },
        "quality": quality,
        "relationships": table.relationships(real, synthetic, schema=schema),
        "table_one": table.table_one(real, synthetic, schema=schema),
        "ks": table.ks_tests(real, synthetic, schema=schema),
        "categorical": table.categorical_tests(real, synthetic, schema=schema),
        "correlations": table.correlations(real, synthetic, schema=schema),
        "detection_auc": table.detection_auc(real, synthetic, seed=seed, schema=schema),
    }
    mean_ks = table.mean_ks(real, synthetic) if table.numeric_columns(real) else None
    metrics["mean_ks"] = mean_ks
    if holdout is not None:
        metrics["privacy"] = privacy.privacy_report(
            real, holdout, synthetic, transformer=transformer
        )
        if target is not None:
            metrics["utility"] = utility.tstr_table(
                real, synthetic, holdout, target, seed=seed, metadata=kinds
            )
    figures = {
        "distributions": figures_module.distribution_figure(real, synthetic),
        "pca": _table_pca(real, synthetic, seed),
    }
    corr = metrics["correlations"]
    if (
        isinstance(corr, dict)
        and corr.get("real") is not None
        and len(pd.DataFrame(corr["real"]))
    ):
        figures["correlations"] = figures_module.heatmaps_figure(
            {k: pd.DataFrame(corr[k]) for k in ("real", "synthetic", "difference")}
        )
    metrics["headline"] = _table_headline(metrics)
    if floor is not None:
        metrics["floor"] = _floor_headline(real, floor[columns], holdout, schema, seed)
    metrics = _jsonable(metrics)
    page = report.table_page(title, metrics, figures, target=target)
    return Evaluation(metrics, page, figures)


def _table_headline(metrics: dict) -> dict[str, float | None]:
    """The figures a table's summary shows, rounded, from its metrics."""

    def rounded(value):
        return None if value is None else round(value, 4)

    headline = {
        "quality": rounded(metrics["quality"]["overall"]),
        "column_pair_trends": rounded(metrics["quality"]["column_pair_trends"]),
        "mean_ks": rounded(metrics["mean_ks"]),
        "detection_auc": rounded(metrics["detection_auc"]),
        "worst_relationship_gap": rounded(metrics["relationships"]["worst_gap"]),
    }
    privacy = metrics.get("privacy")
    if privacy is not None:
        if "mia_auc" in privacy:
            headline["mia_auc"] = rounded(privacy["mia_auc"])
        headline["dcr_excess"] = rounded(privacy["dcr_excess"])
        headline["dcr_excess_shared_ranges"] = rounded(
            privacy["dcr_overfitting"]["dcr_excess_shared_ranges"]
        )
    return headline


def _floor_headline(real, floor, holdout, schema, seed) -> dict[str, float | None]:
    """`_table_headline` of a floor model's rows (no privacy attack, no utility)."""
    from kerasynth.metrics import dcr_overfitting, table

    quality = table.quality_score(real, floor, schema=schema)
    metrics: dict[str, Any] = {
        "quality": quality,
        "mean_ks": table.mean_ks(real, floor) if table.numeric_columns(real) else None,
        "detection_auc": table.detection_auc(real, floor, seed=seed, schema=schema),
        "relationships": table.relationships(real, floor, schema=schema),
    }
    if holdout is not None:
        kinds = quality["details"]["kinds"]
        overfitting = dcr_overfitting.dcr_overfitting(real, holdout, floor, kinds)
        metrics["privacy"] = {
            "dcr_excess": overfitting["dcr_excess"],
            "dcr_overfitting": overfitting,
        }
    return _table_headline(metrics)


def _table_pca(real, synthetic, seed):
    from sklearn.decomposition import PCA

    encoded = pd.get_dummies(pd.concat([real, synthetic]), dtype=float)
    encoded = encoded.fillna(encoded.mean())
    values = encoded.to_numpy(float)
    values = (values - values.mean(0)) / np.maximum(values.std(0), 1e-9)
    points = PCA(2, random_state=seed).fit_transform(values)
    return figures_module.pca_figure(points[: len(real)], points[len(real) :],
                             "Rows in the first two principal components")  # fmt: skip


# === Images ===


def evaluate_images(
    real: np.ndarray,
    synthetic: np.ndarray,
    *,
    holdout: np.ndarray | None = None,
    pairs: tuple[np.ndarray, np.ndarray] | None = None,
    labels: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    seed: int = 0,
    title: str = "Synthetic image report",
    protocol: dict[str, Any] | None = None,
    derived_from_real: bool = False,
) -> Evaluation:
    """Every image metric, the figures and the page.

    Args:
        real: the real images the generator learned from, in [-1, 1].
        synthetic: synthetic images, same shape per image.
        holdout: real images the generator never saw (the memorization
            reference and the utility test set).
        pairs: (reference, output) pairs for per-pair PSNR/SSIM, when the
            model has them (a VAE's reconstructions, Pix2Pix's translations);
            otherwise each synthetic image is paired with its nearest
            training image.
        labels: (real, synthetic, holdout) labels for train-synthetic-test-
            real utility (a conditional model; needs `holdout`).
        seed: seeds every sampled metric.
        title: the page title.
        protocol: facts about the sets, stored with the metrics.
        derived_from_real: the samples are made from real images (Pix2Pix's
            noise-input synthesis): the privacy verdict says so whatever the
            copy thresholds find.
    """
    from kerasynth.metrics import image, memorization

    fidelity = image.image_fidelity(real, synthetic, features="pca", seed=seed)
    audit = memorization.memorization_audit(
        synthetic, real, threshold=IMAGE_COPY_THRESHOLD, holdout=holdout
    )
    audit_ncc = memorization.memorization_audit(
        synthetic, real, threshold=IMAGE_NCC_COPY_THRESHOLD, metric="ncc",
        holdout=holdout,
    )  # fmt: skip
    if pairs is None:
        indices, _ = memorization.nearest_training_images(synthetic, real, metric="ncc")
        pairs, pair_kind = (real[indices], synthetic), "nearest training image (NCC)"
    else:
        pair_kind = "reconstruction/translation of the real image"
    reference, outputs = pairs
    per_pair = {
        "PSNR (dB)": image.psnr(reference, outputs),
        "SSIM": image.ssim(reference, outputs),
        "MSE": image.mse(reference, outputs),
    }
    metrics: dict[str, Any] = {
        "protocol": {
            "real_images": len(real),
            "synthetic_images": len(synthetic),
            "holdout_images": None if holdout is None else len(holdout),
            "image_shape": list(real.shape[1:]),
            "data_range": "[-1, 1] (range 2)",
            "per_pair": pair_kind,
            "seed": seed,
            **(protocol or {}),
        },
        "fidelity": fidelity,
        "per_pair": {
            name: {
                "median": float(np.nanmedian(v)),
                "mode": _mode(v),
                "mean": float(np.nanmean(v[np.isfinite(v)])),
            }
            for name, v in per_pair.items()
        },  # fmt: skip
        "memorization": {"ssim": audit, "ncc": audit_ncc},
        "derived_from_real": derived_from_real,
    }
    copy_share = max(audit["copy_share"], audit_ncc["copy_share"])
    if labels is not None and holdout is not None:
        from kerasynth.metrics import utility

        metrics["utility"] = utility.tstr_images(
            real, labels[0], synthetic, labels[1], holdout, labels[2], seed=seed
        )
    top = audit["top_pairs"][:8]
    figures = {
        "samples": figures_module.grid_png(synthetic[:64]),
        "pca": _image_pca(real, synthetic, seed),
        "per_pair_histograms": figures_module.histograms_figure(
            per_pair, f"Per-pair metrics ({pair_kind})"
        ),
    }
    if top:
        figures["nearest_pairs"] = figures_module.pairs_png(
            synthetic[[p["synthetic"] for p in top]], real[[p["train"] for p in top]]
        )
    metrics["headline"] = {
        "frechet_distance": round(float(fidelity["frechet_distance"]), 3),
        "coverage": round(float(fidelity["coverage"]), 3),
        "copy_share": round(float(copy_share), 4),
        "psnr_median": round(metrics["per_pair"]["PSNR (dB)"]["median"], 2),
        "ssim_median": round(metrics["per_pair"]["SSIM"]["median"], 3),
    }
    metrics = _jsonable(metrics)
    page = report.image_page(
        title, metrics, figures,
        copy_thresholds={"ssim": IMAGE_COPY_THRESHOLD, "ncc": IMAGE_NCC_COPY_THRESHOLD},
    )  # fmt: skip
    return Evaluation(metrics, page, figures)


def _mode(values: np.ndarray, bins: int = 40) -> float:
    values = np.asarray(values, float)
    values = values[np.isfinite(values)]
    if not len(values):
        return float("nan")
    counts, edges = np.histogram(values, bins)
    top = counts.argmax()
    return float((edges[top] + edges[top + 1]) / 2)


def _image_pca(real, synthetic, seed):
    from kerasynth.metrics.projection import PixelPCA

    pca = PixelPCA(2, seed=seed).fit(real)
    title = "Raw pixels in the first two principal components"
    return figures_module.pca_figure(
        pca.transform(real), pca.transform(synthetic), title
    )


# === Finding the sets ===


def _sets(load, source, holdout, fraction, seed):
    """(train, holdout): an explicit holdout source, or the seeded split
    that training made (`kerasynth.data.splits.split`)."""
    from kerasynth.data import splits

    if holdout is not None:
        return load(source), load(holdout)
    return splits.split(load(source), fraction, seed)


def evaluate_run(
    run_dir,
    *,
    data: str | None = None,
    holdout: str | None = None,
    holdout_fraction: float | None = None,
    target: str | None = None,
    num_samples: int | None = None,
    seed: int = 0,
) -> Evaluation:
    """Evaluates a run directory's model against its data.

    The run's preprocessing applies (table columns and dropna, image size
    and channels); `data` defaults to the run's training source. A run
    trained with a holdout fraction gets the same split back (from its seed);
    otherwise `holdout` or `holdout_fraction` give one (a fraction of data
    the model *did* see measures nothing about privacy: the report says so).
    The model's task says which sets to compare (`Task.evaluation_sets`).
    """
    from kerasynth import runs, tasks

    config = runs.read_config(run_dir)
    model = runs.load_model(run_dir)
    task = tasks.task_of(model)
    recorded = config["data"]
    source = data if data is not None else recorded["source"]
    trained_without = recorded.get("holdout_fraction") or 0.0
    fraction = trained_without or holdout_fraction
    protocol = {
        "run": str(run_dir),
        "model": config["model"],
        "data": source if source is not None else "embedded default",
        "holdout": holdout or (f"{fraction:.0%} seeded split" if fraction else None),
        "holdout_unseen_by_model": bool(holdout or trained_without),
    }

    def load(path):
        return task.load(path, model=model, record=recorded)

    train, held = _sets(load, source, holdout, fraction, config["training"]["seed"])
    sets = task.evaluation_sets(
        model, train, held, num_samples=num_samples, seed=seed, target=target
    )
    evaluate = {"table": evaluate_table, "images": evaluate_images}[task.data_kind]
    return evaluate(
        **sets, seed=seed, title=f"{config['model']} report", protocol=protocol
    )


def align_dtypes(synthetic: pd.DataFrame, real: pd.DataFrame) -> pd.DataFrame:
    """`synthetic` with each column cast to the real column's kind: a CSV
    written by another tool reads ``sex`` back as numbers where the real
    table has the text "1"/"2", and copies would go unseen."""
    aligned = synthetic.copy()
    for column in real.columns:
        target = real[column].dtype
        try:
            if pd.api.types.is_numeric_dtype(target):
                aligned[column] = pd.to_numeric(aligned[column], errors="raise")
            else:
                aligned[column] = aligned[column].map(
                    lambda v: v if pd.isna(v) else str(v)
                )
        except (TypeError, ValueError) as error:
            raise ValueError(
                f"Synthetic column {column!r} does not fit the real column's "
                f"type ({target}): {error}"
            ) from None
    return aligned


def evaluate_synthetic(
    synthetic_path,
    *,
    data: str | None,
    holdout: str | None = None,
    holdout_fraction: float | None = None,
    target: str | None = None,
    image_size: int = 64,
    channels: int = 1,
    seed: int = 0,
) -> Evaluation:
    """Evaluates a synthetic CSV/Parquet table or image folder made by any
    tool (SDV's included) against real data (restricted to the synthetic
    table's columns)."""
    path = Path(synthetic_path)
    protocol = {"synthetic": str(path), "data": data or "embedded default",
                "holdout": holdout or (f"{holdout_fraction:.0%} seeded split"
                                       if holdout_fraction else None)}  # fmt: skip
    if path.suffix.lower() in (".csv", ".parquet"):
        from kerasynth.data.tables import load_table

        synthetic = (
            pd.read_csv(path)
            if path.suffix.lower() == ".csv"
            else pd.read_parquet(path)
        )

        def load(source):
            return load_table(source, columns=list(synthetic.columns))

        train, held = _sets(load, data, holdout, holdout_fraction, seed)
        synthetic = align_dtypes(synthetic[list(train.frame.columns)], train.frame)
        return evaluate_table(
            train.frame, synthetic,
            holdout=None if held is None else held.frame, target=target, seed=seed,
            title=f"Report on {path.name}", protocol=protocol,
        )  # fmt: skip
    from kerasynth.data.images import load_images

    def load(source):
        return load_images(source, image_size=image_size, channels=channels)

    fake = load(path)
    train, held = _sets(load, data, holdout, holdout_fraction, seed)
    return evaluate_images(
        train.images, fake.images, holdout=None if held is None else held.images,
        seed=seed, title=f"Report on {path.name}", protocol=protocol,
    )  # fmt: skip
