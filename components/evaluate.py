"""The evaluate component: `Model` + `Examples` -> `Evaluation` and a
`ModelBlessing` against thresholds on fidelity and privacy (TFX's
Evaluator gate, with the privacy metrics TFX lacks)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kerasynth import verdicts
from kerasynth.components.artifacts import Evaluation, Examples, Model, ModelBlessing
from kerasynth.components.component import Input, Output, component
from kerasynth.components.ingest import data_file

# metric name -> how to read it from metrics.json
METRICS = {
    "quality": lambda m: m["quality"]["overall"],
    # float(None) is a TypeError: "not computed" (no pair meets the threshold).
    "column_pair_trends": lambda m: float(m["quality"]["column_pair_trends"]),
    # No strongly related pair: no gap.
    "worst_relationship_gap": lambda m: m["relationships"]["worst_gap"] or 0.0,
    "mean_ks": lambda m: m["mean_ks"],
    "detection_auc": lambda m: m["detection_auc"],
    "mia_auc": lambda m: m["privacy"]["mia_auc"],
    "closer_to_train_share": lambda m: m["privacy"]["closer_to_train_share"],
    "exact_copy_share": lambda m: m["privacy"]["exact_copies"]["share"],
    "dcr_excess": lambda m: m["privacy"]["dcr_excess"],
    "dcr_excess_shared_ranges": lambda m: m["privacy"]["dcr_overfitting"][
        "dcr_excess_shared_ranges"
    ],
    # Images: the CNN detector's AUC (also stored as `detection_auc`, so a
    # thresholds file may name either; the default gate's limits are those
    # of `image_detection_auc`, for a detector on pixels) and formless share.
    "image_detection_auc": lambda m: m["detection"]["auc"],
    "formless_share": lambda m: m["formless"]["share"],
    "frechet_distance": lambda m: m["fidelity"]["frechet_distance"],
    "coverage": lambda m: m["fidelity"]["coverage"],
    "copy_share": lambda m: max(
        m["memorization"][k]["copy_share"] for k in ("ssim", "ncc")
    ),  # fmt: skip
    "derived_from_real": lambda m: float(m["derived_from_real"]),
    "utility_ratio": lambda m: m["utility"]["ratio"],
    # The budget a differentially private model spent (its record).
    "epsilon": lambda m: m["differential_privacy"]["epsilon"],
}


def load_thresholds(path: str | Path) -> dict[str, dict[str, float]]:
    """Reads and checks a thresholds file (JSON ``{metric: {min|max: x}}``),
    so that a bad one fails before a pipeline trains, not after."""
    try:
        thresholds = json.loads(Path(path).read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"Thresholds file {path} is not JSON: {error}") from None
    if not isinstance(thresholds, dict):
        raise ValueError(
            f"Thresholds file {path} must hold an object of "
            f"{{metric: {{min|max: value}}}}. Received: {thresholds!r}"
        )
    check_thresholds(thresholds)
    return thresholds


def check_thresholds(thresholds: dict[str, dict[str, float]], known=None) -> None:
    """Raises `ValueError` for an unknown metric (of `known`, by default
    `METRICS`) or bound, or a bound that is not a number."""
    known = METRICS if known is None else known
    for name, bounds in thresholds.items():
        if name not in known:
            raise ValueError(
                f"Unknown metric {name!r} in the thresholds. Known metrics: "
                f"{', '.join(sorted(known))}"
            )
        if not isinstance(bounds, dict) or not set(bounds) <= {"min", "max"}:
            raise ValueError(
                f"Threshold of {name!r} must be {{'min': x}} and/or {{'max': x}}. "
                f"Received: {bounds!r}"
            )
        for bound, value in bounds.items():
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(
                    f"Threshold {name}.{bound} must be a number. Received: {value!r}"
                )


def judge(metrics: dict[str, Any], thresholds: dict, known=None) -> list[str]:
    """The failed thresholds, as sentences naming metric, value and bound
    (metrics read as `known`, by default `METRICS`, reads them)."""
    known = METRICS if known is None else known
    failures = []
    for name, bounds in thresholds.items():
        try:
            value = known[name](metrics)
        except (KeyError, TypeError):
            if name == "epsilon":
                failures.append(
                    "epsilon: the model was trained without differential privacy"
                )
            else:
                failures.append(f"{name} was not computed for this run")
            continue
        if "min" in bounds and not value >= bounds["min"]:
            failures.append(f"{name} {value:.4g} is below the minimum {bounds['min']}")
        if "max" in bounds and not value <= bounds["max"]:
            failures.append(f"{name} {value:.4g} is above the maximum {bounds['max']}")
    return failures


@component
def evaluate(
    model: Input[Model],
    examples: Input[Examples],
    evaluation: Output[Evaluation],
    blessing: Output[ModelBlessing],
    *,
    thresholds: dict | None = None,
    target: str | None = None,
    seed: int = 0,
):
    """Writes the report of `model` on `examples` (privacy against the
    run's own holdout) and blesses the model if every threshold holds."""
    from kerasynth import evaluation as evaluation_module
    from kerasynth import tasks

    if thresholds is None:  # what the report shows red, for the model's task
        task = tasks.task_of(model.properties["model"])
        thresholds = verdicts.default_thresholds(task.gated_metrics)
    check_thresholds(thresholds)
    result = evaluation_module.evaluate_run(
        model.uri, data=str(data_file(examples)), target=target, seed=seed
    )
    result.write(evaluation.uri, overwrite=True)
    failures = judge(result.metrics, thresholds)
    evaluation.properties.update(result.metrics.get("headline", {}))
    blessing.properties.update(blessed=not failures, failures=failures)
    verdict = {"blessed": not failures, "failures": failures, "thresholds": thresholds}
    (blessing.path / "verdict.json").write_text(json.dumps(verdict, indent=2))
    # TFX's convention: an empty BLESSED or NOT_BLESSED file.
    (blessing.path / ("BLESSED" if not failures else "NOT_BLESSED")).touch()
