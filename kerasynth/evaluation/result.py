"""What an evaluation returns: its metrics, its page and its figures."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kerasynth import report


@dataclasses.dataclass
class Evaluation:
    """Metrics (JSON-ready), the report page and its figures."""

    metrics: dict[str, Any]
    page: str
    figures: dict[str, bytes]

    def write(self, output, overwrite: bool = False) -> Path:
        return report.write_report(
            output, self.metrics, self.page, self.figures, overwrite=overwrite
        )

    def summary(self) -> str:
        """One line for the CLI."""
        parts = [f"{k} {v}" for k, v in self.metrics.get("headline", {}).items()]
        return "; ".join(parts)


def jsonable(value):
    """`value` with frames, arrays and NumPy scalars made JSON-ready."""
    if isinstance(value, pd.DataFrame):
        return value.to_dict()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value
