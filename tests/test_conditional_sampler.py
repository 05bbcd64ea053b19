"""Tests for kerasynth.data.conditional_sampler: training-by-sampling and
generation conditions."""

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf
from scipy import stats

from kerasynth.data.conditional_sampler import (
    ConditionalSampler,
    generation_conditions,
    generation_conditions_graph,
)
from kerasynth.data.transformer import TableTransformer

BATCH = 64


def _frame(rows: int = 1000) -> pd.DataFrame:
    """Imbalanced categories, so log-frequency, empirical and uniform differ."""
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "x": rng.normal(0.0, 1.0, rows),
            # 900 / 90 / 10 rows.
            "rare": np.repeat(["common", "middle", "rare"], [900, 90, 10])[
                rng.permutation(rows)
            ],
            "sex": rng.choice(["F", "M"], rows, p=[0.7, 0.3]),
        }
    )


@pytest.fixture(scope="module")
def sampler():
    frame = _frame()
    transformer = TableTransformer(seed=0).fit(frame)
    return ConditionalSampler(transformer, transformer.transform(frame))


def _take(dataset, count):
    return [{k: v.numpy() for k, v in batch.items()} for batch in dataset.take(count)]


def _expected_log_frequency(counts: list[list[int]]) -> np.ndarray:
    """P(category) = 1/D * log(1 + n) / sum log(1 + n), flattened."""
    parts = [
        np.log1p(c) / np.log1p(c).sum() / len(counts) for c in map(np.array, counts)
    ]
    return np.concatenate(parts)


def test_batches_have_static_shapes(sampler):
    spec = sampler.dataset(BATCH, seed=0).element_spec
    transformer = sampler.transformer
    assert spec["real"].shape == (BATCH, transformer.output_dim)
    assert spec["real_cond"].shape == (BATCH, 5)
    assert spec["cond"].shape == (BATCH, 5)
    assert spec["mask"].shape == (BATCH, 2)
    assert all(s.dtype == tf.float32 for s in spec.values())


def test_real_rows_match_their_condition(sampler):
    spans = sampler.transformer.discrete_spans
    for batch in _take(sampler.dataset(BATCH, seed=1), 10):
        for real, cond in zip(batch["real"], batch["real_cond"], strict=True):
            assert cond.sum() == 1
            index = int(cond.argmax())
            column = 0 if index < spans[0].width else 1
            category = index - (0 if column == 0 else spans[0].width)
            span = spans[column]
            assert real[span.start + category] == 1.0
            # The real row is a row of the table.
            assert np.any(np.all(sampler.data == real, axis=1))


def test_mask_is_one_hot_of_the_conditioned_column(sampler):
    widths = [s.width for s in sampler.transformer.discrete_spans]
    for batch in _take(sampler.dataset(BATCH, seed=2), 5):
        np.testing.assert_array_equal(batch["mask"].sum(axis=1), 1.0)
        np.testing.assert_array_equal(batch["cond"].sum(axis=1), 1.0)
        column = batch["mask"].argmax(axis=1)
        in_first = batch["cond"][:, : widths[0]].sum(axis=1) == 1
        np.testing.assert_array_equal(in_first, column == 0)


@pytest.mark.parametrize("key", ["cond", "real_cond"])
def test_conditions_follow_log_frequency(sampler, key):
    batches = _take(sampler.dataset(500, seed=3), 40)
    observed = sum(batch[key].sum(axis=0) for batch in batches)
    counts = [list(c) for c in sampler.counts]
    assert counts == [[900, 90, 10], [counts[1][0], counts[1][1]]]
    expected = _expected_log_frequency(counts) * observed.sum()
    statistic, p_value = stats.chisquare(observed, expected)
    assert p_value > 1e-3, (observed, expected)
    # The rare category is drawn far more often than its 1% of the rows.
    assert observed[2] / observed[:3].sum() > 0.15


def test_same_seed_same_stream(sampler):
    first = _take(sampler.dataset(BATCH, seed=7), 3)
    again = _take(sampler.dataset(BATCH, seed=7), 3)
    other = _take(sampler.dataset(BATCH, seed=8), 3)
    for a, b in zip(first, again, strict=True):
        for key in a:
            np.testing.assert_array_equal(a[key], b[key])
    assert not np.array_equal(first[0]["real"], other[0]["real"])
    # Successive batches differ.
    assert not np.array_equal(first[0]["cond"], first[1]["cond"])


def test_no_discrete_columns():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=50), "b": rng.uniform(size=50)})
    transformer = TableTransformer().fit(frame)
    data = transformer.transform(frame)
    sampler = ConditionalSampler(transformer, data)
    assert transformer.condition_dim == 0
    (batch,) = _take(sampler.dataset(200, seed=0), 1)
    assert batch["real"].shape == (200, transformer.output_dim)
    for key in ("cond", "real_cond", "mask"):
        assert batch[key].shape == (200, 0)
    matches = (batch["real"][:, None, :] == data[None, :, :]).all(axis=2)
    assert matches.any(axis=1).all()
    assert len(np.unique(matches.argmax(axis=1))) > 30  # uniform over the 50 rows
    cond, mask = generation_conditions(transformer, 4, seed=0)
    assert cond.shape == (4, 0) and mask.shape == (4, 0)


def test_sample_conditions_log_frequency_and_fixed(sampler):
    cond, mask = sampler.sample_conditions(20_000, seed=0)
    assert cond.shape == (20_000, 5) and mask.shape == (20_000, 2)
    expected = _expected_log_frequency([list(c) for c in sampler.counts])
    np.testing.assert_allclose(cond.mean(axis=0), expected, atol=0.015)
    np.testing.assert_array_equal(sampler.sample_conditions(20_000, seed=0)[0], cond)

    fixed, fixed_mask = sampler.sample_conditions(3, seed=0, conditions={"sex": "M"})
    np.testing.assert_array_equal(fixed, [[0, 0, 0, 0, 1]] * 3)
    np.testing.assert_array_equal(fixed_mask, [[0, 1]] * 3)
    with pytest.raises(ValueError, match="'Z'.*'sex'"):
        sampler.sample_conditions(3, seed=0, conditions={"sex": "Z"})


def test_generation_conditions_follow_empirical_frequencies(sampler):
    transformer = sampler.transformer
    counts = np.concatenate([sampler.counts[0], sampler.counts[1]]) / 1000
    expected = counts / 2  # a column uniformly, then a category by its share
    cond, mask = generation_conditions(transformer, 20_000, seed=0)
    np.testing.assert_allclose(cond.mean(axis=0), expected, atol=0.015)
    np.testing.assert_array_equal(mask.sum(axis=1), 1.0)
    same, _ = sampler.generation_conditions(20_000, seed=0)
    np.testing.assert_array_equal(same, cond)

    graph = tf.function(lambda n, s: generation_conditions_graph(transformer, n, s))
    drawn = graph(tf.constant(20_000), tf.constant([0, 1], tf.int64)).numpy()
    assert drawn.shape == (20_000, 5)
    np.testing.assert_array_equal(drawn.sum(axis=1), 1.0)
    np.testing.assert_allclose(drawn.mean(axis=0), expected, atol=0.015)


def test_data_shape_is_checked(sampler):
    output_dim = sampler.transformer.output_dim
    with pytest.raises(ValueError, match=rf"\[N, {output_dim}\]"):
        ConditionalSampler(sampler.transformer, np.zeros((4, 3)))
    with pytest.raises(ValueError, match="batch_size"):
        sampler.dataset(0, seed=0)
