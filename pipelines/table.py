"""The table pipeline: a medical table -> a blessed, pushed table generator."""

from __future__ import annotations

from kerasynth.pipelines.common import chain, source_fingerprint
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
    metadata: str | None = None,
    dp_epsilon: float | None = None,
    dp_delta: float | None = None,
    thresholds: dict | None = None,
    serving_dir: str = "serving",
    name: str | None = None,
    force: bool = False,
    seed: int = 0,
) -> list[Step]:
    """Ingest a table (`data`, or scikit-learn's diabetes table), train
    `model` with a held-out fifth (whole people with `holdout_by`,
    ``COLUMN[:REGEX]``: `kerasynth.data.groups`), evaluate (quality,
    privacy, utility on `target`) and export if blessed. A private model
    (``dp_*``) trains under `dp_epsilon` (and `dp_delta`) with the public
    bounds and categories of the `metadata` file."""
    return chain(
        "table", model, source=data,
        ingest_parameters={"columns": columns, "dropna": dropna,
                           "holdout_by": holdout_by},
        train_parameters={"epochs": epochs, "dp_epsilon": dp_epsilon,
                          "dp_delta": dp_delta, "public_metadata": metadata,
                          "public_metadata_fingerprint": source_fingerprint(metadata)
                          if metadata else ""},
        thresholds=thresholds, target=target, serving_dir=serving_dir, name=name,
        force=force, seed=seed,
    )  # fmt: skip
