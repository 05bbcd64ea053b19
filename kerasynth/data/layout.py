"""`TableLayout`: what a fitted table transformer publishes.

The span layout of a transformed row (`Span`: column, kind, activation,
offset, width), the schema it was fitted with, and the conditioning helpers a
conditional model and its sampler read (categories, their counts and
frequencies, condition vectors). `TableTransformer` is a `TableLayout` that
also fits, encodes and decodes; the generators, the conditional loss, the
sampler and the SavedModel export only read this side of it.
"""

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np

from kerasynth.data.encoders import (
    CategoricalEncoder,
    ColumnEncoder,
    ModeSpecificEncoder,
)
from kerasynth.data.schema import TableSchema


@dataclasses.dataclass(frozen=True)
class Span:
    """A block of the transformed row.

    Attributes:
        column: the column it encodes.
        kind: `"value"` (a mode-normalised number), `"mode"` (one-hot of the
            mode), `"category"` (one-hot of the category), `"missing"`
            (one-hot `[present, missing]` of a numerical column) or `"plain"`
            (one number in [0, 1]).
        activation: what the generator's output for this span must pass
            through: `"tanh"`, `"softmax"` or `"sigmoid"`.
        start: offset of the span in the transformed row.
        width: number of values.
    """

    column: str
    kind: str
    activation: str
    start: int
    width: int

    @property
    def end(self) -> int:
        """Offset just after the span (`start + width`)."""
        return self.start + self.width


class TableLayout:
    """The span layout, schema and conditioning helpers of fitted encoders.

    Each column's fitted encoder (`kerasynth.data.encoders`) contributes a
    block of spans; the blocks are laid side by side in column order. Until
    it is fitted, every property raises a `ValueError` saying so.
    """

    def __init__(self):
        self._schema: TableSchema | None = None
        self._encoders: list[ColumnEncoder] | None = None
        self._spans: list[Span] = []
        self._blocks: list[tuple[int, int]] = []  # each encoder's (start, end)
        self._by_name: dict[str, ColumnEncoder] = {}

    # === Layout ===

    @property
    def is_fitted(self) -> bool:
        return self._encoders is not None

    @property
    def encoders(self) -> list[ColumnEncoder]:
        """The fitted column encoders, in column order."""
        return list(self._check_fitted())

    @property
    def schema(self) -> TableSchema:
        """The fitted `TableSchema`: the kinds the fidelity metrics should use."""
        self._check_fitted()
        return self._schema

    @property
    def spans(self) -> list[Span]:
        """The span layout of a transformed row, in order."""
        self._check_fitted()
        return list(self._spans)

    @property
    def output_dim(self) -> int:
        """Width of a transformed row (the sum of the span widths)."""
        self._check_fitted()
        return self._spans[-1].end

    @property
    def columns(self) -> list[str]:
        """The modelled columns, in the fitted frame's order."""
        return self.schema.names

    @property
    def categorical_columns(self) -> list[str]:
        return self.schema.categorical

    @property
    def numerical_columns(self) -> list[str]:
        return self.schema.numerical

    @property
    def discrete_spans(self) -> list[Span]:
        """The spans a condition vector covers: the `"category"` spans, in order.

        Empty with `encoding="plain"`, which has no one-hot spans.
        """
        return [span for span in self.spans if span.kind == "category"]

    @property
    def condition_dim(self) -> int:
        """Width of a condition vector (the sum of the discrete span widths)."""
        return sum(span.width for span in self.discrete_spans)

    # === Conditioning ===

    def categories(self, column: str) -> list:
        """The categories of a categorical column in span order (`None`: missing)."""
        return list(self._categorical(column).categories)

    def category_codes(self, column: str, series) -> "np.ndarray":
        """Each value's index in `categories` (an unseen value is an error)."""
        return self._categorical(column).codes(series)

    def category_counts(self, column: str) -> list[int]:
        """Rows per category (same order as `categories`) in the fitted frame."""
        return list(self._categorical(column).counts)

    def condition_frequencies(self) -> list[list[float]]:
        """Per discrete span, in order: each category's share of the fitted rows.

        The empirical frequencies CTGAN draws sampling-time conditions from.
        """
        shares = []
        for span in self.discrete_spans:
            counts = self._categorical(span.column).counts
            shares.append([count / sum(counts) for count in counts])
        return shares

    def modes(self, column: str) -> int:
        """Number of mixture modes of a numerical column (mode-specific only)."""
        encoder = self._encoder(column)
        if isinstance(encoder, CategoricalEncoder):
            raise ValueError(f"Column {column!r} is categorical, it has no modes")
        return encoder.num_modes if isinstance(encoder, ModeSpecificEncoder) else 0

    def condition_vector(
        self, conditions: Mapping[str, Any]
    ) -> tuple[np.ndarray, int, int]:
        """Encodes one `column=value` condition for a conditional generator.

        Args:
            conditions: exactly one `{column: value}`. The value matches a
                category by equality, or by its text form (so the CLI's
                `"F"`, `"1"` or `"0.5"` work on text, integer and float
                categories); `None`, NaN or `""` selects the missing category.

        Returns:
            `(cond, span_index, category_index)`: float32 one-hot
            `[condition_dim]`, the index of the column's span in
            `discrete_spans`, and the category's index in `categories(column)`.

        Raises:
            ValueError: not exactly one condition, a column that is not a
                modelled categorical one, or a value never seen in training.
        """
        if not isinstance(conditions, Mapping) or len(conditions) != 1:
            raise ValueError(
                "`conditions` must be a mapping with exactly one column: value "
                f"pair. Received: {conditions=}"
            )
        ((column, value),) = conditions.items()
        names = [span.column for span in self.discrete_spans]
        if column not in names:
            kind = (
                "is numerical"
                if column in self.numerical_columns
                else "is not a categorical column"
                if column in self.columns
                else "is not a modelled column"
            )
            raise ValueError(
                f"Cannot condition on column {column!r}: it {kind}. "
                f"Conditions take one of the categorical columns {names}"
            )
        span_index = names.index(column)
        category_index = self.category_index(column, value)
        offset = sum(span.width for span in self.discrete_spans[:span_index])
        cond = np.zeros(self.condition_dim, dtype=np.float32)
        cond[offset + category_index] = 1.0
        return cond, span_index, category_index

    def category_index(self, column: str, value: Any) -> int:
        """The index of `value` in `categories(column)`, in any encoding.

        Matches like `condition_vector` (equality, then the text form; `None`,
        NaN or `""` for missing). With `encoding="plain"`, which has no condition
        vector, this validates a requested category; its code in the
        transformed row is `index / (len(categories) - 1)`.

        Raises:
            ValueError: `column` is not categorical, or `value` was never seen
                in training (the message lists the valid values).
        """
        return self._categorical(column).index(value)

    # === Helpers ===

    def _set_fitted(self, schema: TableSchema, encoders: list) -> None:
        spans, blocks, start = [], [], 0
        for encoder in encoders:
            first = start
            for kind, activation, width in encoder.shapes():
                spans.append(Span(encoder.column.name, kind, activation, start, width))
                start += width
            blocks.append((first, start))
        self._schema, self._encoders = schema, encoders
        self._spans, self._blocks = spans, blocks
        self._by_name = {encoder.column.name: encoder for encoder in encoders}

    def _check_fitted(self) -> list[ColumnEncoder]:
        if self._encoders is None:
            raise ValueError(
                "This TableTransformer is not fitted; call fit(frame) first"
            )
        return self._encoders

    def _encoder(self, column: str) -> ColumnEncoder:
        self._check_fitted()
        if column not in self._by_name:
            raise ValueError(f"Unknown column {column!r}. Columns: {self.columns}")
        return self._by_name[column]

    def _categorical(self, column: str) -> CategoricalEncoder:
        encoder = self._encoder(column)
        if not isinstance(encoder, CategoricalEncoder):
            raise ValueError(
                f"Column {column!r} is numerical. Categorical columns: "
                f"{self.categorical_columns}"
            )
        return encoder
