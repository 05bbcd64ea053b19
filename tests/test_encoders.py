"""Tests for kerasynth.data.encoders: each encoder's NumPy and graph decoding,
its config, and the mode-specific normalisation."""

import json

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf
from transformer_cases import activate, activated, mixed_frame

from kerasynth.data.encoders import (
    ENCODERS,
    MinMaxEncoder,
    ModeSpecificEncoder,
    OneHotEncoder,
    OrdinalEncoder,
    category_label,
    encoder_from_config,
)
from kerasynth.data.encoders import mode_specific as mode_specific_module
from kerasynth.data.schema import infer_schema
from kerasynth.data.transformer import TableTransformer


def _columns(rows=300, seed=0):
    """One column per decoding path: rounding, decimals, gaps, categories."""
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 96, rows).astype(float)
    age[rng.random(rows) < 0.2] = np.nan
    cdr = rng.choice([0.0, 0.5, 1.0, 2.0], rows)
    cdr[rng.random(rows) < 0.1] = np.nan
    return pd.DataFrame(
        {
            "age": age,  # whole numbers with gaps: rounded, NaN
            "asf": np.where(
                rng.random(rows) < 0.5,
                rng.normal(1.0, 0.05, rows),
                rng.normal(1.4, 0.1),
            ).round(3),  # 3 decimals, two modes
            "full": rng.normal(0.0, 1.0, rows),  # full precision
            "etiv": rng.integers(1100, 2000, rows),  # int64, exact in float64
            "cdr": cdr,  # numbers as categories, with gaps
            "site": rng.choice(["north", "south", "east"], rows),
            "smoker": rng.random(rows) < 0.3,
        }
    )


def _cases():
    frame = _columns()
    schema = infer_schema(frame)
    for encoding in ("mode_specific", "plain", "quantile"):
        for column in schema.columns:
            if encoding == "plain" and column.missing:
                continue  # the plain encoders refuse missing values
            yield ENCODERS[(encoding, column.kind)], column, frame[column.name]


CASES = list(_cases())
every_encoder_and_column = pytest.mark.parametrize(
    "cls, column, series",
    CASES,
    ids=[f"{cls.__name__}-{column.name}" for cls, column, _ in CASES],
)


def _fit(cls, column, series):
    encoder = cls(column)
    return encoder.fit(series, np.random.default_rng([0, 1]))


def _random_block(encoder, rows=400, seed=3):
    """Activated outputs, with tanh values and sigmoids pushed out of range
    (a generator's raw output): clipping is part of decoding."""
    rng = np.random.default_rng(seed)
    block = activate(rng.normal(0.0, 2.0, (rows, encoder.width)), encoder.shapes())
    for index, (_, activation, _) in enumerate(encoder.shapes()):
        if activation != "softmax":
            start = sum(width for _, _, width in encoder.shapes()[:index])
            block[::7, start] = rng.choice([-1.5, 2.0], len(block[::7]))
    return block


@every_encoder_and_column
def test_numpy_and_graph_decoding_agree(cls, column, series):
    encoder = _fit(cls, column, series)
    block = _random_block(encoder)
    expected = encoder.decode(block)
    eager = encoder.decode_graph(tf.constant(block, tf.float64)).numpy()
    graph = tf.function(
        encoder.decode_graph,
        input_signature=[tf.TensorSpec([None, encoder.width], tf.float64)],
    )(tf.constant(block, tf.float64)).numpy()
    if column.kind == "categorical":
        labels = [category_label(value) for value in expected]
        assert [v.decode() for v in eager] == labels
        assert [v.decode() for v in graph] == labels
        return
    # Bit for bit, NaN where missing (assert_array_equal: NaN == NaN).
    np.testing.assert_array_equal(eager, expected)
    np.testing.assert_array_equal(graph, expected)
    present = expected[~np.isnan(expected)]
    assert present.min() >= series.min() and present.max() <= series.max()
    if column.integer:
        np.testing.assert_array_equal(present, np.round(present))
    elif column.decimals is not None:
        np.testing.assert_array_equal(present, np.round(present, column.decimals))
    if column.missing:
        assert 0 < np.isnan(expected).sum() < len(expected)


@every_encoder_and_column
def test_encode_decode_round_trip_and_config(cls, column, series):
    encoder = _fit(cls, column, series)
    block = encoder.encode(series, np.random.default_rng(5))
    assert block.dtype == np.float32 and block.shape == (len(series), encoder.width)
    decoded = column.restore(encoder.decode(block.astype(np.float64)))
    if cls in (OneHotEncoder, OrdinalEncoder):
        pd.testing.assert_series_equal(
            decoded, series.reset_index(drop=True), check_names=False
        )
    else:
        np.testing.assert_allclose(decoded, series, rtol=1e-5, atol=1e-5)
    config = json.loads(json.dumps(encoder.get_config(), allow_nan=False))
    clone = encoder_from_config(column, config)
    assert type(clone) is cls and clone.get_config() == encoder.get_config()
    np.testing.assert_array_equal(clone.encode(series, np.random.default_rng(5)), block)


def test_encoder_errors():
    frame = _columns()
    schema = infer_schema(frame)
    with pytest.raises(ValueError, match="encodes a numerical column"):
        MinMaxEncoder(schema.column("site"))
    with pytest.raises(ValueError, match=r"'age' has 6\d missing values.*plain"):
        MinMaxEncoder(schema.column("age")).fit(frame["age"])
    with pytest.raises(ValueError, match=r"'cdr' has \d+ missing values.*plain"):
        OrdinalEncoder(schema.column("cdr")).fit(frame["cdr"])
    with pytest.raises(ValueError, match="max_modes"):
        ModeSpecificEncoder(schema.column("asf"), max_modes=0)
    site = OneHotEncoder(schema.column("site")).fit(frame["site"])
    with pytest.raises(ValueError, match=r"'site' \(categorical\).*'one_hot'"):
        encoder_from_config(
            schema.column("site"), {**site.get_config(), "encoder": "x"}
        )
    with pytest.raises(ValueError, match="must hold exactly"):
        encoder_from_config(schema.column("site"), {**site.get_config(), "extra": 1})
    assert category_label(2.0) == "2" and category_label(None) == ""


# === Mode-specific normalisation ===


def test_modes_are_sampled_from_the_posterior():
    rng = np.random.default_rng(1)
    values = np.concatenate([rng.normal(-4, 1, 300), rng.normal(4, 1, 300)])
    transformer = TableTransformer(seed=0).fit(pd.DataFrame({"x": values}))
    assert transformer.modes("x") == 2
    # Make the two modes exactly symmetric: 0 is then equally likely under both.
    config = transformer.get_config()
    config["columns"][0].update(means=[-4.0, 4.0], stds=[1.0, 1.0], weights=[0.5, 0.5])
    symmetric = TableTransformer.from_config(config)
    frame = pd.DataFrame({"x": [0.0] * 400 + [-4.0] * 100})
    array = symmetric.transform(frame)
    chosen = array[:, 1:3].argmax(axis=1)
    # An argmax would put every midpoint under the same mode.
    assert 150 < (chosen[:400] == 1).sum() < 250
    assert (chosen[400:] == 0).all()
    # alpha = (0 -/+ 4) / (4 * 1), clipped to 0.99, under the drawn mode.
    expected = np.where(chosen[:400] == 1, -0.99, 0.99)
    np.testing.assert_allclose(array[:400, 0], expected, rtol=1e-6)
    np.testing.assert_allclose(array[400:, 0], 0.0)
    # Seeded: the same frame always gives the same encoding.
    np.testing.assert_array_equal(symmetric.transform(frame), array)


def test_big_columns_fit_on_a_seeded_subsample(monkeypatch):
    from sklearn.mixture import BayesianGaussianMixture

    sizes = []
    original_fit = BayesianGaussianMixture.fit

    def recording_fit(self, x, y=None):
        sizes.append(len(x))
        return original_fit(self, x, y)

    monkeypatch.setattr(BayesianGaussianMixture, "fit", recording_fit)
    monkeypatch.setattr(mode_specific_module, "MAX_FIT_ROWS", 200)
    frame = mixed_frame(rows=2000)[["bimodal"]]
    first = TableTransformer(seed=0).fit(frame)
    assert sizes == [200]
    assert first.modes("bimodal") == 2
    means = first.get_config()["columns"][0]["means"]
    assert means == pytest.approx([-5.0, 5.0], abs=0.3)
    assert first.get_config() == TableTransformer(seed=0).fit(frame).get_config()
    restored = first.inverse_transform(first.transform(frame))
    np.testing.assert_allclose(restored["bimodal"], frame["bimodal"], rtol=1e-5)


# === Through the transformer, in a graph ===


@pytest.mark.parametrize("encoding", ["mode_specific", "plain", "quantile"])
def test_graph_inverse_matches_numpy_inverse(encoding):
    frame = mixed_frame()
    if encoding == "plain":
        frame = frame.dropna()
    transformer = TableTransformer(encoding=encoding).fit(frame)
    array = activated(transformer, 300, seed=2)
    expected = transformer.inverse_transform(array)

    decode = tf.function(
        transformer.inverse_transform_graph,
        input_signature=[tf.TensorSpec([None, transformer.output_dim], tf.float32)],
    )
    result = decode(tf.constant(array))

    assert list(result) == transformer.columns
    for column in transformer.numerical_columns:
        assert result[column].dtype == tf.float64
        np.testing.assert_allclose(
            result[column].numpy(), expected[column].to_numpy(float), rtol=1e-4
        )
    for column in transformer.categorical_columns:
        assert result[column].dtype == tf.string
        labels = [category_label(None if pd.isna(v) else v) for v in expected[column]]
        assert [v.decode() for v in result[column].numpy()] == labels


def test_outputs_keep_the_observed_decimal_places():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"asf": rng.normal(1.2, 0.1, 200).round(3),
                          "full": rng.normal(0, 1, 200)})  # fmt: skip
    transformer = TableTransformer().fit(frame)
    array = activated(transformer, 300)
    restored = transformer.inverse_transform(array)
    np.testing.assert_array_equal(restored["asf"], restored["asf"].round(3))
    assert (restored["full"] != restored["full"].round(6)).any()  # not rounded
    # In a graph too (where Grappler rewrites divisions), to the last bit.
    graph = tf.function(transformer.inverse_transform_graph)(tf.constant(array))
    np.testing.assert_array_equal(graph["asf"].numpy(), restored["asf"])


def test_quantile_encoder_gives_normal_scores_of_a_skewed_column():
    # TabDDPM's preprocessing: whatever the column's shape, its encoding is
    # close to N(0, 1), within the encoder's bound, and decodes to itself.
    from scipy import stats

    from kerasynth.data.encoders import QuantileEncoder

    values = pd.Series(np.random.default_rng(0).lognormal(0.0, 1.0, 500).round(4))
    column = infer_schema(values.to_frame("x")).column("x")
    encoder = QuantileEncoder(column).fit(values)
    scores = encoder.encode(values)[:, 0]
    assert stats.kstest(scores, "norm").statistic < 0.01
    assert np.abs(scores).max() == pytest.approx(encoder.bound, rel=1e-6)
    assert encoder.bound == pytest.approx(stats.norm.ppf(1 - 0.5 / 500), rel=1e-6)
    np.testing.assert_allclose(encoder.decode(scores[:, None]), values, atol=1e-9)
    # Beyond the bound: the observed extremes, never outside them.
    far = encoder.decode(np.array([[-40.0], [40.0]]))
    np.testing.assert_array_equal(far, [values.min(), values.max()])
