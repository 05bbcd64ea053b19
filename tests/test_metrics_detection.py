"""Detection: a random forest telling training rows from synthetic ones."""

import numpy as np
import pytest
from table_cases import patients

from kerasynth.data.tables import load_table
from kerasynth.metrics.detection import detection_auc
from kerasynth.metrics.table import numeric_columns


def test_two_halves_of_one_table_cannot_be_told_apart():
    frame = load_table(None).frame.sample(frac=1, random_state=0)
    first, second = frame.iloc[:221], frame.iloc[221:]
    assert detection_auc(first, second, seed=0) == pytest.approx(0.5, abs=0.08)


def test_a_shifted_copy_is_told_apart():
    frame = load_table(None).frame.sample(frac=1, random_state=0)
    first, second = frame.iloc[:221], frame.iloc[221:].copy()
    for column in numeric_columns(second):
        second[column] = second[column] + 2 * frame[column].std()
    assert detection_auc(first, second, seed=0) > 0.95


def test_the_forest_sees_what_a_linear_boundary_misses():
    real = patients(200, seed=0)
    # Same means, three times the spread in age: no line separates them.
    wide = patients(200, seed=1)
    wide["age"] = 60 + 3 * (wide["age"] - 60)
    forest = detection_auc(real, wide, seed=0)
    logistic = detection_auc(real, wide, seed=0, classifier="logistic")
    assert forest > 0.75
    assert logistic < 0.65


def test_detection_checks_its_arguments():
    real = patients(20)
    with pytest.raises(ValueError, match="classifier='tree'"):
        detection_auc(real, real, classifier="tree")
    with pytest.raises(ValueError, match="at least 2 synthetic rows"):
        detection_auc(real, real.iloc[:1])
    other = patients(20, seed=1)
    assert np.isfinite(detection_auc(real, other, classifier="logistic"))
