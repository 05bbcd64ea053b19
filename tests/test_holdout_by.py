"""Splits by person (``--holdout-by``): no person on both sides of a split,
the held-out share near the fraction, the same split in training and in
``evaluate --run``, and one-line errors for bad keys."""

import json
import re

import numpy as np
import pandas as pd
import pytest
from conftest import SHARED_DATA
from PIL import Image

from kerasynth.data import splits
from kerasynth.data.groups import GroupKey
from kerasynth.data.images import load_images
from kerasynth.data.tables import compute_fingerprint, load_table
from kerasynth.metrics.memorization import memorization_audit
from kerasynth.testing import invoke_cli

OASIS_PERSON = r"subject_id:^(OAS1_\d{4})"
OASIS_SLICES = SHARED_DATA / "oasis1_slices" / "oasis1_axial64.npz"


def _sessions(num_people: int, repeats: int, seed: int = 0) -> list[str]:
    """OASIS-style session IDs: one ``_MR1`` per person, a second scan
    (``_MR2``) for every `repeats`-th person."""
    sessions = []
    for person in range(1, num_people + 1):
        sessions.append(f"OAS1_{person:04d}_MR1")
        if person % repeats == 0:
            sessions.append(f"OAS1_{person:04d}_MR2")
    return list(np.random.default_rng(seed).permutation(sessions))


@pytest.fixture
def sessions_npz(tmp_path):
    """An .npz of five distinct 8x8 slices a session, as the OASIS file is."""
    subject_id = np.repeat(_sessions(40, repeats=3), 5)
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (len(subject_id), 8, 8), dtype=np.uint8)
    path = tmp_path / "sessions.npz"
    np.savez(path, images=images, subject_id=subject_id,
             z_index=np.tile([35, 40, 45, 50, 55], len(subject_id) // 5))  # fmt: skip
    return path


def _people(groups) -> set[str]:
    return {str(group)[:9] for group in groups}


# === The split ===


def test_no_group_straddles_and_the_share_is_about_the_fraction():
    rng = np.random.default_rng(0)
    sizes = rng.integers(1, 9, 300)  # 300 people, 1 to 8 items each
    groups = np.repeat([f"p{i}" for i in range(300)], sizes)
    for seed in range(5):
        held = splits.holdout_mask(len(groups), 0.2, seed, groups=groups)
        assert not set(groups[held]) & set(groups[~held])
        assert abs(held.mean() - 0.2) < 0.01, held.mean()
    # Without groups the same items are split by item, and people straddle.
    by_item = splits.holdout_mask(len(groups), 0.2, 0)
    assert set(groups[by_item]) & set(groups[~by_item])


def test_the_split_is_seeded_and_independent_of_the_item_order():
    groups = np.repeat([f"p{i}" for i in range(50)], 3)
    held = splits.holdout_mask(len(groups), 0.3, 4, groups=groups)
    assert np.array_equal(held, splits.holdout_mask(len(groups), 0.3, 4, groups))
    assert not np.array_equal(held, splits.holdout_mask(len(groups), 0.3, 5, groups))
    order = np.random.default_rng(0).permutation(len(groups))
    shuffled = splits.holdout_mask(len(groups), 0.3, 4, groups=groups[order])
    assert set(groups[order][shuffled]) == set(groups[held])


def test_one_group_cannot_be_split():
    with pytest.raises(ValueError, match="6 items in 1 group leaves one side empty"):
        splits.holdout_mask(6, 0.2, 0, groups=np.array(["a"] * 6))


def test_group_keys():
    assert GroupKey.parse("subject_id") == GroupKey("subject_id")
    key = GroupKey.parse(r"ID:^(OAS1_\d{4}):x")  # split at the first colon
    assert key == GroupKey("ID", r"^(OAS1_\d{4}):x")
    whole = GroupKey.parse(r"subject_id:^OAS1_\d{4}")  # no group: the match
    # Without a regex, OASIS sessions are their people; anything else stays.
    assert list(GroupKey("ID").groups(["OAS1_0061_MR1", "OAS2_0007_MR2"], "here")) == [
        "OAS1_0061", "OAS2_0007"]  # fmt: skip
    mixed = ["OAS1_0061_MR1", "sub-07"]
    assert list(GroupKey("ID").groups(mixed, "here")) == mixed
    assert list(whole.groups(["OAS1_0061_MR2"], "here")) == ["OAS1_0061"]
    with pytest.raises(ValueError, match=re.escape("'OAS2_0001_MR1' (here)")):
        GroupKey.parse(OASIS_PERSON).groups(["OAS1_0001_MR1", "OAS2_0001_MR1"], "here")
    for spec in (":x", "ID:", "ID:(oops"):
        with pytest.raises(ValueError, match="--holdout-by"):
            GroupKey.parse(spec)


# === Sources ===


def test_npz_sessions_of_one_person_stay_on_one_side(sessions_npz):
    data = load_images(sessions_npz, image_size=8, group_by=OASIS_PERSON)
    sessions = np.load(sessions_npz)["subject_id"]
    assert len(set(data.groups)) == 40 < len(set(sessions))
    assert [group[:9] for group in sessions] == list(data.groups)
    train, held = splits.split(data, 0.25, seed=3)
    assert not _people(train.groups) & _people(held.groups)
    assert abs(len(held) / len(data) - 0.25) < 0.05
    # The images travel with their groups: each held image is its own.
    pairs = zip(data.images, data.groups, strict=True)
    index = {image.tobytes(): group for image, group in pairs}
    assert [index[image.tobytes()] for image in held.images] == list(held.groups)
    # The bare key reads OASIS sessions as their people too.
    bare = load_images(sessions_npz, image_size=8, group_by="subject_id")
    assert list(bare.groups) == list(data.groups)
    # By session only, no session straddles, but a person's two scans can.
    by_session = load_images(sessions_npz, image_size=8, group_by="subject_id:.+")
    straddling = 0
    for seed in range(10):
        train, held = splits.split(by_session, 0.25, seed)
        assert not set(train.groups) & set(held.groups)
        straddling += bool(_people(train.groups) & _people(held.groups))
    assert straddling, "the npz's repeat scans never straddle a session split"


def test_folder_images_are_grouped_by_their_file_names(tmp_path):
    rng = np.random.default_rng(0)
    for person in range(12):
        label = "yes" if person % 2 else "no"
        for z in (40, 45, 50):
            pixels = rng.integers(0, 256, (8, 8), dtype=np.uint8)
            path = tmp_path / label / f"sub-{person:02d}_z{z}.png"
            path.parent.mkdir(exist_ok=True)
            Image.fromarray(pixels).save(path)
    by_name = load_images(tmp_path, image_size=8, group_by=r"name:^(sub-\d+)_")
    assert sorted(set(by_name.groups)) == [f"sub-{p:02d}" for p in range(12)]
    by_path = load_images(tmp_path, image_size=8, group_by=r"path:/(sub-\d+)")
    assert list(by_path.groups) == list(by_name.groups)
    train, held = splits.split(by_name, 0.25, seed=0)
    assert not set(train.groups) & set(held.groups)
    assert len(held) == 9  # three people of three slices: 0.25 of 36
    with pytest.raises(ValueError, match="'no/sub-00_z40.png'"):
        load_images(tmp_path, image_size=8, group_by=r"path:^(sub-\d+)")


def test_table_rows_are_grouped_by_a_dropped_identifier_column(tmp_path):
    # ID is an identifier (not modelled); `age` is the person's own, so a
    # group that drifts from its row shows as two ages for one person.
    sessions = _sessions(60, repeats=4)
    person_age = {f"OAS1_{p:04d}": 20 + p for p in range(1, 61)}
    frame = pd.DataFrame({
        "ID": sessions,
        "age": [person_age[s[:9]] for s in sessions],
        "score": [np.nan if i % 7 == 0 else float(i) for i in range(len(sessions))],
    })  # fmt: skip
    path = tmp_path / "table.csv"
    frame.to_csv(path, index=False)
    table = load_table(path, dropna=True, group_by=r"ID:^OAS1_\d{4}")
    assert "ID" in table.dropped and "ID" not in table.frame.columns
    assert len(table) < len(frame) and len(table.groups) == len(table)
    assert list(table.frame["age"]) == [person_age[g] for g in table.groups]
    train, held = splits.split(table, 0.2, seed=1)
    assert not set(train.groups) & set(held.groups)
    assert list(held.frame["age"]) == [person_age[g] for g in held.groups]
    with pytest.raises(ValueError, match="no column 'PatientID'.*ID, age, score"):
        load_table(path, group_by="PatientID")


# === The memorization audit ===


def test_the_audit_names_the_person_of_each_nearest_training_image():
    rng = np.random.default_rng(0)
    train = rng.uniform(-1, 1, (6, 8, 8, 1)).astype(np.float32)
    groups = np.array(["a", "a", "b", "c", "c", "d"])
    synthetic = train[[4, 2, 2]] + rng.normal(0, 0.01, (3, 8, 8, 1)).astype(np.float32)
    audit = memorization_audit(synthetic, train, metric="ncc", train_groups=groups)
    assert {(p["train"], p["train_group"]) for p in audit["top_pairs"]} == {
        (4, "c"),
        (2, "b"),
    }
    assert audit["num_nearest_groups"] == 2
    plain = memorization_audit(synthetic, train, metric="ncc")
    assert "train_group" not in plain["top_pairs"][0]
    assert plain["num_nearest_groups"] is None


# === The command line ===

TRAIN_TINY = ["--model", "beta_vae", "--image-size", "16", "--epochs", "1",
              "--batch-size", "16", "--seed", "3", "--quiet"]  # fmt: skip


@pytest.mark.slow
def test_train_and_evaluate_run_split_alike(sessions_npz, tmp_path):
    run = tmp_path / "run"
    result = invoke_cli("train", *TRAIN_TINY, "--data", sessions_npz,
                        "--holdout-by", OASIS_PERSON, "--output", run)  # fmt: skip
    assert result.exit_code == 0, result.output
    record = json.loads((run / "config.json").read_text())["data"]
    assert record["holdout_by"] == OASIS_PERSON
    assert record["holdout_fraction"] == 0.2  # the default with --holdout-by

    # The split found independently: people from the IDs, the run's seed.
    people = np.array([s[:9] for s in np.load(sessions_npz)["subject_id"]])
    held = splits.holdout_mask(len(people), 0.2, seed=3, groups=people)
    expected = load_images(sessions_npz, image_size=16).subset(~held)
    assert record["fingerprint"] == expected.fingerprint
    assert record["num_examples"] == len(expected)

    result = invoke_cli("evaluate", "--run", run, "--num", "20",
                        "--output", tmp_path / "report")  # fmt: skip
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "report" / "metrics.json").read_text())
    protocol = metrics["protocol"]
    assert protocol["holdout_by"] == OASIS_PERSON
    assert protocol["holdout_unseen_by_model"] is True
    assert (protocol["real_images"], protocol["holdout_images"]) == (
        int((~held).sum()),
        int(held.sum()),
    )
    for audit in metrics["memorization"].values():
        named = {pair["train_group"] for pair in audit["top_pairs"]}
        assert named and named <= set(people[~held]), named

    result = invoke_cli("evaluate", "--run", run, "--holdout-by", "subject_id",
                        "--output", tmp_path / "other")  # fmt: skip
    assert result.exit_code == 2
    assert "trained holding out by" in result.stderr


@pytest.mark.slow
def test_a_table_run_holds_out_by_person(tmp_path):
    sessions = _sessions(60, repeats=3)
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"ID": sessions, "age": rng.integers(20, 90, len(sessions)),
                          "sex": rng.choice(["F", "M"], len(sessions))})  # fmt: skip
    frame.to_csv(tmp_path / "table.csv", index=False)
    person = r"ID:^OAS1_\d{4}"
    result = invoke_cli("train", "--model", "independent", "--data",
                        tmp_path / "table.csv", "--holdout-by", person,
                        "--holdout-fraction", "0.3", "--seed", "2", "--quiet",
                        "--output", tmp_path / "run")  # fmt: skip
    assert result.exit_code == 0, result.output
    record = json.loads((tmp_path / "run" / "config.json").read_text())["data"]
    assert record["holdout_by"] == person and record["columns"] == ["age", "sex"]
    people = np.array([session[:9] for session in sessions])
    held = splits.holdout_mask(len(people), 0.3, seed=2, groups=people)
    assert record["fingerprint"] == compute_fingerprint(
        frame.loc[~held, ["age", "sex"]].reset_index(drop=True)
    )
    result = invoke_cli("evaluate", "--run", tmp_path / "run",
                        "--output", tmp_path / "report")  # fmt: skip
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "report" / "metrics.json").read_text())
    assert metrics["protocol"]["holdout_rows"] == int(held.sum())


@pytest.mark.slow
def test_evaluate_synthetic_splits_data_by_person(sessions_npz, tmp_path):
    folder = tmp_path / "synthetic"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(10):
        pixels = rng.integers(0, 256, (8, 8), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / f"{i}.png")
    result = invoke_cli("evaluate", "--synthetic", folder, "--data", sessions_npz,
                        "--holdout-by", OASIS_PERSON, "--seed", "1",
                        "--output", tmp_path / "report")  # fmt: skip
    assert result.exit_code == 0, result.output
    protocol = json.loads((tmp_path / "report" / "metrics.json").read_text())[
        "protocol"
    ]
    people = np.array([s[:9] for s in np.load(sessions_npz)["subject_id"]])
    held = splits.holdout_mask(len(people), 0.2, seed=1, groups=people)
    assert protocol["holdout"] == f"20% seeded split by {OASIS_PERSON}"
    assert protocol["holdout_images"] == int(held.sum())


@pytest.mark.slow
def test_the_pipeline_holds_out_by_person(sessions_npz, tmp_path):
    from kerasynth.components.ingest import GROUP_KEY
    from kerasynth.pipelines import image_pipeline, run_pipeline

    steps = image_pipeline("beta_vae", data=str(sessions_npz), image_size=16,
                           epochs=1, holdout_by=OASIS_PERSON, force=True,
                           serving_dir=str(tmp_path / "serving"))  # fmt: skip
    result = run_pipeline(steps, tmp_path / "root", status=lambda line: None)
    ingested = result.artifact("ingest.examples")
    people = np.array([s[:9] for s in np.load(sessions_npz)["subject_id"]])
    with np.load(ingested.path / "data.npz") as arrays:
        assert list(arrays[GROUP_KEY]) == list(people)
    run = json.loads((result.artifact("train.model").path / "config.json").read_text())
    assert run["data"]["holdout_by"] == GROUP_KEY
    held = splits.holdout_mask(len(people), 0.2, seed=0, groups=people)
    assert run["data"]["num_examples"] == int((~held).sum())
    report = result.artifact("evaluate.evaluation").path / "metrics.json"
    protocol = json.loads(report.read_text())["protocol"]
    assert protocol["holdout_images"] == int(held.sum())


@pytest.mark.parametrize(
    "data, key, message",
    [
        ("npz", "subj", "has no array 'subj'. Its arrays: images, subject_id, z_index"),
        ("npz", r"subject_id:^OAS2", "no group in 'OAS1_"),
        ("npz", "subject_id:(", "not a regular expression"),
        ("embedded", "subject_id", "the embedded MNI152 template has nothing to"),
        ("folder", "subject_id", "a folder's images are grouped by 'name'"),
    ],
    ids=["unknown-array", "no-match", "bad-regex", "no-groups", "folder-key"],
)
def test_bad_keys_are_one_line_and_exit_2(sessions_npz, tmp_path, data, key, message):
    folder = tmp_path / "folder"
    folder.mkdir()
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(folder / "a.png")
    source = {"npz": ["--data", sessions_npz], "embedded": [],
              "folder": ["--data", folder]}[data]  # fmt: skip
    output = tmp_path / "out"
    result = invoke_cli("train", *TRAIN_TINY, *source, "--holdout-by", key,
                        "--output", output)  # fmt: skip
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert message in lines[0]
    assert not output.exists()


# === The real OASIS-1 slices ===


@pytest.mark.real_data
def test_real_oasis_slices_split_by_person():
    if not OASIS_SLICES.is_file():
        pytest.skip(f"the OASIS-1 slices are not at {OASIS_SLICES}")
    data = load_images(OASIS_SLICES, image_size=8, group_by=OASIS_PERSON)
    sessions = np.load(OASIS_SLICES)["subject_id"]
    assert len(set(data.groups)) == 208 and len(set(sessions)) == 214
    train, held = splits.split(data, 0.2, seed=0)
    assert not set(train.groups) & set(held.groups)
    assert 0.19 < len(held) / len(data) < 0.21
