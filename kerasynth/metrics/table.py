"""Table fidelity metrics: real and synthetic DataFrames column by column."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats


def numeric_columns(frame: pd.DataFrame) -> list[str]:
    """The columns of `frame` with a numeric (not boolean) dtype."""
    return [
        c
        for c in frame.columns
        if pd.api.types.is_numeric_dtype(frame[c])
        and not pd.api.types.is_bool_dtype(frame[c])
    ]


def ks_statistics(
    real: pd.DataFrame, synthetic: pd.DataFrame, columns: list[str] | None = None
) -> dict[str, float]:
    """The two-sample Kolmogorov-Smirnov statistic per numeric column.

    0 means the two empirical distributions are identical, 1 that they do
    not overlap. Missing values are left out of both samples.

    Args:
        real: the real table.
        synthetic: the synthetic table (same columns).
        columns: the columns to compare (default: the numeric ones of `real`).
    """
    columns = columns or numeric_columns(real)
    missing = [c for c in columns if c not in synthetic.columns]
    if missing:
        raise ValueError(f"Synthetic table lacks columns {missing}.")
    result = {}
    for column in columns:
        a = pd.to_numeric(real[column], errors="coerce").dropna().to_numpy()
        b = pd.to_numeric(synthetic[column], errors="coerce").dropna().to_numpy()
        if len(a) == 0 or len(b) == 0:
            result[column] = 1.0
            continue
        result[column] = float(stats.ks_2samp(a, b).statistic)
    return result


def mean_ks(real: pd.DataFrame, synthetic: pd.DataFrame, columns=None) -> float:
    """The mean of `ks_statistics` over the columns."""
    return float(np.mean(list(ks_statistics(real, synthetic, columns).values())))
