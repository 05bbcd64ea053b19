"""Table rows as features for scikit-learn, shared by detection, privacy
and utility.

`prepare_features` types the columns (numbers as float64, categories as
text with `MISSING_LABEL` for missing values) and `feature_encoder` is the
unfitted transformer that one-hot encodes and standardises them.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from kerasynth.metrics.columns import check_frame, numbers, of_kind

MISSING_LABEL = "<missing>"  # the missing category, in one-hot features


def prepare_features(
    frame: pd.DataFrame, kinds: Mapping[str, str], side: str = "input"
) -> pd.DataFrame:
    """The columns of `kinds`, typed for `feature_encoder`.

    Numerical columns become float64 (missing: NaN); categorical ones become
    text, with `MISSING_LABEL` for missing values, so mixed or
    unorderable category values one-hot encode the same way on every side.

    Args:
        frame: a table with the columns of `kinds`.
        kinds: `{column: "categorical" | "numerical"}` (see `column_kinds`).
        side: the table's name in error messages (`"real"`, `"synthetic"`).

    Raises:
        ValueError: a column is absent, or a numerical column holds text
            that is not a number.
    """
    check_frame(frame, side)
    absent = [c for c in kinds if c not in frame.columns]
    if absent:
        raise ValueError(
            f"Column {absent[0]!r} is missing from the {side} table (it has "
            f"{[str(c) for c in frame.columns]})"
        )
    columns = {}
    for column, kind in kinds.items():
        if kind == "numerical":
            columns[column] = numbers(frame, column, side)
        else:
            values = frame[column].astype(object)
            text = values.map(str).where(values.notna(), MISSING_LABEL)
            columns[column] = text.to_numpy(dtype=object)
    return pd.DataFrame(columns, columns=list(kinds))


def feature_encoder(kinds: Mapping[str, str]):
    """An unfitted scikit-learn transformer: one-hot and standardised features.

    For the output of `prepare_features`: numerical columns are imputed with
    their median and standardised to z-scores, with a 0/1 missing flag for
    every column that had missing values when fitted; categorical columns are
    one-hot (0/1, unscaled; a category unseen when fitted encodes as all
    zeros). Fit it on the training side only.

    Args:
        kinds: `{column: "categorical" | "numerical"}`.

    Returns:
        A `sklearn.compose.ColumnTransformer`.
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import MissingIndicator, SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numerical = of_kind(kinds, "numerical")
    categorical = of_kind(kinds, "categorical")
    parts = []
    if numerical:
        parts.append(
            (
                "numerical",
                make_pipeline(SimpleImputer(strategy="median"), StandardScaler()),
                numerical,
            )
        )
        parts.append(
            (
                "missing",
                MissingIndicator(features="missing-only", error_on_new=False),
                numerical,
            )
        )
    if categorical:
        parts.append(
            (
                "categorical",
                OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                categorical,
            )
        )
    return ColumnTransformer(parts, sparse_threshold=0.0)
