"""DCR overfitting: sdmetrics' DCROverfittingProtection and the DCR excess
over a fresh sample's share, on tables with known answers."""

import numpy as np
import pandas as pd
import pytest
from table_cases import diabetes_split

from kerasynth.data.tables import load_table
from kerasynth.metrics.columns import column_kinds
from kerasynth.metrics.dcr_overfitting import dcr_overfitting, range_normalized_dcr


def test_the_distance_hand_computed():
    reference = pd.DataFrame({"x": [0.0, 10.0, np.nan], "c": ["a", "b", "a"]})
    dataset = pd.DataFrame({"x": [2.0, np.nan, 40.0], "c": ["b", "a", None]})
    kinds = {"x": "numerical", "c": "categorical"}
    # x over the reference range 10, capped at 1; a missing x is 1 from a
    # number and 0 from a missing one; c is 0 or 1; the mean of the two.
    # Row 0: (0.2 + 1) / 2, (0.8 + 0) / 2, (1 + 1) / 2 -> 0.4.
    # Row 1: (1 + 0) / 2, (1 + 1) / 2, (0 + 0) / 2 -> 0.
    # Row 2: (1 + 1) / 2 against every row -> 1.
    distances = range_normalized_dcr(dataset, reference, kinds)
    np.testing.assert_allclose(distances, [0.4, 0.0, 1.0])
    # A range of 40 given: row 0 is (8 / 40 + 0) / 2 from (10, b), row 2
    # (30 / 40 + 1) / 2 from it.
    wider = range_normalized_dcr(dataset, reference, kinds, ranges={"x": 40.0})
    np.testing.assert_allclose(wider, [0.1, 0.0, 0.875])
    with pytest.raises(ValueError, match="'x' is missing from the reference"):
        range_normalized_dcr(dataset, reference[["c"]], kinds)


def test_a_copy_of_the_training_rows_shows_the_full_excess():
    train, holdout = diabetes_split()
    kinds = column_kinds(train)
    result = dcr_overfitting(train, holdout, train.copy(), kinds)
    baseline = len(train) / (len(train) + len(holdout))
    assert baseline == pytest.approx(309 / 442)
    # Every copy is at distance 0 from its training row and not from the
    # holdout (no row of the table is repeated).
    assert result["closer_to_training"] == 1.0
    assert result["dcr_excess"] == pytest.approx(1 - baseline)
    assert result["dcr_excess"] == pytest.approx(0.3, abs=0.01)
    assert result["dcr_excess_shared_ranges"] == pytest.approx(1 - baseline)
    assert result["score"] == 0.0  # sdmetrics' DCROverfittingProtection
    holdout_rows = dcr_overfitting(train, holdout, holdout, kinds)
    assert holdout_rows["dcr_excess"] == pytest.approx(-baseline)
    assert holdout_rows["score"] == 1.0


def test_a_fresh_sample_shows_no_excess_with_shared_ranges():
    # Three disjoint real samples: train, holdout and "synthetic" rows from
    # the same population. sdmetrics' per-set ranges shrink with the smaller
    # holdout and push its share up; one set of ranges keeps it at 0.
    frame = load_table(None).frame
    kinds = column_kinds(frame)
    excess, shared = [], []
    for seed in range(6):
        rows = np.random.default_rng(seed).permutation(len(frame))
        train, holdout, fresh = (frame.iloc[rows[a:b]] for a, b in
                                 ((0, 200), (200, 300), (300, None)))  # fmt: skip
        result = dcr_overfitting(train, holdout, fresh, kinds)
        excess.append(result["dcr_excess"])
        shared.append(result["dcr_excess_shared_ranges"])
    assert abs(np.mean(shared)) < 0.05
    assert np.mean(excess) > 0.07


def test_dcr_overfitting_checks_its_tables():
    train, holdout = diabetes_split()
    kinds = column_kinds(train)
    with pytest.raises(ValueError, match="holdout table has no rows"):
        dcr_overfitting(train, holdout.iloc[:0], train, kinds)
    with pytest.raises(ValueError, match="kinds"):
        range_normalized_dcr(train, holdout, {})
