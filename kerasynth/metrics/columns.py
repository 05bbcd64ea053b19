"""The column kinds and column helpers the table metrics share.

`column_kinds` says how each column of a real table is judged (see
`kerasynth.metrics.table` for the rule); `checked_kinds` is its form for a
real and a synthetic table together, reading a run's `TableSchema` when one
is given. The rest turn one column into what a metric computes on: numbers
(missing: NaN), integer category codes shared by two tables, a total
variation distance, a Pearson coefficient, a JSON-ready matrix.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from kerasynth.data.schema import KINDS, TableSchema, infer_schema


def numeric_columns(frame: pd.DataFrame) -> list[str]:
    """The columns of `frame` with a numeric (not boolean) dtype."""
    return [
        c
        for c in frame.columns
        if pd.api.types.is_numeric_dtype(frame[c])
        and not pd.api.types.is_bool_dtype(frame[c])
    ]


def column_kinds(
    frame: pd.DataFrame, metadata: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Each column's kind, `"categorical"` or `"numerical"`.

    The kinds of `infer_schema(frame)`, the `TableTransformer`'s rule (see
    the `kerasynth.metrics.table` docstring), unless `metadata` names them.

    Args:
        frame: the (real) table.
        metadata: optional `{column: "categorical" | "numerical"}` overrides.

    Returns:
        `{column: kind}` in the frame's column order.

    Raises:
        ValueError: `metadata` names an unknown column or kind; a column has
            a date/time or other dtype that is neither kind, or is a text
            column of numbers with a typo.
    """
    check_frame(frame, "real")
    metadata = dict(metadata or {})
    available = [str(c) for c in frame.columns]
    for name, kind in metadata.items():
        if name not in frame.columns:
            raise ValueError(
                f"`metadata` names unknown column {name!r}. Available columns: "
                f"{available}"
            )
        if kind not in KINDS:
            raise ValueError(
                f"`metadata` gives column {name!r} the kind {kind!r}; expected "
                f"one of {KINDS}"
            )
    declared = {kind: [n for n, k in metadata.items() if k == kind] for kind in KINDS}
    return infer_schema(frame, **declared).kinds


def check_frame(frame, side: str) -> None:
    """Raises `ValueError` unless `frame` is a DataFrame."""
    if not isinstance(frame, pd.DataFrame):
        raise ValueError(
            f"The {side} table must be a pandas DataFrame. Received: "
            f"{type(frame).__name__}"
        )


def checked_kinds(real, synthetic, metadata, schema) -> dict[str, str]:
    """The real columns' kinds, after checking the synthetic table has them.

    From `schema` (a `TableSchema`) when given, otherwise `column_kinds(real,
    metadata)`; not both.
    """
    if schema is None:
        kinds = column_kinds(real, metadata)
    elif metadata is not None:
        raise ValueError(
            "Pass the column kinds either as `schema` or as `metadata`, not both"
        )
    elif not isinstance(schema, TableSchema):
        raise ValueError(
            f"`schema` must be a TableSchema. Received: {type(schema).__name__}"
        )
    else:
        check_frame(real, "real")
        absent = [c for c in real.columns if c not in schema.names]
        if absent:
            raise ValueError(
                f"Column {absent[0]!r} of the real table is not in `schema` "
                f"(it has {schema.names})"
            )
        kinds = {column: schema.column(column).kind for column in real.columns}
    check_frame(synthetic, "synthetic")
    for column in kinds:
        if column not in synthetic.columns:
            raise ValueError(
                f"Column {column!r} of the real table is missing from the "
                f"synthetic table (it has {[str(c) for c in synthetic.columns]})"
            )
    return kinds


def check_thresholds(**thresholds: float) -> None:
    """Raises `ValueError` naming the first threshold that is not in [0, 1]."""
    for name, value in thresholds.items():
        if not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
            raise ValueError(f"`{name}` must be a number in [0, 1]. Received: {value}")


def of_kind(kinds: Mapping[str, str], kind: str) -> list[str]:
    """The columns of `kinds` that are of `kind`, in order."""
    return [column for column, k in kinds.items() if k == kind]


def numbers(frame: pd.DataFrame, column: str, side: str) -> np.ndarray:
    """A column as float64 (missing: NaN); text that is no number is an error."""
    values = frame[column]
    if isinstance(values.dtype, pd.CategoricalDtype):
        values = values.astype(object)
    if pd.api.types.is_bool_dtype(values.dtype):
        values = values.astype("float64")
    converted = pd.to_numeric(values, errors="coerce")
    bad = converted.isna() & values.notna()
    if bad.any():
        raise ValueError(
            f"Column {column!r} of the {side} table is numerical but holds "
            f"non-numeric values such as {values[bad].iloc[0]!r}"
        )
    return converted.to_numpy(dtype=np.float64, na_value=np.nan)


def present(values: np.ndarray) -> np.ndarray:
    """The values that are not NaN."""
    return values[~np.isnan(values)]


def pearson(a: np.ndarray, b: np.ndarray) -> float | None:
    """Pearson's r, `None` for fewer than 2 values or a constant side."""
    if a.size < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return None
    return float(np.corrcoef(a, b)[0, 1])


def category_codes(values) -> tuple[np.ndarray, int]:
    """Integer codes of values (missing: 0, others 1..) and their count."""
    codes, uniques = pd.factorize(pd.Series(values).astype(object))
    return codes + 1, len(uniques) + 1


def joint_codes(real, synthetic, columns, binned) -> tuple[np.ndarray, np.ndarray]:
    """One integer per row for the joint value of `columns`, shared by both tables.

    Values are matched across the tables by equality; missing values share
    code 0 in each column. `binned[side][column]`, when given, replaces a
    column's values by its bin codes.
    """
    n_real = len(real)
    joint_real = np.zeros(n_real, np.int64)
    joint_synthetic = np.zeros(len(synthetic), np.int64)
    for column in columns:
        sides = []
        for frame, side in ((real, "real"), (synthetic, "synthetic")):
            sides.append(
                binned[side][column]
                if column in binned.get(side, {})
                else frame[column].astype(object).to_numpy()
            )
        codes, count = category_codes(np.concatenate(sides))
        joint_real = joint_real * count + codes[:n_real]
        joint_synthetic = joint_synthetic * count + codes[n_real:]
    # Re-number so bincount stays small whatever the number of columns.
    _, dense = np.unique(np.r_[joint_real, joint_synthetic], return_inverse=True)
    return dense[:n_real], dense[n_real:]


def total_variation(a: np.ndarray, b: np.ndarray) -> float:
    """`0.5 * sum |p - q|` of two count vectors, each normalised."""
    p = a / a.sum()
    q = b / b.sum()
    return float(0.5 * np.abs(p - q).sum())


def mean_of(values: Iterable[float | None]) -> float | None:
    """The mean of the values that are not `None` (`None` if none is)."""
    values = [v for v in values if v is not None]
    return float(np.mean(values)) if values else None


def nested(matrix: pd.DataFrame) -> dict[str, dict[str, float | None]]:
    """A matrix as `{row: {column: value}}`, NaN as `None`."""
    return {
        str(row): {
            str(column): None if pd.isna(value) else float(value)
            for column, value in values.items()
        }
        for row, values in matrix.iterrows()
    }
