"""Image models conditioned on covariates (age, sex, CDR): the encoding, the
join to a table, the exported inputs, and that the conditioning is learned
(the asked age shows in the samples), not just accepted."""

import dataclasses

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

from kerasynth import export, registry, runs, training
from kerasynth import patients as patients_module
from kerasynth.config import TrainConfig
from kerasynth.data.covariates import Covariates, CovariateSource, join_rows
from kerasynth.data.images import load_images
from kerasynth.testing import MIXED_POLICY, invoke_cli, run_model_test

ROWS = pd.DataFrame({
    "Age": [22, 35, 61, 70, 78, 90],
    "M/F": ["F", "M", "F", "M", "F", "M"],
    "CDR": [np.nan, np.nan, 0.0, 0.5, 1.0, 2.0],
})  # fmt: skip
NAMES = ["Age", "M/F", "CDR"]
TINY = {
    "dcgan": {"image_size": 32, "generator_filters": 4, "discriminator_filters": 4},
    "beta_vae": {"image_size": 32, "filters": 4, "latent_dim": 8},
    "ddim": {"image_size": 32, "widths": (4, 8), "embedding_dim": 8,
             "sampling_steps": 2},
}  # fmt: skip


def _covariates():
    return Covariates.fit(ROWS, NAMES)


# === The encoding ===


def test_the_encoding_standardises_one_hots_and_flags_missing():
    covariates = _covariates()
    # Age (1), M/F (2), CDR (1) and its missing flag (1).
    assert covariates.dimension == 5
    vectors = covariates.encode(ROWS)
    age = ROWS["Age"].to_numpy(float)
    np.testing.assert_allclose(vectors[:, 0], (age - age.mean()) / age.std(), rtol=1e-5)
    assert vectors[:, 1:3].tolist() == [[1, 0], [0, 1]] * 3
    assert vectors[:, 4].tolist() == [1, 1, 0, 0, 0, 0]
    assert vectors[:2, 3].tolist() == [0, 0]  # a missing CDR is the mean
    # One value for all, or one per sample; "" or NA asks for a missing CDR.
    one = covariates.encode({"Age": 61, "M/F": "F", "CDR": 0.0}, 3)
    assert np.array_equal(one, np.repeat(vectors[2:3], 3, axis=0))
    assert covariates.encode({"Age": 22, "M/F": "F", "CDR": ""}, 1)[0, 4] == 1
    # The config round-trips through JSON's types.
    again = Covariates.from_config(covariates.get_config())
    assert np.array_equal(again.encode(ROWS), vectors)


@pytest.mark.parametrize(
    ("conditions", "message"),
    [
        (
            {"Age": 95, "M/F": "F", "CDR": 1},
            r"'Age'=95 is outside the range .*22 to 90",
        ),
        ({"Age": 40, "M/F": "X", "CDR": 1}, r"no category 'X': M/F \(F, M\)"),
        ({"Age": "old", "M/F": "F", "CDR": 1}, "numeric; 'old' is not a number"),
        ({"Age": "", "M/F": "F", "CDR": 1}, "'Age' was never missing"),
        ({"Age": 40, "M/F": "F"}, "conditioned on Age, M/F, CDR"),
        ({"Age": 40, "M/F": "F", "CDR": 1, "SES": 2}, "conditioned on Age, M/F, CDR"),
    ],
)
def test_bad_conditions_are_named(conditions, message):
    with pytest.raises(ValueError, match=message):
        _covariates().encode(conditions, 2)


def test_drawn_values_follow_the_training_marginals():
    covariates = _covariates()
    drawn = covariates.draw(4000, seed=0)
    assert drawn["Age"].min() >= 22 and drawn["Age"].max() <= 90
    assert abs(np.isnan(drawn["CDR"]).mean() - 2 / 6) < 0.03
    assert set(drawn["CDR"][~np.isnan(drawn["CDR"])]) == {0.0, 0.5, 1.0, 2.0}
    assert abs((drawn["M/F"] == "F").mean() - 0.5) < 0.03
    assert covariates.encode(drawn).shape == (4000, 5)  # all accepted
    assert covariates.accepts(ROWS.assign(Age=[22, 35, 61, 70, 78, 99])).tolist() == [
        True] * 5 + [False]  # fmt: skip


def test_the_graph_encoding_equals_numpy_and_checks_ranges():
    covariates = _covariates()
    inputs = {"Age": tf.constant(ROWS["Age"].to_numpy("float32")),
              "M_F": tf.constant(ROWS["M/F"].tolist()),
              "CDR": tf.constant(ROWS["CDR"].to_numpy("float32"))}  # fmt: skip
    np.testing.assert_allclose(
        covariates.encode_tensors(inputs), covariates.encode(ROWS), atol=1e-6
    )
    with pytest.raises(tf.errors.InvalidArgumentError, match="Age: above"):
        covariates.encode_tensors({**inputs, "Age": inputs["Age"] + 50.0})
    with pytest.raises(tf.errors.InvalidArgumentError, match="M/F: unknown"):
        covariates.encode_tensors({**inputs, "M_F": tf.constant(["X"] * 6)})


def test_join_rows_names_what_is_wrong():
    table = ROWS.assign(ID=[f"OAS1_{i:04d}_MR1" for i in range(6)])
    rows = join_rows(["OAS1_0003_MR1", "OAS1_0000_MR1"], table, "ID", "t.csv")
    assert rows["Age"].tolist() == [70, 22]
    with pytest.raises(
        ValueError,
        match="1 image IDs are not in column 'ID' of t.csv, e.g. 'OAS1_0009_MR1'",
    ):
        join_rows(["OAS1_0009_MR1"], table, "ID", "t.csv")
    with pytest.raises(ValueError, match="--id-column 'Subject' is not a column"):
        join_rows(["x"], table, "Subject", "t.csv")
    with pytest.raises(ValueError, match="'OAS1_0000_MR1' of column 'ID' is on more"):
        join_rows(["x"], pd.concat([table, table]), "ID", "t.csv")


# === The models ===


@pytest.mark.parametrize("name", sorted(TINY))
def test_covariate_model_checks(name, tmp_path):
    covariates = _covariates()
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (6, 32, 32, 1)).astype("float32")
    config = covariates.get_config()
    run_model_test(
        lambda: registry.get_model(name, covariates=config, **TINY[name]),
        (images, covariates.encode(ROWS)),
        tmp_path,
        expected_sample_shape=(32, 32, 1),
        modes=("graph", MIXED_POLICY),  # the class-conditional tests run all
    )  # fmt: skip


@pytest.mark.parametrize("name", sorted(TINY))
def test_exports_take_the_covariates(name, tmp_path):
    model = registry.get_model(
        name, covariates=_covariates().get_config(), **TINY[name]
    )
    exported = export.export_model(model, tmp_path, "v")
    loaded = tf.saved_model.load(str(exported))
    asked = {"Age": 70, "M/F": "M", "CDR": 0.5}
    inputs = {"num_samples": tf.constant(3), "seed": tf.constant(4),
              "Age": tf.constant([70.0]), "M_F": tf.constant(["M"]),
              "CDR": tf.constant([0.5])}  # fmt: skip
    kwargs = {}
    if name == "ddim":
        inputs["steps"] = tf.constant(2)
        kwargs["steps"] = 2
    sampled = loaded.signatures["sample"](**inputs)["images"]
    expected = model.generate(3, seed=4, conditions=asked, **kwargs)
    np.testing.assert_allclose(sampled, expected, atol=1e-5)
    other = model.generate(3, seed=4, conditions={**asked, "Age": 22}, **kwargs)
    if name != "ddim":  # the zero-initialised denoiser ignores everything
        assert not np.allclose(expected, other)
    with pytest.raises(tf.errors.InvalidArgumentError, match="Age: above"):
        loaded.signatures["sample"](**{**inputs, "Age": tf.constant([99.0])})
    if name == "dcgan":  # shards cannot draw rows: a clear refusal
        from kerasynth.shards import SavedGenerator

        with pytest.raises(ValueError, match=r"conditioned on covariates \(Age, M/F"):
            SavedGenerator(exported)


def test_classes_and_covariates_do_not_mix():
    with pytest.raises(ValueError, match="classes or on covariates, not both"):
        registry.get_model(
            "dcgan", num_classes=2, covariates=_covariates().get_config()
        )


# === Learning ===


def _aged_slices():
    """The embedded slices, each at four ages, with a dark central disc
    (ventricles) whose radius grows with age and a bright corner mark for
    F: what a model conditioned on Age and M/F must learn to draw."""
    base = load_images(None, image_size=32)
    ages = np.array([20.0, 40.0, 60.0, 80.0])
    yy, xx = np.mgrid[:32, :32]
    distance = np.hypot(yy - 15.5, xx - 15.5)
    images, rows = [], []
    for i, image in enumerate(base.images):
        for age in ages:
            sex = "F" if i % 2 else "M"
            drawn = image.copy()
            drawn[distance < 2 + age / 16, 0] = -1.0
            if sex == "F":
                drawn[1:5, 1:5, 0] = 1.0
            images.append(drawn)
            rows.append({"Age": age, "M/F": sex})
    images = np.stack(images)
    return dataclasses.replace(
        base, images=images, labels=None, class_names=None,
        covariates=pd.DataFrame(rows), keys=None,
    )  # fmt: skip


def _disc_radius(images):
    # The dark disc's area, read as a radius: pixels darker than -0.8
    # within 8 px of the centre.
    yy, xx = np.mgrid[:32, :32]
    centre = np.hypot(yy - 15.5, xx - 15.5) < 8
    dark = (images[..., 0] < -0.8) & centre
    return np.sqrt(dark.sum(axis=(1, 2)) / np.pi)


# Measured (median disc radius in px asked Age 20 -> asked Age 80; the
# training images: 3.3 -> 7.0; the F mark's mean asked M -> asked F):
# beta_vae 10 epochs: 2.5 -> 7.0, -0.99 -> 0.74 (21 s); dcgan 30 epochs:
# 3.2 -> 6.5, -0.99 -> 0.90 (19 s); ddim 600 steps, guidance 2: 1.2 -> 4.4,
# -0.54 -> 0.73 (59 s; without guidance 1.7 -> 3.1, -0.10 -> 0.56; at 300
# steps it had barely begun, 2.9 -> 3.7).
LEARNING = {
    "beta_vae": ({"filters": 16, "latent_dim": 16}, {"epochs": 10}, {}),
    "dcgan": ({"generator_filters": 16, "discriminator_filters": 16},
              {"epochs": 30, "batch_size": 32}, {}),
    "ddim": ({"widths": (16, 32, 48), "sampling_steps": 10},
             {"steps": 600, "batch_size": 32}, {"guidance": 2.0}),
}  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(LEARNING))
def test_a_conditioned_model_draws_the_asked_age_and_sex(name):
    kwargs, length, sampling = LEARNING[name]
    data = _aged_slices()
    config = TrainConfig(
        model=name, seed=0, verbose=0, mixed_precision="off", **length,
        covariates={"names": ["Age", "M/F"], "table": "the aged slices"},
        model_kwargs={"image_size": 32, **kwargs},
    )  # fmt: skip
    model = training.fit(config, data=data).model
    young = model.generate(64, seed=1, conditions={"Age": 20, "M/F": "M"}, **sampling)
    old = model.generate(64, seed=1, conditions={"Age": 80, "M/F": "F"}, **sampling)
    assert np.median(_disc_radius(old)) - np.median(_disc_radius(young)) > 2.0
    assert old[:, 1:5, 1:5].mean() - young[:, 1:5, 1:5].mean() > 0.8


def test_cli_trains_on_covariates_samples_a_condition_and_patients(tmp_path):
    rng = np.random.default_rng(0)
    ids = np.repeat([f"OAS1_{i:04d}_MR1" for i in range(6)], 2)
    np.savez(tmp_path / "slices.npz", subject_id=ids,
             images=rng.integers(0, 256, (12, 16, 16), dtype=np.uint8))  # fmt: skip
    ROWS.assign(ID=[f"OAS1_{i:04d}_MR1" for i in range(6)]).to_csv(
        tmp_path / "table.csv", index=False
    )
    slices, run = tmp_path / "slices.npz", tmp_path / "run"
    result = invoke_cli("train", "--model", "dcgan", "--data", slices,
                        "--covariates", "Age,M/F,CDR", "--table",
                        tmp_path / "table.csv", "--image-size", "32", "--epochs",
                        "1", "--batch-size", "4", "--quiet", "--seed", "0",
                        "--output", run)  # fmt: skip
    assert result.exit_code == 0, result.output
    result = invoke_cli("sample", "--run", run, "--num", "3", "--seed", "0",
                        "--condition", "Age=70", "--condition", "M/F=F",
                        "--condition", "CDR=", "--output",
                        tmp_path / "s.npy")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert np.load(tmp_path / "s.npy").shape == (3, 32, 32, 1)
    result = invoke_cli("sample", "--run", run, "--num", "3",
                        "--condition", "Age=99", "--condition", "M/F=F",
                        "--condition", "CDR=1", "--output",
                        tmp_path / "t.npy")  # fmt: skip
    assert result.exit_code == 2 and "'Age'='99' is outside the range" in result.stderr
    assert not (tmp_path / "t.npy").exists()
    # Synthetic patients: rows from a table run, their slices from this one.
    result = invoke_cli("train", "--model", "gaussian_copula", "--data",
                        tmp_path / "table.csv", "--columns", "Age,M/F,CDR",
                        "--quiet", "--seed", "0",
                        "--output", tmp_path / "rows")  # fmt: skip
    assert result.exit_code == 0, result.output
    for folder in ("p1", "p2"):
        result = invoke_cli("sample", "--run", tmp_path / "rows", "--images-run", run,
                            "--num", "4", "--slices", "2", "--seed", "5",
                            "--output", tmp_path / folder)  # fmt: skip
        assert result.exit_code == 0, result.output
    patients = pd.read_csv(tmp_path / "p1" / "patients.csv")
    assert patients["ID"].tolist() == [f"SYN_00000{i}" for i in range(1, 5)]
    images = np.load(tmp_path / "p1" / "images.npz")
    assert images["images"].shape == (8, 32, 32) and images["images"].dtype == np.uint8
    assert images["subject_id"].tolist() == list(np.repeat(patients["ID"], 2))
    again = np.load(tmp_path / "p2" / "images.npz")
    assert np.array_equal(images["images"], again["images"])  # the same seed
    assert patients.equals(pd.read_csv(tmp_path / "p2" / "patients.csv"))
    # The rows' covariates are the ones the slices were drawn for.
    image_model = runs.load_model(run)
    rows = patients.drop(columns="ID").loc[np.repeat(np.arange(4), 2)]
    expected = image_model.generate(8, seed=6, conditions=rows.reset_index(drop=True))
    np.testing.assert_array_equal(images["images"], patients_module.to_uint8(expected))
    # A table run without the image model's covariates.
    result = invoke_cli("train", "--model", "gaussian_copula", "--data",
                        tmp_path / "table.csv", "--columns", "Age,CDR", "--quiet",
                        "--output", tmp_path / "rows2")  # fmt: skip
    result = invoke_cli("sample", "--run", tmp_path / "rows2", "--images-run", run,
                        "--num", "4", "--output", tmp_path / "p3")  # fmt: skip
    assert result.exit_code == 2 and "no column 'M/F'" in result.stderr
    assert not (tmp_path / "p3").exists()
    # A table without the images' IDs, a column that is not there.
    ROWS.assign(ID=[f"OAS1_{i:04d}_MR2" for i in range(6)]).to_csv(
        tmp_path / "other.csv", index=False
    )
    for table, covariates, message in (
        ("other.csv", "Age", "6 image IDs are not in column 'ID'"),
        ("table.csv", "Age,SES", "'SES' is not a column of file"),
    ):
        result = invoke_cli("train", "--model", "dcgan", "--data", slices,
                            "--covariates", covariates, "--table",
                            tmp_path / table, "--epochs", "1", "--quiet",
                            "--output", tmp_path / "bad")  # fmt: skip
        assert result.exit_code == 2 and message in result.stderr, result.stderr
    result = invoke_cli("train", "--model", "dcgan", "--covariates", "Age",
                        "--output", tmp_path / "bad")  # fmt: skip
    assert result.exit_code == 2 and "--covariates needs --table" in result.stderr


def test_a_source_records_where_the_covariates_come_from():
    source = CovariateSource(("Age", "M/F"), "t.csv")
    assert CovariateSource.coerce(source.to_json()) == source
    assert source.to_json()["names"] == ["Age", "M/F"]


# === Reading the conditioning back ===


def test_the_readout_finds_learned_and_ignored_conditioning():
    from kerasynth.metrics.conditioning import atrophy_slope, covariate_readout

    data = _aged_slices()
    ages, sexes = data.covariates["Age"], data.covariates["M/F"]
    rng = np.random.default_rng(0)
    order = rng.permutation(len(data))
    train, held = order[:400], order[400:]
    images = data.images
    # "Synthetic" slices that carry their age (real slices of the same age,
    # shuffled) and ones that ignore it (a random slice for every request).
    faithful = images[held]
    ignoring = images[rng.permutation(held)]
    for synthetic, lo, hi in ((faithful, 0.9, 1.1), (ignoring, -0.3, 0.3)):
        age = covariate_readout(images[train], ages[train], images[held], ages[held],
                                synthetic, ages[held])  # fmt: skip
        assert age["real"] > 0.9 and lo < age["ratio"] < hi, age
        sex = covariate_readout(images[train], sexes[train], images[held],
                                sexes[held], synthetic, sexes[held],
                                kind="categorical")  # fmt: skip
        assert sex["real"] > 0.95 and lo < sex["ratio"] < hi, sex
    # The dark disc grows with age: the tissue share falls.
    slopes = atrophy_slope(images[held], ages[held], faithful, ages[held])
    assert slopes["real"] < 0 and slopes["ratio"] == pytest.approx(1.0)
    flat = atrophy_slope(images[held], ages[held], ignoring, ages[held])
    assert abs(flat["ratio"]) < 0.3, flat


def test_a_patient_copied_row_and_slices_is_found_and_a_fresh_one_is_not():
    from kerasynth.metrics.conditioning import patient_copies

    base = load_images(None, image_size=32).images
    rng = np.random.default_rng(0)
    people = pd.DataFrame({
        "ID": [f"P{i:03d}" for i in range(len(base))],
        "Age": rng.integers(20, 90, len(base)).astype(float),
        "M/F": rng.choice(["F", "M"], len(base)),
    })  # fmt: skip
    slices = np.concatenate([base + rng.normal(0, 0.05, base.shape) for _ in range(2)])
    ids = np.tile(people["ID"], 2)
    train = people["ID"].isin(people["ID"][::2]).to_numpy()  # every other person
    in_train = np.isin(ids, people["ID"][train])

    def side(mask_people, mask_slices):
        return people[mask_people], slices[mask_slices], ids[mask_slices]

    training, held = side(train, in_train), side(~train, ~in_train)
    # Five training people, row and slices, renamed: copies.
    originals = people[train].head(5)
    rename = {old: f"S{i}" for i, old in enumerate(originals["ID"])}
    copied = originals.assign(ID=originals["ID"].map(rename))
    chosen = np.isin(ids, originals["ID"])
    copied_ids = np.asarray([rename[i] for i in ids[chosen]])
    result = patient_copies(copied, slices[chosen], copied_ids, *training, *held)
    assert result["copies"] == 5 and result["share"] == 1.0, result
    # Held-out people as synthetic patients: few or none.
    fresh = patient_copies(*held, *training, *held)
    assert fresh["share"] <= 0.05, fresh
    # A training person's slices under another person's row: no copy.
    mixed = copied.assign(Age=copied["Age"].to_numpy()[::-1] + 1)
    swapped = patient_copies(mixed, slices[chosen], copied_ids, *training, *held)
    assert swapped["copies"] < 5
