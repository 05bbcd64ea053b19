"""`evaluate_table`: every table metric, the figures and the page."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from kerasynth import figures as figures_module
from kerasynth import report
from kerasynth.evaluation.result import Evaluation, jsonable

# How the table headline figures are defined (shared/FIDELITY.md).
QUALITY_DEFINITION = (
    "sdmetrics 0.32 QualityReport: Column Pair Trends over the pairs with "
    "real |r| > 0.5 or Cramer's V > 0.3"
)
DETECTION_DEFINITION = (
    "random forest (200 trees), training vs synthetic rows, 5-fold out-of-fold ROC AUC"
)


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
    differential_privacy: dict | None | bool = False,
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
        differential_privacy: the model's privacy record (its budget), `None`
            for a model trained without one, `False` when unknown (rows from
            a file): the summary shows the budget, or that there is none.
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
    if differential_privacy is not False:
        metrics["differential_privacy"] = differential_privacy
    metrics["headline"] = _table_headline(metrics)
    if differential_privacy:
        metrics["headline"]["epsilon"] = differential_privacy["epsilon"]
    if floor is not None:
        metrics["floor"] = _floor_headline(real, floor[columns], holdout, schema, seed)
    metrics = jsonable(metrics)
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
    # A one-column table has one feature: its second axis is zeros.
    components = min(2, values.shape[1])
    points = PCA(components, random_state=seed).fit_transform(values)
    if components < 2:
        points = np.column_stack([points, np.zeros(len(points))])
    return figures_module.pca_figure(points[: len(real)], points[len(real) :],
                             "Rows in the first two principal components")  # fmt: skip
