"""Tests for kerasynth.data.transformer: spans, round trips, config, conditions.

The inference rule is tested in test_schema.py, the encoders (and the graph
inverse) in test_encoders.py."""

import json

import numpy as np
import pandas as pd
import pytest
from conftest import SHARED_DATA
from transformer_cases import activated, mixed_frame

from kerasynth.data.tables import load_table
from kerasynth.data.transformer import Span, TableTransformer, category_label

OASIS = SHARED_DATA / "oasis_cross-sectional.csv"


@pytest.fixture(scope="module")
def fitted():
    frame = mixed_frame()
    return frame, TableTransformer(seed=0).fit(frame)


# === Layout ===


def test_schema_inference(fitted):
    _, transformer = fitted
    assert transformer.columns == ["bimodal", "sex", "age", "mmse", "site"]
    assert transformer.categorical_columns == ["sex", "site"]
    assert transformer.numerical_columns == ["bimodal", "age", "mmse"]
    assert transformer.categories("sex") == ["F", "M"]
    assert transformer.categories("site") == ["east", "north", "south", None]


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


def test_inverse_clips_to_observed_range_and_rounds(fitted):
    frame, transformer = fitted
    array = activated(transformer, 500)
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
    frame = mixed_frame().drop(columns=["mmse", "site"])
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
        TableTransformer(encoding="plain").fit(mixed_frame())


# === Config, JSON, graph ===


def test_json_round_trip_gives_identical_results(fitted, tmp_path):
    frame, transformer = fitted
    config = transformer.get_config()
    text = json.dumps(config, allow_nan=False)  # strict JSON: no numpy types, no NaN
    clone = TableTransformer.from_config(json.loads(text))

    np.testing.assert_array_equal(clone.transform(frame), transformer.transform(frame))
    array = activated(transformer, 200)
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


# A config saved by kerasynth before the schema split (format_version 1), by
# `TableTransformer(encoding=..., seed=0, max_modes=2).fit(_V1_FRAME)`.
_V1_COLUMNS = {
    "mode_specific": [
        {"name": "sex", "dtype": "str", "categories": ["F", "M", None],
         "counts": [15, 10, 5], "dtype_categories": None, "ordered": False,
         "kind": "categorical"},
        {"name": "age", "dtype": "float64", "minimum": 20.0, "maximum": 87.0,
         "integer": True, "missing_rate": 0.16666666666666666, "decimals": 0,
         "means": [27.389632624604378, 72.13128486092964],
         "stds": [12.041728384722465, 11.939490775370063],
         "weights": [0.4254712866181904, 0.5745287133818096], "kind": "numerical"},
        {"name": "asf", "dtype": "float64", "minimum": 0.8, "maximum": 1.6,
         "integer": False, "missing_rate": 0.0, "decimals": 3, "means": [1.2],
         "stds": [0.23885374579238755], "weights": [1.0], "kind": "numerical"},
        {"name": "grade", "dtype": "category", "categories": ["hi", "lo", "mid"],
         "counts": [15, 15, 0], "dtype_categories": ["lo", "mid", "hi"],
         "ordered": False, "kind": "categorical"},
    ],
    "plain": [
        {"name": "sex", "dtype": "str", "categories": ["F", "M"], "counts": [15, 10],
         "dtype_categories": None, "ordered": False, "kind": "categorical"},
        {"name": "age", "dtype": "float64", "minimum": 20.0, "maximum": 87.0,
         "integer": True, "missing_rate": 0.0, "decimals": 0, "means": [],
         "stds": [], "weights": [], "kind": "numerical"},
        {"name": "asf", "dtype": "float64", "minimum": 0.8, "maximum": 1.6,
         "integer": False, "missing_rate": 0.0, "decimals": 3, "means": [],
         "stds": [], "weights": [], "kind": "numerical"},
        {"name": "grade", "dtype": "category", "categories": ["hi", "lo", "mid"],
         "counts": [15, 10, 0], "dtype_categories": ["lo", "mid", "hi"],
         "ordered": False, "kind": "categorical"},
    ],
}  # fmt: skip


def _v1_frame() -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "sex": ["F", "M", None, "F", "M", "F"] * 5,
            "age": [20.0, 25.0, np.nan, 61.0, 70.0, 83.0] * 5,
            "asf": np.round(np.linspace(0.8, 1.6, 30), 3),
            "grade": pd.Categorical(["lo", "hi"] * 15, categories=["lo", "mid", "hi"]),
        }
    )
    frame["age"] = frame["age"] + np.repeat(np.arange(5), 6)
    return frame


@pytest.mark.parametrize("encoding", ["mode_specific", "plain"])
def test_a_version_1_config_still_loads_and_decodes_the_same(encoding):
    frame = _v1_frame()
    if encoding == "plain":
        frame = frame.dropna().reset_index(drop=True)
    columns = [dict(item) for item in _V1_COLUMNS[encoding]]
    columns[0]["dtype"] = str(frame["sex"].dtype)  # "str" or "object": pandas' own
    config = TableTransformer(encoding=encoding, seed=0, max_modes=2).get_config()
    del config["schema"]  # version 1 had the columns only
    config.update(format_version=1, columns=columns)
    old = TableTransformer.from_config(json.loads(json.dumps(config)))
    new = TableTransformer(encoding=encoding, seed=0, max_modes=2).fit(frame)
    # The version-1 numbers were written on one machine; a mixture refit on
    # another BLAS may differ in the last bit (CI saw 11.939490775370059
    # against ...063), so floats are compared to 1e-12.
    assert old.get_config() == _approx(new.get_config())
    np.testing.assert_allclose(old.transform(frame), new.transform(frame), rtol=1e-9)
    array = activated(new, 100)
    pd.testing.assert_frame_equal(
        old.inverse_transform(array), new.inverse_transform(array), rtol=1e-9
    )


def _approx(value):
    """`value` with every float inside it as `pytest.approx` (rel 1e-12)."""
    if isinstance(value, dict):
        return {key: _approx(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_approx(item) for item in value)
    if isinstance(value, float):
        return pytest.approx(value, rel=1e-12)
    return value


def test_config_holds_the_schema_and_one_encoder_per_column(fitted):
    frame, transformer = fitted
    config = transformer.get_config()
    assert config["format_version"] == 2
    assert config["schema"] == transformer.schema.get_config()
    assert [c["name"] for c in config["schema"]["columns"]] == list(frame.columns)
    assert [(c["column"], c["encoder"]) for c in config["columns"]] == [
        ("bimodal", "mode_specific"),
        ("sex", "one_hot"),
        ("age", "mode_specific"),
        ("mmse", "mode_specific"),
        ("site", "one_hot"),
    ]
    assert transformer.schema.column("mmse").missing
    wrong = {**config, "encoding": "plain"}
    with pytest.raises(ValueError, match="'bimodal' has a mode_specific encoder"):
        TableTransformer.from_config(wrong)
    with pytest.raises(ValueError, match="format_version 7"):
        TableTransformer.from_config({**config, "format_version": 7})


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
