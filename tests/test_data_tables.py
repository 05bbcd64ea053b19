"""Tests for kerasynth.data.tables: files, DataFrames, the embedded default."""

import logging

import numpy as np
import pandas as pd
import pytest
from conftest import SHARED_DATA

from kerasynth.data.tables import TableData, is_identifier_name, load_table

OASIS = SHARED_DATA / "oasis_cross-sectional.csv"
OASIS_FIVE = ["M/F", "Age", "eTIV", "nWBV", "ASF"]


def _patients(rows: int = 30) -> pd.DataFrame:
    """A small OASIS-like table: an ID, a constant column, gaps in MMSE."""
    rng = np.random.default_rng(0)
    mmse = rng.integers(20, 31, rows).astype(float)
    mmse[::4] = np.nan
    return pd.DataFrame(
        {
            "ID": [f"P{i:04d}" for i in range(rows)],
            "sex": rng.choice(["F", "M"], rows),
            "hand": ["R"] * rows,
            "age": rng.integers(18, 90, rows),
            "volume": rng.normal(1500.0, 150.0, rows).round(1),
            "mmse": mmse,
        }
    )


@pytest.fixture
def oasis_path():
    if not OASIS.is_file():
        pytest.skip(f"the study's data is not at {OASIS}")
    return OASIS


# === Embedded default ===


def test_embedded_default_is_diabetes_with_text_sex():
    data = load_table(None)

    assert isinstance(data, TableData)
    assert len(data) == 442
    assert list(data.frame.columns) == [
        "age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6", "progression"
    ]  # fmt: skip
    assert sorted(data.frame["sex"].unique()) == ["1", "2"]
    assert pd.api.types.is_string_dtype(data.frame["sex"].dtype)
    for column in ("age", "s1", "s6", "progression"):
        assert data.frame[column].dtype == np.int64, column
    assert data.frame["bmi"].dtype == np.float64
    assert data.dropped == {}
    assert data.source == "embedded sklearn diabetes (442 patients)"


def test_fingerprint_is_stable_and_content_sensitive():
    frame = _patients()
    first, second = load_table(frame), load_table(frame.copy())
    assert first.fingerprint == second.fingerprint
    assert len(first.fingerprint) == 64

    changed = frame.copy()
    changed.loc[3, "age"] += 1
    assert load_table(changed).fingerprint != first.fingerprint
    as_float = frame.astype({"age": "float64"})
    assert load_table(as_float).fingerprint != first.fingerprint


# === Files and DataFrames ===


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_file_round_trip(tmp_path, suffix):
    frame = _patients().drop(columns=["ID", "hand"])
    path = tmp_path / f"patients{suffix}"
    if suffix == ".csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path)

    data = load_table(path)

    pd.testing.assert_frame_equal(data.frame, frame, check_dtype=False)
    assert data.frame["age"].dtype == np.int64
    assert data.frame["mmse"].isna().sum() == frame["mmse"].isna().sum()
    assert data.source == f"file {path} (30 rows)"
    assert data.fingerprint == load_table(frame).fingerprint


def test_semicolon_csv_is_detected(tmp_path):
    path = tmp_path / "semi.csv"
    path.write_text("a;b\n1;x\n2;y\n3;x\n")
    data = load_table(path)
    assert list(data.frame.columns) == ["a", "b"]
    assert data.frame["a"].tolist() == [1, 2, 3]


def test_dataframe_input_is_not_modified_and_index_reset():
    frame = _patients()
    frame.index = np.arange(100, 130)
    before = frame.copy()

    data = load_table(frame)

    pd.testing.assert_frame_equal(frame, before)
    assert data.frame.index.equals(pd.RangeIndex(30))
    assert data.source == "DataFrame (30 rows)"


# === Column policy ===


def test_constant_and_identifier_columns_are_dropped_with_warning(caplog):
    with caplog.at_level(logging.WARNING, logger="kerasynth"):
        data = load_table(_patients())

    assert data.dropped == {"ID": "identifier", "hand": "constant"}
    assert list(data.frame.columns) == ["sex", "age", "volume", "mmse"]
    messages = " ".join(record.getMessage() for record in caplog.records)
    assert "'ID'" in messages and "'hand'" in messages


def test_all_distinct_text_column_is_an_identifier():
    frame = _patients().rename(columns={"ID": "scan"})
    assert load_table(frame).dropped["scan"] == "identifier"
    # A few distinct labels in a tiny table are not identifiers.
    tiny = pd.DataFrame({"label": ["a", "b", "c"], "x": [1.0, 2.5, 3.0]})
    assert load_table(tiny).dropped == {}


@pytest.mark.parametrize(
    "name, expected",
    [
        ("ID", True),
        ("id", True),
        ("patient_id", True),
        ("Subject ID", True),
        ("PatientID", True),
        ("scanId", True),
        ("Lipid", False),
        ("ACID", False),
        ("idle", False),
        ("Age", False),
    ],
)
def test_identifier_names(name, expected):
    assert is_identifier_name(name) is expected


def test_columns_selects_in_given_order():
    data = load_table(_patients(), columns=["mmse", "sex", "age"])

    assert list(data.frame.columns) == ["mmse", "sex", "age"]
    assert data.dropped == {
        "ID": "not selected",
        "hand": "not selected",
        "volume": "not selected",
    }


def test_selected_constant_column_is_still_dropped():
    data = load_table(_patients(), columns=["hand", "age"])
    assert list(data.frame.columns) == ["age"]
    assert data.dropped["hand"] == "constant"


def test_unknown_column_names_it_and_lists_available():
    with pytest.raises(ValueError, match=r"Unknown column 'weight'.*'sex'.*'mmse'"):
        load_table(_patients(), columns=["age", "weight"])


def test_entirely_missing_column_is_an_error():
    frame = _patients()
    frame["delay"] = np.nan
    with pytest.raises(ValueError, match="'delay'.*entirely missing"):
        load_table(frame)


def test_dropna_drops_rows_with_missing_values():
    frame = _patients()
    assert len(load_table(frame)) == 30
    data = load_table(frame, dropna=True)
    assert len(data) == 30 - frame["mmse"].isna().sum()
    assert not data.frame.isna().any().any()
    # Only the kept columns count.
    assert len(load_table(frame, columns=["age", "sex"], dropna=True)) == 30


# === Bad input ===


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.csv"):
        load_table(tmp_path / "nope.csv")


def test_empty_file_and_header_only(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(ValueError, match="empty"):
        load_table(empty)
    header = tmp_path / "header.csv"
    header.write_text("a,b\n")
    with pytest.raises(ValueError, match=r"header.csv has no rows"):
        load_table(header)


def test_unsupported_suffix(tmp_path):
    path = tmp_path / "table.xlsx"
    path.write_bytes(b"x")
    with pytest.raises(ValueError, match=r"\.xlsx"):
        load_table(path)


def test_corrupt_parquet_names_the_file(tmp_path):
    path = tmp_path / "broken.parquet"
    path.write_bytes(b"not parquet")
    with pytest.raises(ValueError, match="broken.parquet"):
        load_table(path)


def test_nothing_left_to_model():
    frame = pd.DataFrame({"ID": ["a", "b"], "k": [1, 1]})
    with pytest.raises(ValueError, match="no column left"):
        load_table(frame)


# === The study's OASIS table ===


@pytest.mark.real_data
def test_oasis_five_columns_give_436_rows(oasis_path):
    data = load_table(oasis_path, columns=OASIS_FIVE)
    assert len(data) == 436
    assert list(data.frame.columns) == OASIS_FIVE
    assert not data.frame.isna().any().any()
    assert len(load_table(oasis_path, columns=OASIS_FIVE, dropna=True)) == 436


@pytest.mark.real_data
def test_oasis_drops_hand_and_id(oasis_path):
    data = load_table(oasis_path)
    assert data.dropped == {"ID": "identifier", "Hand": "constant"}
    assert "Delay" in data.frame.columns
    with_scores = OASIS_FIVE + ["MMSE", "CDR"]
    assert len(load_table(oasis_path, columns=with_scores, dropna=True)) < 436


def test_duplicated_csv_headers_are_an_error_not_renamed(tmp_path):
    path = tmp_path / "twice.csv"
    path.write_text("Age,Sex,Age\n70,F,71\n80,M,81\n")
    with pytest.raises(ValueError, match=r"duplicated column names: \['Age'\]"):
        load_table(path)


def test_a_date_column_is_dropped_saying_how_to_model_it(tmp_path, caplog):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({
        "visit": pd.date_range("2001-01-01", periods=30).strftime("%Y-%m-%d"),
        "age": rng.integers(40, 90, 30),
        "mmse": rng.normal(27, 2, 30),
    })  # fmt: skip
    with caplog.at_level(logging.WARNING, logger="kerasynth"):
        data = load_table(frame)
    assert data.dropped == {"visit": "date"}
    assert "days since a reference date" in caplog.text


def test_odd_text_columns_are_warned_about(caplog):
    from kerasynth.data.schema import infer_schema

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({
        "note": [f"free text {i % 800}" for i in range(1500)],
        "dose": [str(v) for v in rng.integers(1, 50, 1500)],
    })  # fmt: skip
    frame.loc[:200, "dose"] = "unknown"  # 13% text among the numbers
    with caplog.at_level(logging.WARNING, logger="kerasynth"):
        schema = infer_schema(frame)
    assert schema.kinds == {"note": "categorical", "dose": "categorical"}
    assert "'note' has 800 distinct values in 1500 rows" in caplog.text
    assert "'dose' mixes numbers (87% of its values) with text ('unknown')" in (
        caplog.text
    )


def test_text_codes_are_categories_without_a_warning(caplog):
    # Text that is all digits (the embedded table's sex "1"/"2") mixes
    # nothing: it was warned about as "numbers (100%) with text ()".
    from kerasynth.data.schema import infer_schema

    frame = pd.DataFrame({"sex": ["1", "2", "2", "1"] * 10, "age": range(40)})
    with caplog.at_level(logging.WARNING, logger="kerasynth"):
        schema = infer_schema(frame)
    assert schema.kinds["sex"] == "categorical"
    assert "mixes numbers" not in caplog.text
