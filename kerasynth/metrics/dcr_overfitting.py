"""DCR overfitting: are synthetic rows closer to the training rows than a
fresh sample would be?

sdmetrics' `DCROverfittingProtection` (0.32, MIT-licensed; written here from
its documentation and source) measures every synthetic row's distance to
the closest record (DCR) in the training rows and in a holdout, and counts
the synthetic rows closer to a training row. A fresh sample from the
population lands closer to the training rows with probability `n_train /
(n_train + n_holdout)`, the share of training rows among all real rows: the
*DCR excess* of `shared/FIDELITY.md` is the share minus that baseline. 0 is a
generator that learned the population; +0.3 is one that copies its training
rows on a 70/30 split; sdmetrics' own score, `min(2 * (1 - share), 1)`,
would call a copy 0.0 and the fresh sample 0.6, which reads as a failure.

The distance (sdmetrics `calculate_dcr`): per numerical column, `|a - b|`
over the reference set's range (max - min), capped at 1, or 0/1 for equal
or not when the range is 0; per categorical column, 0 when equal and 1
otherwise; a missing value is 0 from a missing value and 1 from any other;
the distance is the mean over columns. Each reference set (training,
holdout) supplies its own ranges, as in sdmetrics.

That last rule biases the share: the smaller holdout has the smaller ranges,
so distances to it are stretched and more rows land "closer to training".
On the embedded diabetes table (200 training, 100 holdout, 142 fresh real
rows, 20 seeds) a fresh sample's DCR excess is +0.13 (sd 0.04) with
sdmetrics' per-set ranges and +0.01 with one set of ranges. `dcr_overfitting`
therefore also gives `dcr_excess_shared_ranges`: the same distance with every
range taken over the training and holdout rows together, ties counted one
half, whose fresh-sample value is 0 whatever the set sizes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from kerasynth.metrics.columns import category_codes, check_frame, numbers

# Pairs of rows compared at once: a [chunk, n_reference] array of float64.
_PAIRS_PER_CHUNK = 4_000_000


def range_normalized_dcr(
    dataset: pd.DataFrame,
    reference: pd.DataFrame,
    kinds: Mapping[str, str],
    ranges: Mapping[str, float] | None = None,
) -> np.ndarray:
    """The distance from each row of `dataset` to its closest `reference` row.

    In sdmetrics' `calculate_dcr` distance (see the module docstring), over
    the columns of `kinds`.

    Args:
        dataset: the rows measured (e.g. the synthetic rows).
        reference: the rows measured against (training or holdout rows).
        kinds: `{column: "categorical" | "numerical"}`, the columns compared.
        ranges: `{column: max - min}` for the numerical columns; default
            (sdmetrics): those of `reference`.

    Returns:
        float64 `[len(dataset)]` distances in [0, 1].

    Raises:
        ValueError: no column, an empty reference, a missing column.
    """
    if not kinds:
        raise ValueError("`kinds` is empty: there is no column to compare")
    for frame, side in ((dataset, "dataset"), (reference, "reference")):
        check_frame(frame, side)
        absent = [c for c in kinds if c not in frame.columns]
        if absent:
            raise ValueError(f"Column {absent[0]!r} is missing from the {side} table")
    if len(reference) == 0:
        raise ValueError("The reference table has no rows")
    columns = [_column(dataset, reference, c, k, ranges) for c, k in kinds.items()]
    chunk = max(1, _PAIRS_PER_CHUNK // len(reference))
    result = np.empty(len(dataset))
    for start in range(0, len(dataset), chunk):
        rows = slice(start, start + chunk)
        total = np.zeros((len(result[rows]), len(reference)))
        for kind, values, reference_values, scale in columns:
            total += _distances(kind, values[rows], reference_values, scale)
        result[rows] = total.min(axis=1) / len(columns)
    return result


def dcr_overfitting(
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    kinds: Mapping[str, str],
) -> dict[str, Any]:
    """sdmetrics' DCROverfittingProtection and the DCR excess over a fresh sample.

    Every training, holdout and synthetic row is used (sdmetrics' default,
    no subsampling). A synthetic row exactly as far from both sets counts as
    closer to the holdout, as in sdmetrics.

    Args:
        train: the real rows the generator was trained on.
        holdout: real rows from the same population it never saw.
        synthetic: the generated rows.
        kinds: `{column: "categorical" | "numerical"}`, the columns compared.

    Returns:
        A JSON-ready dict: `metric` ("DCROverfittingProtection"),
        `closer_to_training` and `closer_to_holdout` (shares of synthetic
        rows, sdmetrics' `synthetic_data_percentages`), `score` (sdmetrics'
        `min(2 * closer_to_holdout, 1)`), `baseline` (`n_train / (n_train +
        n_holdout)`), `dcr_excess` (`closer_to_training - baseline`,
        FIDELITY.md's figure), `closer_to_training_shared_ranges` and
        `dcr_excess_shared_ranges` (one set of ranges, ties one half: see the
        module docstring), `n_train`, `n_holdout`, `n_synthetic`.

    Raises:
        ValueError: a table without rows.
    """
    for frame, side in (
        (train, "train"),
        (holdout, "holdout"),
        (synthetic, "synthetic"),
    ):
        check_frame(frame, side)
        if len(frame) == 0:
            raise ValueError(f"The {side} table has no rows")
    to_train = range_normalized_dcr(synthetic, train, kinds)
    to_holdout = range_normalized_dcr(synthetic, holdout, kinds)
    closer = float(np.mean(to_train < to_holdout))
    real = pd.concat([train[list(kinds)], holdout[list(kinds)]], ignore_index=True)
    ranges = {
        column: _range(numbers(real, column, "real"))
        for column, kind in kinds.items()
        if kind == "numerical"
    }
    to_train = range_normalized_dcr(synthetic, train, kinds, ranges)
    to_holdout = range_normalized_dcr(synthetic, holdout, kinds, ranges)
    shared = float(
        np.mean(to_train < to_holdout) + 0.5 * np.mean(to_train == to_holdout)
    )
    baseline = len(train) / (len(train) + len(holdout))
    return {
        "metric": "DCROverfittingProtection",
        "closer_to_training": closer,
        "closer_to_holdout": 1.0 - closer,
        "score": min(2.0 * (1.0 - closer), 1.0),
        "baseline": baseline,
        "dcr_excess": closer - baseline,
        "closer_to_training_shared_ranges": shared,
        "dcr_excess_shared_ranges": shared - baseline,
        "n_train": len(train),
        "n_holdout": len(holdout),
        "n_synthetic": len(synthetic),
    }


def _column(dataset, reference, column: str, kind: str, ranges):
    """(kind, dataset values, reference values, the column's range)."""
    if kind == "numerical":
        values = numbers(dataset, column, "dataset")
        reference_values = numbers(reference, column, "reference")
        if ranges is not None:
            return kind, values, reference_values, ranges[column]
        return kind, values, reference_values, _range(reference_values)
    # Shared codes; missing values share code 0, so missing equals missing.
    codes, _ = category_codes(
        np.concatenate(
            [dataset[column].astype(object), reference[column].astype(object)]
        )
    )
    return kind, codes[: len(dataset)], codes[len(dataset) :], None


def _range(values: np.ndarray) -> float:
    known = values[~np.isnan(values)]
    return float(np.ptp(known)) if known.size else np.nan


def _distances(kind, values, reference_values, scale) -> np.ndarray:
    """[len(values), len(reference_values)] per-column distances."""
    if kind == "categorical":
        return (values[:, None] != reference_values[None, :]).astype(np.float64)
    gaps = np.abs(values[:, None] - reference_values[None, :])
    with np.errstate(invalid="ignore", divide="ignore"):
        if scale == 0:
            distances = (gaps > 0).astype(np.float64)
        else:
            distances = np.minimum(gaps / scale, 1.0)
    missing = np.isnan(values)[:, None], np.isnan(reference_values)[None, :]
    distances = np.where(missing[0] ^ missing[1], 1.0, distances)
    return np.where(missing[0] & missing[1], 0.0, distances)
