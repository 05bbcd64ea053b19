"""Tests for kerasynth.data.transformer: schema, spans, round trips, graph inverse."""

import json

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf
from conftest import SHARED_DATA

from kerasynth.data import transformer as transformer_module
from kerasynth.data.tables import load_table
from kerasynth.data.transformer import Span, TableTransformer, category_label

OASIS = SHARED_DATA / "oasis_cross-sectional.csv"


def _frame(rows: int = 400, seed: int = 0) -> pd.DataFrame:
    """Bimodal continuous, text categories, integers, missing values."""
    rng = np.random.default_rng(seed)
    bimodal = np.where(
        rng.random(rows) < 0.4, rng.normal(-5.0, 0.5, rows), rng.normal(5.0, 1.0, rows)
    )
    mmse = rng.integers(15, 31, rows).astype(float)
    mmse[rng.random(rows) < 0.25] = np.nan
    site = rng.choice(["north", "south", "east"], rows, p=[0.6, 0.3, 0.1]).astype(
        object
    )
    site[rng.random(rows) < 0.1] = np.nan
    return pd.DataFrame(
        {
            "bimodal": bimodal,
            "sex": rng.choice(["F", "M"], rows),
            "age": rng.integers(18, 96, rows),
            "mmse": mmse,
            "site": pd.Series(site, dtype="str"),
        }
    )


def _activated(transformer: TableTransformer, rows: int, seed: int = 0) -> np.ndarray:
    """Random generator-like outputs: tanh values, softmax blocks, sigmoids."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0.0, 2.0, (rows, transformer.output_dim))
    out = np.empty_like(logits)
    for span in transformer.spans:
        block = logits[:, span.start : span.end]
        if span.activation == "tanh":
            out[:, span.start : span.end] = np.tanh(block)
        elif span.activation == "sigmoid":
            out[:, span.start : span.end] = 1.0 / (1.0 + np.exp(-block))
        else:
            exp = np.exp(block - block.max(axis=1, keepdims=True))
            out[:, span.start : span.end] = exp / exp.sum(axis=1, keepdims=True)
    return out.astype(np.float32)


@pytest.fixture(scope="module")
def fitted():
    frame = _frame()
    return frame, TableTransformer(seed=0).fit(frame)


# === Schema and layout ===


def test_schema_inference(fitted):
    _, transformer = fitted
    assert transformer.columns == ["bimodal", "sex", "age", "mmse", "site"]
    assert transformer.categorical_columns == ["sex", "site"]
    assert transformer.numerical_columns == ["bimodal", "age", "mmse"]
    assert transformer.categories("sex") == ["F", "M"]
    assert transformer.categories("site") == ["east", "north", "south", None]


def test_few_distinct_numbers_are_categorical_even_if_not_integers():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "cdr": rng.choice([0.0, 0.5, 1.0, 2.0], 200),
            "ses": rng.integers(1, 6, 200),
            "flag": rng.integers(0, 2, 200),
            "mmse": rng.integers(15, 31, 200),  # 16 values: numerical
            "tiny": [0.1, 0.2, 0.3, 0.4] * 50,
        }
    )
    frame.loc[:2, "tiny"] = [0.15, 0.25, 0.35]
    transformer = TableTransformer().fit(frame)
    assert transformer.categorical_columns == ["cdr", "ses", "flag", "tiny"]
    assert transformer.categories("cdr") == [0.0, 0.5, 1.0, 2.0]
    assert transformer.numerical_columns == ["mmse"]
    # Five distinct values in five rows are measurements, not categories.
    few_rows = pd.DataFrame({"x": [1.5, 2.5, 3.5, 4.5, 5.5]})
    assert TableTransformer().fit(few_rows).numerical_columns == ["x"]


def test_overrides_and_metadata(tmp_path):
    frame = _frame()
    transformer = TableTransformer(categorical=["age"], numerical=["mmse"]).fit(frame)
    assert "age" in transformer.categorical_columns
    metadata = {
        "columns": {
            "age": {"kind": "categorical"},
            "sex": {"kind": "categorical"},
            "not_here": {"kind": "numerical"},  # ignored: absent from the frame
        }
    }
    path = tmp_path / "metadata.json"
    path.write_text(json.dumps(metadata))
    from_file = TableTransformer.from_metadata(path, seed=1).fit(frame)
    assert from_file.categorical_columns == ["sex", "age", "site"]
    assert from_file.seed == 1
    by_path = TableTransformer(metadata=str(path)).fit(frame)
    assert by_path.get_config()["metadata"] == metadata  # content, not the path
    assert by_path.categorical_columns == from_file.categorical_columns
    # Arguments win over the metadata.
    mixed = TableTransformer.from_metadata(metadata, numerical=["age"]).fit(frame)
    assert "age" in mixed.numerical_columns


def test_span_layout_is_consistent(fitted):
    _, transformer = fitted
    spans = transformer.spans
    position = 0
    for span in spans:
        assert span.start == position
        assert span.width >= 1
        position += span.width
        expected = {
            "value": "tanh",
            "mode": "softmax",
            "category": "softmax",
            "missing": "softmax",
        }[span.kind]
        assert span.activation == expected
    assert transformer.output_dim == position == sum(s.width for s in spans)
    by_column = [(s.column, s.kind) for s in spans]
    assert by_column == [
        ("bimodal", "value"),
        ("bimodal", "mode"),
        ("sex", "category"),
        ("age", "value"),
        ("age", "mode"),
        ("mmse", "value"),
        ("mmse", "mode"),
        ("mmse", "missing"),
        ("site", "category"),
    ]
    assert [s.column for s in transformer.discrete_spans] == ["sex", "site"]
    assert transformer.condition_dim == 2 + 4
    assert spans[1].width == transformer.modes("bimodal") == 2


# === Round trips ===


def test_round_trip_restores_values_and_dtypes(fitted):
    frame, transformer = fitted
    array = transformer.transform(frame)
    assert array.dtype == np.float32
    assert array.shape == (len(frame), transformer.output_dim)

    restored = transformer.inverse_transform(array)

    assert list(restored.columns) == list(frame.columns)
    assert restored.dtypes.to_dict() == frame.dtypes.to_dict()
    np.testing.assert_allclose(
        restored["bimodal"], frame["bimodal"], rtol=1e-5, atol=1e-5
    )
    np.testing.assert_array_equal(restored["age"], frame["age"])
    assert restored["age"].dtype == np.int64
    np.testing.assert_array_equal(restored["mmse"], frame["mmse"])  # NaN == NaN here
    pd.testing.assert_series_equal(restored["sex"], frame["sex"])
    pd.testing.assert_series_equal(restored["site"], frame["site"])


def test_missing_rates_survive_exactly(fitted):
    frame, transformer = fitted
    restored = transformer.inverse_transform(transformer.transform(frame))
    for column in ("mmse", "site"):
        assert restored[column].isna().sum() == frame[column].isna().sum() > 0
    missing = transformer.spans[7]
    assert missing.kind == "missing"
    flags = transformer.transform(frame)[:, missing.start : missing.end]
    np.testing.assert_array_equal(flags[:, 1], frame["mmse"].isna().to_numpy())


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
    monkeypatch.setattr(transformer_module, "MAX_FIT_ROWS", 200)
    frame = _frame(rows=2000)[["bimodal"]]
    first = TableTransformer(seed=0).fit(frame)
    assert sizes == [200]
    assert first.modes("bimodal") == 2
    means = first.get_config()["columns"][0]["means"]
    assert means == pytest.approx([-5.0, 5.0], abs=0.3)
    assert first.get_config() == TableTransformer(seed=0).fit(frame).get_config()
    restored = first.inverse_transform(first.transform(frame))
    np.testing.assert_allclose(restored["bimodal"], frame["bimodal"], rtol=1e-5)


def test_inverse_clips_to_observed_range_and_rounds(fitted):
    frame, transformer = fitted
    array = _activated(transformer, 500)
    restored = transformer.inverse_transform(array)
    for column in ("bimodal", "age", "mmse"):
        values = restored[column].dropna()
        assert values.min() >= frame[column].min()
        assert values.max() <= frame[column].max()
    assert restored["age"].dtype == np.int64
    assert (restored["mmse"].dropna() % 1 == 0).all()
    assert set(restored["sex"]) <= {"F", "M"}


def test_bool_category_and_nullable_dtypes_round_trip():
    rng = np.random.default_rng(0)
    score = pd.array(rng.integers(0, 100, 60), dtype="Int64")
    score[::5] = pd.NA
    frame = pd.DataFrame(
        {
            "smoker": rng.random(60) < 0.3,
            "grade": pd.Categorical(
                rng.choice(["low", "high"], 60),
                categories=["low", "mid", "high"],
                ordered=True,
            ),
            "score": score,
            "count": rng.integers(0, 3, 60).astype("int32"),
        }
    )
    transformer = TableTransformer().fit(frame)
    assert transformer.categorical_columns == ["smoker", "grade", "count"]
    assert transformer.categories("smoker") == [False, True]
    restored = transformer.inverse_transform(transformer.transform(frame))
    pd.testing.assert_frame_equal(restored, frame)


def test_plain_encoding_round_trip():
    frame = _frame().drop(columns=["mmse", "site"])
    transformer = TableTransformer(encoding="plain").fit(frame)
    assert [(s.kind, s.activation, s.width) for s in transformer.spans] == [
        ("plain", "sigmoid", 1)
    ] * 3
    assert transformer.output_dim == 3
    assert transformer.condition_dim == 0
    array = transformer.transform(frame)
    assert array.min() >= 0.0 and array.max() <= 1.0
    np.testing.assert_array_equal(array[:, 1], (frame["sex"] == "M").astype(np.float32))

    restored = transformer.inverse_transform(array)
    np.testing.assert_allclose(
        restored["bimodal"], frame["bimodal"], rtol=1e-5, atol=1e-5
    )
    pd.testing.assert_series_equal(restored["age"], frame["age"])
    pd.testing.assert_series_equal(restored["sex"], frame["sex"])
    # Nearest code, clipped range.
    nearby = transformer.inverse_transform(np.array([[1.5, 0.4, -1.0]]))
    assert nearby["bimodal"][0] == frame["bimodal"].max()
    assert nearby["age"][0] == frame["age"].min()
    assert nearby["sex"][0] == "F"


def test_plain_encoding_refuses_missing_values():
    with pytest.raises(ValueError, match=r"'mmse'.*missing.*dropna"):
        TableTransformer(encoding="plain").fit(_frame())


# === Config, JSON, graph ===


def test_json_round_trip_gives_identical_results(fitted, tmp_path):
    frame, transformer = fitted
    config = transformer.get_config()
    text = json.dumps(config, allow_nan=False)  # strict JSON: no numpy types, no NaN
    clone = TableTransformer.from_config(json.loads(text))

    np.testing.assert_array_equal(clone.transform(frame), transformer.transform(frame))
    array = _activated(transformer, 200)
    pd.testing.assert_frame_equal(
        clone.inverse_transform(array), transformer.inverse_transform(array)
    )
    assert clone.spans == transformer.spans

    transformer.save(tmp_path / "transformer.json")
    loaded = TableTransformer.load(tmp_path / "transformer.json")
    assert loaded.get_config() == config


def test_unfitted_config_round_trip():
    config = TableTransformer(encoding="plain", categorical=["a"], seed=3).get_config()
    clone = TableTransformer.from_config(json.loads(json.dumps(config)))
    assert not clone.is_fitted
    assert clone.get_config() == config
    with pytest.raises(ValueError, match="not fitted"):
        _ = clone.spans


@pytest.mark.parametrize("encoding", ["mode_specific", "plain"])
def test_graph_inverse_matches_numpy_inverse(encoding):
    frame = _frame()
    if encoding == "plain":
        frame = frame.dropna()
    transformer = TableTransformer(encoding=encoding).fit(frame)
    array = _activated(transformer, 300, seed=2)
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


# === Conditions ===


def test_condition_vector(fitted):
    _, transformer = fitted
    cond, span_index, category_index = transformer.condition_vector({"site": "south"})
    assert (span_index, category_index) == (1, 2)
    assert cond.dtype == np.float32 and cond.shape == (6,)
    np.testing.assert_array_equal(cond, [0, 0, 0, 0, 1, 0])
    missing, _, index = transformer.condition_vector({"site": None})
    assert index == 3 and missing[5] == 1
    assert transformer.category_index("site", "") == 3  # the missing label
    assert transformer.category_index("site", float("nan")) == 3


def test_condition_frequencies(fitted):
    frame, transformer = fitted
    sex, site = transformer.condition_frequencies()
    assert sex == pytest.approx(
        [(frame["sex"] == "F").mean(), (frame["sex"] == "M").mean()]
    )
    assert site[-1] == pytest.approx(frame["site"].isna().mean())
    assert sum(site) == pytest.approx(1.0)
    assert transformer.category_counts("site")[-1] == frame["site"].isna().sum()


def test_condition_value_matches_by_text():
    frame = pd.DataFrame({"ses": [1.0, 2.0, 3.0, np.nan] * 10, "x": np.arange(40.0)})
    transformer = TableTransformer().fit(frame)
    assert transformer.condition_vector({"ses": "2"})[2] == 1
    assert transformer.condition_vector({"ses": 3})[2] == 2
    assert category_label(2.0) == "2" and category_label(0.5) == "0.5"
    plain = TableTransformer(encoding="plain").fit(frame.dropna())
    assert plain.condition_dim == 0
    assert plain.category_index("ses", "3") == 2
    with pytest.raises(ValueError, match=r"'7'.*'ses'.*\['1', '2', '3'\]"):
        plain.category_index("ses", "7")


def test_condition_errors(fitted):
    _, transformer = fitted
    with pytest.raises(ValueError, match=r"'west'.*'site'.*'east', 'north'"):
        transformer.condition_vector({"site": "west"})
    with pytest.raises(ValueError, match="'age'.*numerical"):
        transformer.condition_vector({"age": 30})
    with pytest.raises(ValueError, match="'height'"):
        transformer.condition_vector({"height": 1})
    with pytest.raises(ValueError, match="exactly one"):
        transformer.condition_vector({"sex": "F", "site": "east"})


# === Validation ===


def test_unknown_override_column():
    with pytest.raises(
        ValueError, match=r"`categorical` names unknown column 'weight'"
    ):
        TableTransformer(categorical=["weight"]).fit(_frame())
    with pytest.raises(ValueError, match="'empty' is entirely missing"):
        TableTransformer().fit(_frame().assign(empty=np.nan))
    with pytest.raises(ValueError, match="both categorical and numerical"):
        TableTransformer(categorical=["age"], numerical=["age"])


def test_text_in_numeric_column_is_named():
    frame = _frame()
    typo = frame.astype({"age": object})
    typo.loc[17, "age"] = "abc"
    with pytest.raises(ValueError, match=r"'age'.*'abc'.*row 17"):
        TableTransformer().fit(typo)
    with pytest.raises(ValueError, match=r"'sex'.*non-numeric.*'[FM]'"):
        TableTransformer(numerical=["sex"]).fit(frame)
    transformer = TableTransformer().fit(frame)
    with pytest.raises(ValueError, match=r"'age'.*'abc'"):
        transformer.transform(typo)


def test_transform_errors(fitted):
    frame, transformer = fitted
    with pytest.raises(ValueError, match="'mmse' is missing from the frame"):
        transformer.transform(frame.drop(columns=["mmse"]))
    unseen = frame.copy()
    unseen.loc[3, "sex"] = "X"
    with pytest.raises(ValueError, match=r"'sex'.*'X'.*row 3"):
        transformer.transform(unseen)
    gap = frame.astype({"age": "float64"})
    gap.loc[5, "age"] = np.nan
    with pytest.raises(ValueError, match=r"'age' has a missing value \(row 5\)"):
        transformer.transform(gap)
    with pytest.raises(ValueError, match="output_dim"):
        transformer.inverse_transform(np.zeros((2, 3)))


@pytest.mark.parametrize(
    "kwargs",
    [{"encoding": "onehot"}, {"max_modes": 0}, {"weight_threshold": 1.5}, {"seed": -1}],
)
def test_constructor_validation(kwargs):
    with pytest.raises(ValueError, match="Received"):
        TableTransformer(**kwargs)


def test_span_is_frozen():
    span = Span("a", "value", "tanh", 0, 1)
    assert span.end == 1
    with pytest.raises(AttributeError):
        span.width = 2


# === The study's table ===


@pytest.mark.real_data
def test_oasis_five_columns_layout():
    if not OASIS.is_file():
        pytest.skip(f"the study's data is not at {OASIS}")
    frame = load_table(OASIS, columns=["M/F", "Age", "eTIV", "nWBV", "ASF"]).frame
    transformer = TableTransformer(seed=0).fit(frame)
    assert transformer.categorical_columns == ["M/F"]
    assert transformer.condition_dim == 2
    modes = [transformer.modes(c) for c in transformer.numerical_columns]
    assert all(1 <= m <= 10 for m in modes)
    assert transformer.output_dim == 2 + sum(1 + m for m in modes)
    restored = transformer.inverse_transform(transformer.transform(frame))
    pd.testing.assert_frame_equal(restored, frame, rtol=1e-5)


def test_outputs_keep_the_observed_decimal_places():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"asf": rng.normal(1.2, 0.1, 200).round(3),
                          "full": rng.normal(0, 1, 200)})  # fmt: skip
    transformer = TableTransformer().fit(frame)
    array = _activated(transformer, 300)
    restored = transformer.inverse_transform(array)
    np.testing.assert_array_equal(restored["asf"], restored["asf"].round(3))
    assert (restored["full"] != restored["full"].round(6)).any()  # not rounded
    # In a graph too (where Grappler rewrites divisions), to the last bit.
    graph = tf.function(transformer.inverse_transform_graph)(tf.constant(array))
    np.testing.assert_array_equal(graph["asf"].numpy(), restored["asf"])
