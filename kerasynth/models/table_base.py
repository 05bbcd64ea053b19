"""The base of every table model: a transformer, a span layout, DataFrames out.

A table model is built from a fitted `TableTransformer` (or its config) and
stores the transformer's config in its own, so a ``.keras`` file is enough to
generate rows in the original schema. Subclasses implement `sample_matrix`,
the graph-friendly core (used as is by the exported SavedModel); this class
turns it into `generate()`, with conditions.
"""

from __future__ import annotations

from typing import ClassVar

import keras
import numpy as np
import tensorflow as tf

from kerasynth.models.base import GenerativeModel

MAX_REJECTION_ROUNDS = 50


def condition_key(column, category) -> str:
    """The text of a condition, ``"M/F=F"``, with the category written as in
    decoded rows (`category_label`: missing is ``""``, 1.0 is ``"1"``)."""
    from kerasynth.data.transformer import category_label

    return f"{column}={category_label(category)}"


def as_transformer(transformer):
    """A `TableTransformer` from an instance or its config dict."""
    from kerasynth.data.transformer import TableTransformer

    if isinstance(transformer, TableTransformer):
        return transformer
    if isinstance(transformer, dict):
        return TableTransformer.from_config(transformer)
    raise ValueError(
        "transformer must be a fitted TableTransformer or its config. "
        f"Received: transformer={type(transformer).__name__}"
    )


class TableGenerativeModel(GenerativeModel):
    """A model that generates rows of a table.

    Subclasses set `encoding` (the transformer encoding they read: CTGAN's
    ``mode_specific`` or the study's ``plain``), `input_kind` (the training
    input: ``conditional`` batches from the training-by-sampling sampler, or
    shuffled ``rows``) and `conditional` (whether a condition vector feeds
    the generator; otherwise `generate` conditions by rejection sampling).
    """

    encoding: ClassVar[str] = "mode_specific"
    input_kind: ClassVar[str] = "rows"
    conditional: ClassVar[bool] = False
    unit: ClassVar[str] = "rows"
    auto_mixed_precision: ClassVar[bool] = False

    def adapt(self, frame) -> None:
        """Fits what the model reads off the training rows before ``fit``,
        as `keras.layers.Normalization.adapt` does; `TableTask.prepare` calls
        it with the training frame. The neural models learn everything in
        ``fit`` and do nothing here; the reference models (`gaussian_copula`,
        `independent`) fit all their statistics.
        """

    @property
    def batch_multiple(self) -> int:
        """Training batch sizes must be multiples of this (CTGAN's pack)."""
        return 1

    def seed_pair(self, seed=None):
        """A stateless ``[2]`` int32 seed: from `seed`, or the model's
        seed generator when `seed` is `None`."""
        if seed is None:
            return self.fresh_seed()
        return tf.stack([tf.cast(seed, tf.int32), 0])

    def latent_noise(self, num_samples, seed=None):
        # Tables draw noise from a seed pair (see `seed_pair`), so that one
        # seed gives the noise, the conditions and the categories.
        shape = (num_samples, self.latent_dim)
        return tf.random.stateless_normal(shape, seed=self.seed_pair(seed))

    def sample_matrix(self, num_samples, seed, cond=None):
        """Rows in the transformer's layout, categories drawn as one-hots.

        Args:
            num_samples: an int or scalar int tensor.
            seed: a stateless ``[2]`` int32 seed.
            cond: ``[num_samples, condition_dim]`` condition vectors, for
                conditional models (`None`: their default conditions).
        """
        raise NotImplementedError

    def generate(self, num_samples, seed=None, conditions=None, batch_size=10_000):
        """Returns `num_samples` synthetic rows as a DataFrame in the
        original schema (column order, dtypes, units, missing values).

        Args:
            num_samples: how many rows.
            seed: an int for repeatable rows, `None` for fresh ones.
            conditions: ``{column: value}`` for categorical columns (values
                are matched by their text, so ``"2"`` finds the category 2).
                A conditional model (CTGAN, DRAGAN) feeds one condition to
                its generator's condition vector; the others, and several
                conditions, draw rows and keep those that match, for at most
                `MAX_REJECTION_ROUNDS` rounds.
            batch_size: rows per generator call.
        """
        if num_samples < 1:
            raise ValueError(f"num_samples must be >= 1. Received: {num_samples}")
        seed_pair = self.seed_pair(seed)
        keys = [self._condition_key(c, v) for c, v in (conditions or {}).items()]
        chunks = []
        for index, start in enumerate(range(0, num_samples, batch_size)):
            count = min(batch_size, num_samples - start)
            chunk_seed = tf.random.experimental.stateless_fold_in(seed_pair, index)
            if not keys:
                chunks.append(self.sample_matrix(count, chunk_seed))
                continue
            try:
                chunks.append(self.sample_conditional_matrix(count, chunk_seed, keys))
            except tf.errors.InvalidArgumentError as error:
                raise ValueError(error.message.splitlines()[0]) from None
        rows = keras.ops.convert_to_numpy(tf.concat(chunks, axis=0))
        return self.transformer.inverse_transform(rows)

    # --- Conditions, in TensorFlow ops (the exported signatures use them) ---

    def _condition_key(self, column, value):
        # Validates against the transformer (a clear error naming the column
        # and the valid values), then returns the text key of the category.
        category = self.transformer.category_index(column, value)
        return condition_key(column, self.transformer.categories(column)[category])

    def _categorical_span(self, column):
        return next(
            s
            for s in self.transformer.spans
            if s.column == column and s.kind != "value"
        )

    def condition_constants(self):
        """Per category of every categorical column: its key ``column=value``,
        where to read it in a row (`probe`, `count`, `index`: a one-hot cell,
        or the plain encoding's code), its column's position among the
        categorical ones (`columns`), the mask of its column's span, the
        row's one-hot for it, and its condition vector (conditional models)."""
        if getattr(self, "_condition_constants", None) is None:
            width = self.transformer.output_dim
            names, probes, counts, indices, columns, masks, targets, conds = (
                [] for _ in range(8)
            )
            for position, column in enumerate(self.transformer.categorical_columns):
                span = self._categorical_span(column)
                categories = self.transformer.categories(column)
                for index, category in enumerate(categories):
                    names.append(condition_key(column, category))
                    one_hot = span.kind == "category"
                    probes.append(span.start + index if one_hot else span.start)
                    counts.append(0 if one_hot else len(categories))
                    indices.append(index)
                    columns.append(position)
                    mask = np.zeros(width, np.float32)
                    mask[span.start : span.end] = 1.0
                    target = np.zeros(width, np.float32)
                    target[span.start + index if one_hot else span.start] = (
                        1.0 if one_hot else index / max(len(categories) - 1, 1)
                    )
                    masks.append(mask)
                    targets.append(target)
                    if self.conditional:
                        conds.append(
                            self.transformer.condition_vector({column: category})[0]
                        )
            self._condition_constants = {
                "names": np.array(names, str),
                "probes": np.array(probes, np.int32),
                "counts": np.array(counts, np.float32),
                "indices": np.array(indices, np.float32),
                "columns": np.array(columns, np.int32),
                "masks": np.array(masks, np.float32).reshape(-1, width),
                "targets": np.array(targets, np.float32).reshape(-1, width),
                "conds": np.array(conds, np.float32).reshape(
                    len(conds), self.transformer.condition_dim
                ),
            }
        return self._condition_constants

    def _lookup(self, keys):
        constants = self.condition_constants()
        found = tf.where(
            tf.equal(tf.constant(constants["names"]), tf.reshape(keys, [-1, 1]))
        )
        tf.debugging.assert_equal(
            tf.shape(found)[0],
            tf.size(keys),
            message="unknown condition (expected column=value of a categorical "
            "column seen in training)",
        )
        return {
            name: tf.gather(tf.constant(value), found[:, 1])
            for name, value in constants.items()
            if name != "names" and value.size
        }

    def _matches(self, rows, found):
        # Whether each row has every looked-up category: a one-hot cell at 1,
        # or a plain code nearest to the category's.
        values = tf.gather(rows, found["probes"], axis=1)  # (n, conditions)
        counts = found["counts"]
        codes = tf.round(values * tf.maximum(counts - 1.0, 1.0))
        hits = tf.where(counts > 0, tf.equal(codes, found["indices"]), values > 0.5)
        return tf.reduce_all(hits, axis=1)

    def sample_conditional_matrix(self, num_samples, seed, keys):
        """`sample_matrix` with every row in the given categories.

        Args:
            num_samples: an int or scalar int tensor.
            seed: a stateless ``[2]`` int32 seed.
            keys: ``column=value`` strings (see `condition_key`).
        """
        found = self._lookup(tf.convert_to_tensor(keys, tf.string))
        if self.conditional and len(keys) == 1:
            # The condition vector asks the generator for the category; the
            # rows keep the generator's other columns and state the category.
            cond = tf.repeat(found["conds"][:1], num_samples, axis=0)
            rows = self.sample_matrix(num_samples, seed, cond)
            return rows * (1.0 - found["masks"][0]) + found["targets"][0]
        return self._rejection_sample(num_samples, seed, found)

    def _rejection_sample(self, num_samples, seed, found):
        # Draw rounds of rows and keep those that have every target category,
        # until there are enough or MAX_REJECTION_ROUNDS rounds have run.
        width = self.transformer.output_dim
        draw = tf.maximum(tf.cast(num_samples, tf.int32), 1000)

        def step(round_index, kept):
            round_seed = tf.random.experimental.stateless_fold_in(seed, round_index)
            rows = tf.cast(self.sample_matrix(draw, round_seed), tf.float32)
            match = self._matches(rows, found)
            return round_index + 1, tf.concat([kept, tf.boolean_mask(rows, match)], 0)

        _, kept = tf.while_loop(
            lambda i, kept: (
                (i < MAX_REJECTION_ROUNDS) & (tf.shape(kept)[0] < num_samples)
            ),
            step,
            (tf.constant(0), tf.zeros((0, width), tf.float32)),
            shape_invariants=(tf.TensorShape([]), tf.TensorShape([None, width])),
        )
        tf.debugging.assert_greater_equal(
            tf.shape(kept)[0],
            tf.cast(num_samples, tf.int32),
            message=f"{type(self).__name__} generated too few rows with these "
            f"categories in {MAX_REJECTION_ROUNDS} rounds of rejection sampling; "
            "ask for fewer rows or use a conditional model (ctgan, dragan)",
        )
        return kept[:num_samples]

    def get_config(self):
        return {
            **super().get_config(),
            "transformer": self.transformer.get_config(),
        }
