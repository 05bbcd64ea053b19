"""The synthetic-patients pipeline: both models hold out the same people,
the pair gate judges them together, both are pushed with lineage to both
sources."""

import json

import numpy as np
import pandas as pd
import pytest

from kerasynth import runs
from kerasynth.components.export import ExportRefused
from kerasynth.pipelines import run_pipeline
from kerasynth.pipelines.patients import held_out_people, patients_pipeline
from kerasynth.testing import invoke_cli

QUIET = {"status": lambda line: None}


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    """30 OASIS-style people, a few with a second session; two slices a
    session, brighter with age; their table, with two people without
    images."""
    folder = tmp_path_factory.mktemp("patients")
    rng = np.random.default_rng(0)
    sessions = [f"OAS1_{i:04d}_MR1" for i in range(32)]
    sessions += [f"OAS1_{i:04d}_MR2" for i in range(0, 30, 7)]
    ages = {s[:9]: float(rng.integers(20, 90)) for s in sessions}
    rows = pd.DataFrame({
        "ID": sessions,
        "M/F": rng.choice(["F", "M"], len(sessions)),
        "Age": [ages[s[:9]] for s in sessions],
        "CDR": [np.nan if ages[s[:9]] < 60 else 0.5 for s in sessions],
        "MMSE": rng.integers(20, 31, len(sessions)).astype(float),
    })  # fmt: skip
    rows.to_csv(folder / "table.csv", index=False)
    imaged = sessions[:30] + sessions[32:]
    ids = np.repeat(imaged, 2)
    level = np.array([ages[s[:9]] for s in ids]) * 2
    images = np.clip(rng.normal(level[:, None, None], 20, (len(ids), 16, 16)), 0, 255)
    np.savez(folder / "slices.npz", images=images.astype(np.uint8), subject_id=ids)
    return folder


def _steps(sources, **options):
    return patients_pipeline(
        "gaussian_copula", "beta_vae", table=str(sources / "table.csv"),
        images=str(sources / "slices.npz"), covariates=["Age", "M/F", "CDR"],
        image_size=16, image_epochs=1, num_patients=6,
        serving_dir=str(sources / "serving"), **options,
    )  # fmt: skip


def test_the_held_out_people_are_a_seeded_fifth(sources):
    held = held_out_people(str(sources / "table.csv"), "ID", seed=0)
    assert held == held_out_people(str(sources / "table.csv"), "ID", seed=0)
    assert held != held_out_people(str(sources / "table.csv"), "ID", seed=1)
    assert all(len(person) == 9 for person in held)  # people, not sessions
    assert 5 <= len(held) <= 8  # about a fifth of 32


@pytest.mark.slow
def test_the_pipeline_splits_alike_judges_the_pair_and_pushes_both(sources):
    # The tiny image model fails its own gate (a detector tells it apart):
    # the pair gate refuses, and --force pushes both anyway.
    with pytest.raises(ExportRefused, match="the image model is not blessed"):
        run_pipeline(_steps(sources), sources / "root", **QUIET)
    result = run_pipeline(_steps(sources, force=True), sources / "root", **QUIET)
    held = set(held_out_people(str(sources / "table.csv"), "ID", seed=0))
    table_run = result.artifact("train_table.model").uri
    image_run = result.artifact("train_images.model").uri
    for run in (table_run, image_run):
        assert runs.read_config(run)["data"]["holdout_groups"] == sorted(held)
    # The image run trained on no held-out person's slices.
    trained = runs.read_config(image_run)["data"]["num_examples"]
    slices = np.load(sources / "slices.npz")["subject_id"]
    assert trained == sum(s[:9] not in held for s in slices)
    model = runs.load_model(image_run)
    assert model.covariates.names == ["Age", "M/F", "CDR"]
    pair = json.loads(
        (result.artifact("evaluate_patients.evaluation").path / "metrics.json")
        .read_text()
    )  # fmt: skip
    assert pair["patients"] == 6 and pair["patient_copies"]["copies"] == 0
    assert -1 <= pair["readout"]["real"] <= 1
    for side, name in (("table", "gaussian_copula"), ("images", "beta_vae")):
        pushed = result.artifact(f"export_{side}.pushed")
        assert pushed.uri == str(sources / "serving" / name / "1")
    # The image generator's lineage reaches both sources.
    traced = invoke_cli("lineage", str(sources / "serving" / "beta_vae" / "1"),
                        "--root", str(sources / "root"))  # fmt: skip
    assert traced.exit_code == 0, traced.output
    assert "slices.npz" in traced.output and "table.csv" in traced.output
