"""The SDMetrics quality score: Column Shapes, Column Pair Trends, overall.

Written in the project from the definitions of the single-table
`QualityReport` of sdmetrics 0.32 (MIT-licensed; its documentation's
"Quality Report" pages and the source of `ColumnShapes`,
`ColumnPairTrends`, `KSComplement`, `TVComplement`,
`CorrelationSimilarity` and `ContingencySimilarity`). A test checks the
figures against the installed `sdmetrics` package, to 1e-6.

`pair_statistics` is the per-pair part, which `kerasynth.metrics.
relationships` reads too.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy import stats
from scipy.stats.contingency import association

from kerasynth.data.schema import TableSchema
from kerasynth.metrics.columns import (
    category_codes,
    check_thresholds,
    checked_kinds,
    joint_codes,
    mean_of,
    numbers,
    of_kind,
    pearson,
    present,
    total_variation,
)

# sdmetrics 0.32 `reports.utils`: DEFAULT_REAL_CORRELATION_THRESHOLD and
# DEFAULT_REAL_ASSOCIATION_THRESHOLD, which its QualityReport applies.
REAL_CORRELATION_THRESHOLD = 0.5
REAL_ASSOCIATION_THRESHOLD = 0.3
# Equal-width bins for a numerical column paired with a categorical one:
# numpy's default, which sdmetrics' report uses.
CONTINGENCY_BINS = 10
# KSComplement rounds values to `sys.float_info.dig - 1` decimals first.
_KS_DECIMALS = 14


def quality_score(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    metadata: Mapping[str, str] | None = None,
    *,
    real_correlation_threshold: float = REAL_CORRELATION_THRESHOLD,
    real_association_threshold: float = REAL_ASSOCIATION_THRESHOLD,
    schema: TableSchema | None = None,
) -> dict:
    """The SDMetrics quality score: column shapes, column-pair trends, overall.

    - **Column Shapes**: the mean over columns of KSComplement, `1 - KS
      statistic` (values rounded to 14 decimals, as sdmetrics does), for
      numerical columns and TVComplement, `1 - TVD` of the category
      frequencies, for categorical ones. Both leave missing values out.
      (sdmetrics adds 1e-6 to the real count of a category only the
      synthetic table has; that moves a score by about 1e-9 and is left out.)
    - **Column Pair Trends**: the mean over the pairs *that meet sdmetrics
      0.32's threshold* of CorrelationSimilarity, `1 - |r_real -
      r_synthetic| / 2` with Pearson's `r` on the rows where both values are
      present, for two numerical columns, and ContingencySimilarity, `1 -
      TVD` of the two normalised joint contingency tables, for a pair with a
      categorical column. A numerical pair meets the threshold when
      `|r_real| > real_correlation_threshold` (0.5); a pair with a
      categorical column when Cramer's V of its real contingency table
      (`scipy.stats.contingency.association`, no correction) exceeds
      `real_association_threshold` (0.3). Missing values are a category of
      their own in a categorical column. In a mixed pair the numerical column
      is cut by `numpy.digitize` at the 11 edges of 10 equal-width bins over
      *its own table's* range, as sdmetrics does: so a table's maximum lands
      in an 11th bin, together with the column's missing values.
    - **Overall**: the mean of the two.

    `column_pair_trends_all_pairs` is the mean over every pair with a
    defined score, the pre-0.2x definition (both thresholds 0): unrelated
    pairs, which any generator gets right by drawing columns independently,
    pull it up, so it is a second figure and not the headline.

    A score that is undefined (a column entirely missing on one side, a
    correlation with a constant column) is `None` in the details and left
    out of the means, as in sdmetrics. When no pair meets the thresholds (or
    there is a single column) `column_pair_trends` is `None` and `overall`
    equals `column_shapes`.

    Args:
        real: the real table; its columns are scored.
        synthetic: the synthetic table (it must have the real columns).
        metadata: optional `{column: "categorical" | "numerical"}` overrides of
            the inferred kinds.
        real_correlation_threshold: a numerical pair counts only when
            `|r_real|` exceeds it (0: every pair counts).
        real_association_threshold: a pair with a categorical column counts
            only when Cramer's V of its real contingency table exceeds it.
        schema: the kinds of every column, as a `TableSchema` (a run's
            `transformer.schema`), instead of inferring them; not with
            `metadata`.

    Returns:
        `{"overall", "column_shapes", "column_pair_trends",
        "column_pair_trends_all_pairs", "thresholds":
        {"real_correlation_threshold", "real_association_threshold"},
        "details": {"kinds": {col: kind}, "column_shapes": {col: {"metric",
        "score"}}, "column_pair_trends": [see `pair_statistics`, plus
        "contributes"]}}`; the scores are in [0, 1], 1 the best.
    """
    check_thresholds(
        real_correlation_threshold=real_correlation_threshold,
        real_association_threshold=real_association_threshold,
    )
    kinds = checked_kinds(real, synthetic, metadata, schema)
    shapes = {
        column: _column_shape(real, synthetic, column, kind)
        for column, kind in kinds.items()
    }
    pairs = pair_statistics(real, synthetic, kinds)
    for pair in pairs:
        if pair["metric"] == "CorrelationSimilarity":
            strength, threshold = pair["real_correlation"], real_correlation_threshold
            strength = None if strength is None else abs(strength)
        else:
            strength, threshold = pair["real_association"], real_association_threshold
        pair["contributes"] = pair["score"] is not None and (
            threshold <= 0 or (strength is not None and strength > threshold)
        )
    column_shapes = mean_of(entry["score"] for entry in shapes.values())
    column_pair_trends = mean_of(p["score"] for p in pairs if p["contributes"])
    return {
        "overall": mean_of([column_shapes, column_pair_trends]),
        "column_shapes": column_shapes,
        "column_pair_trends": column_pair_trends,
        "column_pair_trends_all_pairs": mean_of(p["score"] for p in pairs),
        "thresholds": {
            "real_correlation_threshold": real_correlation_threshold,
            "real_association_threshold": real_association_threshold,
        },
        "details": {
            "kinds": kinds,
            "column_shapes": shapes,
            "column_pair_trends": pairs,
        },
    }


def pair_statistics(
    real: pd.DataFrame, synthetic: pd.DataFrame, kinds: Mapping[str, str]
) -> list[dict]:
    """Every pair of columns: its similarity score and its association.

    Two numerical columns: CorrelationSimilarity and Pearson's r on each
    side. A pair with a categorical column: ContingencySimilarity and
    Cramer's V on each side (numerical columns binned as `quality_score`
    says). The kinds must be checked already (`checked_kinds`).

    Returns:
        `[{"columns": [a, b], "metric", "score", "real_correlation",
        "synthetic_correlation", "real_association",
        "synthetic_association"}]`, in the order of
        `itertools.combinations(kinds, 2)`; an undefined value is `None`.
    """
    bins = {
        side: {
            column: contingency_bins(numbers(frame, column, side))
            for column in of_kind(kinds, "numerical")
        }
        for frame, side in ((real, "real"), (synthetic, "synthetic"))
    }
    pairs = []
    for first, second in itertools.combinations(kinds, 2):
        if kinds[first] == kinds[second] == "numerical":
            pairs.append(_correlation_similarity(real, synthetic, first, second))
        else:
            pairs.append(_contingency_similarity(real, synthetic, first, second, bins))
    return pairs


def contingency_bins(values: np.ndarray, bins: int = CONTINGENCY_BINS) -> np.ndarray:
    """sdmetrics' bin of each value: `np.digitize` at its range's bin edges.

    The edges are those of `bins` equal-width bins over the present values
    (`numpy.histogram_bin_edges`); values get 1 to `bins`, and the maximum
    and missing values `bins + 1` (both sort past the last edge).
    """
    edges = np.histogram_bin_edges(present(values), bins=bins)
    return np.digitize(values, edges)


def cramers_v(frame: pd.DataFrame, pair, binned: Mapping) -> float | None:
    """Cramer's V (no correction) of `frame`'s contingency table of `pair`.

    `binned[column]`, when given, replaces a column's values by its bins;
    missing values are a category. `None` for fewer than 2 rows or columns.
    """
    codes = [category_codes(binned[c] if c in binned else frame[c])[0] for c in pair]
    table = pd.crosstab(codes[0], codes[1]).to_numpy()
    if min(table.shape) < 2:
        return None
    return float(association(table, method="cramer"))


def _column_shape(real, synthetic, column: str, kind: str) -> dict:
    if kind == "numerical":
        a = np.round(present(numbers(real, column, "real")), _KS_DECIMALS)
        b = np.round(present(numbers(synthetic, column, "synthetic")), _KS_DECIMALS)
        score = None
        if a.size and b.size:
            score = 1.0 - float(stats.ks_2samp(a, b).statistic)
        return {"metric": "KSComplement", "score": score}
    # TVComplement compares the present values only.
    values = real[column].dropna(), synthetic[column].dropna()
    score = None
    if len(values[0]) and len(values[1]):
        codes, size = category_codes(np.concatenate(values))
        tvd = total_variation(
            np.bincount(codes[: len(values[0])], minlength=size),
            np.bincount(codes[len(values[0]) :], minlength=size),
        )
        score = 1.0 - tvd
    return {"metric": "TVComplement", "score": score}


def _correlation_similarity(real, synthetic, first: str, second: str) -> dict:
    coefficients = []
    for frame, side in ((real, "real"), (synthetic, "synthetic")):
        a, b = numbers(frame, first, side), numbers(frame, second, side)
        both = ~(np.isnan(a) | np.isnan(b))
        coefficients.append(pearson(a[both], b[both]))
    r_real, r_synthetic = coefficients
    score = None
    if r_real is not None and r_synthetic is not None:
        score = 1.0 - abs(r_real - r_synthetic) / 2.0
    return {
        "columns": [first, second],
        "metric": "CorrelationSimilarity",
        "score": score,
        "real_correlation": r_real,
        "synthetic_correlation": r_synthetic,
        "real_association": None,
        "synthetic_association": None,
    }


def _contingency_similarity(real, synthetic, first, second, bins) -> dict:
    pair = (first, second)
    binned = {
        side: {c: bins[side][c] for c in pair if c in bins[side]} for side in bins
    }
    real_codes, synthetic_codes = joint_codes(real, synthetic, pair, binned)
    size = int(max(real_codes.max(initial=0), synthetic_codes.max(initial=0))) + 1
    real_counts = np.bincount(real_codes, minlength=size)
    synthetic_counts = np.bincount(synthetic_codes, minlength=size)
    score = None
    if real_counts.sum() and synthetic_counts.sum():
        score = 1.0 - total_variation(real_counts, synthetic_counts)
    return {
        "columns": [first, second],
        "metric": "ContingencySimilarity",
        "score": score,
        "real_correlation": None,
        "synthetic_correlation": None,
        "real_association": cramers_v(real, pair, binned["real"]),
        "synthetic_association": cramers_v(synthetic, pair, binned["synthetic"]),
    }
