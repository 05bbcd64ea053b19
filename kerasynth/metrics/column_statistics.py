"""Per-column statistics of a real and a synthetic table.

- `table_one`: the study's Table I, mean, standard deviation, skewness and
  kurtosis of every numerical column, real next to synthetic (missing values
  left out).
- `ks_tests`: the two-sample Kolmogorov-Smirnov statistic and p-value per
  numerical column (missing values left out); `ks_statistics` and `mean_ks`
  give the statistic alone, for any numeric columns.
- `categorical_tests`: Pearson's chi-square test of homogeneity and the
  total-variation distance per categorical column (missing is a category).
- `correlations`: Pearson correlation matrices and their difference
  (pairwise-complete rows).

Column kinds follow `kerasynth.metrics.columns.checked_kinds`.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy import stats

from kerasynth.data.schema import TableSchema
from kerasynth.metrics.columns import (
    checked_kinds,
    joint_codes,
    nested,
    numbers,
    numeric_columns,
    of_kind,
    present,
    total_variation,
)


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


def table_one(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    *,
    metadata: Mapping[str, str] | None = None,
    schema: TableSchema | None = None,
) -> pd.DataFrame:
    """The study's Table I: moments of every numerical column, real and synthetic.

    For each numerical column: the mean, the standard deviation (sample,
    `ddof=1`), the skewness and the kurtosis, real next to synthetic.
    Skewness is the adjusted Fisher-Pearson coefficient `G1`
    (`scipy.stats.skew(bias=False)`) and kurtosis is Fisher's *excess*
    kurtosis, bias-corrected (`scipy.stats.kurtosis(fisher=True, bias=False)`,
    0 for a normal distribution): the same numbers as pandas' `skew()` and
    `kurt()`. Missing values are left out; a statistic the sample is too small
    for (skewness needs 3 values, kurtosis 4) is NaN.

    Args:
        real: the real table.
        synthetic: the synthetic table (it must have the real columns).
        metadata: optional `{column: "categorical" | "numerical"}` overrides of
            the inferred kinds.
        schema: the kinds of every column, as a `TableSchema` (a run's
            `transformer.schema`), instead of inferring them; not with
            `metadata`.

    Returns:
        A DataFrame indexed by column name, with the columns `real_mean`,
        `synthetic_mean`, `real_std`, `synthetic_std`, `real_skewness`,
        `synthetic_skewness`, `real_kurtosis`, `synthetic_kurtosis`.
        `frame.to_dict(orient="index")` makes it JSON-ready.

    Example:

    >>> table = table_one(train, tvae_rows)  # OASIS, 305 training rows
    >>> table.loc["Age", ["real_mean", "synthetic_mean"]].round(2).tolist()
    [51.14, 54.57]
    """
    kinds = checked_kinds(real, synthetic, metadata, schema)
    rows = {}
    for column in of_kind(kinds, "numerical"):
        row = {}
        sides = {
            "real": numbers(real, column, "real"),
            "synthetic": numbers(synthetic, column, "synthetic"),
        }
        for statistic in ("mean", "std", "skewness", "kurtosis"):
            for side, values in sides.items():
                row[f"{side}_{statistic}"] = _moment(values, statistic)
        rows[column] = row
    columns = [
        f"{side}_{statistic}"
        for statistic in ("mean", "std", "skewness", "kurtosis")
        for side in ("real", "synthetic")
    ]
    result = pd.DataFrame.from_dict(rows, orient="index", columns=columns)
    result.index.name = "column"
    return result.astype("float64")


def ks_tests(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    *,
    metadata: Mapping[str, str] | None = None,
    schema: TableSchema | None = None,
) -> dict[str, dict[str, float | None]]:
    """Two-sample Kolmogorov-Smirnov test per numerical column.

    The statistic is the largest gap between the two empirical CDFs (0: same
    distribution, 1: no overlap); the p-value is scipy's two-sided one
    (`ks_2samp`, exact for small samples). Missing values are left out. A
    column with no value on one side gets statistic 1 and p-value `None`.

    Args:
        real: the real table.
        synthetic: the synthetic table (it must have the real columns).
        metadata: optional `{column: "categorical" | "numerical"}` overrides.
        schema: the kinds of every column, as a `TableSchema` (a run's
            `transformer.schema`), instead of inferring them; not with
            `metadata`.

    Returns:
        `{column: {"statistic": float, "p_value": float | None}}`.
    """
    kinds = checked_kinds(real, synthetic, metadata, schema)
    result = {}
    for column in of_kind(kinds, "numerical"):
        a = present(numbers(real, column, "real"))
        b = present(numbers(synthetic, column, "synthetic"))
        if a.size == 0 or b.size == 0:
            result[column] = {"statistic": 1.0, "p_value": None}
            continue
        test = stats.ks_2samp(a, b)
        result[column] = {
            "statistic": float(test.statistic),
            "p_value": float(test.pvalue),
        }
    return result


def categorical_tests(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    *,
    metadata: Mapping[str, str] | None = None,
    schema: TableSchema | None = None,
) -> dict[str, dict[str, float]]:
    """Chi-square test and total-variation distance per categorical column.

    The counts of each category in the real and the synthetic table form a
    2 x K contingency table over the union of their categories (a category
    absent on one side counts 0 there); `chi2` is Pearson's chi-square
    statistic of homogeneity on it, without Yates' continuity correction
    (`scipy.stats.chi2_contingency(correction=False)`), and `p_value` its
    p-value with K - 1 degrees of freedom (1 when both tables hold a single,
    shared category). `tvd` is the total-variation distance of the two
    frequency vectors, `0.5 * sum |p_real - p_synthetic|` (0: same
    frequencies, 1: disjoint categories). Missing values are one more
    category, as the `TableTransformer` models them. (The `quality_score`'s
    TVComplement leaves them out instead, as SDMetrics does.)

    Args:
        real: the real table.
        synthetic: the synthetic table (it must have the real columns).
        metadata: optional `{column: "categorical" | "numerical"}` overrides.
        schema: the kinds of every column, as a `TableSchema` (a run's
            `transformer.schema`), instead of inferring them; not with
            `metadata`.

    Returns:
        `{column: {"chi2": float, "p_value": float, "tvd": float}}`.

    Raises:
        ValueError: a column has no rows on one side.
    """
    kinds = checked_kinds(real, synthetic, metadata, schema)
    result = {}
    for column in of_kind(kinds, "categorical"):
        for frame, side in ((real, "real"), (synthetic, "synthetic")):
            if len(frame) == 0:
                raise ValueError(
                    f"Cannot test column {column!r}: the {side} table has no rows"
                )
        real_codes, synthetic_codes = joint_codes(real, synthetic, [column], {})
        size = int(max(real_codes.max(), synthetic_codes.max())) + 1
        counts = np.stack(
            [
                np.bincount(real_codes, minlength=size),
                np.bincount(synthetic_codes, minlength=size),
            ]
        )
        if size == 1:
            chi2, p_value = 0.0, 1.0
        else:
            test = stats.chi2_contingency(counts, correction=False)
            chi2, p_value = float(test.statistic), float(test.pvalue)
        result[column] = {
            "chi2": chi2,
            "p_value": p_value,
            "tvd": total_variation(counts[0], counts[1]),
        }
    return result


def correlations(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    *,
    metadata: Mapping[str, str] | None = None,
    schema: TableSchema | None = None,
) -> dict:
    """Pearson correlation matrices of the numerical columns and their difference.

    Each coefficient uses the rows where both columns have a value (pandas'
    pairwise-complete `DataFrame.corr`). The matrices are nested dicts, JSON
    ready; `pd.DataFrame(result["real"])` rebuilds a matrix for a heatmap. A
    coefficient involving a constant column is undefined (`None`).

    Args:
        real: the real table.
        synthetic: the synthetic table (it must have the real columns).
        metadata: optional `{column: "categorical" | "numerical"}` overrides.
        schema: the kinds of every column, as a `TableSchema` (a run's
            `transformer.schema`), instead of inferring them; not with
            `metadata`.

    Returns:
        `{"real": {col: {col: r}}, "synthetic": ..., "difference": ...
        (synthetic minus real), "mean_abs_difference": float | None}`, the
        last the mean of `|difference|` over the column pairs above the
        diagonal where both coefficients are defined (`None` if none is).
    """
    kinds = checked_kinds(real, synthetic, metadata, schema)
    columns = of_kind(kinds, "numerical")
    matrices = {}
    for frame, side in ((real, "real"), (synthetic, "synthetic")):
        values = pd.DataFrame(
            {c: numbers(frame, c, side) for c in columns}, columns=columns
        )
        matrices[side] = values.corr(method="pearson")
    difference = matrices["synthetic"] - matrices["real"]
    upper = np.triu(np.ones((len(columns), len(columns)), dtype=bool), k=1)
    gaps = np.abs(difference.to_numpy())[upper]
    gaps = gaps[~np.isnan(gaps)]
    return {
        "real": nested(matrices["real"]),
        "synthetic": nested(matrices["synthetic"]),
        "difference": nested(difference),
        "mean_abs_difference": float(gaps.mean()) if gaps.size else None,
    }


def _moment(values: np.ndarray, statistic: str) -> float:
    values = present(values)
    needed = {"mean": 1, "std": 2, "skewness": 3, "kurtosis": 4}[statistic]
    if values.size < needed:
        return float("nan")
    if statistic == "mean":
        return float(values.mean())
    if statistic == "std":
        return float(values.std(ddof=1))
    if np.ptp(values) == 0:
        return float("nan")  # undefined for a constant sample
    if statistic == "skewness":
        return float(stats.skew(values, bias=False))
    return float(stats.kurtosis(values, fisher=True, bias=False))
