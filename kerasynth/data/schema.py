"""`TableSchema`: the one description of a table that every layer reads.

A schema says, for each column in order, its kind (`"categorical"` or
`"numerical"`) and the facts about its values that decoding needs whatever
the encoding: the dtype to give back, whether values are missing, and for
numbers whether they are whole and how many decimals they are written with.
The `TableTransformer` encodes by it, the fidelity metrics
(`kerasynth.metrics.table`) split columns by it, and the pipeline's ingest
component writes it as its `Schema` artifact, which training reads back.

`infer_schema` holds the one inference rule, overridden by `categorical=`,
`numerical=` or a metadata file:

- bool, text (`object`, `str`, `string`) and `category` columns are
  categorical. A text column whose values are at least 90% numbers but not
  all is an error naming the first bad value (a typo like `"abc"` in `Age`),
  unless it is declared categorical.
- a numeric column with at most `MAX_INFERRED_CATEGORIES` = 10 distinct
  values, each seen twice on average (`2 * distinct <= non-missing rows`), is
  categorical: OASIS `CDR` (0, 0.5, 1, 2), `SES` and `Educ` (1..5), a 0/1
  flag. Any other numeric column is numerical (OASIS `MMSE`, 17 values).
- date/time and complex columns are rejected.

Dtypes on the way out (`ColumnSchema.restore`): every column gets its
dtype back, `category` columns with their declared categories and order. A
dtype that cannot hold a missing value is replaced by pandas' nullable one
(`Int64`, `boolean`) when the decoded column has one. Text columns declared
numerical come back as numbers (`int64`, or `float64` when they have
fractions or missing values).

The JSON form (`to_json`) is `{"format_version": 1, "columns": [{"name":
..., "kind": ..., ...}, ...]}`, in column order (a list, since JSON writers
may sort keys); a schema file is also a valid metadata file.
"""

import dataclasses
import json
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kerasynth.data.column_values import (
    categorical_series,
    decimal_places,
    infer_kind,
    numeric_values,
    numerical_dtype,
    numerical_series,
    python_value,
)

logger = logging.getLogger("kerasynth")

KINDS = ("categorical", "numerical")
FORMAT_VERSION = 1


@dataclasses.dataclass(frozen=True)
class ColumnSchema:
    """One column of a `TableSchema`.

    Args:
        name: the column's name.
        kind: `"categorical"` or `"numerical"`.
        dtype: the pandas dtype decoded values are given back in.
        missing: whether the column has missing values.
        integer: numerical columns: every value is whole, so decoded values
            are rounded to integers.
        decimals: numerical columns: the fewest decimal places that write
            every value (up to 6), so synthetic ASF reads 1.343 like the
            real column; `None` for full-precision values (no rounding).
        dtype_categories: pandas `category` columns: the declared categories.
        ordered: pandas `category` columns: whether they are ordered.
    """

    name: str
    kind: str
    dtype: str
    missing: bool = False
    integer: bool = False
    decimals: int | None = None
    dtype_categories: tuple | None = None
    ordered: bool = False

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(
                f"Column {self.name!r} must have kind 'categorical' or "
                f"'numerical'. Received: kind={self.kind!r}"
            )
        if self.dtype_categories is not None:
            object.__setattr__(self, "dtype_categories", tuple(self.dtype_categories))

    def get_config(self) -> dict:
        """The column's facts as JSON-ready values."""
        config = {
            "name": self.name,
            "kind": self.kind,
            "dtype": self.dtype,
            "missing": self.missing,
        }
        if self.kind == "numerical":
            config.update(integer=self.integer, decimals=self.decimals)
        elif self.dtype_categories is not None:
            config.update(
                dtype_categories=list(self.dtype_categories), ordered=self.ordered
            )
        return config

    def restore(self, values: np.ndarray) -> pd.Series:
        """Decoded values as a Series in the column's dtype (see module)."""
        if self.kind == "numerical":
            return numerical_series(self.dtype, values)
        return categorical_series(
            self.dtype, values, self.dtype_categories, self.ordered
        )


@dataclasses.dataclass(frozen=True)
class TableSchema:
    """The columns of a table, in order, with their kinds and value facts.

    Build one with `infer_schema`; it round-trips through `get_config` /
    `from_config` and `to_json` / `from_json`.

    Args:
        columns: the `ColumnSchema` of every column, in the table's order.

    Example:

    >>> schema = infer_schema(frame)  # OASIS CDR: 0, 0.5, 1, 2
    >>> schema.kinds["CDR"]
    'categorical'
    >>> TableSchema.from_json(schema.to_json()) == schema
    True
    """

    columns: tuple[ColumnSchema, ...]

    def __post_init__(self):
        object.__setattr__(self, "columns", tuple(self.columns))
        names = [column.name for column in self.columns]
        duplicated = sorted({name for name in names if names.count(name) > 1})
        if duplicated:
            raise ValueError(f"Duplicated column names in the schema: {duplicated}")

    @property
    def names(self) -> list[str]:
        return [column.name for column in self.columns]

    @property
    def kinds(self) -> dict[str, str]:
        """`{column: "categorical" | "numerical"}` in column order."""
        return {column.name: column.kind for column in self.columns}

    @property
    def categorical(self) -> list[str]:
        return [c.name for c in self.columns if c.kind == "categorical"]

    @property
    def numerical(self) -> list[str]:
        return [c.name for c in self.columns if c.kind == "numerical"]

    def column(self, name: str) -> ColumnSchema:
        """The `ColumnSchema` of `name`; a `ValueError` lists the columns."""
        for column in self.columns:
            if column.name == name:
                return column
        raise ValueError(f"Unknown column {name!r}. Columns: {self.names}")

    def get_config(self) -> dict:
        return {
            "format_version": FORMAT_VERSION,
            "columns": [column.get_config() for column in self.columns],
        }

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> "TableSchema":
        version = config.get("format_version", FORMAT_VERSION)
        if version != FORMAT_VERSION:
            raise ValueError(
                f"Unsupported TableSchema format_version {version}; this "
                f"kerasynth reads version {FORMAT_VERSION}"
            )
        check_metadata(config)  # the shape and the kinds
        if not isinstance(config["columns"], list):
            raise ValueError(
                "A TableSchema config lists its columns in order, "
                '{"columns": [{"name": ..., "kind": ..., "dtype": ...}, ...]}. '
                f"Received: {config!r:.200}"
            )
        return cls(tuple(_column_from_config(spec) for spec in config["columns"]))

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.get_config(), indent=indent, allow_nan=False)

    @classmethod
    def from_json(cls, text: str) -> "TableSchema":
        try:
            config = json.loads(text)
        except json.JSONDecodeError as err:
            raise ValueError(f"A TableSchema must be JSON: {err}") from err
        return cls.from_config(config)


def _column_from_config(spec: Mapping[str, Any]) -> ColumnSchema:
    fields = {field.name for field in dataclasses.fields(ColumnSchema)}
    if set(spec) - fields or "dtype" not in spec:
        raise ValueError(
            f"A schema column must have a name, a kind, a dtype and only the "
            f"fields {sorted(fields)}. Received: {dict(spec)!r}"
        )
    return ColumnSchema(**spec)


def infer_schema(
    frame: pd.DataFrame,
    categorical: Sequence[str] | None = None,
    numerical: Sequence[str] | None = None,
    metadata: str | os.PathLike | Mapping[str, Any] | TableSchema | None = None,
) -> TableSchema:
    """Infers the schema of `frame` with the rule of the module docstring.

    Args:
        frame: the table.
        categorical: columns to make categorical, whatever their dtype.
        numerical: columns to make numerical (their values must be numbers).
        metadata: column kinds, `{"columns": {name: {"kind": ...}}}`, the
            path of a JSON file holding that (a schema file is one), or a
            `TableSchema`. Columns it names that `frame` lacks are ignored;
            `categorical=` and `numerical=` take precedence over it.

    Returns:
        A `TableSchema` with the frame's columns in order.

    Raises:
        ValueError: an override naming an unknown column or both kinds,
            non-numeric text in a numerical column, an unsupported dtype.
    """
    if not isinstance(frame, pd.DataFrame):
        raise ValueError(
            f"`frame` must be a pandas DataFrame. Received: {type(frame).__name__}"
        )
    if not all(isinstance(c, str) for c in frame.columns):
        raise ValueError(
            f"Column names must be strings. Received: {list(frame.columns)}"
        )
    if frame.columns.has_duplicates:
        raise ValueError(f"Duplicated column names: {list(frame.columns)}")
    if isinstance(metadata, TableSchema):
        metadata = metadata.get_config()
    elif isinstance(metadata, (str, os.PathLike)):
        metadata = read_metadata(Path(metadata))
    declared = _declared_kinds(
        list(frame.columns),
        check_names(categorical, "categorical"),
        check_names(numerical, "numerical"),
        None if metadata is None else check_metadata(metadata),
    )
    return TableSchema(
        tuple(_infer_column(name, frame[name], declared.get(name)) for name in frame)
    )


# === Overrides ===


def check_names(names: Sequence[str] | None, argument: str) -> list[str] | None:
    """`categorical=` / `numerical=` as a list of names (or `None`)."""
    if names is None:
        return None
    if isinstance(names, str) or not all(isinstance(n, str) for n in names):
        raise ValueError(
            f"`{argument}` must be a list of column names. "
            f"Received: {argument}={names!r}"
        )
    return list(names)


def check_declared(categorical: list | None, numerical: list | None) -> None:
    """Raises when a column is declared both categorical and numerical."""
    both = sorted(set(categorical or ()) & set(numerical or ()))
    if both:
        raise ValueError(f"Columns {both} are declared both categorical and numerical")


def read_metadata(path: Path) -> dict:
    """The content of a metadata (or schema) JSON file."""
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise FileNotFoundError(f"Metadata file not found: {path}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"Metadata file {path} is not valid JSON: {err}") from err


def check_metadata(metadata: Any) -> dict:
    """`{"columns": {name: {"kind": kind}}}`, keeping only the kinds.

    Also reads a schema's list form, `{"columns": [{"name": name, "kind":
    kind, ...}, ...]}`.
    """
    columns = metadata.get("columns") if isinstance(metadata, Mapping) else None
    if isinstance(columns, list) and all(
        isinstance(spec, Mapping) and "name" in spec for spec in columns
    ):
        columns = {spec["name"]: spec for spec in columns}
    if not isinstance(columns, Mapping):
        raise ValueError(
            'Metadata must look like {"columns": {"Age": {"kind": "numerical"}, ...}}. '
            f"Received: {metadata!r:.200}"
        )
    checked = {}
    for name, spec in columns.items():
        kind = spec.get("kind") if isinstance(spec, Mapping) else None
        if kind not in KINDS:
            raise ValueError(
                f"Metadata column {name!r} must have kind 'categorical' or "
                f"'numerical'. Received: {spec!r}"
            )
        checked[str(name)] = {"kind": kind}
    return {"columns": checked}


def _declared_kinds(
    available: list[str],
    categorical: list[str] | None,
    numerical: list[str] | None,
    metadata: dict | None,
) -> dict[str, str]:
    """The kinds the overrides declare; `categorical=` / `numerical=` win."""
    check_declared(categorical, numerical)
    for argument, names in (("categorical", categorical), ("numerical", numerical)):
        for name in names or ():
            if name not in available:
                raise ValueError(
                    f"`{argument}` names unknown column {name!r}. "
                    f"Available columns: {available}"
                )
    meta = (metadata or {}).get("columns", {})
    unused = sorted(set(meta) - set(available))
    if unused:
        logger.info("Metadata columns absent from the frame, ignored: %s", unused)
    declared = {n: v["kind"] for n, v in meta.items() if n in available}
    declared.update({name: "categorical" for name in categorical or ()})
    declared.update({name: "numerical" for name in numerical or ()})
    return declared


# === Inference ===


def _infer_column(name: str, series: pd.Series, kind: str | None) -> ColumnSchema:
    kind = kind or infer_kind(name, series)
    if kind == "categorical":
        dtype_categories, ordered = None, False
        if isinstance(series.dtype, pd.CategoricalDtype):
            dtype_categories = [python_value(c, name) for c in series.cat.categories]
            ordered = bool(series.cat.ordered)
        return ColumnSchema(
            name,
            kind,
            str(series.dtype),
            bool(series.isna().any()),
            dtype_categories=dtype_categories,
            ordered=ordered,
        )
    values = numeric_values(name, series)
    present = values[~np.isnan(values)]
    missing = present.size < values.size
    integer = bool(np.all(np.mod(present, 1.0) == 0.0))
    return ColumnSchema(
        name,
        kind,
        numerical_dtype(series, integer, missing),
        missing,
        integer=integer,
        decimals=decimal_places(present),
    )
