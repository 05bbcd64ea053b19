"""`TableTransformer`: a table <-> the float matrix the table models learn.

The transformer is fitted once on the real frame and owns its schema: which
columns are numerical or categorical, their categories and frequencies, the
observed min/max, integer rounding, missing-value rates and original dtypes.
It publishes a span layout (`spans`: column, kind, activation, offset, width)
that the generators, the conditional loss and the sampler all read, and it
saves to JSON beside a model.

Mode-specific normalisation (Xu et al. 2019, "Modeling Tabular Data using
Conditional GAN", section 4.2), the default `encoding="mode_specific"`:

- a numerical column is modelled by a variational Gaussian mixture
  (scikit-learn's `BayesianGaussianMixture`, Dirichlet-process prior with
  concentration 0.001, up to `max_modes` = 10 components); components with a
  weight above `weight_threshold` = 0.005 are its modes. For speed the mixture
  is fitted on the standardised values of at most `MAX_FIT_ROWS` rows (a
  seeded subsample of bigger tables), with k-means++ seeding instead of a
  full k-means run as its starting point and diagonal covariances (the same
  model in one dimension): six times faster on OASIS (about 0.03 s a column).
- a value `c` becomes a "value" span (width 1, tanh)
  `alpha = (c - mean_k) / (4 std_k)` clipped to [-0.99, 0.99] and a "mode"
  span (softmax) one-hot of its mode `k`. As in the paper, `k` is *sampled*
  from the mode probabilities `rho_k ~ weight_k N(c; mean_k, std_k)`, not
  taken as the most probable mode: a value between two modes is encoded under
  either, in proportion. The draw is seeded by `seed` and the column position,
  so `transform` is deterministic.
- a categorical column is a "category" span (softmax), one-hot over its
  observed categories.
- missing values are modelled, so synthetic data keeps the real missing rate:
  in a categorical column, missing is one more category (`None`, listed last);
  a numerical column with missing values gets a "missing" span (width 2,
  softmax, `[present, missing]`) and its missing rows are encoded with
  `alpha = 0` under its heaviest mode.

`encoding="plain"` is the study's own simple encoding: one sigmoid number per
column, numbers min-max scaled to [0, 1], categories as codes
`code / (n - 1)`. It does not model missing values.

The inverse (`inverse_transform`, and `inverse_transform_graph` in TensorFlow
for SavedModels) takes the *activated* model outputs, picks modes and
categories by argmax, clips values to the observed [min, max], rounds
integer-valued columns and restores the original dtypes and column order.

Schema inference (overridden by `categorical=`, `numerical=` or a metadata
file):

- bool, text (`object`, `str`, `string`) and `category` columns are
  categorical. A text column whose values are at least 90% numbers but not
  all is an error naming the first bad value (a typo like `"abc"` in `Age`),
  unless it is declared categorical.
- a numeric column with at most `MAX_INFERRED_CATEGORIES` = 10 distinct
  values, each seen twice on average (`2 * distinct <= non-missing rows`), is
  categorical: OASIS `CDR` (0, 0.5, 1, 2), `SES` and `Educ` (1..5), a 0/1
  flag. Any other numeric column is numerical (OASIS `MMSE`, 17 values).
- date/time and complex columns are rejected.

Dtypes on the way out: every column gets its fitted dtype back, `category`
columns with their declared categories and order. A dtype that cannot hold a
missing value is replaced by pandas' nullable one (`Int64`, `boolean`) when
the decoded column has one; since missing values are only generated for
columns that had some, that is a safeguard rather than a rule. Text columns
declared numerical come back as numbers (`int64`, or `float64` when they
have fractions or missing values).

This module imports TensorFlow only inside `inverse_transform_graph`.
"""

import dataclasses
import json
import logging
import math
import os
import time
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kerasynth.atomic import write_json

logger = logging.getLogger("kerasynth")

ENCODINGS = ("mode_specific", "plain")
MAX_INFERRED_CATEGORIES = 10
MAX_FIT_ROWS = 10_000
# Share of number-like values above which a text column is a numerical
# column with typos rather than a categorical one.
NUMERIC_TEXT_SHARE = 0.9
FORMAT_VERSION = 1
_ALPHA_LIMIT = 0.99
_STD_MULTIPLE = 4.0  # alpha = (c - mean) / (4 std): the paper's scale


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


@dataclasses.dataclass
class _Numerical:
    """Fitted state of a numerical column (JSON-ready Python types only)."""

    name: str
    dtype: str
    minimum: float
    maximum: float
    integer: bool
    missing_rate: float
    # Decimal places of the observed values (up to 6); outputs are rounded to
    # them, so synthetic ASF reads 1.343 like the real column, not
    # 1.3428997803867693. `None`: full-precision values, no rounding.
    decimals: int | None = None
    # Mode-specific encoding only, modes sorted by mean.
    means: list[float] = dataclasses.field(default_factory=list)
    stds: list[float] = dataclasses.field(default_factory=list)
    weights: list[float] = dataclasses.field(default_factory=list)
    kind: str = "numerical"

    @property
    def missing_mode(self) -> int:
        """The heaviest mode, under which missing rows are encoded."""
        return int(np.argmax(self.weights))


@dataclasses.dataclass
class _Categorical:
    """Fitted state of a categorical column (JSON-ready Python types only)."""

    name: str
    dtype: str
    categories: list  # sorted; `None` (missing) last when present
    counts: list[int]  # rows per category in the fitted frame
    # For pandas `category` columns: the declared categories and order.
    dtype_categories: list | None = None
    ordered: bool = False
    kind: str = "categorical"


class TableTransformer:
    """Encodes a table as the float matrix a table model learns, and back.

    Fit it on the real frame; `transform` gives float32 rows laid out as
    `spans`; `inverse_transform` (NumPy) and `inverse_transform_graph`
    (TensorFlow, for exported models) turn activated model outputs back into
    a frame with the original columns, order and dtypes. See the module
    docstring for the encodings and the schema-inference rule.

    Mode-specific normalisation follows Xu et al. 2019, "Modeling Tabular
    Data using Conditional GAN" (NeurIPS), section 4.2.

    Args:
        encoding: `"mode_specific"` (CTGAN, TVAE, DRAGAN) or `"plain"` (one
            sigmoid number per column: the study's simple GAN and VAE).
        categorical: columns to model as categorical, whatever their dtype.
        numerical: columns to model as numerical (their values must all be
            numbers).
        metadata: column kinds, `{"columns": {name: {"kind": "categorical" |
            "numerical"}}}`, or the path of a JSON file holding that (see
            `from_metadata`); its content is kept in the config. Columns it
            names that are absent from the fitted frame are ignored (one file
            can describe the whole CSV), and `categorical=` / `numerical=`
            take precedence over it.
        max_modes: most mixture components per numerical column.
        weight_threshold: a component is a mode when its weight exceeds this.
        seed: seeds the mixture fits, the subsample of big tables and the
            mode draws of `transform`.

    Example:

    >>> transformer = TableTransformer(seed=0).fit(frame)
    >>> rows = transformer.transform(frame)        # float32 [N, output_dim]
    >>> [(s.column, s.kind, s.width) for s in transformer.spans][:3]
    [('M/F', 'category', 2), ('Age', 'value', 1), ('Age', 'mode', 3)]
    >>> restored = transformer.inverse_transform(rows)
    """

    def __init__(
        self,
        *,
        encoding: str = "mode_specific",
        categorical: Sequence[str] | None = None,
        numerical: Sequence[str] | None = None,
        metadata: str | os.PathLike | Mapping[str, Any] | None = None,
        max_modes: int = 10,
        weight_threshold: float = 0.005,
        seed: int = 0,
    ):
        if encoding not in ENCODINGS:
            raise ValueError(
                f"`encoding` must be one of {ENCODINGS}. Received: {encoding=}"
            )
        self.categorical = _name_list(categorical, "categorical")
        self.numerical = _name_list(numerical, "numerical")
        both = sorted(set(self.categorical or ()) & set(self.numerical or ()))
        if both:
            raise ValueError(
                f"Columns {both} are declared both categorical and numerical"
            )
        if isinstance(metadata, (str, os.PathLike)):
            metadata = _read_metadata(Path(metadata))
        self.metadata = None if metadata is None else _check_metadata(metadata)
        if not _is_int(max_modes) or max_modes < 1:
            raise ValueError(
                f"`max_modes` must be an integer >= 1. Received: {max_modes=}"
            )
        if not isinstance(weight_threshold, (int, float)) or not (
            0.0 <= weight_threshold < 1.0
        ):
            raise ValueError(
                "`weight_threshold` must be a number in [0, 1). "
                f"Received: {weight_threshold=}"
            )
        if not _is_int(seed) or seed < 0:
            raise ValueError(f"`seed` must be an integer >= 0. Received: {seed=}")
        self.encoding = encoding
        self.max_modes = int(max_modes)
        self.weight_threshold = float(weight_threshold)
        self.seed = int(seed)
        self._fitted: list[_Numerical | _Categorical] | None = None
        self._spans: list[Span] = []

    # === Construction ===

    @classmethod
    def from_metadata(
        cls, metadata: str | os.PathLike | Mapping[str, Any], **kwargs
    ) -> "TableTransformer":
        """Builds a transformer whose column kinds come from a metadata file.

        Args:
            metadata: path to a JSON file, or its content, shaped
                `{"columns": {"M/F": {"kind": "categorical"},
                "Age": {"kind": "numerical"}}}`.
            **kwargs: the other constructor arguments.

        Returns:
            An unfitted `TableTransformer`.
        """
        return cls(metadata=metadata, **kwargs)

    def get_config(self) -> dict:
        """Constructor arguments plus the fitted schema, JSON-serialisable."""
        return {
            "format_version": FORMAT_VERSION,
            "encoding": self.encoding,
            "categorical": self.categorical,
            "numerical": self.numerical,
            "metadata": self.metadata,
            "max_modes": self.max_modes,
            "weight_threshold": self.weight_threshold,
            "seed": self.seed,
            "columns": None
            if self._fitted is None
            else [dataclasses.asdict(info) for info in self._fitted],
        }

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> "TableTransformer":
        """Rebuilds a transformer, fitted if the config holds a fitted schema."""
        config = dict(config)
        version = config.pop("format_version", FORMAT_VERSION)
        if version != FORMAT_VERSION:
            raise ValueError(
                f"Unsupported TableTransformer format_version {version}; this "
                f"kerasynth reads version {FORMAT_VERSION}"
            )
        columns = config.pop("columns", None)
        transformer = cls(**config)
        if columns is not None:
            fitted = []
            for item in columns:
                item = dict(item)
                kind = item.get("kind")
                if kind not in ("numerical", "categorical"):
                    raise ValueError(f"Unknown column kind in config: {kind!r}")
                fitted.append(
                    (_Numerical if kind == "numerical" else _Categorical)(**item)
                )
            transformer._set_fitted(fitted)
        return transformer

    def save(self, path: str | os.PathLike) -> None:
        """Writes `get_config()` as JSON, atomically (replaces `path`)."""
        write_json(Path(path), self.get_config())

    @classmethod
    def load(cls, path: str | os.PathLike) -> "TableTransformer":
        """Reads a transformer written by `save`."""
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"Transformer file not found: {path}")
        try:
            config = json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise ValueError(
                f"Transformer file {path} is not valid JSON: {err}"
            ) from err
        return cls.from_config(config)

    # === Fitted layout ===

    @property
    def is_fitted(self) -> bool:
        return self._fitted is not None

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
        return [info.name for info in self._check_fitted()]

    @property
    def categorical_columns(self) -> list[str]:
        return [i.name for i in self._check_fitted() if isinstance(i, _Categorical)]

    @property
    def numerical_columns(self) -> list[str]:
        return [i.name for i in self._check_fitted() if isinstance(i, _Numerical)]

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

    def categories(self, column: str) -> list:
        """The categories of a categorical column in span order (`None`: missing)."""
        return list(self._categorical(column).categories)

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
        info = self._info(column)
        if not isinstance(info, _Numerical):
            raise ValueError(f"Column {column!r} is categorical, it has no modes")
        return len(info.means)

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
        categories = self._categorical(column).categories
        wanted = None if _is_missing(value) else value
        text = str(value)
        try:
            number = float(text)
        except ValueError:
            number = None
        # Exact value first, then the label ("" is missing), then the number.
        for index, category in enumerate(categories):
            same_kind = isinstance(category, bool) == isinstance(wanted, bool)
            if same_kind and category == wanted:
                return index
        for index, category in enumerate(categories):
            if text == category_label(category) or (
                category is not None and text == str(category)
            ):
                return index
        for index, category in enumerate(categories):
            numeric = isinstance(category, (int, float)) and not isinstance(
                category, bool
            )
            if numeric and number is not None and category == number:
                return index
        raise ValueError(
            f"Value {value!r} of column {column!r} was never seen in training. "
            f"Valid values: {[category_label(c) for c in categories]}"
        )

    # === Fit ===

    def fit(self, frame: pd.DataFrame) -> "TableTransformer":
        """Infers the schema of `frame` and fits every column.

        Args:
            frame: the real table (e.g. `load_table(...).frame`).

        Returns:
            `self`, fitted.

        Raises:
            ValueError: an empty frame, an override naming an unknown column,
                non-numeric text in a numerical column, an unsupported dtype,
                missing values with `encoding="plain"`.
        """
        started = time.perf_counter()
        frame = _check_frame(frame)
        kinds = self._infer_kinds(frame)
        fitted = []
        for position, name in enumerate(frame.columns):
            series = frame[name]
            if kinds[name] == "categorical":
                fitted.append(self._fit_categorical(name, series))
            else:
                fitted.append(self._fit_numerical(name, series, position))
        self._set_fitted(fitted)
        modes = {i.name: len(i.means) for i in fitted if isinstance(i, _Numerical)}
        logger.info(
            "TableTransformer(%s) fitted on %d rows in %.2f s: %d columns "
            "(categorical %s), output_dim %d, modes %s",
            self.encoding,
            len(frame),
            time.perf_counter() - started,
            len(fitted),
            self.categorical_columns,
            self.output_dim,
            modes if self.encoding == "mode_specific" else "-",
        )
        return self

    def _infer_kinds(self, frame: pd.DataFrame) -> dict[str, str]:
        available = list(frame.columns)
        for argument in ("categorical", "numerical"):
            for name in getattr(self, argument) or ():
                if name not in available:
                    raise ValueError(
                        f"`{argument}` names unknown column {name!r}. "
                        f"Available columns: {available}"
                    )
        declared = {}
        meta = (self.metadata or {}).get("columns", {})
        unused = sorted(set(meta) - set(available))
        if unused:
            logger.info("Metadata columns absent from the frame, ignored: %s", unused)
        declared.update({n: v["kind"] for n, v in meta.items() if n in available})
        declared.update({name: "categorical" for name in self.categorical or ()})
        declared.update({name: "numerical" for name in self.numerical or ()})
        return {
            name: declared.get(name) or _infer_kind(name, frame[name])
            for name in available
        }

    def _fit_categorical(self, name: str, series: pd.Series) -> _Categorical:
        missing = int(series.isna().sum())
        if missing and self.encoding == "plain":
            raise _plain_missing_error(name, missing)
        counts = series.value_counts(dropna=True)
        values = {}
        for value, count in counts.items():
            key = _python_value(value, name)
            values[key] = values.get(key, 0) + int(count)
        categories = _sorted_values(list(values))
        tallies = [values[c] for c in categories]
        if missing:
            categories.append(None)
            tallies.append(missing)
        dtype_categories, ordered = None, False
        if isinstance(series.dtype, pd.CategoricalDtype):
            dtype_categories = [_python_value(c, name) for c in series.cat.categories]
            ordered = bool(series.cat.ordered)
        return _Categorical(
            name=name,
            dtype=str(series.dtype),
            categories=categories,
            counts=tallies,
            dtype_categories=dtype_categories,
            ordered=ordered,
        )

    def _fit_numerical(self, name: str, series: pd.Series, position: int) -> _Numerical:
        values = _numeric_values(name, series)
        present = values[~np.isnan(values)]
        missing = values.size - present.size
        if missing and self.encoding == "plain":
            raise _plain_missing_error(name, missing)
        integer = bool(np.all(np.mod(present, 1.0) == 0.0))
        info = _Numerical(
            name=name,
            dtype=_numerical_dtype(series, integer, missing > 0),
            minimum=float(present.min()),
            maximum=float(present.max()),
            integer=integer,
            missing_rate=missing / values.size,
            decimals=_decimal_places(present),
        )
        if self.encoding == "mode_specific":
            rng = np.random.default_rng([self.seed, position])
            info.means, info.stds, info.weights = self._fit_modes(present, rng)
        return info

    def _fit_modes(self, values: np.ndarray, rng: np.random.Generator):
        """Fits the variational Gaussian mixture; returns kept means, stds, weights."""
        if np.unique(values).size == 1:
            return [float(values[0])], [1.0], [1.0]
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.mixture import BayesianGaussianMixture

        if values.size > MAX_FIT_ROWS:
            values = rng.choice(values, MAX_FIT_ROWS, replace=False)
        # Standardised values keep the mixture's fixed regularisation (1e-6
        # on variances) meaningful whatever the column's units.
        center, scale = float(values.mean()), float(values.std())
        mixture = BayesianGaussianMixture(
            n_components=min(self.max_modes, values.size),
            covariance_type="diag",
            weight_concentration_prior_type="dirichlet_process",
            weight_concentration_prior=0.001,
            init_params="k-means++",
            max_iter=100,
            random_state=int(rng.integers(2**31 - 1)),
        )
        with warnings.catch_warnings():
            # 100 iterations are enough for the modes; CTGAN also stops there.
            warnings.simplefilter("ignore", ConvergenceWarning)
            mixture.fit(((values - center) / scale)[:, None])
        keep = mixture.weights_ > self.weight_threshold
        if not keep.any():
            keep = mixture.weights_ == mixture.weights_.max()
        means = mixture.means_[keep, 0] * scale + center
        stds = np.sqrt(mixture.covariances_[keep, 0]) * scale
        weights = mixture.weights_[keep] / mixture.weights_[keep].sum()
        order = np.argsort(means, kind="stable")
        return (
            [float(v) for v in means[order]],
            [float(v) for v in stds[order]],
            [float(v) for v in weights[order]],
        )

    def _set_fitted(self, fitted: list) -> None:
        spans, start = [], 0
        for info in fitted:
            for kind, activation, width in self._span_shapes(info):
                spans.append(Span(info.name, kind, activation, start, width))
                start += width
        self._fitted, self._spans = fitted, spans
        self._by_name = {info.name: info for info in fitted}
        self._spans_by_name = {info.name: [] for info in fitted}
        for span in spans:
            self._spans_by_name[span.column].append(span)

    def _span_shapes(self, info) -> list[tuple[str, str, int]]:
        if self.encoding == "plain":
            return [("plain", "sigmoid", 1)]
        if isinstance(info, _Categorical):
            return [("category", "softmax", len(info.categories))]
        shapes = [("value", "tanh", 1), ("mode", "softmax", len(info.means))]
        if info.missing_rate > 0:
            shapes.append(("missing", "softmax", 2))
        return shapes

    # === Transform ===

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        """Encodes a frame with the fitted columns as float32 `[N, output_dim]`.

        Extra columns are ignored. The mode draws are seeded, so the same
        frame always gives the same array.

        Raises:
            ValueError: a fitted column is absent; a categorical value or a
                missing value that the fitted frame did not have; non-numeric
                text in a numerical column.
        """
        fitted = self._check_fitted()
        if not isinstance(frame, pd.DataFrame):
            raise ValueError(
                f"`frame` must be a pandas DataFrame. Received: {type(frame).__name__}"
            )
        absent = [info.name for info in fitted if info.name not in frame.columns]
        if absent:
            raise ValueError(
                f"Column {absent[0]!r} is missing from the frame to transform "
                f"(it has {list(map(str, frame.columns))})"
            )
        out = np.zeros((len(frame), self.output_dim), dtype=np.float32)
        for position, info in enumerate(fitted):
            spans = self._spans_by_name[info.name]
            series = frame[info.name].reset_index(drop=True)
            if isinstance(info, _Categorical):
                self._encode_categorical(info, series, spans, out)
            else:
                self._encode_numerical(info, series, spans, out, position)
        return out

    def _encode_categorical(self, info, series, spans, out) -> None:
        codes = _category_codes(info, series)
        (span,) = spans
        if span.kind == "plain":
            out[:, span.start] = codes / max(len(info.categories) - 1, 1)
        else:
            out[np.arange(len(codes)), span.start + codes] = 1.0

    def _encode_numerical(self, info, series, spans, out, position) -> None:
        values = _numeric_values(info.name, series)
        missing = np.isnan(values)
        if missing.any() and info.missing_rate == 0:
            row = int(np.flatnonzero(missing)[0])
            raise ValueError(
                f"Column {info.name!r} has a missing value (row {row}) but had "
                "none when the transformer was fitted; fill it or refit"
            )
        if spans[0].kind == "plain":
            width = info.maximum - info.minimum
            scaled = (values - info.minimum) / width if width else values * 0.0
            out[:, spans[0].start] = scaled
            return
        value_span, mode_span = spans[0], spans[1]
        present = np.where(missing, info.means[info.missing_mode], values)
        rng = np.random.default_rng([self.seed, position])
        modes = _draw_modes(present, info, rng)
        modes[missing] = info.missing_mode
        means, stds = np.asarray(info.means), np.asarray(info.stds)
        alpha = (present - means[modes]) / (_STD_MULTIPLE * stds[modes])
        alpha = np.clip(alpha, -_ALPHA_LIMIT, _ALPHA_LIMIT)
        alpha[missing] = 0.0
        rows = np.arange(len(values))
        out[:, value_span.start] = alpha
        out[rows, mode_span.start + modes] = 1.0
        if len(spans) == 3:
            out[rows, spans[2].start + missing.astype(np.int64)] = 1.0

    # === Inverse ===

    def inverse_transform(
        self, array: np.ndarray, *, seed: int | None = None
    ) -> pd.DataFrame:
        """Decodes activated model outputs into a frame in the original schema.

        Args:
            array: `[N, output_dim]` outputs after each span's activation
                (tanh values may be any number: they are clipped to [-1, 1];
                modes, categories and missing flags are taken by argmax).
            seed: unused: decoding is deterministic. Accepted so that callers
                that pass a seed to every sampling step keep working.

        Returns:
            A DataFrame with the fitted columns in order and original dtypes.
        """
        del seed
        self._check_fitted()
        array = np.asarray(array, dtype=np.float64)
        if array.ndim != 2 or array.shape[1] != self.output_dim:
            raise ValueError(
                f"Expected an array [N, {self.output_dim}] (output_dim). "
                f"Received: shape={array.shape}"
            )
        data = {}
        for info in self._fitted:
            spans = self._spans_by_name[info.name]
            if isinstance(info, _Categorical):
                data[info.name] = self._decode_categorical(info, spans[0], array)
            else:
                data[info.name] = self._decode_numerical(info, spans, array)
        return pd.DataFrame(data, index=pd.RangeIndex(len(array)))

    def _decode_categorical(self, info, span, array) -> pd.Series:
        if span.kind == "plain":
            codes = _nearest_codes(array[:, span.start], len(info.categories))
        else:
            codes = np.argmax(array[:, span.start : span.end], axis=1)
        lookup = np.empty(len(info.categories), dtype=object)
        lookup[:] = info.categories
        return _categorical_series(info, lookup[codes])

    def _decode_numerical(self, info, spans, array) -> pd.Series:
        if spans[0].kind == "plain":
            unit = np.clip(array[:, spans[0].start], 0.0, 1.0)
            values = unit * (info.maximum - info.minimum) + info.minimum
        else:
            alpha = np.clip(array[:, spans[0].start], -1.0, 1.0)
            modes = np.argmax(array[:, spans[1].start : spans[1].end], axis=1)
            means, stds = np.asarray(info.means), np.asarray(info.stds)
            values = alpha * _STD_MULTIPLE * stds[modes] + means[modes]
        values = np.clip(values, info.minimum, info.maximum)
        if info.integer:
            values = np.round(values)
        elif info.decimals is not None:
            values = np.round(values, info.decimals)
        if len(spans) == 3:
            flags = np.argmax(array[:, spans[2].start : spans[2].end], axis=1)
            values = np.where(flags == 1, np.nan, values)
        return _numerical_series(info, values)

    def inverse_transform_graph(self, outputs) -> dict:
        """The inverse transform as TensorFlow ops, for SavedModel signatures.

        Only constant tensors and vectorised ops: it runs inside a
        `tf.function` and in TF Serving. It agrees with `inverse_transform`
        (numbers to float64 round-off, categories as their labels).

        Args:
            outputs: float `[N, output_dim]` activated generator outputs.

        Returns:
            Column -> tensor `[N]`: numerical columns as `tf.float64` in
            original units (float64 keeps integer columns such as eTIV exact
            and matches the NumPy inverse), NaN where missing; categorical
            columns as `tf.string` labels (`category_label`: the category's
            `str()`, whole floats without `.0`, missing as `""`).
        """
        import tensorflow as tf

        fitted = self._check_fitted()
        outputs = tf.cast(tf.convert_to_tensor(outputs), tf.float64)
        result = {}
        for info in fitted:
            spans = self._spans_by_name[info.name]
            first = spans[0]
            if isinstance(info, _Categorical):
                labels = tf.constant([category_label(c) for c in info.categories])
                if first.kind == "plain":
                    codes = _graph_nearest_codes(
                        tf, outputs[:, first.start], len(labels)
                    )
                else:
                    codes = tf.argmax(outputs[:, first.start : first.end], axis=1)
                result[info.name] = tf.gather(labels, codes)
                continue
            low = tf.constant(info.minimum, tf.float64)
            high = tf.constant(info.maximum, tf.float64)
            if first.kind == "plain":
                unit = tf.clip_by_value(outputs[:, first.start], 0.0, 1.0)
                values = unit * (high - low) + low
            else:
                alpha = tf.clip_by_value(outputs[:, first.start], -1.0, 1.0)
                modes = tf.argmax(outputs[:, spans[1].start : spans[1].end], axis=1)
                means = tf.gather(tf.constant(info.means, tf.float64), modes)
                stds = tf.gather(tf.constant(info.stds, tf.float64), modes)
                values = alpha * _STD_MULTIPLE * stds + means
            values = tf.clip_by_value(values, low, high)
            if info.integer:
                values = tf.round(values)
            elif info.decimals is not None:
                # Grappler turns a graph's `x / 1000` into `x * 0.001`, one
                # ulp off (0.6910000000000001); parsing "691e-3" is exact.
                scale = tf.constant(10.0**info.decimals, tf.float64)
                digits = tf.strings.as_string(
                    tf.cast(tf.round(values * scale), tf.int64)
                )
                values = tf.strings.to_number(
                    tf.strings.join([digits, f"e-{info.decimals}"]), tf.float64
                )
            if len(spans) == 3:
                flags = tf.argmax(outputs[:, spans[2].start : spans[2].end], axis=1)
                nan = tf.constant(math.nan, tf.float64)
                values = tf.where(tf.equal(flags, 1), nan, values)
            result[info.name] = values
        return result

    # === Helpers ===

    def _check_fitted(self) -> list:
        if self._fitted is None:
            raise ValueError(
                "This TableTransformer is not fitted; call fit(frame) first"
            )
        return self._fitted

    def _info(self, column: str):
        self._check_fitted()
        if column not in self._by_name:
            raise ValueError(f"Unknown column {column!r}. Columns: {self.columns}")
        return self._by_name[column]

    def _categorical(self, column: str) -> _Categorical:
        info = self._info(column)
        if not isinstance(info, _Categorical):
            raise ValueError(
                f"Column {column!r} is numerical. Categorical columns: "
                f"{self.categorical_columns}"
            )
        return info

    def __repr__(self) -> str:
        state = f"output_dim={self.output_dim}" if self.is_fitted else "unfitted"
        return f"TableTransformer(encoding={self.encoding!r}, {state})"


# === Column-level functions ===


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


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _is_missing(value) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _name_list(names, argument: str) -> list[str] | None:
    if names is None:
        return None
    if isinstance(names, str) or not all(isinstance(n, str) for n in names):
        raise ValueError(
            f"`{argument}` must be a list of column names. "
            f"Received: {argument}={names!r}"
        )
    return list(names)


def _read_metadata(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise FileNotFoundError(f"Metadata file not found: {path}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"Metadata file {path} is not valid JSON: {err}") from err


def _check_metadata(metadata) -> dict:
    columns = metadata.get("columns") if isinstance(metadata, Mapping) else None
    if not isinstance(columns, Mapping):
        raise ValueError(
            'Metadata must look like {"columns": {"Age": {"kind": "numerical"}, ...}}. '
            f"Received: {metadata!r:.200}"
        )
    checked = {}
    for name, spec in columns.items():
        kind = spec.get("kind") if isinstance(spec, Mapping) else None
        if kind not in ("categorical", "numerical"):
            raise ValueError(
                f"Metadata column {name!r} must have kind 'categorical' or "
                f"'numerical'. Received: {spec!r}"
            )
        checked[str(name)] = {"kind": kind}
    return {"columns": checked}


def _check_frame(frame) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame):
        raise ValueError(
            f"`frame` must be a pandas DataFrame. Received: {type(frame).__name__}"
        )
    if frame.shape[1] == 0 or len(frame) == 0:
        raise ValueError(f"Cannot fit on an empty frame. Received: shape={frame.shape}")
    if not all(isinstance(c, str) for c in frame.columns):
        raise ValueError(
            f"Column names must be strings. Received: {list(frame.columns)}"
        )
    if frame.columns.has_duplicates:
        raise ValueError(f"Duplicated column names: {list(frame.columns)}")
    empty = [name for name in frame.columns if frame[name].isna().all()]
    if empty:
        raise ValueError(
            f"Column {empty[0]!r} is entirely missing; it cannot be modelled "
            "(leave it out of the frame)"
        )
    return frame.reset_index(drop=True)


def _is_text(dtype) -> bool:
    return pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype)


def _infer_kind(name: str, series: pd.Series) -> str:
    """The schema-inference rule of the module docstring."""
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype) or isinstance(dtype, pd.CategoricalDtype):
        return "categorical"
    if _is_text(dtype):
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
        return "categorical"
    if pd.api.types.is_complex_dtype(dtype) or not pd.api.types.is_numeric_dtype(dtype):
        raise ValueError(
            f"Column {name!r} has dtype {dtype}, which cannot be modelled; "
            "convert it to numbers or text"
        )
    distinct = series.nunique(dropna=True)
    if distinct <= MAX_INFERRED_CATEGORIES and 2 * distinct <= series.notna().sum():
        return "categorical"
    return "numerical"


def _numeric_values(name: str, series: pd.Series) -> np.ndarray:
    """A column's values as float64 with NaN for missing; text is an error."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        series = series.astype(object)
    if pd.api.types.is_bool_dtype(series.dtype):
        series = series.astype("float64")
    if not (pd.api.types.is_numeric_dtype(series.dtype) or _is_text(series.dtype)):
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


def _decimal_places(values: np.ndarray, most: int = 6) -> int | None:
    """The fewest decimal places that write every value exactly, or `None`
    when more than `most` are needed (full-precision floats: no rounding)."""
    for decimals in range(most + 1):
        if np.allclose(np.round(values, decimals), values, rtol=0.0, atol=1e-9):
            return decimals
    return None


def _numerical_dtype(series: pd.Series, integer: bool, missing: bool) -> str:
    dtype = series.dtype
    if pd.api.types.is_numeric_dtype(dtype) and not isinstance(
        dtype, pd.CategoricalDtype
    ):
        return str(dtype)
    # Text or category columns declared numerical come back as numbers.
    return "int64" if integer and not missing else "float64"


def _numerical_series(info: _Numerical, values: np.ndarray) -> pd.Series:
    dtype = info.dtype
    has_nan = bool(np.isnan(values).any())
    if pd.api.types.is_bool_dtype(dtype):
        return pd.Series(values, dtype="float64").astype(
            "boolean" if has_nan else "bool"
        )
    if pd.api.types.is_integer_dtype(dtype) and has_nan:
        return pd.Series(values, dtype="float64").astype("Int64")
    return pd.Series(values).astype(dtype)


def _categorical_series(info: _Categorical, values: np.ndarray) -> pd.Series:
    missing = pd.isna(values)
    dtype = info.dtype
    if info.dtype_categories is not None:
        order = pd.CategoricalDtype(info.dtype_categories, ordered=info.ordered)
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


def _python_value(value: Any, column: str):
    """A category as a JSON-ready Python value (`None` for missing)."""
    if _is_missing(value):
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, (bool, int, float, str)):
        return value
    raise ValueError(
        f"Column {column!r} holds a value of type {type(value).__name__} "
        f"({value!r}); categories must be text, numbers or booleans"
    )


def _sorted_values(values: list) -> list:
    try:
        return sorted(values)
    except TypeError:  # mixed types, e.g. numbers and text in one column
        return sorted(values, key=lambda v: (type(v).__name__, str(v)))


def _category_codes(info: _Categorical, series: pd.Series) -> np.ndarray:
    known = [c for c in info.categories if c is not None]
    if isinstance(series.dtype, pd.CategoricalDtype):
        series = series.astype(object)
    codes = pd.Index(known, dtype=object).get_indexer(series.astype(object))
    missing = series.isna().to_numpy()
    if info.categories and info.categories[-1] is None:
        codes[missing] = len(known)
    unseen = codes < 0
    if unseen.any():
        row = int(np.flatnonzero(unseen)[0])
        value = series.iloc[row]
        what = "a missing value" if missing[row] else f"the value {value!r}"
        raise ValueError(
            f"Column {info.name!r} has {what} (row {row}), never seen when the "
            f"transformer was fitted. Known values: {info.categories}"
        )
    return codes


def _draw_modes(values: np.ndarray, info: _Numerical, rng: np.random.Generator):
    """Samples each value's mode from rho_k ~ weight_k N(value; mean_k, std_k)."""
    means, stds = np.asarray(info.means), np.asarray(info.stds)
    log_rho = (
        np.log(np.asarray(info.weights))
        - np.log(stds)
        - 0.5 * ((values[:, None] - means) / stds) ** 2
    )
    log_rho -= log_rho.max(axis=1, keepdims=True)
    rho = np.exp(log_rho)
    cumulative = np.cumsum(rho / rho.sum(axis=1, keepdims=True), axis=1)
    draws = rng.random(len(values))[:, None]
    return np.minimum((cumulative < draws).sum(axis=1), len(means) - 1)


def _nearest_codes(values: np.ndarray, count: int) -> np.ndarray:
    return np.round(np.clip(values, 0.0, 1.0) * (count - 1)).astype(np.int64)


def _graph_nearest_codes(tf, values, count: int):
    scaled = tf.clip_by_value(values, 0.0, 1.0) * float(count - 1)
    return tf.cast(tf.round(scaled), tf.int64)


def _plain_missing_error(name: str, count: int) -> ValueError:
    return ValueError(
        f"Column {name!r} has {count} missing values, and encoding='plain' does "
        "not model missing values: drop those rows (load_table(..., dropna=True), "
        "CLI --dropna) or use encoding='mode_specific'"
    )
