import json

import numpy as np
import pandas as pd
import pytest
from conftest import SHARED_DATA

from kerasynth.data.transformer import TableTransformer
from kerasynth.metrics.privacy import (
    RowSpace,
    distance_to_closest_record,
    exact_copies,
    privacy_report,
)

OASIS = SHARED_DATA / "oasis_cross-sectional.csv"


def population(rows, seed):
    """Rows drawn independently from one population: numbers, a category."""
    rng = np.random.default_rng(seed)
    age = rng.normal(60, 12, rows)
    frame = pd.DataFrame(
        {
            "age": age,
            "volume": 0.9 - 0.004 * age + rng.normal(0, 0.02, rows),
            "sex": rng.choice(["F", "M"], rows),
            "grade": rng.integers(1, 6, rows),
        }
    )
    frame.loc[rng.random(rows) < 0.05, "volume"] = np.nan
    return frame


def test_distances_between_points():
    reference = np.array([[0.0, 0.0], [3.0, 4.0]])
    synthetic = np.array([[0.0, 0.0], [3.0, 0.0], [6.0, 8.0]])
    np.testing.assert_allclose(
        distance_to_closest_record(synthetic, reference), [0.0, 3.0, 5.0]
    )
    with pytest.raises(ValueError, match="same width"):
        distance_to_closest_record(synthetic, reference[:, :1])


def test_distances_between_tables_use_z_scores_and_one_hot():
    reference = pd.DataFrame({"x": [0.0, 2.0], "c": ["a", "b"]})
    # x is standardised with the reference mean 1 and standard deviation 1.
    synthetic = pd.DataFrame({"x": [0.0, 1.0, 0.0], "c": ["a", "a", "b"]})
    np.testing.assert_allclose(
        distance_to_closest_record(synthetic, reference),
        [0.0, 1.0, np.sqrt(2.0)],
    )
    np.testing.assert_array_equal(
        distance_to_closest_record(reference, reference), [0.0, 0.0]
    )


def test_copies_of_the_training_rows_are_found():
    train, holdout = population(300, 1), population(300, 2)
    report = privacy_report(train, holdout, train.sample(frac=1, random_state=0))
    assert report["exact_copies"] == {"count": 300, "share": 1.0}
    assert report["dcr_train"] == {"median": 0.0, "p05": 0.0}
    assert report["dcr_holdout"]["median"] > 0.05
    assert report["closer_to_train_share"] > 0.99
    assert report["mia_auc"] > 0.99
    # Equal sets: a fresh sample's share is 0.5, copies show +0.5.
    assert report["dcr_overfitting"]["baseline"] == 0.5
    assert report["dcr_excess"] == pytest.approx(0.5)
    json.dumps(report)


def test_independent_rows_leak_nothing():
    train, holdout = population(300, 1), population(300, 2)
    report = privacy_report(train, holdout, population(300, 3), seed=0)
    assert report["exact_copies"] == {"count": 0, "share": 0.0}
    assert report["closer_to_train_share"] == pytest.approx(0.5, abs=0.08)
    assert report["closer_to_train_reference"] == 0.5
    assert report["mia_auc"] == pytest.approx(0.5, abs=0.08)
    overfitting = report["dcr_overfitting"]
    assert overfitting["metric"] == "DCROverfittingProtection"
    assert report["dcr_excess"] == overfitting["dcr_excess"]
    assert overfitting["dcr_excess_shared_ranges"] == pytest.approx(0.0, abs=0.08)
    assert report["dcr_train"]["median"] == pytest.approx(
        report["dcr_holdout"]["median"], rel=0.25
    )


def test_half_copies_fall_in_between():
    train, holdout = population(300, 1), population(300, 2)
    synthetic = pd.concat([train.iloc[:150], population(150, 3)], ignore_index=True)
    report = privacy_report(train, holdout, synthetic)
    assert report["exact_copies"]["share"] == 0.5
    assert 0.65 < report["closer_to_train_share"] < 0.85
    assert 0.6 < report["mia_auc"] < 0.85


def test_a_larger_train_set_is_subsampled_to_the_holdout_size():
    train, holdout = population(900, 1), population(150, 2)
    report = privacy_report(train, holdout, population(300, 3), seed=0)
    assert report["n_reference"] == 150
    assert report["n_train"] == 900
    # Without the subsample, the share expected here would be 900 / 1050.
    assert report["closer_to_train_share"] == pytest.approx(0.5, abs=0.1)
    again = privacy_report(train, holdout, population(300, 3), seed=0)
    assert again == report
    other = privacy_report(train, holdout, population(300, 3), seed=1)
    assert other["closer_to_train_share"] != report["closer_to_train_share"]


def test_exact_copies_compare_values_not_dtypes():
    train = pd.DataFrame({"n": [1, 2, 3], "c": ["a", None, "b"]})
    synthetic = pd.DataFrame({"n": [1.0, 2.0, 2.0, 3.5], "c": ["a", None, "b", "b"]})
    assert exact_copies(synthetic, train) == 2
    with pytest.raises(ValueError, match="'c'"):
        exact_copies(synthetic.drop(columns=["c"]), train)


def test_transformer_gives_the_column_kinds():
    train = population(200, 1)
    transformer = TableTransformer(seed=0).fit(train)
    assert "grade" in transformer.categorical_columns  # 5 values, like OASIS SES
    report = privacy_report(train, population(200, 2), train, transformer)
    assert report["columns"] == ["age", "volume", "sex", "grade"]
    assert report["exact_copies"]["share"] == 1.0
    with pytest.raises(ValueError, match="not both"):
        privacy_report(train, train, train, transformer, metadata={"age": "numerical"})
    with pytest.raises(ValueError, match="fitted TableTransformer"):
        privacy_report(train, train, train, TableTransformer())


def test_invalid_inputs_are_named():
    train = population(20, 1)
    with pytest.raises(ValueError, match="holdout table has no rows"):
        privacy_report(train, train.iloc[:0], train)
    with pytest.raises(ValueError, match="'sex'.*synthetic"):
        privacy_report(train, train, train.drop(columns=["sex"]))
    with pytest.raises(ValueError, match="not fitted"):
        RowSpace({"age": "numerical"}).encode(train)


@pytest.mark.real_data
def test_oasis_copies_and_bootstrap():
    if not OASIS.is_file():
        pytest.skip(f"the study's data is not at {OASIS}")
    from kerasynth.data.tables import load_table

    frame = load_table(
        OASIS, columns=["M/F", "Age", "eTIV", "nWBV", "ASF"], dropna=True
    ).frame
    train, holdout = frame.iloc[:218], frame.iloc[218:].reset_index(drop=True)
    copied = privacy_report(train, holdout, train)
    assert copied["mia_auc"] > 0.99
    assert copied["exact_copies"]["share"] == 1.0
    others = privacy_report(train, holdout, holdout.iloc[:100])
    assert others["closer_to_train_share"] < 0.1  # holdout rows are holdout copies
    assert others["exact_copies"]["count"] == 0
