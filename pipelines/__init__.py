"""Pipelines chaining the components (installed as ``kerasynth.pipelines``):
`image_pipeline`, `table_pipeline`, `pipeline_for` (the one that fits a
model's data), `patients_pipeline` (a table model and an image model
conditioned on it) and `run_pipeline`."""

from __future__ import annotations

import inspect

from kerasynth.pipelines.image import image_pipeline
from kerasynth.pipelines.patients import patients_pipeline
from kerasynth.pipelines.runner import Step, run_pipeline
from kerasynth.pipelines.table import table_pipeline

__all__ = ["image_pipeline", "patients_pipeline", "pipeline_for", "run_pipeline",
           "table_pipeline"]  # fmt: skip

_BY_DATA_KIND = {"images": image_pipeline, "table": table_pipeline}


def pipeline_for(model: str, **options) -> list[Step]:
    """The pipeline of `model`'s data kind (`image_pipeline` or
    `table_pipeline`) with `options`; an option the other kind takes
    (``columns`` for an image model) is a `ValueError`."""
    from kerasynth import tasks

    build = _BY_DATA_KIND[tasks.task_of(model).data_kind]
    accepted = inspect.signature(build).parameters
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise ValueError(
            f"{model} is a model of {tasks.task_of(model).data_kind}: it does not "
            f"take {', '.join(unknown)}. It takes: "
            f"{', '.join(name for name in accepted if name != 'model')}."
        )
    return build(model, **options)
