"""The four-step chain both pipelines share: ingest -> train -> evaluate ->
export."""

from __future__ import annotations

from typing import Any

from kerasynth.components.artifacts import fingerprint_folder
from kerasynth.components.evaluate import evaluate
from kerasynth.components.export import export
from kerasynth.components.ingest import ingest
from kerasynth.components.train import train
from kerasynth.pipelines.runner import Step

# Each pipeline trains with a seeded fifth held out, for the gate's privacy
# and fidelity checks against data the model never saw.
HOLDOUT_FRACTION = 0.2


def source_fingerprint(source: str | None) -> str:
    """The content hash of a source path (or the embedded default's name)."""
    if source is None or source.startswith("tfds:"):
        return f"embedded-or-catalog:{source}"
    return fingerprint_folder(source)


def chain(
    modality: str,
    model: str,
    *,
    source: str | None,
    ingest_parameters: dict[str, Any],
    train_parameters: dict[str, Any],
    thresholds: dict | None,
    target: str | None,
    serving_dir: str,
    name: str | None,
    force: bool,
    seed: int,
) -> list[Step]:
    """The steps of a pipeline for one modality."""
    return [
        Step(ingest, parameters={
            "source": source, "modality": modality,
            "source_fingerprint": source_fingerprint(source), **ingest_parameters}),
        Step(train, inputs={"examples": "ingest.examples", "schema": "ingest.schema"},
             parameters={"model_name": model, "seed": seed,
                         "holdout_fraction": HOLDOUT_FRACTION, **train_parameters}),
        Step(evaluate, inputs={"model": "train.model", "examples": "ingest.examples"},
             parameters={"thresholds": thresholds, "target": target, "seed": seed}),
        Step(export, inputs={"model": "train.model", "blessing": "evaluate.blessing"},
             parameters={"serving_dir": serving_dir, "name": name, "force": force}),
    ]  # fmt: skip
