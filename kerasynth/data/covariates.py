"""Covariates: the attributes of a patient an image model is conditioned on.

A synthetic patient is a table row and the brain slices of that row's
person: an image model conditioned on the row's age, sex and dementia rating
(`CDR`) can draw slices that agree with it. `Covariates` turns those values
into the vector a generator reads, the same way in training (from the rows
of the images' people) and in sampling (from ``conditions``, a table
model's rows, or an exported model's inputs):

- a **numeric** covariate (``Age``) is standardised with the training
  images' mean and standard deviation;
- a **categorical** one (``M/F``) is one-hot (a learned embedding, once the
  generator's first layer multiplies it);
- a **missing** value is a state of its own: for a numeric covariate a
  flag beside the value (set to the mean), for a categorical one its own
  category. CDR is missing for most OASIS-1 people under 60, and "no
  rating" is information the images carry too. A covariate had a missing
  state only if training saw one.

The ranges seen in training are kept: a requested value outside them, an
unknown category or a missing value where none was seen is an error naming
the covariate, since a generator says nothing reliable there. Without
conditions, values are drawn from each covariate's training marginal
(independently: a table model's rows give realistic combinations).

This follows the conditional GAN of Mirza and Osindero (2014) and the
conditional VAE of Sohn et al. (2015), whose condition vectors are
concatenated to the generator's input, with the covariate encoding of
clinical models. Only NumPy and pandas are needed, except
`Covariates.encode_tensors`, the in-graph encoding of an exported model.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

# Quantiles kept per numeric covariate to draw values without conditions;
# one with at most `MAX_LEVELS` distinct values (CDR: 0, 0.5, 1, 2) keeps
# its values and their shares instead.
NUM_QUANTILES = 21
MAX_LEVELS = 10
# The text of a missing value in ``--condition CDR=`` and string inputs.
MISSING_TEXTS = ("", "na", "nan", "none", "missing")


@dataclasses.dataclass(frozen=True)
class Covariate:
    """One covariate's encoding, fitted on the training images' rows.

    Attributes:
        name: the table column.
        kind: ``"numeric"`` or ``"categorical"``.
        missing: whether training saw a missing value (it has a state).
        missing_share: the share of training images with it missing.
        mean: a numeric covariate's mean (of the present values).
        std: its standard deviation (1 when constant).
        low: the smallest value seen.
        high: the largest value seen.
        quantiles: `NUM_QUANTILES` evenly spaced quantiles, for drawing.
        levels: a numeric covariate's values when there are at most
            `MAX_LEVELS` (drawn as they are), else empty.
        categories: a categorical covariate's categories, sorted.
        frequencies: the shares of the categories (or levels) among the
            present values.
    """

    name: str
    kind: str
    missing: bool = False
    missing_share: float = 0.0
    mean: float = 0.0
    std: float = 1.0
    low: float = 0.0
    high: float = 0.0
    quantiles: tuple[float, ...] = ()
    levels: tuple[float, ...] = ()
    categories: tuple[str, ...] = ()
    frequencies: tuple[float, ...] = ()

    @property
    def width(self) -> int:
        """The covariate's entries in the condition vector."""
        base = 1 if self.kind == "numeric" else len(self.categories)
        return base + int(self.missing)

    @property
    def input_name(self) -> str:
        """The covariate's name as a SavedModel input (``M/F`` -> ``M_F``)."""
        return input_name(self.name)

    def describe(self) -> str:
        """``Age (numeric, 33 to 96)``, ``M/F (F, M)``."""
        missing = ", or missing" if self.missing else ""
        if self.kind == "numeric":
            span = f"{_number(self.low)} to {_number(self.high)}"
            return f"{self.name} (numeric, {span}{missing})"
        return f"{self.name} ({', '.join(self.categories)}{missing})"


def input_name(name: str) -> str:
    """A column name as a TensorFlow signature input: letters, digits and
    underscores, not starting with a digit."""
    text = re.sub(r"\W", "_", str(name))
    return text if re.match(r"[A-Za-z_]", text) else f"c_{text}"


def _number(value: float) -> str:
    return f"{value:g}"


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return value.strip().lower() in MISSING_TEXTS
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


class Covariates:
    """The encoding of a list of covariates (see the module's docstring).

    Args:
        columns: the fitted `Covariate`s, in the condition vector's order.

    Example:

    >>> rows = pd.DataFrame({"Age": [60, 70, 80], "M/F": ["F", "M", "F"]})
    >>> covariates = Covariates.fit(rows, ["Age", "M/F"])
    >>> covariates.dimension
    3
    >>> covariates.encode({"Age": 70, "M/F": "M"}, 1).round(2).tolist()
    [[0.0, 0.0, 1.0]]
    """

    def __init__(self, columns: Sequence[Covariate]):
        if not columns:
            raise ValueError("Covariates need at least one column")
        self.columns = list(columns)

    # --- fitting and (de)serialisation ---

    @classmethod
    def fit(
        cls, rows: pd.DataFrame, names: Sequence[str], where: str = "the table"
    ) -> Covariates:
        """Fits the encoding of `names` on `rows` (one row per training
        image): a column of numbers is numeric, any other categorical.

        Raises:
            ValueError: a name is not a column, or a column has no value.
        """
        fitted = []
        for name in names:
            if name not in rows.columns:
                raise ValueError(
                    f"Covariate {name!r} is not a column of {where}. Its columns: "
                    f"{', '.join(map(str, rows.columns))}"
                )
            column = rows[name]
            missing = column.map(_is_missing).to_numpy(bool)
            present = column[~missing]
            if present.empty:
                raise ValueError(f"Covariate {name!r} of {where} has no value")
            common = {"name": str(name), "missing": bool(missing.any()),
                      "missing_share": float(missing.mean())}  # fmt: skip
            if pd.api.types.is_numeric_dtype(column) and column.dtype != bool:
                values = present.to_numpy(np.float64)
                std = float(values.std())
                levels, counts = np.unique(values, return_counts=True)
                if len(levels) > MAX_LEVELS:
                    levels, counts = levels[:0], counts[:0]
                fitted.append(Covariate(
                    kind="numeric", mean=float(values.mean()),
                    std=std if std > 0 else 1.0,
                    low=float(values.min()), high=float(values.max()),
                    quantiles=tuple(float(q) for q in np.quantile(
                        values, np.linspace(0, 1, NUM_QUANTILES))),
                    levels=tuple(float(level) for level in levels),
                    frequencies=tuple(float(c) for c in counts / counts.sum()),
                    **common,
                ))  # fmt: skip
            else:
                counts = present.astype(str).value_counts()
                categories = tuple(sorted(counts.index))
                total = counts.sum()
                fitted.append(Covariate(
                    kind="categorical", categories=categories,
                    frequencies=tuple(float(counts[c] / total) for c in categories),
                    **common,
                ))  # fmt: skip
        return cls(fitted)

    def get_config(self) -> list[dict[str, Any]]:
        """A JSON-able description (``config.json``, Keras' model config)."""
        return [dataclasses.asdict(column) for column in self.columns]

    @classmethod
    def from_config(cls, config: Sequence[Mapping[str, Any]]) -> Covariates:
        columns = []
        for entry in config:
            entry = dict(entry)
            for key in ("quantiles", "levels", "categories", "frequencies"):
                entry[key] = tuple(entry.get(key, ()))
            columns.append(Covariate(**entry))
        return cls(columns)

    @classmethod
    def coerce(cls, value) -> Covariates | None:
        """`None`, a `Covariates`, or its config."""
        if value is None or isinstance(value, Covariates):
            return value
        return cls.from_config(value)

    @property
    def names(self) -> list[str]:
        return [column.name for column in self.columns]

    @property
    def dimension(self) -> int:
        """The length of the condition vector."""
        return sum(column.width for column in self.columns)

    def __repr__(self) -> str:
        return f"Covariates({'; '.join(c.describe() for c in self.columns)})"

    # --- values ---

    def values(self, conditions, count: int | None = None) -> dict[str, np.ndarray]:
        """Checked values, one array per covariate: float64 (NaN for missing)
        or str (``""`` for missing).

        Args:
            conditions: a mapping of each covariate to one value or to a
                sequence of `count` values, or a `pandas.DataFrame` with
                the covariates as columns (other columns are ignored).
            count: how many values; `None` takes the length of `conditions`.

        Raises:
            ValueError: a covariate missing from `conditions` or an unknown
                one, a count mismatch, a number that is not one, a value
                outside the training range, an unknown category, a missing
                value where training saw none.
        """
        if isinstance(conditions, pd.DataFrame):
            given = {name: conditions[name].tolist() for name in conditions.columns}
            unknown = []
        else:
            given = dict(conditions)
            unknown = sorted(set(map(str, given)) - set(self.names))
        absent = [name for name in self.names if name not in given]
        if unknown or absent:
            raise ValueError(
                f"The model is conditioned on {', '.join(self.names)}: give each "
                f"of them ({', '.join(c.describe() for c in self.columns)}). "
                f"Received: {sorted(map(str, given))}"
            )
        columns = {}
        for column in self.columns:
            raw = given[column.name]
            if isinstance(raw, (str, bytes)) or not isinstance(
                raw, Sequence | np.ndarray | pd.Series
            ):
                raw = [raw] * (1 if count is None else count)
            raw = list(raw)
            if count is None:
                count = len(raw)
            if len(raw) != count:
                raise ValueError(
                    f"Covariate {column.name!r}: {len(raw)} values for {count} samples"
                )
            columns[column.name] = self._check(column, raw)
        return columns

    def _check(self, column: Covariate, raw: list) -> np.ndarray:
        missing = [_is_missing(value) for value in raw]
        if any(missing) and not column.missing:
            raise ValueError(
                f"Covariate {column.name!r} was never missing in training, so a "
                f"missing value cannot be asked for: {column.describe()}"
            )
        if column.kind == "categorical":
            texts = [
                "" if gone else str(value)
                for value, gone in zip(raw, missing, strict=True)
            ]
            for text in texts:
                if text and text not in column.categories:
                    raise ValueError(
                        f"Covariate {column.name!r} has no category {text!r}: "
                        f"{column.describe()}"
                    )
            return np.asarray(texts, dtype=str)
        numbers = np.full(len(raw), np.nan)
        for i, (value, gone) in enumerate(zip(raw, missing, strict=True)):
            if gone:
                continue
            try:
                numbers[i] = float(value)
            except (TypeError, ValueError):
                raise ValueError(
                    f"Covariate {column.name!r} is numeric; {value!r} is not a number"
                ) from None
            if (
                not math.isfinite(numbers[i])
                or not column.low <= numbers[i] <= column.high
            ):
                raise ValueError(
                    f"Covariate {column.name!r}={value!r} is outside the range seen "
                    f"in training ({_number(column.low)} to {_number(column.high)}); "
                    "the generator says nothing reliable there"
                )
        return numbers

    def accepts(self, rows: pd.DataFrame) -> np.ndarray:
        """Which `rows` `values` accepts (in the training range, known
        categories, missing only where training saw it)."""
        accepted = np.ones(len(rows), bool)
        for i in range(len(rows)):
            try:
                self.values(rows.iloc[i : i + 1])
            except ValueError:
                accepted[i] = False
        return accepted

    def draw(self, count: int, seed: int | None = None) -> dict[str, np.ndarray]:
        """Values drawn from each covariate's training marginal,
        independently (with its missing share)."""
        rng = np.random.default_rng(seed)
        drawn = {}
        for column in self.columns:
            gone = rng.random(count) < column.missing_share
            if column.kind == "numeric" and column.levels:
                values = rng.choice(column.levels, count, p=column.frequencies)
                drawn[column.name] = np.where(gone, np.nan, values)
            elif column.kind == "numeric":
                grid = np.linspace(0, 1, len(column.quantiles))
                values = np.interp(rng.random(count), grid, column.quantiles)
                drawn[column.name] = np.where(gone, np.nan, values)
            else:
                picks = rng.choice(len(column.categories), count, p=column.frequencies)
                texts = np.asarray(column.categories, dtype=str)[picks]
                drawn[column.name] = np.where(gone, "", texts)
        return drawn

    # --- encoding ---

    def encode(self, conditions, count: int | None = None) -> np.ndarray:
        """The ``[count, dimension]`` float32 condition vectors of
        `conditions` (see `values`), checked."""
        values = self.values(conditions, count)
        parts = []
        for column in self.columns:
            value = values[column.name]
            if column.kind == "numeric":
                gone = np.isnan(value)
                parts.append(
                    np.where(gone, 0.0, (value - column.mean) / column.std)[:, None]
                )
            else:
                gone = value == ""
                parts.append(value[:, None] == np.asarray(column.categories)[None, :])
            if column.missing:
                parts.append(gone[:, None])
        return np.concatenate(parts, axis=1).astype(np.float32)

    def encode_tensors(self, inputs: Mapping[str, Any]):
        """`encode` in TensorFlow ops, for an exported model's signature.

        Args:
            inputs: each covariate's `Covariate.input_name` -> a ``[N]``
                tensor: float32 for a numeric one (NaN for missing), string
                for a categorical one (``""`` for missing).

        Returns:
            The ``[N, dimension]`` float32 condition vectors. A value
            outside the training range, an unknown category or an
            unexpected missing value fails the call (InvalidArgument naming
            the covariate).
        """
        import tensorflow as tf

        parts = []
        for column in self.columns:
            value = inputs[column.input_name]
            if column.kind == "numeric":
                value = tf.cast(value, tf.float32)
                gone = tf.math.is_nan(value)
                present = tf.where(gone, tf.cast(column.low, tf.float32), value)
                where = f"covariate {column.name}"
                checks = [
                    tf.debugging.assert_greater_equal(
                        present, tf.cast(column.low, tf.float32),
                        message=f"{where}: below the training range"),
                    tf.debugging.assert_less_equal(
                        present, tf.cast(column.high, tf.float32),
                        message=f"{where}: above the training range"),
                ]  # fmt: skip
                with tf.control_dependencies(checks):
                    scaled = (present - column.mean) / column.std
                parts.append(tf.where(gone, 0.0, scaled)[:, None])
            else:
                gone = tf.equal(value, "")
                hot = tf.cast(
                    tf.equal(value[:, None], tf.constant(column.categories)[None, :]),
                    tf.float32,
                )
                known = tf.logical_or(gone, tf.reduce_any(hot > 0, axis=1))
                check = tf.debugging.Assert(
                    tf.reduce_all(known), [f"covariate {column.name}: unknown category"]
                )
                with tf.control_dependencies([check]):
                    parts.append(tf.identity(hot))
            if column.missing:
                parts.append(tf.cast(gone, tf.float32)[:, None])
            else:
                check = tf.debugging.Assert(
                    tf.logical_not(tf.reduce_any(gone)),
                    [f"covariate {column.name}: never missing in training"],
                )
                with tf.control_dependencies([check]):
                    parts[-1] = tf.identity(parts[-1])
        return tf.concat(parts, axis=1)


# === Joining images to their rows ===


def join_rows(
    ids: Sequence[str], table: pd.DataFrame, id_column: str, where: str
) -> pd.DataFrame:
    """The row of each image's person: `table`'s rows by `id_column`, in the
    order of `ids` (one per image), index reset.

    Raises:
        ValueError: `id_column` is not a column, an ID repeats in the table,
            or an image's ID is not in it (the message names the first).
    """
    if id_column not in table.columns:
        raise ValueError(
            f"--id-column {id_column!r} is not a column of {where}. Its columns: "
            f"{', '.join(map(str, table.columns))}"
        )
    keys = table[id_column].astype(str)
    repeated = keys[keys.duplicated()]
    if not repeated.empty:
        raise ValueError(
            f"{where}: ID {repeated.iloc[0]!r} of column {id_column!r} is on more "
            "than one row; each image's person needs one row"
        )
    index = pd.Index(keys)
    positions = index.get_indexer([str(i) for i in ids])
    unmatched = [str(i) for i, p in zip(ids, positions, strict=True) if p < 0]
    if unmatched:
        raise ValueError(
            f"{len(set(unmatched))} image IDs are not in column {id_column!r} of "
            f"{where}, e.g. {unmatched[0]!r}"
        )
    return table.iloc[positions].reset_index(drop=True)


@dataclasses.dataclass(frozen=True)
class CovariateSource:
    """Where an image set's covariates come from (``--covariates``).

    Attributes:
        names: the covariates, columns of `table` (``Age``, ``M/F``,
            ``CDR``).
        table: a CSV or Parquet file with one row per person (or session).
        id_column: the column of `table` that holds the images' IDs.
        image_ids: where each image's ID comes from, ``NAME[:REGEX]`` as a
            group key (`kerasynth.data.groups`): an ``.npz`` array
            (``subject_id``) or a folder image's file ``name``/``path``.
    """

    names: tuple[str, ...]
    table: str
    id_column: str = "ID"
    image_ids: str = "subject_id"

    @classmethod
    def coerce(cls, value) -> CovariateSource | None:
        """`None`, a `CovariateSource`, or its `to_json` dict."""
        if value is None or isinstance(value, CovariateSource):
            return value
        value = dict(value)
        return cls(**{**value, "names": tuple(value["names"])})

    def to_json(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "names": list(self.names)}

    def attach(self, data):
        """`data` (an `ImageData` read with ``ids_by=image_ids``) with the
        row of each image's person in `ImageData.covariates`.

        Raises:
            ValueError: `data` has no IDs, the table cannot be read, a
                column is unknown, an image's ID is not in the table.
        """
        from kerasynth.data.tables import read_source

        if data.ids is None:
            raise ValueError(
                f"--covariates: {data.source} has no image IDs (--image-ids "
                f"{self.image_ids!r})"
            )
        table, origin = read_source(self.table)
        rows = join_rows(data.ids, table, self.id_column, origin)
        unknown = [name for name in self.names if name not in rows.columns]
        if unknown:
            raise ValueError(
                f"--covariates: {unknown[0]!r} is not a column of {origin}. Its "
                f"columns: {', '.join(map(str, rows.columns))}"
            )
        return dataclasses.replace(data, covariates=rows[list(self.names)])
