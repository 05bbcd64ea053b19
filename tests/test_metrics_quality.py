"""The quality score on tables with known answers (sdmetrics 0.32's
definitions; `test_metrics_sdmetrics.py` checks them against the package)."""

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from table_cases import patients

from kerasynth.metrics.quality import contingency_bins, quality_score


def test_quality_score_is_one_for_a_shuffled_copy():
    real = patients()
    score = quality_score(real, real.sample(frac=1, random_state=0))
    assert score["overall"] == pytest.approx(1.0)
    assert score["column_shapes"] == pytest.approx(1.0)
    assert score["column_pair_trends"] == pytest.approx(1.0)
    assert score["column_pair_trends_all_pairs"] == pytest.approx(1.0)
    json.dumps(score)


def test_quality_score_hand_computed():
    real = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0], "c": ["a", "a", "b", "b"]})
    synthetic = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0], "c": ["a", "b", "a", "b"]})
    score = quality_score(real, synthetic)
    # Same marginals; x falls in bins 1, 4, 7 and 11 (the maximum) and only
    # (1, a) and (11, b) are shared by the joint tables: TVD 0.5. In the
    # real table x determines c: Cramer's V 1, so the pair counts.
    assert score["column_shapes"] == 1.0
    assert score["column_pair_trends"] == pytest.approx(0.5)
    assert score["overall"] == pytest.approx(0.75)
    (pair,) = score["details"]["column_pair_trends"]
    assert pair["metric"] == "ContingencySimilarity"
    assert pair["columns"] == ["x", "c"]
    assert pair["real_association"] == pytest.approx(1.0)
    assert pair["contributes"]


def test_a_tables_maximum_shares_the_missing_values_bin():
    # sdmetrics' np.digitize at the 11 edges: 1..10 inside, 11 past the last
    # edge, where both the maximum and NaN sort.
    values = np.array([0.0, 0.5, 9.99, 10.0, np.nan])
    assert contingency_bins(values).tolist() == [1, 1, 10, 11, 11]


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
    assert score["column_pair_trends_all_pairs"] == pytest.approx(
        np.mean([p["score"] for p in pairs.values()])
    )
    counted = [p["score"] for p in pairs.values() if p["contributes"]]
    assert 0 < len(counted) < len(pairs)
    assert score["column_pair_trends"] == pytest.approx(np.mean(counted))
    assert score["overall"] == pytest.approx(
        (score["column_shapes"] + score["column_pair_trends"]) / 2
    )


def test_unrelated_pairs_do_not_pull_the_trends_up():
    # One strong pair (age ~ volume) and unrelated ones. A generator that
    # keeps the marginals and loses the strong pair gets every unrelated
    # pair right: the all-pairs mean hides the loss, sdmetrics 0.32's does not.
    real = patients(seed=0)
    rng = np.random.default_rng(0)
    lost = real.assign(volume=rng.permutation(real["volume"].to_numpy()))
    score = quality_score(real, lost)
    (strong,) = [p for p in score["details"]["column_pair_trends"] if p["contributes"]
                 and p["metric"] == "CorrelationSimilarity"]  # fmt: skip
    assert strong["columns"] == ["age", "volume"]
    assert strong["score"] < 0.6
    assert score["column_pair_trends"] < score["column_pair_trends_all_pairs"] - 0.05


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
    score = quality_score(real, synthetic)
    assert score["thresholds"] == {
        "real_correlation_threshold": 0.5,
        "real_association_threshold": 0.3,
    }
    pairs = {tuple(p["columns"]): p for p in score["details"]["column_pair_trends"]}
    assert pairs[("age", "volume")]["contributes"]  # r about -0.9
    assert not pairs[("age", "smoker")]["contributes"]  # independent
    assert pairs[("age", "smoker")]["real_association"] < 0.3
    every = quality_score(
        real, synthetic, real_correlation_threshold=0, real_association_threshold=0
    )
    assert all(p["contributes"] for p in every["details"]["column_pair_trends"])
    assert every["column_pair_trends"] == score["column_pair_trends_all_pairs"]
    declared = quality_score(real, synthetic, {"smoker": "numerical"})
    assert declared["details"]["column_shapes"]["smoker"]["metric"] == "KSComplement"
    with pytest.raises(ValueError, match="real_correlation_threshold"):
        quality_score(real, synthetic, real_correlation_threshold=2)


def test_no_pair_meeting_the_thresholds_leaves_the_shapes():
    rng = np.random.default_rng(0)
    real = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300)})
    score = quality_score(real, real.sample(frac=1, random_state=1))
    assert score["column_pair_trends"] is None
    assert score["column_pair_trends_all_pairs"] == pytest.approx(1.0)
    assert score["overall"] == score["column_shapes"] == 1.0


def test_quality_score_of_a_single_column():
    real = patients()[["age"]]
    score = quality_score(real, real)
    assert score["column_pair_trends"] is None
    assert score["column_pair_trends_all_pairs"] is None
    assert score["overall"] == score["column_shapes"] == 1.0
