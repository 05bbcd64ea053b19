"""The new table figures as gate metrics and summary cards: the evaluate
component reads each from metrics.json, and the verdict limits colour the
known cases (a copy, a fresh sample, lost relationships) as they should."""

import numpy as np
from table_cases import independent_columns, patients

from kerasynth import verdicts
from kerasynth.components.evaluate import METRICS, check_thresholds, judge
from kerasynth.evaluation import evaluate_table

NEW = ("column_pair_trends", "worst_relationship_gap", "dcr_excess",
       "dcr_excess_shared_ranges")  # fmt: skip


def test_the_gate_reads_every_new_figure_from_the_metrics():
    train, holdout = patients(150, seed=0), patients(70, seed=1)
    metrics = evaluate_table(train, train.copy(), holdout=holdout).metrics
    values = {name: METRICS[name](metrics) for name in NEW}
    assert values["column_pair_trends"] == metrics["quality"]["column_pair_trends"]
    assert values["worst_relationship_gap"] == 0.0  # a copy keeps every pair
    baseline = 150 / 220
    assert values["dcr_excess"] == np.float64(1 - baseline)
    assert values["dcr_excess_shared_ranges"] == np.float64(1 - baseline)
    for name in NEW:
        assert metrics["headline"][name] == round(values[name], 4), name
    thresholds = {"dcr_excess_shared_ranges": {"max": 0.1},
                  "worst_relationship_gap": {"max": 0.3}}  # fmt: skip
    check_thresholds(thresholds)
    (failure,) = judge(metrics, thresholds)
    assert failure == "dcr_excess_shared_ranges 0.3182 is above the maximum 0.1"


def test_no_strong_pair_means_no_gap_and_no_trends():
    # Numbers only: with a categorical column, 100 rows give Cramer's V
    # about 0.3 by chance (10 bins), which meets sdmetrics' threshold.
    rng = np.random.default_rng(5)  # not patients' seed: unrelated draws
    real = patients(100)[["age"]].assign(noise=rng.normal(size=100))
    metrics = evaluate_table(real, real.sample(frac=1, random_state=0)).metrics
    assert METRICS["worst_relationship_gap"](metrics) == 0.0
    assert judge(metrics, {"column_pair_trends": {"min": 0.5}}) == [
        "column_pair_trends was not computed for this run"
    ]
    assert "no strong pair" in evaluate_table(real, real).page


def test_the_limits_colour_the_known_cases():
    assert verdicts.level("dcr_excess_shared_ranges", 0.30) == "bad"  # copies
    assert verdicts.level("dcr_excess_shared_ranges", 0.01) == "ok"  # fresh
    assert verdicts.level("dcr_excess_shared_ranges", -0.70) == "ok"  # holdout
    real = patients(300)
    lost = evaluate_table(real, independent_columns(real)).metrics
    gap = lost["relationships"]["worst_gap"]
    assert gap > 0.7  # age ~ volume, r about -0.9, gone
    assert verdicts.level("worst_relationship_gap", gap) == "bad"
    assert verdicts.level("worst_relationship_gap", 0.1) == "ok"
