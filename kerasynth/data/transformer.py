"""`TableTransformer`: a table <-> the float matrix the table models learn.

Fitted once on the real frame, the transformer infers the frame's
`TableSchema` (`kerasynth.data.schema`: column order, kinds, dtypes,
rounding, missing values), fits one column encoder per column
(`kerasynth.data.encoders`: `"mode_specific"`, CTGAN's mode-specific
normalisation and one-hots; the study's `"plain"` min-max numbers and
codes; or TabDDPM's `"quantile"` normal scores and one-hots) and publishes
the span layout (`spans`: column, kind, activation, offset, width) that
the generators, the conditional loss and the sampler all read.
`inverse_transform` (NumPy) and `inverse_transform_graph` (TensorFlow, for
SavedModels) take *activated* model outputs back to a frame in the original
columns, order and dtypes. It saves to JSON beside a model.

Randomness (the mixture fits, the subsample of big columns, the mode draws of
`transform`) is seeded by `seed` and the column's position, so `transform` is
deterministic. This module imports TensorFlow only inside
`inverse_transform_graph`.
"""

import dataclasses
import json
import logging
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kerasynth.atomic import write_json
from kerasynth.data.column_values import MAX_INFERRED_CATEGORIES
from kerasynth.data.encoders import (
    ENCODERS,
    ColumnEncoder,
    ModeSpecificEncoder,
    category_label,
    encoder_from_config,
)
from kerasynth.data.encoders.mode_specific import check_mode_options
from kerasynth.data.layout import Span, TableLayout
from kerasynth.data.schema import (
    ColumnSchema,
    TableSchema,
    check_declared,
    check_metadata,
    check_names,
    infer_schema,
    read_metadata,
)
from kerasynth.data.transformer_legacy import upgrade_version_1

__all__ = [
    "ENCODINGS",
    "FORMAT_VERSION",
    "MAX_INFERRED_CATEGORIES",
    "Span",
    "TableTransformer",
    "category_label",
]

logger = logging.getLogger("kerasynth")

ENCODINGS = ("mode_specific", "plain", "quantile")
# 2: a schema and one encoder config per column; 1 (read, upgraded): one
# dict per column mixing the two.
FORMAT_VERSION = 2


class TableTransformer(TableLayout):
    """Encodes a table as the float matrix a table model learns, and back.

    Fit it on the real frame; `transform` gives float32 rows laid out as
    `spans`; `inverse_transform` (NumPy) and `inverse_transform_graph`
    (TensorFlow, for exported models) turn activated model outputs back into
    a frame with the original columns, order and dtypes. See the module
    docstring for the encodings, and `kerasynth.data.schema` for the
    schema-inference rule.

    Mode-specific normalisation follows Xu et al. 2019, "Modeling Tabular
    Data using Conditional GAN" (NeurIPS), section 4.2.

    Args:
        encoding: `"mode_specific"` (CTGAN, TVAE, DRAGAN), `"plain"` (one
            sigmoid number per column: the study's simple GAN and VAE) or
            `"quantile"` (a number's normal score: TabDDPM).
        categorical: columns to model as categorical, whatever their dtype.
        numerical: columns to model as numerical (their values must all be
            numbers).
        metadata: column kinds, `{"columns": {name: {"kind": "categorical" |
            "numerical"}}}`, or the path of a JSON file holding that (a
            `TableSchema` file is one; see `from_metadata`); its kinds are
            kept in the config. Columns it names that are absent from the
            fitted frame are ignored (one file can describe the whole CSV),
            and `categorical=` / `numerical=` take precedence over it.
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
        self.categorical = check_names(categorical, "categorical")
        self.numerical = check_names(numerical, "numerical")
        check_declared(self.categorical, self.numerical)
        if isinstance(metadata, (str, os.PathLike)):
            metadata = read_metadata(Path(metadata))
        self.metadata = None if metadata is None else check_metadata(metadata)
        check_mode_options(max_modes, weight_threshold)
        if not _is_int(seed) or seed < 0:
            raise ValueError(f"`seed` must be an integer >= 0. Received: {seed=}")
        super().__init__()
        self.encoding = encoding
        self.max_modes = int(max_modes)
        self.weight_threshold = float(weight_threshold)
        self.seed = int(seed)

    # === Construction ===

    @classmethod
    def from_metadata(
        cls, metadata: str | os.PathLike | Mapping[str, Any], **kwargs
    ) -> "TableTransformer":
        """Builds a transformer whose column kinds come from a metadata file.

        Args:
            metadata: path to a JSON file, or its content, shaped
                `{"columns": {"M/F": {"kind": "categorical"},
                "Age": {"kind": "numerical"}}}` (a `TableSchema` file is one).
            **kwargs: the other constructor arguments.

        Returns:
            An unfitted `TableTransformer`.
        """
        return cls(metadata=metadata, **kwargs)

    def get_config(self) -> dict:
        """Constructor arguments plus the fitted schema and encoders, as JSON."""
        fitted = self._encoders is not None
        return {
            "format_version": FORMAT_VERSION,
            "encoding": self.encoding,
            "categorical": self.categorical,
            "numerical": self.numerical,
            "metadata": self.metadata,
            "max_modes": self.max_modes,
            "weight_threshold": self.weight_threshold,
            "seed": self.seed,
            "schema": self._schema.get_config() if fitted else None,
            "columns": [e.get_config() for e in self._encoders] if fitted else None,
        }

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> "TableTransformer":
        """Rebuilds a transformer, fitted if the config holds a fitted schema.

        Reads the current format and version 1 (before the schema was split
        from the encoders), so models saved before still load.
        """
        config = dict(config)
        version = config.pop("format_version", FORMAT_VERSION)
        if version == 1:
            config = upgrade_version_1(config)
        elif version != FORMAT_VERSION:
            raise ValueError(
                f"Unsupported TableTransformer format_version {version}; this "
                f"kerasynth reads versions 1 and {FORMAT_VERSION}"
            )
        schema, columns = config.pop("schema", None), config.pop("columns", None)
        transformer = cls(**config)
        if columns is not None:
            schema = TableSchema.from_config(schema or {"columns": []})
            if len(columns) != len(schema.columns):
                raise ValueError(
                    f"The config has {len(columns)} column encoders for the "
                    f"{len(schema.columns)} schema columns {schema.names}"
                )
            encoders = []
            for column, item in zip(schema.columns, columns, strict=True):
                encoder = encoder_from_config(column, item)
                if type(encoder) is not transformer._encoder_class(column):
                    raise ValueError(
                        f"Column {column.name!r} has a {encoder.name} encoder, "
                        f"which encoding={transformer.encoding!r} does not use"
                    )
                encoders.append(encoder)
            transformer._set_fitted(schema, encoders)
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

    # === Fit, transform, inverse ===

    def fit(self, frame: pd.DataFrame, public=None) -> "TableTransformer":
        """Infers the schema of `frame` and fits every column's encoder.

        Args:
            frame: the real table (e.g. `load_table(...).frame`).
            public: for a differentially private model, the public facts of
                `kerasynth.privacy.public.public_facts`: the encoders are
                then fitted on a table made of them (ranges, categories and
                modes from the declared bounds and categories, never from
                `frame`), and only the schema is read off `frame`.

        Returns:
            `self`, fitted.

        Raises:
            ValueError: an empty frame, an override naming an unknown column,
                non-numeric text in a numerical column, an unsupported dtype,
                missing values with `encoding="plain"`.
        """
        started = time.perf_counter()
        frame = _check_frame(frame)
        schema = infer_schema(frame, self.categorical, self.numerical, self.metadata)
        if public is not None:
            from kerasynth.privacy.public import public_frame

            schema = TableSchema(
                tuple(
                    dataclasses.replace(c, missing=public[c.name]["missing"])
                    if "missing" in public[c.name]
                    else c
                    for c in schema.columns
                )
            )
            frame = public_frame(frame, public)
        encoders = []
        for position, column in enumerate(schema.columns):
            encoder = self._new_encoder(column)
            encoders.append(encoder.fit(frame[column.name], self._rng(position)))
        self._set_fitted(schema, encoders)
        modes = {
            e.column.name: e.num_modes
            for e in encoders
            if isinstance(e, ModeSpecificEncoder)
        }
        logger.info(
            "TableTransformer(%s) fitted on %d rows in %.2f s: %d columns "
            "(categorical %s), output_dim %d, modes %s",
            self.encoding,
            len(frame),
            time.perf_counter() - started,
            len(encoders),
            schema.categorical,
            self.output_dim,
            modes if self.encoding == "mode_specific" else "-",
        )
        return self

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        """Encodes a frame with the fitted columns as float32 `[N, output_dim]`.

        Extra columns are ignored. The mode draws are seeded, so the same
        frame always gives the same array.

        Raises:
            ValueError: a fitted column is absent; a categorical value or a
                missing value that the fitted frame did not have; non-numeric
                text in a numerical column.
        """
        encoders = self._check_fitted()
        if not isinstance(frame, pd.DataFrame):
            raise ValueError(
                f"`frame` must be a pandas DataFrame. Received: {type(frame).__name__}"
            )
        absent = [name for name in self.columns if name not in frame.columns]
        if absent:
            raise ValueError(
                f"Column {absent[0]!r} is missing from the frame to transform "
                f"(it has {list(map(str, frame.columns))})"
            )
        out = np.zeros((len(frame), self.output_dim), dtype=np.float32)
        for position, (encoder, (start, end)) in enumerate(
            zip(encoders, self._blocks, strict=True)
        ):
            series = frame[encoder.column.name].reset_index(drop=True)
            out[:, start:end] = encoder.encode(series, self._rng(position))
        return out

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
        encoders = self._check_fitted()
        array = np.asarray(array, dtype=np.float64)
        if array.ndim != 2 or array.shape[1] != self.output_dim:
            raise ValueError(
                f"Expected an array [N, {self.output_dim}] (output_dim). "
                f"Received: shape={array.shape}"
            )
        data = {
            encoder.column.name: encoder.column.restore(
                encoder.decode(array[:, start:end])
            )
            for encoder, (start, end) in zip(encoders, self._blocks, strict=True)
        }
        return pd.DataFrame(data, index=pd.RangeIndex(len(array)))

    def restore_decoded(self, outputs: Mapping[str, np.ndarray]) -> pd.DataFrame:
        """`inverse_transform_graph`'s outputs, fetched as NumPy (numbers;
        categories as UTF-8 labels, empty for missing), as the frame
        `inverse_transform` gives: columns in order, original dtypes. A
        client of an exported generator (`kerasynth.shards`) reads its rows
        through this, so ``Age`` stays an integer on every sampling path."""
        data = {}
        for encoder in self._check_fitted():
            column = encoder.column
            values = np.asarray(outputs[column.name])
            if column.kind == "categorical":
                by_label = {category_label(c): c for c in self.categories(column.name)}
                labels = (
                    v.decode() if isinstance(v, bytes) else str(v) for v in values
                )
                values = np.array([by_label.get(label) for label in labels], object)
            data[column.name] = column.restore(values)
        return pd.DataFrame(data, index=pd.RangeIndex(len(values)))

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

        encoders = self._check_fitted()
        outputs = tf.cast(tf.convert_to_tensor(outputs), tf.float64)
        return {
            encoder.column.name: encoder.decode_graph(outputs[:, start:end])
            for encoder, (start, end) in zip(encoders, self._blocks, strict=True)
        }

    # === Helpers ===

    def _encoder_class(self, column: ColumnSchema) -> type[ColumnEncoder]:
        return ENCODERS[(self.encoding, column.kind)]

    def _new_encoder(self, column: ColumnSchema) -> ColumnEncoder:
        cls = self._encoder_class(column)
        if cls is ModeSpecificEncoder:
            return cls(
                column, max_modes=self.max_modes, weight_threshold=self.weight_threshold
            )
        return cls(column)

    def _rng(self, position: int) -> np.random.Generator:
        # A fresh generator per column and call: fitting and transforming a
        # column never depends on the columns before it, or on earlier calls.
        return np.random.default_rng([self.seed, position])

    def __repr__(self) -> str:
        state = f"output_dim={self.output_dim}" if self.is_fitted else "unfitted"
        return f"TableTransformer(encoding={self.encoding!r}, {state})"


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


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
