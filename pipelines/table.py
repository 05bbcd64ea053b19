"""The table pipeline: a medical table -> a blessed, pushed table generator."""

from __future__ import annotations

from kerasynth.pipelines.common import chain
from kerasynth.pipelines.runner import Step


def table_pipeline(
    model: str,
    *,
    data: str | None = None,
    columns: list[str] | None = None,
    dropna: bool = False,
    epochs: int | None = None,
    target: str | None = None,
    holdout_by: str | None = None,
    thresholds: dict | None = None,
    serving_dir: str = "serving",
    name: str | None = None,
    force: bool = False,
    seed: int = 0,
) -> list[Step]:
    """Ingest a table (`data`, or scikit-learn's diabetes table), train
    `model` with a held-out fifth (whole people with `holdout_by`,
    ``COLUMN[:REGEX]``: `kerasynth.data.groups`), evaluate (quality,
    privacy, utility on `target`) and export if blessed."""
    return chain(
        "table", model, source=data,
        ingest_parameters={"columns": columns, "dropna": dropna,
                           "holdout_by": holdout_by},
        train_parameters={"epochs": epochs},
        thresholds=thresholds, target=target, serving_dir=serving_dir, name=name,
        force=force, seed=seed,
    )  # fmt: skip
