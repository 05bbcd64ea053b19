import json
import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import SHARED_DATA
from scipy import stats

from kerasynth.data.schema import infer_schema
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

OASIS = SHARED_DATA / "oasis_cross-sectional.csv"
OASIS_FIVE = ["M/F", "Age", "eTIV", "nWBV", "ASF"]


def patients(rows=400, seed=0, shift=0.0):
    """Two correlated numbers, a category tied to one of them, a flag, a gap."""
    rng = np.random.default_rng(seed)
    age = rng.normal(60, 12, rows) + shift
    volume = 0.9 - 0.004 * age + rng.normal(0, 0.02, rows)
    group = np.where(
        age + rng.normal(0, 8, rows) > 60, "old", rng.choice(["young", "mid"], rows)
    )
    frame = pd.DataFrame(
        {
            "age": age,
            "volume": volume,
            "group": group,
            "smoker": rng.random(rows) < 0.3,
        }
    )
    frame.loc[rng.random(rows) < 0.05, "volume"] = np.nan
    frame.loc[rng.random(rows) < 0.05, "group"] = None
    return frame


@pytest.fixture(scope="module")
def oasis():
    if not OASIS.is_file():
        pytest.skip(f"the study's data is not at {OASIS}")
    from kerasynth.data.tables import load_table

    return load_table(OASIS, columns=OASIS_FIVE, dropna=True).frame


def noisy_bootstrap(frame, seed=0, scale=0.1):
    rng = np.random.default_rng(seed)
    copy = frame.sample(len(frame), replace=True, random_state=seed)
    copy = copy.reset_index(drop=True)
    for column in numeric_columns(frame):
        copy[column] = copy[column] + rng.normal(
            0, scale * frame[column].std(), len(copy)
        )
    return copy


# === Kinds and the existing API ===


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


# === Quality score ===


def test_quality_score_is_one_for_a_shuffled_copy():
    real = patients()
    score = quality_score(real, real.sample(frac=1, random_state=0))
    assert score["overall"] == pytest.approx(1.0)
    assert score["column_shapes"] == pytest.approx(1.0)
    assert score["column_pair_trends"] == pytest.approx(1.0)
    json.dumps(score)


def test_quality_score_hand_computed():
    real = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0], "c": ["a", "a", "b", "b"]})
    synthetic = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0], "c": ["a", "b", "a", "b"]})
    score = quality_score(real, synthetic)
    # Same marginals; x falls in bins 0, 3, 6, 9 and only (0, a) and (9, b)
    # are shared by the joint tables: TVD 0.5.
    assert score["column_shapes"] == 1.0
    assert score["column_pair_trends"] == pytest.approx(0.5)
    assert score["overall"] == pytest.approx(0.75)
    (pair,) = score["details"]["column_pair_trends"]
    assert pair["metric"] == "ContingencySimilarity"
    assert pair["columns"] == ["x", "c"]


def test_quality_score_parts_follow_their_definitions():
    real, synthetic = patients(seed=0), patients(seed=1, shift=4.0)
    score = quality_score(real, synthetic)
    shapes = score["details"]["column_shapes"]
    age_ks = stats.ks_2samp(real["age"], synthetic["age"]).statistic
    assert shapes["age"] == {"metric": "KSComplement", "score": 1 - age_ks}
    shares = [
        f.value_counts(normalize=True) for f in (real["group"], synthetic["group"])
    ]
    tvd = 0.5 * (shares[0] - shares[1]).abs().sum()
    assert shapes["group"]["score"] == pytest.approx(1 - tvd)
    pairs = {tuple(p["columns"]): p for p in score["details"]["column_pair_trends"]}
    assert len(pairs) == 6
    numeric = pairs[("age", "volume")]
    assert numeric["metric"] == "CorrelationSimilarity"
    assert numeric["score"] == pytest.approx(
        1 - abs(numeric["real_correlation"] - numeric["synthetic_correlation"]) / 2
    )
    assert score["column_pair_trends"] == pytest.approx(
        np.mean([p["score"] for p in pairs.values()])
    )
    assert score["overall"] == pytest.approx(
        (score["column_shapes"] + score["column_pair_trends"]) / 2
    )


def test_quality_score_drops_with_damage():
    real, synthetic = patients(seed=0), patients(seed=1)
    good = quality_score(real, synthetic)
    # Two samples of 400 rows differ by chance in their 10-bin joint tables.
    assert good["overall"] > 0.85
    shuffled = synthetic["volume"].sample(frac=1, random_state=0).to_numpy()
    broken = quality_score(real, synthetic.assign(volume=shuffled))
    assert broken["column_shapes"] == good["column_shapes"]
    assert broken["column_pair_trends"] < good["column_pair_trends"] - 0.05
    pair = broken["details"]["column_pair_trends"][0]
    assert pair["columns"] == ["age", "volume"]
    assert pair["score"] < 0.6  # r about -0.9 against about 0
    shifted = quality_score(real, patients(seed=1, shift=20.0))
    assert shifted["column_shapes"] < good["column_shapes"] - 0.2


def test_quality_score_thresholds_and_metadata():
    real, synthetic = patients(seed=0), patients(seed=1)
    score = quality_score(
        real, synthetic, real_correlation_threshold=0.5, real_association_threshold=0.3
    )
    pairs = {tuple(p["columns"]): p for p in score["details"]["column_pair_trends"]}
    assert pairs[("age", "volume")]["contributes"]  # r about -0.9
    assert not pairs[("age", "smoker")]["contributes"]  # independent
    assert pairs[("age", "smoker")]["real_association"] < 0.3
    counted = [p["score"] for p in pairs.values() if p["contributes"]]
    assert score["column_pair_trends"] == pytest.approx(np.mean(counted))
    declared = quality_score(real, synthetic, {"smoker": "numerical"})
    assert declared["details"]["column_shapes"]["smoker"]["metric"] == "KSComplement"
    with pytest.raises(ValueError, match="real_correlation_threshold"):
        quality_score(real, synthetic, real_correlation_threshold=2)


def test_every_metric_reads_the_schema_it_is_given():
    real, synthetic = patients(seed=0), patients(seed=1)
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
    assert detection_auc(real, synthetic, schema=declared) == detection_auc(
        real, synthetic, metadata={"smoker": "numerical"}
    )
    with pytest.raises(ValueError, match="not both"):
        ks_tests(real, synthetic, schema=schema, metadata={"age": "numerical"})
    with pytest.raises(ValueError, match="'extra' of the real table is not in"):
        ks_tests(real.assign(extra=1.0), synthetic, schema=schema)
    with pytest.raises(ValueError, match="must be a TableSchema"):
        ks_tests(real, synthetic, schema=schema.kinds)


def test_quality_score_of_a_single_column():
    real = patients()[["age"]]
    score = quality_score(real, real)
    assert score["column_pair_trends"] is None
    assert score["overall"] == score["column_shapes"] == 1.0


# === Detection ===


def test_detection_auc_near_half_for_the_same_distribution():
    real, synthetic = patients(300, seed=0), patients(300, seed=1)
    assert detection_auc(real, synthetic, seed=0) == pytest.approx(0.5, abs=0.1)
    assert detection_auc(
        real, synthetic, seed=0, classifier="logistic"
    ) == pytest.approx(0.5, abs=0.1)


def test_detection_auc_high_for_a_different_distribution():
    real = patients(300, seed=0)
    assert detection_auc(real, patients(300, seed=1, shift=36.0)) > 0.9
    # The logistic model misses a change of spread that the boosting sees.
    wide = real.assign(age=60 + 3 * (real["age"] - 60))
    assert detection_auc(real, wide, classifier="boosting") > 0.75
    with pytest.raises(ValueError, match="classifier"):
        detection_auc(real, real, classifier="forest")


# === Against SDMetrics and on the study's data ===


def sdmetrics_scores(real, synthetic, kinds, thresholds):
    """Overall, Column Shapes and Column Pair Trends of SDMetrics' report."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the single-table report is deprecated
        from sdmetrics.reports.single_table import QualityReport

        report = QualityReport()
        if thresholds is not None:
            report.real_correlation_threshold = thresholds[0]
            report.real_association_threshold = thresholds[1]
        metadata = {"columns": {c: {"sdtype": k} for c, k in kinds.items()}}
        report.generate(real, synthetic, metadata, verbose=False)
    properties = report.get_properties().set_index("Property")["Score"]
    return (
        report.get_score(),
        properties["Column Shapes"],
        properties["Column Pair Trends"],
    )


def compare_with_sdmetrics(real, synthetic):
    sdmetrics = pytest.importorskip("sdmetrics")
    del sdmetrics
    settings = [(0.0, 0.0)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from sdmetrics.reports.single_table import QualityReport

        report = QualityReport()
    if hasattr(report, "real_correlation_threshold"):  # sdmetrics >= 0.2x
        settings.append(
            (report.real_correlation_threshold, report.real_association_threshold)
        )
    for thresholds in settings:
        ours = quality_score(
            real,
            synthetic,
            real_correlation_threshold=thresholds[0],
            real_association_threshold=thresholds[1],
        )
        theirs = sdmetrics_scores(real, synthetic, ours["details"]["kinds"], thresholds)
        mine = (ours["overall"], ours["column_shapes"], ours["column_pair_trends"])
        np.testing.assert_allclose(mine, theirs, atol=0.01, err_msg=str(thresholds))


def test_quality_score_matches_sdmetrics():
    real = patients(seed=0)
    compare_with_sdmetrics(real, patients(seed=1))
    compare_with_sdmetrics(real, patients(seed=2, shift=8.0).iloc[:250])


@pytest.mark.real_data
def test_quality_score_matches_sdmetrics_on_oasis(oasis):
    compare_with_sdmetrics(oasis, noisy_bootstrap(oasis, scale=0.3))


@pytest.mark.real_data
def test_oasis_bootstrap_scores_well(oasis):
    synthetic = noisy_bootstrap(oasis)
    score = quality_score(oasis, synthetic)
    assert score["overall"] > 0.9
    table = table_one(oasis, synthetic)
    assert table.loc["Age", "real_mean"] == pytest.approx(oasis["Age"].mean())
    assert abs(table.loc["Age", "synthetic_mean"] - table.loc["Age", "real_mean"]) < 3
    assert categorical_tests(oasis, synthetic)["M/F"]["tvd"] < 0.1
