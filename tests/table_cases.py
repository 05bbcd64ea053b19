"""Small tables with known structure, shared by the table metric tests."""

import numpy as np
import pandas as pd
import pytest
from conftest import SHARED_DATA

from kerasynth.metrics.table import numeric_columns

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


def load_oasis():
    """The study's OASIS-1 table, five columns, complete rows (or a skip)."""
    if not OASIS.is_file():
        pytest.skip(f"the study's data is not at {OASIS}")
    from kerasynth.data.tables import load_table

    return load_table(OASIS, columns=OASIS_FIVE, dropna=True).frame


def diabetes_split():
    """The embedded diabetes table split 70/30 as FIDELITY.md says
    (`train_test_split(test_size=0.3, random_state=42)`): 309 and 133 rows."""
    from sklearn.model_selection import train_test_split

    from kerasynth.data.tables import load_table

    frame = load_table(None).frame
    train, holdout = train_test_split(frame, test_size=0.3, random_state=42)
    return train.reset_index(drop=True), holdout.reset_index(drop=True)


def independent_columns(frame, seed=0):
    """Each column shuffled on its own: the same shapes, no relationships."""
    rng = np.random.default_rng(seed)
    return frame.apply(lambda column: rng.permutation(column.to_numpy()))


def noisy_bootstrap(frame, seed=0, scale=0.1):
    rng = np.random.default_rng(seed)
    copy = frame.sample(len(frame), replace=True, random_state=seed)
    copy = copy.reset_index(drop=True)
    for column in numeric_columns(frame):
        copy[column] = copy[column] + rng.normal(
            0, scale * frame[column].std(), len(copy)
        )
    return copy
