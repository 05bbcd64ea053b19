"""Evaluate synthetic data against real data: fidelity, privacy, utility.

`evaluate_table` and `evaluate_images` compute every metric of
`kerasynth.metrics` on a real and a synthetic set and lay out the report
(`kerasynth.report`); `evaluate_run` and `evaluate_synthetic` find those sets
for ``kerasynth evaluate --run DIR`` and ``--synthetic PATH``. Every figure
is stored with its protocol (sample counts, feature space, seed) in
``metrics.json``. One module each: `result`, `tables`, `images`, `sets`.
"""

from kerasynth.evaluation.images import (
    IMAGE_COPY_THRESHOLD,
    IMAGE_NCC_COPY_THRESHOLD,
    evaluate_images,
)
from kerasynth.evaluation.result import Evaluation
from kerasynth.evaluation.sets import align_dtypes, evaluate_run, evaluate_synthetic
from kerasynth.evaluation.tables import evaluate_table

__all__ = [
    "IMAGE_COPY_THRESHOLD",
    "IMAGE_NCC_COPY_THRESHOLD",
    "Evaluation",
    "align_dtypes",
    "evaluate_images",
    "evaluate_run",
    "evaluate_synthetic",
    "evaluate_table",
]
