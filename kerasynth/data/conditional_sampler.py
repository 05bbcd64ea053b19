"""Training-by-sampling for conditional table generators (Xu et al. 2019).

CTGAN (Xu et al. 2019, "Modeling Tabular Data using Conditional GAN",
section 4.3) trains its generator on conditions so that rare categories are
learned as well as frequent ones. For every row of a batch:

1. choose one of the `D` discrete (categorical) columns uniformly;
2. choose one of its categories with probability proportional to
   `log(1 + count)` (the "log-frequency": rare categories are drawn far more
   often than their share of the rows, frequent ones less);
3. the condition is the one-hot of that category over all discrete spans
   (`condition_dim` wide), the mask the one-hot of the chosen column (the
   generator's conditional cross-entropy loss reads only that column);
4. the discriminator sees a real row that has that category.

`ConditionalSampler.dataset` does this as vectorised, stateless TensorFlow ops
in a `tf.data` map over a `tf.data.Dataset.random(seed)` stream of seeds, on
constant tensors precomputed once: the rows grouped by category (one flat
index array with a start and a count per category) and the padded log-frequency
logits `[D, max_width]`. The generator's condition and the real rows' condition
are two independent draws from the same distribution: the critic compares
fake and real rows in distribution, never row by row. Every element has a
static batch shape, and a seed gives the same stream on every run.

At sampling time CTGAN conditions the generator on the *empirical* category
frequencies instead, so that the synthetic data has the real proportions:
`generation_conditions` (NumPy) and `generation_conditions_graph`
(TensorFlow, for exported signatures) draw those, from the category counts
the `TableTransformer` recorded when it was fitted. A fixed `column=value`
condition is encoded by `TableTransformer.condition_vector`.

With no discrete column, `condition_dim` is 0: conditions and masks have
width 0 and real rows are drawn uniformly with replacement.
"""

from collections.abc import Mapping
from typing import Any

import numpy as np
import tensorflow as tf

from kerasynth.data.transformer import TableTransformer

# The logit of a padded or empty category: probability zero without any
# -inf arithmetic.
_NEVER = -1e9


class ConditionalSampler:
    """Draws conditions and matching real rows for a conditional table model.

    Args:
        transformer: the fitted `TableTransformer` that encoded `data`.
        data: `transformer.transform(frame)`, float32 `[N, output_dim]`.

    Example:

    >>> data = transformer.transform(frame)
    >>> sampler = ConditionalSampler(transformer, data)
    >>> batch = next(iter(sampler.dataset(500, seed=0)))
    >>> batch["real"].shape, batch["cond"].shape, batch["mask"].shape
    (TensorShape([500, 18]), TensorShape([500, 2]), TensorShape([500, 1]))
    """

    def __init__(self, transformer: TableTransformer, data: np.ndarray):
        data = np.asarray(data, dtype=np.float32)
        if data.ndim != 2 or data.shape[1] != transformer.output_dim or not len(data):
            raise ValueError(
                f"`data` must be a non-empty array [N, {transformer.output_dim}] "
                f"(transformer.transform(frame)). Received: shape={data.shape}"
            )
        self.transformer = transformer
        self.data = data
        spans = transformer.discrete_spans
        self.widths = [span.width for span in spans]
        self.condition_dim = sum(self.widths)
        # Offset of each discrete column's block in the condition vector.
        self.offsets = np.cumsum([0] + self.widths[:-1]).astype(np.int64)
        codes = [np.argmax(data[:, span.start : span.end], axis=1) for span in spans]
        self.counts = [
            np.bincount(c, minlength=w) for c, w in zip(codes, self.widths, strict=True)
        ]
        # Rows grouped by category: the rows of category j of column d are
        # rows_by_category[starts[g] : starts[g] + sizes[g]], g = offsets[d] + j.
        empty = np.zeros(0, np.int64)
        self.rows_by_category = np.concatenate(
            [np.argsort(c, kind="stable") for c in codes] or [empty]
        )
        self.category_sizes = np.concatenate(self.counts or [empty])
        self.category_starts = np.concatenate(
            [d * len(data) + np.cumsum(c) - c for d, c in enumerate(self.counts)]
            or [empty]
        )

    @property
    def num_discrete_columns(self) -> int:
        return len(self.widths)

    def log_frequency_probabilities(self) -> np.ndarray:
        """`[D, max_width]` category probabilities of training conditions.

        Row `d`: `log(1 + count)` normalised over column `d`'s categories,
        zero-padded.
        """
        return _padded_probabilities(self.counts, np.log1p)

    def dataset(self, batch_size: int, *, seed: int) -> tf.data.Dataset:
        """The infinite training stream of conditioned batches.

        Args:
            batch_size: rows per batch (may exceed the table: rows are drawn
                with replacement).
            seed: the same seed gives the same stream.

        Returns:
            A dataset of dicts with float32 tensors: `"real"`
            `[batch_size, output_dim]` real rows, `"real_cond"`
            `[batch_size, condition_dim]` their conditions (each row has the
            category its condition names), `"cond"` `[batch_size,
            condition_dim]` the generator's conditions (drawn independently)
            and `"mask"` `[batch_size, D]` the one-hot of the column each
            `"cond"` row conditions on.
        """
        if not _is_int(batch_size) or batch_size < 1:
            raise ValueError(f"`batch_size` must be >= 1. Received: {batch_size=}")
        if not _is_int(seed):
            raise ValueError(f"`seed` must be an integer. Received: {seed=}")
        make_batch = self._batch_fn(int(batch_size))
        return (
            tf.data.Dataset.random(seed=int(seed))
            .batch(2, drop_remainder=True)  # one [2] stateless seed per batch
            .map(make_batch, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
            .prefetch(tf.data.AUTOTUNE)
        )

    def _batch_fn(self, batch_size: int):
        data = tf.constant(self.data)
        num_rows = len(self.data)
        num_columns = self.num_discrete_columns
        if num_columns == 0:

            def uniform_batch(seed):
                rows = tf.random.stateless_uniform(
                    [batch_size], seed, maxval=num_rows, dtype=tf.int64
                )
                empty = tf.zeros([batch_size, 0], tf.float32)
                return {
                    "real": tf.gather(data, rows),
                    "real_cond": empty,
                    "cond": empty,
                    "mask": empty,
                }

            return uniform_batch

        logits = tf.constant(_logits(self.log_frequency_probabilities()), tf.float32)
        offsets = tf.constant(self.offsets, tf.int64)
        rows_by_category = tf.constant(self.rows_by_category, tf.int64)
        starts = tf.constant(self.category_starts, tf.int64)
        sizes = tf.constant(self.category_sizes, tf.float64)
        condition_dim = self.condition_dim

        def draw(column_seed, category_seed):
            """(column [B], global category [B]) from the log-frequency."""
            columns = tf.random.stateless_uniform(
                [batch_size], column_seed, maxval=num_columns, dtype=tf.int64
            )
            categories = tf.random.stateless_categorical(
                tf.gather(logits, columns), 1, category_seed, dtype=tf.int64
            )[:, 0]
            return columns, tf.gather(offsets, columns) + categories

        def conditioned_batch(seed):
            seeds = tf.random.experimental.stateless_split(seed, num=5)
            columns, categories = draw(seeds[0], seeds[1])
            _, real_categories = draw(seeds[2], seeds[3])
            # A uniform row among those of each real category.
            size = tf.gather(sizes, real_categories)
            position = tf.random.stateless_uniform(
                [batch_size], seeds[4], dtype=tf.float64
            )
            offset = tf.minimum(tf.floor(position * size), size - 1.0)
            picked = tf.gather(starts, real_categories) + tf.cast(offset, tf.int64)
            rows = tf.gather(rows_by_category, picked)
            return {
                "real": tf.gather(data, rows),  # (B, output_dim)
                "real_cond": tf.one_hot(real_categories, condition_dim),  # (B, cond)
                "cond": tf.one_hot(categories, condition_dim),  # (B, cond)
                "mask": tf.one_hot(columns, num_columns),  # (B, D)
            }

        return conditioned_batch

    def sample_conditions(
        self, num: int, seed: int, conditions: Mapping[str, Any] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Conditions drawn like the training ones (log-frequency), in NumPy.

        Args:
            num: number of rows.
            seed: seeds the draw.
            conditions: `{column: value}` to fix every row to one category
                instead.

        Returns:
            `(cond, mask)`: float32 `[num, condition_dim]` and `[num, D]`.
        """
        return _draw_conditions(
            self.transformer, self.log_frequency_probabilities(), num, seed, conditions
        )

    def generation_conditions(
        self, num: int, seed: int, conditions: Mapping[str, Any] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Conditions for sampling, from the empirical category frequencies.

        Same as the module function `generation_conditions` (which needs only
        the transformer), with the frequencies of this sampler's `data`.
        """
        probabilities = _padded_probabilities(self.counts, _same)
        return _draw_conditions(self.transformer, probabilities, num, seed, conditions)


def generation_conditions(
    transformer: TableTransformer,
    num: int,
    *,
    seed: int,
    conditions: Mapping[str, Any] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Conditions for sampling from a trained model, in NumPy.

    CTGAN samples with conditions drawn from the real category frequencies
    (a column uniformly, then a category in proportion to its rows), so the
    synthetic table keeps the real proportions. The frequencies are those the
    transformer recorded at fit time: no data is needed after loading.

    Args:
        transformer: the fitted transformer.
        num: number of rows.
        seed: seeds the draw.
        conditions: `{column: value}` to fix every row to one category.

    Returns:
        `(cond, mask)`: float32 `[num, condition_dim]` and `[num, D]`.
    """
    probabilities = _padded_probabilities(transformer.condition_frequencies(), _same)
    return _draw_conditions(transformer, probabilities, num, seed, conditions)


def generation_conditions_graph(
    transformer: TableTransformer, num_samples, seed
) -> tf.Tensor:
    """`generation_conditions` in TensorFlow ops, for SavedModel signatures.

    Choosing a column uniformly and then a category by its frequency is the
    same as choosing among all `condition_dim` categories with probability
    `count / (D * N)`: one stateless categorical draw.

    Args:
        transformer: the fitted transformer (its counts become constants).
        num_samples: scalar integer tensor.
        seed: int32/int64 tensor `[2]`, a stateless seed.

    Returns:
        float32 `[num_samples, condition_dim]` one-hot conditions.
    """
    condition_dim = transformer.condition_dim
    if condition_dim == 0:
        return tf.zeros(tf.stack([tf.cast(num_samples, tf.int32), 0]), tf.float32)
    shares = np.concatenate(transformer.condition_frequencies())
    logits = tf.constant(_logits(shares / shares.sum())[None, :], tf.float32)
    categories = tf.random.stateless_categorical(
        logits, tf.cast(num_samples, tf.int32), seed, dtype=tf.int64
    )[0]
    return tf.one_hot(categories, condition_dim)


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _same(weights: np.ndarray) -> np.ndarray:
    return weights


def _padded_probabilities(counts: list[np.ndarray], weigh) -> np.ndarray:
    """`[D, max_width]` rows of `weigh(count)` normalised, zero-padded."""
    if not counts:
        return np.zeros((0, 0))
    table = np.zeros((len(counts), max(len(c) for c in counts)))
    for d, column_counts in enumerate(counts):
        weights = weigh(np.asarray(column_counts, dtype=np.float64))
        table[d, : len(weights)] = weights / weights.sum()
    return table


def _logits(probabilities: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.where(probabilities > 0, np.log(probabilities), _NEVER)


def _draw_conditions(
    transformer: TableTransformer,
    probabilities: np.ndarray,
    num: int,
    seed: int,
    conditions: Mapping[str, Any] | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Shared NumPy draw: uniform column, then a category by `probabilities`."""
    if not _is_int(num) or num < 0:
        raise ValueError(f"`num` must be an integer >= 0. Received: {num=}")
    num_columns = len(probabilities)
    condition_dim = transformer.condition_dim
    mask = np.zeros((num, num_columns), dtype=np.float32)
    if conditions:
        fixed, column, _ = transformer.condition_vector(conditions)
        mask[:, column] = 1.0
        return np.tile(fixed, (num, 1)), mask
    cond = np.zeros((num, condition_dim), dtype=np.float32)
    if num_columns == 0:
        return cond, mask
    rng = np.random.default_rng(seed)
    columns = rng.integers(num_columns, size=num)
    cumulative = np.cumsum(probabilities[columns], axis=1)
    draws = rng.random(num)[:, None]
    widths = np.array([s.width for s in transformer.discrete_spans])
    categories = np.minimum((cumulative < draws).sum(axis=1), widths[columns] - 1)
    offsets = np.cumsum(np.concatenate([[0], widths[:-1]]))
    rows = np.arange(num)
    cond[rows, offsets[columns] + categories] = 1.0
    mask[rows, columns] = 1.0
    return cond, mask
