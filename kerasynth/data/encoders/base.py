"""The column encoders' base classes: a column <-> a block of the model's row.

`ColumnEncoder` is the interface the `TableTransformer` delegates every
column to; `CategoricalEncoder` and `NumericalEncoder` hold what the two
encodings of a kind share (the categories and their counts; the observed
range, clipping and rounding), so a subclass only says how values become
floats and back.
"""

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Self

import numpy as np
import pandas as pd

from kerasynth.data.column_values import is_missing, numeric_values, python_value
from kerasynth.data.schema import ColumnSchema

if TYPE_CHECKING:  # TensorFlow is imported only inside the graph methods
    import tensorflow as tf


class ColumnEncoder:
    """Encodes one column as a block of the transformed row, and back.

    The `TableTransformer` lays the blocks of its columns side by side (its
    span layout) and hands each encoder its column and its block. `decode`
    (NumPy) and `decode_graph` (TensorFlow ops, for SavedModels) take the
    *activated* model outputs of the block and agree with each other. The
    fitted state is plain Python values, so `get_config` is JSON.

    Args:
        column: the column's `ColumnSchema`; its kind must be the encoder's.
    """

    #: The encoder's name in configs, and the column kind it encodes.
    name: ClassVar[str] = ""
    kind: ClassVar[str] = ""
    #: Whether missing values are encoded (else fitting on them is an error).
    models_missing: ClassVar[bool] = True
    #: Constructor options and fitted attributes, saved by `get_config`.
    options: ClassVar[tuple[str, ...]] = ()
    state: ClassVar[tuple[str, ...]] = ()

    def __init__(self, column: ColumnSchema):
        if not isinstance(column, ColumnSchema) or column.kind != self.kind:
            raise ValueError(
                f"{type(self).__name__} encodes a {self.kind} column. "
                f"Received: column={column!r}"
            )
        self.column = column
        for attribute in self.state:
            setattr(self, attribute, None)

    @property
    def is_fitted(self) -> bool:
        return all(getattr(self, a) is not None for a in self.state)

    def shapes(self) -> list[tuple[str, str, int]]:
        """The spans of the block, in order: `(kind, activation, width)`."""
        raise NotImplementedError

    @property
    def width(self) -> int:
        return sum(width for _, _, width in self.shapes())

    def fit(self, series: pd.Series, rng: np.random.Generator | None = None) -> Self:
        """Fits the encoder on the column's values; returns `self`.

        Args:
            series: the column of the real frame.
            rng: randomness of the fit (the mode-specific encoder's mixture).
        """
        raise NotImplementedError

    def encode(
        self, series: pd.Series, rng: np.random.Generator | None = None
    ) -> np.ndarray:
        """The column as float32 `[N, width]`.

        Args:
            series: the column of the frame to encode.
            rng: randomness of the encoding (the mode-specific mode draws).
        """
        raise NotImplementedError

    def decode(self, block: np.ndarray) -> np.ndarray:
        """Activated outputs `[N, width]` (float64) -> the column's values `[N]`."""
        raise NotImplementedError

    def decode_graph(self, block: "tf.Tensor") -> "tf.Tensor":
        """`decode` in TensorFlow ops: float64 `[N, width]` -> a tensor `[N]`."""
        raise NotImplementedError

    def get_config(self) -> dict:
        """The options and the fitted state, JSON-ready."""
        if not self.is_fitted:
            raise ValueError(f"This {type(self).__name__} is not fitted")
        return {
            "encoder": self.name,
            "column": self.column.name,
            **{name: getattr(self, name) for name in self.options + self.state},
        }

    @classmethod
    def from_config(
        cls, column: ColumnSchema, config: dict[str, Any]
    ) -> "ColumnEncoder":
        """Rebuilds a fitted encoder of `column` from `get_config()`."""
        expected = {"encoder", "column", *cls.options, *cls.state}
        if set(config) != expected or config["column"] != column.name:
            raise ValueError(
                f"A {cls.__name__} config of column {column.name!r} must hold "
                f"exactly {sorted(expected)}. Received: {config!r:.300}"
            )
        encoder = cls(column, **{name: config[name] for name in cls.options})
        for name in cls.state:
            setattr(encoder, name, config[name])
        return encoder

    def _refuse_missing(self, count: int) -> None:
        if count and not self.models_missing:
            raise ValueError(
                f"Column {self.column.name!r} has {count} missing values, and "
                "encoding='plain' does not model missing values: drop those rows "
                "(load_table(..., dropna=True), CLI --dropna) or use "
                "encoding='mode_specific'"
            )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(column={self.column.name!r})"


class CategoricalEncoder(ColumnEncoder):
    """The base of the categorical encoders: categories and their counts.

    Categories are the observed values as JSON-ready Python values, sorted
    (mixed types by type name, then text), with missing (`None`) one more
    category listed last when the fitted column has missing values.
    """

    kind = "categorical"
    state = ("categories", "counts")

    def fit(self, series: pd.Series, rng: np.random.Generator | None = None) -> Self:
        del rng  # deterministic
        name = self.column.name
        missing = int(series.isna().sum())
        self._refuse_missing(missing)
        values = {}
        for value, count in series.value_counts(dropna=True).items():
            key = python_value(value, name)
            values[key] = values.get(key, 0) + int(count)
        categories = _sorted_values(list(values))
        counts = [values[c] for c in categories]
        if missing:
            categories.append(None)
            counts.append(missing)
        self.categories, self.counts = categories, counts
        return self

    def codes(self, series: pd.Series) -> np.ndarray:
        """Each value's index in `categories`; an unseen value is an error."""
        known = [c for c in self.categories if c is not None]
        if isinstance(series.dtype, pd.CategoricalDtype):
            series = series.astype(object)
        codes = pd.Index(known, dtype=object).get_indexer(series.astype(object))
        missing = series.isna().to_numpy()
        if self.categories and self.categories[-1] is None:
            codes[missing] = len(known)
        unseen = codes < 0
        if unseen.any():
            row = int(np.flatnonzero(unseen)[0])
            value = series.iloc[row]
            what = "a missing value" if missing[row] else f"the value {value!r}"
            raise ValueError(
                f"Column {self.column.name!r} has {what} (row {row}), never seen "
                f"when the transformer was fitted. Known values: {self.categories}"
            )
        return codes

    def index(self, value: Any) -> int:
        """The index of `value` in `categories`, matched loosely.

        The exact value first, then its text form (`""` is missing; `"1"`
        matches 1 and 1.0), then its number (`"0.5"` matches 0.5); `None`,
        NaN or `""` select the missing category.

        Raises:
            ValueError: `value` was never seen in training (the message lists
                the valid values).
        """
        wanted = None if is_missing(value) else value
        text = str(value)
        try:
            number = float(text)
        except ValueError:
            number = None
        for index, category in enumerate(self.categories):
            same_kind = isinstance(category, bool) == isinstance(wanted, bool)
            if same_kind and category == wanted:
                return index
        for index, category in enumerate(self.categories):
            if text == category_label(category) or (
                category is not None and text == str(category)
            ):
                return index
        for index, category in enumerate(self.categories):
            numeric = isinstance(category, (int, float)) and not isinstance(
                category, bool
            )
            if numeric and number is not None and category == number:
                return index
        raise ValueError(
            f"Value {value!r} of column {self.column.name!r} was never seen in "
            f"training. Valid values: {[category_label(c) for c in self.categories]}"
        )

    def decode(self, block: np.ndarray) -> np.ndarray:
        """The categories (`None`: missing) as an object array `[N]`."""
        lookup = np.empty(len(self.categories), dtype=object)
        lookup[:] = self.categories
        return lookup[self.decode_codes(block)]

    def decode_graph(self, block: "tf.Tensor") -> "tf.Tensor":
        """The categories' labels (`category_label`) as a `tf.string` `[N]`."""
        import tensorflow as tf

        labels = tf.constant([category_label(c) for c in self.categories])
        return tf.gather(labels, self.decode_codes_graph(block))

    def decode_codes(self, block: np.ndarray) -> np.ndarray:
        """Activated outputs -> category indices, int64 `[N]`."""
        raise NotImplementedError

    def decode_codes_graph(self, block: "tf.Tensor") -> "tf.Tensor":
        """`decode_codes` in TensorFlow ops."""
        raise NotImplementedError


class NumericalEncoder(ColumnEncoder):
    """The base of the numerical encoders: the observed range and rounding.

    Decoded values are clipped to the observed [min, max], rounded to
    integers for whole-number columns or to the observed decimal places
    (`ColumnSchema.integer`, `decimals`), and NaN where a subclass decodes a
    missing value.
    """

    kind = "numerical"
    state = ("minimum", "maximum")

    def fit(self, series: pd.Series, rng: np.random.Generator | None = None) -> Self:
        values = numeric_values(self.column.name, series)
        present = values[~np.isnan(values)]
        self._refuse_missing(values.size - present.size)
        self.minimum, self.maximum = float(present.min()), float(present.max())
        self.fit_values(present, rng)
        return self

    def fit_values(self, present: np.ndarray, rng: np.random.Generator | None) -> None:
        """Fits what a subclass needs beyond the range (present values only)."""

    def encode(
        self, series: pd.Series, rng: np.random.Generator | None = None
    ) -> np.ndarray:
        values = numeric_values(self.column.name, series)
        missing = np.isnan(values)
        if missing.any() and not self.column.missing:
            row = int(np.flatnonzero(missing)[0])
            raise ValueError(
                f"Column {self.column.name!r} has a missing value (row {row}) but "
                "had none when the transformer was fitted; fill it or refit"
            )
        block = np.zeros((len(values), self.width), dtype=np.float32)
        self.encode_values(values, missing, block, rng)
        return block

    def encode_values(
        self,
        values: np.ndarray,
        missing: np.ndarray,
        block: np.ndarray,
        rng: np.random.Generator | None,
    ) -> None:
        """Writes the float64 `values` (NaN where `missing`) into `block`."""
        raise NotImplementedError

    def decode(self, block: np.ndarray) -> np.ndarray:
        """Numbers in original units, float64 `[N]`, NaN where missing."""
        values = np.clip(self.decode_values(block), self.minimum, self.maximum)
        if self.column.integer:
            values = np.round(values)
        elif self.column.decimals is not None:
            values = np.round(values, self.column.decimals)
        missing = self.decode_missing(block)
        return values if missing is None else np.where(missing, np.nan, values)

    def decode_graph(self, block: "tf.Tensor") -> "tf.Tensor":
        """`decode` in TensorFlow ops: a `tf.float64` `[N]` (float64 keeps
        integer columns such as eTIV exact and matches the NumPy decoding)."""
        import tensorflow as tf

        low = tf.constant(self.minimum, tf.float64)
        high = tf.constant(self.maximum, tf.float64)
        values = tf.clip_by_value(self.decode_values_graph(block), low, high)
        if self.column.integer:
            values = tf.round(values)
        elif self.column.decimals is not None:
            # Grappler turns a graph's `x / 1000` into `x * 0.001`, one ulp
            # off (0.6910000000000001); parsing "691e-3" is exact.
            decimals = self.column.decimals
            scale = tf.constant(10.0**decimals, tf.float64)
            digits = tf.strings.as_string(tf.cast(tf.round(values * scale), tf.int64))
            values = tf.strings.to_number(
                tf.strings.join([digits, f"e-{decimals}"]), tf.float64
            )
        missing = self.decode_missing_graph(block)
        if missing is not None:
            values = tf.where(missing, tf.constant(np.nan, tf.float64), values)
        return values

    def decode_values(self, block: np.ndarray) -> np.ndarray:
        """Activated outputs -> unclipped, unrounded values, float64 `[N]`."""
        raise NotImplementedError

    def decode_values_graph(self, block: "tf.Tensor") -> "tf.Tensor":
        """`decode_values` in TensorFlow ops."""
        raise NotImplementedError

    def decode_missing(self, block: np.ndarray) -> np.ndarray | None:
        """Where a value is decoded as missing (bool `[N]`), or `None`."""
        return None

    def decode_missing_graph(self, block: "tf.Tensor") -> "tf.Tensor | None":
        """`decode_missing` in TensorFlow ops."""
        return None


def category_label(value: Any) -> str:
    """The text of a category in decoded tensors and messages.

    `str(value)`, except that missing (`None`) is `""` and whole floats drop
    their `.0` (OASIS `SES` 1.0 -> `"1"`, as written in the CSV).
    """
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _sorted_values(values: Sequence) -> list:
    try:
        return sorted(values)
    except TypeError:  # mixed types, e.g. numbers and text in one column
        return sorted(values, key=lambda v: (type(v).__name__, str(v)))
