"""Tests for kerasynth.data.schema: the one inference rule, overrides, JSON."""

import json

import numpy as np
import pandas as pd
import pytest
from transformer_cases import cdr_frame, mixed_frame

from kerasynth.data.schema import ColumnSchema, TableSchema, infer_schema
from kerasynth.data.transformer import TableTransformer

# === The inference rule ===


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


def test_the_schema_records_what_decoding_needs():
    frame = cdr_frame()
    frame["grade"] = pd.Categorical(["lo", "hi"] * 100, categories=["lo", "hi"])
    schema = infer_schema(frame)
    assert schema.kinds == {
        "M/F": "categorical",
        "Age": "numerical",
        "CDR": "categorical",
        "nWBV": "numerical",
        "grade": "categorical",
    }
    age, cdr, nwbv = (schema.column(c) for c in ("Age", "CDR", "nWBV"))
    assert (age.dtype, age.integer, age.decimals, age.missing) == (
        "int64",
        True,
        0,
        False,
    )
    assert (nwbv.integer, nwbv.decimals) == (False, 3)
    assert cdr.missing and cdr.dtype == "float64"
    assert schema.column("grade").dtype_categories == ("lo", "hi")
    full = infer_schema(pd.DataFrame({"x": np.random.default_rng(0).normal(size=50)}))
    assert full.column("x").decimals is None  # full precision: no rounding
    # Declared kinds win; text declared numerical comes back as numbers.
    text = pd.DataFrame({"n": ["1", "2", "3"] * 10, "m": [1, 2, 3] * 10})
    declared = infer_schema(text, categorical=["m"], numerical=["n"])
    assert declared.kinds == {"n": "numerical", "m": "categorical"}
    assert declared.column("n").dtype == "int64"
    with pytest.raises(ValueError, match="Unknown column 'z'"):
        schema.column("z")


def test_json_round_trip_keeps_the_order_and_every_fact(tmp_path):
    frame = cdr_frame()[["nWBV", "M/F", "CDR", "Age"]]  # not alphabetical
    frame["grade"] = pd.Categorical(["lo", "hi"] * 100, ordered=True)
    schema = infer_schema(frame)
    text = schema.to_json()
    json.loads(text)  # strict JSON
    assert TableSchema.from_json(text) == schema
    assert TableSchema.from_config(schema.get_config()).names == list(frame.columns)
    # Key-sorting writers (kerasynth.atomic.write_json) keep the order too.
    assert TableSchema.from_json(json.dumps(json.loads(text), sort_keys=True)) == (
        schema
    )


def test_a_schema_file_is_a_metadata_file(tmp_path):
    frame = cdr_frame()
    schema = infer_schema(frame, numerical=["CDR"])
    path = tmp_path / "schema.json"
    path.write_text(schema.to_json())
    transformer = TableTransformer(metadata=path).fit(frame)
    assert transformer.numerical_columns == ["Age", "CDR", "nWBV"]
    assert infer_schema(frame, metadata=path).kinds == schema.kinds
    assert infer_schema(frame, metadata=schema).kinds == schema.kinds


def test_invalid_schemas_are_one_clear_error():
    with pytest.raises(ValueError, match=r"'cdr'.*kind='ordinal'"):
        ColumnSchema("cdr", "ordinal", "float64")
    config = infer_schema(cdr_frame()).get_config()
    config["columns"][2]["kind"] = "ordinal"
    with pytest.raises(ValueError, match=r"'CDR'.*'ordinal'"):
        TableSchema.from_config(config)
    config["columns"][2].update(kind="numerical", scale=2)
    with pytest.raises(ValueError, match="scale"):
        TableSchema.from_config(config)
    with pytest.raises(ValueError, match="format_version 9"):
        TableSchema.from_config({"format_version": 9, "columns": []})
    with pytest.raises(ValueError, match="Duplicated.*'a'"):
        TableSchema((ColumnSchema("a", "numerical", "int64"),) * 2)
    with pytest.raises(ValueError, match="must be strings"):
        infer_schema(pd.DataFrame({0: [1, 2]}))


# === Overrides and errors ===


def test_overrides_and_metadata(tmp_path):
    frame = mixed_frame()
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


def test_unknown_override_column():
    with pytest.raises(
        ValueError, match=r"`categorical` names unknown column 'weight'"
    ):
        TableTransformer(categorical=["weight"]).fit(mixed_frame())
    with pytest.raises(ValueError, match="'empty' is entirely missing"):
        TableTransformer().fit(mixed_frame().assign(empty=np.nan))
    with pytest.raises(ValueError, match="both categorical and numerical"):
        TableTransformer(categorical=["age"], numerical=["age"])


def test_text_in_numeric_column_is_named():
    frame = mixed_frame()
    typo = frame.astype({"age": object})
    typo.loc[17, "age"] = "abc"
    with pytest.raises(ValueError, match=r"'age'.*'abc'.*row 17"):
        TableTransformer().fit(typo)
    with pytest.raises(ValueError, match=r"'sex'.*non-numeric.*'[FM]'"):
        TableTransformer(numerical=["sex"]).fit(frame)
    transformer = TableTransformer().fit(frame)
    with pytest.raises(ValueError, match=r"'age'.*'abc'"):
        transformer.transform(typo)
    # The schema gives the same errors, for every caller.
    with pytest.raises(ValueError, match=r"'age'.*'abc'.*row 17"):
        infer_schema(typo)
    frame["visit"] = pd.Timestamp("2020-01-01")
    with pytest.raises(ValueError, match="'visit' has dtype datetime"):
        infer_schema(frame)
