"""Pipelines chaining the components (installed as ``kerasynth.pipelines``):
`image_pipeline`, `table_pipeline` and `run_pipeline`."""

from kerasynth.pipelines.image import image_pipeline
from kerasynth.pipelines.runner import run_pipeline
from kerasynth.pipelines.table import table_pipeline

__all__ = ["image_pipeline", "run_pipeline", "table_pipeline"]
