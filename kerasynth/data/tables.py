"""Read a table source into a validated `pandas.DataFrame` of modelled columns.

`load_table` is the single entry point for table data, the counterpart of
`load_images`. It accepts a `.csv` or `.parquet` file, a DataFrame, or `None`
for the embedded default, and always returns a `TableData`.

The embedded default is scikit-learn's diabetes table
(`sklearn.datasets.load_diabetes(scaled=False)`, shipped inside the wheel, so
nothing is downloaded): 442 patients, age, sex, BMI, mean blood pressure, six
serum measurements (`s1`..`s6`) and the disease progression one year later
(the target, renamed `progression`). `sex` is coded 1/2 in the source without
saying which is which; it becomes a text column with the values `"1"` and
`"2"` (a plain string column rather than a pandas `category`: text columns
are categorical for the `TableTransformer`, survive CSV/Parquet round trips
unchanged and print the same everywhere). Columns whose values are all whole
numbers (`age`, `s1`, `s6`, `progression`) become `int64`, so generated values
are rounded like the real ones.

Column policy, applied to the columns kept (all of them, or `columns=`):

- a column that is entirely missing is an error (it carries nothing to model);
- a constant column (one value, no missing) is dropped with a warning;
- an identifier-like column is dropped with a warning: its name is `id`, ends
  in `_id`/` id`/`-id`/`.id` (any case) or in camel-case `ID`/`Id`
  (`PatientID`), or it is a text column of at least `MIN_ROWS_FOR_UNIQUE_ID`
  rows whose values are all distinct (OASIS `ID`, `OAS1_0001_MR1`, ...).

- a date column (text that parses as dates) is dropped with a warning that
  says how to model it (as numbers, e.g. days since a reference date).

Explicitly selected columns go through the same checks. Every column that is
not modelled is recorded with its reason in `TableData.dropped`.

Groups: `group_by` names a column (with an optional regular expression,
`kerasynth.data.groups`) whose values say which rows are one person's, for
splits by person. It is read from the file's columns before any is left out,
so an identifier (OASIS `ID`) that is not modelled still groups the rows.

CSV files are read with pandas' defaults (comma separator, `""`, `NA`, `N/A`,
`NaN` and friends as missing). When that gives a single column whose header
contains `;`, the file is read again with `;` as the separator (a common
spreadsheet export); decimal commas are not converted.

This module imports neither TensorFlow nor the transformer.
"""

import dataclasses
import hashlib
import logging
import os
import re
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from kerasynth.data.groups import GroupKey

logger = logging.getLogger("kerasynth")

TABLE_EXTENSIONS = (".csv", ".parquet")
EMBEDDED_SOURCE = "embedded sklearn diabetes"
# A text column needs this many rows before "all values distinct" marks it as
# an identifier; tiny frames of distinct labels are not identifiers.
MIN_ROWS_FOR_UNIQUE_ID = 10

_ID_NAME = re.compile(r"(?:^|[_\s.\-])id$", re.IGNORECASE)
_CAMEL_ID_NAME = re.compile(r"[a-z0-9](?:ID|Id)$")


@dataclasses.dataclass
class TableData:
    """A table prepared for a model, with its provenance.

    Attributes:
        frame: the columns to model, in their original dtypes, index reset to
            `0..N-1`.
        source: human readable description of what was read, e.g.
            `"file /x/oasis.csv (436 rows)"`.
        fingerprint: SHA-256 hex digest of the frame's content (column names,
            dtypes and values); identical data gives an identical fingerprint
            on every run.
        dropped: column -> reason it is not modelled (`"constant"`,
            `"identifier"`, `"not selected"`).
        groups: one group per row (a person's ID, from ``--holdout-by``),
            kept through `subset`; `None` when not asked for.
    """

    frame: pd.DataFrame
    source: str
    fingerprint: str
    dropped: dict[str, str]
    groups: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.frame)

    def subset(self, mask) -> "TableData":
        """The rows (and groups) where `mask` is true (index reset); a new
        fingerprint."""
        frame = self.frame[mask].reset_index(drop=True)
        groups = None if self.groups is None else self.groups[np.asarray(mask)]
        return dataclasses.replace(
            self, frame=frame, fingerprint=compute_fingerprint(frame), groups=groups
        )


def load_table(
    source: str | os.PathLike | pd.DataFrame | None,
    *,
    columns: Sequence[str] | None = None,
    dropna: bool = False,
    group_by: str | None = None,
) -> TableData:
    """Read a table from a CSV/Parquet file, a DataFrame or the embedded default.

    Args:
        source: `None` for the embedded diabetes table; a path to a `.csv` or
            `.parquet` file; or a `pandas.DataFrame` (copied, never modified).
        columns: keep only these columns, in this order; `None` keeps all.
        dropna: drop the rows with a missing value in any kept column (the
            study's choice). By default they are kept and the missing values
            are modelled by the `TableTransformer`.
        group_by: ``COLUMN`` or ``COLUMN:REGEX``: each row's group (its
            person), from any column of the source, modelled or not (OASIS
            ``ID``, or ``ID:^OAS1_\\d{4}`` for the person of a session; see
            `kerasynth.data.groups`). `None`: no groups.

    Returns:
        A `TableData` (with `groups` when `group_by` is given).

    Raises:
        FileNotFoundError: `source` is a path that does not exist.
        ValueError: unsupported suffix, unreadable or empty file, no rows,
            unknown column, entirely missing column, nothing left to model,
            a group column that is unknown or has missing values.

    Example:

    >>> data = load_table(None)
    >>> data.frame.shape
    (442, 11)
    >>> data = load_table("oasis_cross-sectional.csv",
    ...                   columns=["M/F", "Age", "eTIV", "nWBV", "ASF"])
    >>> len(data)
    436
    """
    if isinstance(dropna, str) or not isinstance(dropna, bool):
        raise ValueError(f"`dropna` must be True or False. Received: {dropna=}")
    frame, origin = read_source(source)
    if frame.columns.has_duplicates:
        duplicated = sorted({str(c) for c in frame.columns[frame.columns.duplicated()]})
        raise ValueError(f"{origin} has duplicated column names: {duplicated}")
    frame.columns = [str(column) for column in frame.columns]
    if len(frame) == 0:
        raise ValueError(f"{origin} has no rows (columns: {list(frame.columns)})")
    groups = None if group_by is None else _group_column(frame, group_by, origin)
    dropped = {}
    if columns is not None:
        selected = _check_selection(columns, list(frame.columns), origin)
        dropped.update({c: "not selected" for c in frame.columns if c not in selected})
        frame = frame[selected]
    frame = frame.reset_index(drop=True)
    _check_not_all_missing(frame, origin)
    for column, reason in _unmodelled_columns(frame).items():
        logger.warning(
            "%s: column %r is not modelled: %s", origin, column, _REASONS[reason]
        )
        dropped[column] = reason
    frame = frame.drop(columns=[c for c in frame.columns if c in dropped])
    if frame.shape[1] == 0:
        raise ValueError(
            f"{origin}: no column left to model (dropped: {dropped}); choose "
            "columns that vary and are not identifiers"
        )
    if dropna:
        if groups is not None:
            groups = groups[frame.notna().all(axis=1).to_numpy()]
        frame = _drop_missing_rows(frame, origin)
    source_text = f"{origin} ({len(frame)} rows)"
    if source is None:
        source_text = f"{EMBEDDED_SOURCE} ({len(frame)} patients)"
    return TableData(
        frame=frame,
        source=source_text,
        fingerprint=compute_fingerprint(frame),
        dropped=dropped,
        groups=groups,
    )


def _group_column(frame: pd.DataFrame, group_by: str, origin: str) -> np.ndarray:
    """The group of every row of `frame`, from the column `group_by` names."""
    key = GroupKey.parse(group_by)
    if key.name not in frame.columns:
        raise ValueError(
            f"--holdout-by {group_by!r}: {origin} has no column {key.name!r}. "
            f"Its columns: {', '.join(frame.columns)}"
        )
    missing = frame[key.name].isna().to_numpy()
    if missing.any():
        raise ValueError(
            f"--holdout-by {group_by!r}: column {key.name!r} of {origin} is "
            f"missing in {int(missing.sum())} rows (the first: row "
            f"{int(np.flatnonzero(missing)[0])}); every row needs a group"
        )
    return key.groups(frame[key.name], origin)


def compute_fingerprint(frame: pd.DataFrame) -> str:
    """Returns the SHA-256 hex digest of a frame's column names, dtypes and values.

    The values are hashed through their CSV text (`frame.to_csv(index=False)`),
    which is stable across runs, platforms and pandas' in-memory layouts.
    """
    digest = hashlib.sha256()
    dtypes = [(str(column), str(dtype)) for column, dtype in frame.dtypes.items()]
    digest.update(repr(dtypes).encode())
    digest.update(frame.to_csv(index=False, lineterminator="\n").encode())
    return digest.hexdigest()


def load_diabetes_frame() -> pd.DataFrame:
    """The embedded default table: scikit-learn's diabetes data, unscaled.

    Returns:
        442 rows: `age`, `sex` (text `"1"`/`"2"`), `bmi`, `bp`, `s1`..`s6` and
        `progression`; whole-number columns as `int64`, the others `float64`.
    """
    from sklearn.datasets import load_diabetes

    frame = load_diabetes(scaled=False, as_frame=True).frame
    frame = frame.rename(columns={"target": "progression"})
    frame["sex"] = frame["sex"].astype("int64").astype(str)
    for column in frame.columns:
        values = frame[column]
        if values.dtype.kind == "f" and bool((values % 1 == 0).all()):
            frame[column] = values.astype("int64")
    return frame


_REASONS = {
    "constant": "it holds a single value",
    "identifier": "it looks like an identifier (name or all-distinct text values)",
    "date": "it holds dates, which kerasynth does not model yet; convert them "
    "to numbers (e.g. days since a reference date) to model them",
}


def read_source(source) -> tuple[pd.DataFrame, str]:
    """Reads any accepted source into a fresh DataFrame and names its origin."""
    if source is None:
        return load_diabetes_frame(), EMBEDDED_SOURCE
    if isinstance(source, pd.DataFrame):
        return source.copy(), "DataFrame"
    if not isinstance(source, (str, os.PathLike)):
        raise ValueError(
            "`source` must be None, a path to a .csv/.parquet file or a pandas "
            f"DataFrame. Received: source of type {type(source).__name__}"
        )
    path = Path(source)
    if not path.exists():
        raise FileNotFoundError(f"Table file not found: {path}")
    if path.is_dir():
        raise ValueError(
            f"Cannot load a table from folder {path}: expected a file ending in "
            f"{', '.join(TABLE_EXTENSIONS)}"
        )
    suffix = path.suffix.lower()
    if suffix not in TABLE_EXTENSIONS:
        raise ValueError(
            f"Cannot load a table from {path}: expected a file ending in "
            f"{', '.join(TABLE_EXTENSIONS)}. Received suffix {suffix!r}"
        )
    origin = f"file {path}"
    if path.stat().st_size == 0:
        raise ValueError(f"Table file {path} is empty")
    if suffix == ".parquet":
        try:
            return pd.read_parquet(path), origin
        except Exception as err:  # pyarrow raises many types for bad files.
            raise ValueError(f"Cannot read Parquet file {path}: {err}") from err
    return _read_csv(path), origin


def _read_csv(path: Path) -> pd.DataFrame:
    """Reads a comma (or, failing that, semicolon) separated file."""
    try:
        separator = ","
        frame = pd.read_csv(path)
        if frame.shape[1] == 1 and ";" in str(frame.columns[0]):
            separator = ";"
            frame = pd.read_csv(path, sep=separator)
        # pandas renames a repeated header to Age.1 silently: read it raw.
        header = pd.read_csv(path, sep=separator, header=None, nrows=1).iloc[0]
        names = [str(name) for name in header]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(
                f"{path} has duplicated column names: {repeated}; rename them "
                "so that each column has its own"
            )
    except pd.errors.EmptyDataError as err:
        raise ValueError(f"Table file {path} is empty (no header line)") from err
    except (pd.errors.ParserError, UnicodeDecodeError) as err:
        raise ValueError(f"Cannot read CSV file {path}: {err}") from err
    return frame


def _check_selection(columns: Sequence[str], available: list[str], origin: str):
    """Validates `columns=` against the available columns; returns a list."""
    if isinstance(columns, str):
        raise ValueError(
            f"`columns` must be a list of column names, not a string. "
            f"Received: columns={columns!r}"
        )
    selected = [str(column) for column in columns]
    if not selected:
        raise ValueError(f"`columns` is empty. Available columns: {available}")
    for column in selected:
        if column not in available:
            raise ValueError(
                f"Unknown column {column!r} in {origin}. Available columns: {available}"
            )
    repeated = sorted({c for c in selected if selected.count(c) > 1})
    if repeated:
        raise ValueError(f"`columns` names {repeated} more than once")
    return selected


def _check_not_all_missing(frame: pd.DataFrame, origin: str) -> None:
    empty = [column for column in frame.columns if frame[column].isna().all()]
    if empty:
        raise ValueError(
            f"Column {empty[0]!r} in {origin} is entirely missing; leave it out "
            "with `columns=` (CLI: --columns)"
        )


def is_identifier_name(name: str) -> bool:
    """Whether a column name reads as an identifier (`ID`, `patient_id`,
    `PatientID`)."""
    return bool(_ID_NAME.search(name) or _CAMEL_ID_NAME.search(name))


def _is_text(series: pd.Series) -> bool:
    return pd.api.types.is_string_dtype(series.dtype) or series.dtype == object


def _unmodelled_columns(frame: pd.DataFrame) -> dict[str, str]:
    """Column -> `"constant"` or `"identifier"` for the columns not to model."""
    reasons = {}
    for column in frame.columns:
        values = frame[column]
        if values.nunique(dropna=False) == 1:
            reasons[column] = "constant"
        elif _is_text(values) and _mostly_dates(values):
            reasons[column] = "date"
        elif is_identifier_name(column) or (
            _is_text(values)
            and len(values) >= MIN_ROWS_FOR_UNIQUE_ID
            and values.notna().all()
            and values.is_unique
            and not _mostly_numbers(values)
        ):
            reasons[column] = "identifier"
    return reasons


def _mostly_dates(values: pd.Series) -> bool:
    # ISO-like dates (2001-04-17, 17/04/2001): read as text, they would be
    # all-distinct "identifiers" or a category per day.
    present = values.dropna().astype(str)
    if present.empty or not present.str.contains(r"\d{1,4}[-/.]\d{1,2}[-/.]\d").all():
        return False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas warns when it guesses a format
        parsed = pd.to_datetime(present, errors="coerce")
    return bool(parsed.notna().mean() >= 0.9)


def _mostly_numbers(values: pd.Series) -> bool:
    # Distinct numbers read as text because of a stray word ("abc" among
    # ages) are a numeric column with a typo, which the transformer reports
    # by name, not an identifier to drop quietly.
    return pd.to_numeric(values, errors="coerce").notna().mean() >= 0.9


def _drop_missing_rows(frame: pd.DataFrame, origin: str) -> pd.DataFrame:
    kept = frame.dropna().reset_index(drop=True)
    removed = len(frame) - len(kept)
    if removed:
        counts = frame.isna().sum()
        logger.info(
            "%s: dropna removed %d of %d rows (missing per column: %s)",
            origin,
            removed,
            len(frame),
            {c: int(n) for c, n in counts.items() if n},
        )
    if len(kept) == 0:
        raise ValueError(
            f"{origin}: every row has a missing value in {list(frame.columns)}; "
            "dropna would leave no rows"
        )
    return kept
