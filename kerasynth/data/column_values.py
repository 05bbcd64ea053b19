"""Column values: numbers and categories read from pandas, dtypes given back.

Shared by `kerasynth.data.schema` (inference) and the column encoders
(`kerasynth.data.encoders`): one way to read a column as numbers, one way to
turn a category into a JSON-ready Python value, and one way to give decoded
values their original dtype back.
"""

import logging
from typing import Any

import numpy as np
import pandas as pd

# Most decimal places kept for rounding; more means full-precision floats.
MAX_DECIMALS = 6
MAX_INFERRED_CATEGORIES = 10
# A text column with more distinct values than this (and than half its rows)
# is warned about: it is more likely free text or a code than a category.
HIGH_CARDINALITY = 50
# Share of number-like values above which a text column is a numerical
# column with typos rather than a categorical one.
NUMERIC_TEXT_SHARE = 0.9

logger = logging.getLogger("kerasynth")


def is_text(dtype) -> bool:
    """Whether a dtype holds text (`object`, `str`, `string`)."""
    return pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype)


def numeric_values(name: str, series: pd.Series) -> np.ndarray:
    """A column's values as float64 with NaN for missing; text is an error."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        series = series.astype(object)
    if pd.api.types.is_bool_dtype(series.dtype):
        series = series.astype("float64")
    if not (pd.api.types.is_numeric_dtype(series.dtype) or is_text(series.dtype)):
        raise ValueError(
            f"Column {name!r} has dtype {series.dtype}, which cannot be numerical"
        )
    numbers = pd.to_numeric(series, errors="coerce")
    bad = numbers.isna() & series.notna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise ValueError(
            f"Column {name!r} is numerical but holds the non-numeric value "
            f"{series.iloc[row]!r} (row {row}); fix it or declare the column "
            "categorical"
        )
    values = numbers.to_numpy(dtype="float64", na_value=np.nan)
    if np.isinf(values).any():
        row = int(np.flatnonzero(np.isinf(values))[0])
        raise ValueError(f"Column {name!r} holds an infinite value (row {row})")
    return values


def is_missing(value: Any) -> bool:
    """Whether a single value is missing (`None`, NaN, `pd.NA`, `NaT`)."""
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def python_value(value: Any, column: str) -> bool | int | float | str | None:
    """A category as a JSON-ready Python value (`None` for missing)."""
    if is_missing(value):
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, (bool, int, float, str)):
        return value
    raise ValueError(
        f"Column {column!r} holds a value of type {type(value).__name__} "
        f"({value!r}); categories must be text, numbers or booleans"
    )


def decimal_places(values: np.ndarray) -> int | None:
    """The fewest decimal places that write every value exactly, or `None`
    when more than `MAX_DECIMALS` are needed (full precision: no rounding)."""
    for decimals in range(MAX_DECIMALS + 1):
        if np.allclose(np.round(values, decimals), values, rtol=0.0, atol=1e-9):
            return decimals
    return None


def numerical_dtype(series: pd.Series, integer: bool, missing: bool) -> str:
    """The dtype a numerical column's decoded values are given back in."""
    dtype = series.dtype
    if pd.api.types.is_numeric_dtype(dtype) and not isinstance(
        dtype, pd.CategoricalDtype
    ):
        return str(dtype)
    # Text or category columns declared numerical come back as numbers.
    return "int64" if integer and not missing else "float64"


def numerical_series(dtype: str, values: np.ndarray) -> pd.Series:
    """Decoded numbers (NaN: missing) as a Series of `dtype` (nullable
    `Int64` / `boolean` when an integer or bool column has missing values)."""
    has_nan = bool(np.isnan(values).any())
    if pd.api.types.is_bool_dtype(dtype):
        return pd.Series(values, dtype="float64").astype(
            "boolean" if has_nan else "bool"
        )
    if pd.api.types.is_integer_dtype(dtype) and has_nan:
        return pd.Series(values, dtype="float64").astype("Int64")
    return pd.Series(values).astype(dtype)


def categorical_series(
    dtype: str,
    values: np.ndarray,
    dtype_categories: list | tuple | None = None,
    ordered: bool = False,
) -> pd.Series:
    """Decoded categories (`None`: missing) as a Series of `dtype`.

    A pandas `category` column gets its declared categories and order back;
    an integer or bool dtype with missing values becomes the nullable one.
    """
    missing = pd.isna(values)
    if dtype_categories is not None:
        order = pd.CategoricalDtype(list(dtype_categories), ordered=ordered)
        return pd.Series(pd.Categorical(values, dtype=order))
    if not missing.any():
        return pd.Series(values, dtype=object).astype(dtype)
    if pd.api.types.is_bool_dtype(dtype):
        dtype = "boolean"
    elif pd.api.types.is_integer_dtype(dtype):
        dtype = "Int64"
    # `mask` writes the dtype's own missing value (NaN, <NA>), whatever
    # `astype` made of None (pandas 2 turns it into the text "None").
    return pd.Series(values, dtype=object).astype(dtype).mask(missing)


def warn_about_text(name: str, present: pd.Series, numeric_share: float) -> None:
    """Says what happens to a text column that is unlikely to be a category
    as the user meant it: numbers mixed with words, or so many distinct
    values that each becomes its own one-hot slot. Text that is all digits
    (codes such as the embedded table's ``sex`` "1"/"2") is a category as
    written, and mixes nothing."""
    if 0 < numeric_share < 1:
        words = present[pd.to_numeric(present, errors="coerce").isna()].unique()
        logger.warning(
            "Column %r mixes numbers (%.0f%% of its values) with text (%s): it "
            "is modelled as categorical, one category per distinct value; fix "
            "the text values to model it as numbers.",
            name, 100 * numeric_share, ", ".join(repr(w) for w in words[:3]),
        )  # fmt: skip
    distinct = present.nunique()
    if distinct > HIGH_CARDINALITY and distinct > len(present) / 2:
        logger.warning(
            "Column %r has %d distinct values in %d rows: each becomes its own "
            "category (%d one-hot slots), and rare ones are barely learned; "
            "leave it out (--columns) unless it really is a category.",
            name, distinct, len(present), distinct,
        )  # fmt: skip


def infer_kind(name: str, series: pd.Series) -> str:
    """A column's kind by the inference rule of `kerasynth.data.schema`."""
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype) or isinstance(dtype, pd.CategoricalDtype):
        return "categorical"
    if is_text(dtype):
        present = series.dropna()
        parsed = pd.to_numeric(present, errors="coerce")
        share = float(parsed.notna().mean()) if len(present) else 0.0
        if NUMERIC_TEXT_SHARE <= share < 1.0:
            bad = present[parsed.isna()]
            raise ValueError(
                f"Column {name!r} looks numerical ({share:.0%} of its values are "
                f"numbers) but holds the non-numeric value {bad.iloc[0]!r} "
                f"(row {bad.index[0]}); fix the value, or declare the column "
                f"categorical (categorical=[{name!r}], CLI --categorical)"
            )
        warn_about_text(name, present, share)
        return "categorical"
    if pd.api.types.is_complex_dtype(dtype) or not pd.api.types.is_numeric_dtype(dtype):
        raise ValueError(
            f"Column {name!r} has dtype {dtype}, which cannot be modelled; "
            "convert it to numbers or text"
        )
    distinct = series.nunique(dropna=True)
    # `0 < distinct`: a column with no value at all (which the transformer
    # refuses) stays numerical, as its dtype says.
    if 0 < distinct <= MAX_INFERRED_CATEGORIES and 2 * distinct <= series.notna().sum():
        return "categorical"
    return "numerical"
