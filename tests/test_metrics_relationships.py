"""Relationships: every strongly associated pair, real next to synthetic."""

import json

import numpy as np
import pandas as pd
import pytest
from scipy.stats.contingency import association
from table_cases import diabetes_split, independent_columns, patients

from kerasynth.metrics.relationships import relationships


def test_a_copy_keeps_every_relationship():
    real = patients()
    result = relationships(real, real.sample(frac=1, random_state=0))
    assert result["pairs"]
    assert result["worst_gap"] == pytest.approx(0.0, abs=1e-12)
    json.dumps(result)


def test_independent_columns_lose_the_correlated_pair():
    real = patients()
    result = relationships(real, independent_columns(real))
    pairs = {tuple(p["columns"]): p for p in result["pairs"]}
    age_volume = pairs[("age", "volume")]
    assert age_volume["statistic"] == "pearson_r"
    both = real.dropna(subset=["volume"])
    r = np.corrcoef(both["age"], both["volume"])[0, 1]
    assert age_volume["real"] == pytest.approx(r)
    assert r < -0.8
    # About no correlation left: the gap is about |r|.
    assert age_volume["gap"] == pytest.approx(abs(r), abs=0.15)
    assert result["worst"]["columns"] == ["age", "volume"]
    assert result["worst_gap"] == age_volume["gap"]
    # The flag is unrelated to everything: never listed.
    assert not any("smoker" in p["columns"] for p in result["pairs"])


def test_a_categorical_pair_is_judged_by_cramers_v():
    rng = np.random.default_rng(0)
    sex = rng.choice(["F", "M"], 500)
    ward = np.where(rng.random(500) < 0.8, np.where(sex == "F", "a", "b"), "c")
    real = pd.DataFrame({"sex": sex, "ward": ward})
    (pair,) = relationships(real, independent_columns(real))["pairs"]
    assert pair["statistic"] == "cramers_v"
    expected = association(pd.crosstab(real["sex"], real["ward"]).to_numpy())
    assert pair["real"] == pytest.approx(expected)
    assert pair["synthetic"] < 0.15
    assert pair["gap"] == pytest.approx(pair["real"] - pair["synthetic"])


def test_a_constant_synthetic_column_loses_its_relationships():
    real = patients()
    result = relationships(real, real.assign(volume=0.5))
    pair = next(p for p in result["pairs"] if p["columns"] == ["age", "volume"])
    assert pair["synthetic"] is None
    assert pair["gap"] == pytest.approx(abs(pair["real"]))


def test_the_thresholds_choose_the_pairs():
    real, synthetic = diabetes_split()
    loose = relationships(real, synthetic, correlation_threshold=0.3)
    strict = relationships(real, synthetic, correlation_threshold=0.5)
    assert {tuple(p["columns"]) for p in strict["pairs"]} < {
        tuple(p["columns"]) for p in loose["pairs"]
    }
    numerical = [p for p in strict["pairs"] if p["statistic"] == "pearson_r"]
    assert numerical and all(abs(p["real"]) >= 0.5 for p in numerical)
    cramers = [p for p in strict["pairs"] if p["statistic"] == "cramers_v"]
    assert all(p["real"] >= 0.3 for p in cramers)
    assert loose["worst_gap"] >= strict["worst_gap"]
    gaps = [p["gap"] for p in loose["pairs"]]
    assert gaps == sorted(gaps, reverse=True)
    assert relationships(real, synthetic, correlation_threshold=1.0)["worst"] in (
        None,
        *strict["pairs"],
    )
    with pytest.raises(ValueError, match="correlation_threshold"):
        relationships(real, synthetic, correlation_threshold=-0.1)
