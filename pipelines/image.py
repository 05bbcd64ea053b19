"""The image pipeline: MRI slices -> a blessed, pushed image generator."""

from __future__ import annotations

from kerasynth import registry
from kerasynth.pipelines.common import chain
from kerasynth.pipelines.runner import Step


def image_pipeline(
    model: str,
    *,
    data: str | None = None,
    image_size: int | None = None,
    channels: int | None = None,
    epochs: int | None = None,
    conditional: bool = False,
    holdout_by: str | None = None,
    thresholds: dict | None = None,
    serving_dir: str = "serving",
    name: str | None = None,
    force: bool = False,
    seed: int = 0,
) -> list[Step]:
    """Ingest images (`data`, or the embedded MNI152 slices), train `model`
    with a held-out fifth (whole people with `holdout_by`, ``KEY[:REGEX]``:
    `kerasynth.data.groups`), evaluate (fidelity, memorization) and export
    if blessed. `image_size` and `channels` default to the model's own."""
    given = {"image_size": image_size, "channels": channels}
    given = {name: value for name, value in given.items() if value is not None}
    sizes = {**registry.model_arguments(registry.get_model_class(model)), **given}
    return chain(
        "image", model, source=data,
        ingest_parameters={"image_size": sizes["image_size"],
                           "channels": sizes["channels"], "holdout_by": holdout_by},
        train_parameters={"epochs": epochs, "conditional": conditional,
                          "model_kwargs": given},
        thresholds=thresholds, target=None, serving_dir=serving_dir, name=name,
        force=force, seed=seed,
    )  # fmt: skip
