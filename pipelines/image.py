"""The image pipeline: MRI slices -> a blessed, pushed image generator."""

from __future__ import annotations

from kerasynth.pipelines.common import chain
from kerasynth.pipelines.runner import Step


def image_pipeline(
    model: str = "dcgan",
    *,
    data: str | None = None,
    image_size: int = 64,
    channels: int = 1,
    epochs: int | None = None,
    conditional: bool = False,
    thresholds: dict | None = None,
    serving_dir: str = "serving",
    name: str | None = None,
    force: bool = False,
    seed: int = 0,
) -> list[Step]:
    """Ingest images (`data`, or the embedded MNI152 slices), train `model`
    with a held-out fifth, evaluate (fidelity, memorization) and export if
    blessed."""
    return chain(
        "image", model, source=data,
        ingest_parameters={"image_size": image_size, "channels": channels},
        train_parameters={"epochs": epochs, "conditional": conditional,
                          "model_kwargs": {"image_size": image_size,
                                           "channels": channels}},
        thresholds=thresholds, target=None, serving_dir=serving_dir, name=name,
        force=force, seed=seed,
    )  # fmt: skip
