"""`kerasynth.metrics.table`: the names it gathers, the column kinds every
table metric shares, and the metrics on the study's data."""

import importlib

import numpy as np
import pandas as pd
import pytest
from table_cases import load_oasis, noisy_bootstrap, patients

from kerasynth.data.schema import infer_schema
from kerasynth.metrics import table
from kerasynth.metrics.table import (
    categorical_tests,
    column_kinds,
    correlations,
    detection_auc,
    ks_statistics,
    ks_tests,
    mean_ks,
    numeric_columns,
    quality_score,
    table_one,
)

HOMES = {
    "column_statistics": ["categorical_tests", "correlations", "ks_statistics",
                          "ks_tests", "mean_ks", "table_one"],
    "columns": ["column_kinds", "numeric_columns"],
    "detection": ["detection_auc"],
    "quality": ["CONTINGENCY_BINS", "quality_score"],
    "relationships": ["relationships"],
    "table_features": ["MISSING_LABEL", "feature_encoder", "prepare_features"],
}  # fmt: skip


@pytest.fixture(scope="module")
def oasis():
    return load_oasis()


def test_every_name_is_the_one_of_its_module():
    assert sorted(table.__all__) == sorted(n for names in HOMES.values() for n in names)
    for module, names in HOMES.items():
        home = importlib.import_module(f"kerasynth.metrics.{module}")
        for name in names:
            assert getattr(table, name) is getattr(home, name), name


def test_kinds_follow_the_schema_unless_metadata_says_otherwise():
    frame = patients(10)
    frame["cdr"] = [0, 0.5, 1, 0, 0, 0.5, 0, 2, 0, 0]
    # CDR's four codes are categories, as the TableTransformer models them.
    assert column_kinds(frame) == {
        "age": "numerical",
        "volume": "numerical",
        "group": "categorical",
        "smoker": "categorical",
        "cdr": "categorical",
    }
    assert column_kinds(frame) == infer_schema(frame).kinds
    assert column_kinds(frame, {"cdr": "numerical"})["cdr"] == "numerical"
    with pytest.raises(ValueError, match="'CDR'"):
        column_kinds(frame, {"CDR": "categorical"})
    with pytest.raises(ValueError, match="'cdr'.*'ordinal'"):
        column_kinds(frame, {"cdr": "ordinal"})
    frame["visit"] = pd.Timestamp("2020-01-01")
    with pytest.raises(ValueError, match="'visit'"):
        column_kinds(frame)


def test_existing_ks_functions_still_work():
    real, synthetic = patients(seed=0), patients(seed=1, shift=30)
    assert numeric_columns(real) == ["age", "volume"]
    assert ks_statistics(real, real) == {"age": 0.0, "volume": 0.0}
    assert ks_statistics(real, synthetic)["age"] > 0.7
    assert mean_ks(real, real) == 0.0


def test_a_missing_synthetic_column_is_named():
    real = patients(50)
    with pytest.raises(ValueError, match="'group'"):
        quality_score(real, real.drop(columns=["group"]))
    with pytest.raises(ValueError, match="'age'.*non-numeric.*'abc'"):
        ks_tests(real, real.assign(age=["abc"] + [1.0] * 49))


def test_every_metric_reads_the_schema_it_is_given():
    real, synthetic = patients(120, seed=0), patients(120, seed=1)
    schema = infer_schema(real)
    declared = infer_schema(real, numerical=["smoker"])  # a run trained so
    assert quality_score(real, synthetic, schema=schema) == quality_score(
        real, synthetic
    )
    score = quality_score(real, synthetic, schema=declared)
    assert score["details"]["kinds"] == declared.kinds
    assert score["details"]["column_shapes"]["smoker"]["metric"] == "KSComplement"
    assert "smoker" in table_one(real, synthetic, schema=declared).index
    assert "smoker" in ks_tests(real, synthetic, schema=declared)
    assert "smoker" not in categorical_tests(real, synthetic, schema=declared)
    assert "smoker" in correlations(real, synthetic, schema=declared)["real"]
    pairs = table.relationships(
        real, synthetic, schema=declared, correlation_threshold=0
    )
    assert ["age", "smoker"] in [p["columns"] for p in pairs["pairs"]]
    assert detection_auc(
        real, synthetic, schema=declared, classifier="logistic"
    ) == detection_auc(
        real, synthetic, metadata={"smoker": "numerical"}, classifier="logistic"
    )
    with pytest.raises(ValueError, match="not both"):
        ks_tests(real, synthetic, schema=schema, metadata={"age": "numerical"})
    with pytest.raises(ValueError, match="'extra' of the real table is not in"):
        ks_tests(real.assign(extra=1.0), synthetic, schema=schema)
    with pytest.raises(ValueError, match="must be a TableSchema"):
        ks_tests(real, synthetic, schema=schema.kinds)


@pytest.mark.real_data
def test_oasis_bootstrap_scores_well(oasis):
    synthetic = noisy_bootstrap(oasis)
    score = quality_score(oasis, synthetic)
    assert score["overall"] > 0.9
    table_i = table_one(oasis, synthetic)
    assert table_i.loc["Age", "real_mean"] == pytest.approx(oasis["Age"].mean())
    assert (
        abs(table_i.loc["Age", "synthetic_mean"] - table_i.loc["Age", "real_mean"]) < 3
    )
    assert categorical_tests(oasis, synthetic)["M/F"]["tvd"] < 0.1
    # FIDELITY.md's two OASIS-1 relationships are among the strong pairs.
    related = table.relationships(oasis, synthetic)
    strong = {tuple(p["columns"]): p["real"] for p in related["pairs"]}
    assert strong[("Age", "nWBV")] == pytest.approx(-0.86, abs=0.03)
    assert strong[("eTIV", "ASF")] == pytest.approx(-0.99, abs=0.03)
    assert np.isfinite(related["worst_gap"])
