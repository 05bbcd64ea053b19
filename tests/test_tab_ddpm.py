"""TabDDPM learns real tables: relationships, missing values, conditions."""

import pytest
from table_cases import diabetes_split, patients

from kerasynth import TableSynthesizer
from kerasynth.metrics.quality import quality_score

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def diabetes_fit():
    train, _ = diabetes_split()
    return train, TableSynthesizer("tab_ddpm", steps=600, seed=0).fit(train)


def test_keeps_the_relationships_of_the_embedded_table(diabetes_fit):
    # sklearn's diabetes table: s1~s2 (total and LDL cholesterol) r = 0.90,
    # s3~s4 r = -0.74. Columns drawn independently keep neither.
    train, synthesizer = diabetes_fit
    rows = synthesizer.sample(len(train), seed=0)
    for a, b in [("s1", "s2"), ("s3", "s4"), ("s4", "s5")]:
        assert abs(rows[a].corr(rows[b]) - train[a].corr(train[b])) < 0.1, (a, b)
    floor = TableSynthesizer("independent", seed=0).fit(train).sample(len(train))
    ours = quality_score(train, rows)["column_pair_trends"]
    shuffled = quality_score(train, floor)["column_pair_trends"]
    assert ours > shuffled + 0.1, (ours, shuffled)


def test_models_missing_values_and_meets_conditions():
    # `patients`: age ~ volume r = -0.9, "old" mostly over 60, 5% of the
    # volumes and groups missing.
    frame = patients(rows=400, seed=0)
    synthesizer = TableSynthesizer("tab_ddpm", steps=600, seed=0).fit(frame)
    rows = synthesizer.sample(2000, seed=1)
    assert 0.01 < rows["volume"].isna().mean() < 0.12
    assert 0.01 < rows["group"].isna().mean() < 0.12
    present = rows.dropna(subset=["volume"])
    assert present["age"].corr(present["volume"]) < -0.75
    old = synthesizer.sample(500, seed=2, conditions={"group": "old"})
    assert (old["group"] == "old").all()
    young = synthesizer.sample(500, seed=2, conditions={"group": "young"})
    real_gap = (frame.age[frame.group == "old"].mean()
                - frame.age[frame.group == "young"].mean())  # fmt: skip
    gap = old["age"].mean() - young["age"].mean()
    assert gap > 0.5 * real_gap, (gap, real_gap)
    both = synthesizer.sample(50, seed=3, conditions={"group": "mid", "smoker": True})
    assert (both["group"] == "mid").all() and both["smoker"].all()
