"""Per-column statistics: Table I, KS and chi-square tests, correlations."""

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from table_cases import patients

from kerasynth.metrics.column_statistics import (
    categorical_tests,
    correlations,
    ks_tests,
    table_one,
)

# === Table I, KS and chi-square ===


def test_table_one_matches_pandas_moments():
    real, synthetic = patients(seed=0), patients(seed=1, shift=5.0)
    table = table_one(real, synthetic)
    assert list(table.index) == ["age", "volume"]
    assert list(table.columns) == [
        "real_mean",
        "synthetic_mean",
        "real_std",
        "synthetic_std",
        "real_skewness",
        "synthetic_skewness",
        "real_kurtosis",
        "synthetic_kurtosis",
    ]
    for frame, side in ((real, "real"), (synthetic, "synthetic")):
        column = frame["volume"]  # has missing values
        assert table.loc["volume", f"{side}_mean"] == pytest.approx(column.mean())
        assert table.loc["volume", f"{side}_std"] == pytest.approx(column.std())
        assert table.loc["volume", f"{side}_skewness"] == pytest.approx(column.skew())
        assert table.loc["volume", f"{side}_kurtosis"] == pytest.approx(column.kurt())
    # Excess kurtosis: about 0 for normal ages.
    assert abs(table.loc["age", "real_kurtosis"]) < 0.6
    shifted = table_one(real, real.assign(age=real["age"] + 5.0))
    assert shifted.loc["age", "synthetic_mean"] - shifted.loc[
        "age", "real_mean"
    ] == pytest.approx(5.0)
    assert shifted.loc["age", "synthetic_std"] == pytest.approx(
        shifted.loc["age", "real_std"]
    )
    json.dumps(table.to_dict(orient="index"))


def test_ks_tests_on_identical_and_shifted_columns():
    real = patients(seed=0)
    same = ks_tests(real, real)
    assert same["age"] == {"statistic": 0.0, "p_value": 1.0}
    shifted = ks_tests(real, patients(seed=1, shift=15.0))
    assert shifted["age"]["statistic"] > 0.4
    assert shifted["age"]["p_value"] < 1e-10
    empty = ks_tests(real, real.assign(volume=np.nan))
    assert empty["volume"] == {"statistic": 1.0, "p_value": None}
    assert set(same) == {"age", "volume"}


def test_categorical_tests_count_the_union_of_categories():
    real = pd.DataFrame({"c": ["a"] * 60 + ["b"] * 40})
    synthetic = pd.DataFrame({"c": ["a"] * 50 + ["c"] * 30 + [None] * 20})
    result = categorical_tests(real, synthetic)["c"]
    # Frequencies over a, b, c, missing: (.6, .4, 0, 0) vs (.5, 0, .3, .2).
    assert result["tvd"] == pytest.approx(0.5 * (0.1 + 0.4 + 0.3 + 0.2))
    counts = np.array([[60, 40, 0, 0], [50, 0, 30, 20]])
    expected = stats.chi2_contingency(counts, correction=False)
    assert result["chi2"] == pytest.approx(expected.statistic)
    assert result["p_value"] == pytest.approx(expected.pvalue)
    same = categorical_tests(real, real)["c"]
    assert same == {"chi2": 0.0, "p_value": 1.0, "tvd": 0.0}
    frame = patients(100)
    assert set(categorical_tests(frame, frame)) == {"group", "smoker"}


# === Correlations ===


def test_correlation_difference_is_zero_for_the_same_table():
    real = patients()
    result = correlations(real, real.sample(frac=1, random_state=0))
    assert result["mean_abs_difference"] == pytest.approx(0.0, abs=1e-12)
    both = real.dropna(subset=["volume"])
    r = np.corrcoef(both["age"], both["volume"])[0, 1]
    assert result["real"]["age"]["volume"] == pytest.approx(r)
    assert r < -0.8
    json.dumps(result)


def test_correlation_difference_when_the_link_is_broken():
    real = patients()
    broken = real.assign(volume=real["volume"].sample(frac=1, random_state=0).values)
    result = correlations(real, broken)
    gap = result["difference"]["age"]["volume"]
    assert gap == pytest.approx(
        result["synthetic"]["age"]["volume"] - result["real"]["age"]["volume"]
    )
    assert result["mean_abs_difference"] > 0.7
    constant = correlations(real, real.assign(age=1.0))
    assert constant["synthetic"]["age"]["volume"] is None
    assert constant["mean_abs_difference"] is None
