"""The command line on tables: train, sample with conditions, export, errors."""

import json

import pandas as pd
import pytest
import tensorflow as tf

from kerasynth.testing import invoke_cli as run

FAST = ["--epochs", "1", "--batch-size", "50", "--seed", "0", "--quiet"]


@pytest.fixture(scope="module")
def ctgan_run(tmp_path_factory):
    output = tmp_path_factory.mktemp("tables") / "ctgan"
    result = run("train", "--model", "ctgan", *FAST, "--output", output)
    assert result.exit_code == 0, result.output
    return output


def test_table_run_directory(ctgan_run):
    names = sorted(p.name for p in ctgan_run.iterdir())
    assert names == ["config.json", "history.csv", "history.json", "logs",
                     "model.keras", "samples.csv", "transformer.json"]  # fmt: skip
    config = json.loads((ctgan_run / "config.json").read_text())
    assert config["data"]["num_examples"] == 442  # sklearn's diabetes table
    samples = pd.read_csv(ctgan_run / "samples.csv")
    assert len(samples) == 1000 and "progression" in samples.columns


def test_sample_with_a_condition(ctgan_run, tmp_path):
    result = run("sample", "--run", ctgan_run, "--num", 30, "--seed", 1,
                 "--condition", "sex=2", "--output", tmp_path / "s.csv")  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = pd.read_csv(tmp_path / "s.csv")
    assert len(rows) == 30 and set(rows["sex"]) == {2}


def test_unseen_condition_value_is_refused(ctgan_run, tmp_path):
    result = run("sample", "--run", ctgan_run, "--num", 3, "--condition", "sex=3",
                 "--output", tmp_path / "s.csv")  # fmt: skip
    assert result.exit_code == 2
    assert "'3'" in result.stderr and "sex" in result.stderr
    assert not (tmp_path / "s.csv").exists()


def test_export_answers_with_decoded_rows(ctgan_run, tmp_path):
    assert run("export", "--run", ctgan_run, "--serving-dir", tmp_path).exit_code == 0
    loaded = tf.saved_model.load(str(tmp_path / "ctgan" / "1"))
    rows = loaded.signatures["sample"](num_samples=tf.constant(4), seed=tf.constant(0))
    assert rows["sex"].dtype == tf.string and rows["age"].shape == (4,)


def test_study_model_on_a_csv_with_options(tmp_path):
    frame = pd.DataFrame({"sex": ["F", "M"] * 30, "age": range(20, 80),
                          "score": [1, 2, 3] * 20, "note": [None] * 60})  # fmt: skip
    frame.to_csv(tmp_path / "t.csv", index=False)
    result = run("train", "--model", "tabular_gan", "--data", tmp_path / "t.csv",
                 "--columns", "sex,age,score", "--numerical", "score", *FAST,
                 "--batch-size", "20", "--output", tmp_path / "run")  # fmt: skip
    assert result.exit_code == 0, result.output
    transformer = json.loads((tmp_path / "run" / "transformer.json").read_text())
    assert "score" in json.dumps(transformer)


def _write(tmp_path, text):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    "text, args, message",
    [
        ("", [], "bad.csv"),
        ("a,b\n1,2\n3,4\n", ["--columns", "a,zzz"], "zzz"),
        ("a,b\n1,\n2,\n3,\n", [], "'b'"),
        ("age,sex\n" + "".join(f"{i},F\n" for i in range(30)) + "abc,M\n", [],
         "abc"),
    ],
    ids=["empty-file", "unknown-column", "all-missing-column", "text-in-numbers"],
)  # fmt: skip
def test_bad_tables_are_one_line_and_exit_2(tmp_path, text, args, message):
    data = _write(tmp_path, text)
    output = tmp_path / "out"
    result = run("train", "--model", "tvae", "--data", data, *args, *FAST,
                 "--output", output)  # fmt: skip
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("Error: ") and message in lines[-1], result.stderr
    assert "Traceback" not in result.output
    assert not output.exists()


def test_training_length_in_optimizer_steps(tmp_path):
    # 442 rows in batches of 100: 4 steps an epoch, so 7 steps are 2 epochs.
    result = run("train", "--model", "tvae", "--steps", 7, "--batch-size", 100,
                 "--seed", 0, "--quiet", "--output", tmp_path / "run")  # fmt: skip
    assert result.exit_code == 0, result.output
    training = json.loads((tmp_path / "run" / "config.json").read_text())["training"]
    assert (training["epochs"], training["steps_per_epoch"]) == (2, 4)
    assert training["steps"] == 8
