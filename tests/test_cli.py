"""The command line: the whole train -> sample -> export flow, and errors.

Commands run in-process through click's runner (TensorFlow is imported once),
except one subprocess check that the installed console script prints a
single readable line, and no TensorFlow chatter, for bad input.
"""

import json
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from kerasynth.testing import invoke_cli as run

TRAIN_FAST = ["--image-size", "32", "--epochs", "1", "--seed", "0", "--quiet"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    output = tmp_path_factory.mktemp("cli") / "run"
    result = run("train", "--model", "dcgan", *TRAIN_FAST, "--output", output)
    assert result.exit_code == 0, result.output
    assert "Trained dcgan for 1 epochs" in result.output
    return output


def _commands(group=None, path=()):
    """Every command and subcommand of ``kerasynth``, as its path of names."""
    import click

    from kerasynth.cli import main

    group = main if group is None else group
    found = [path]
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found += _commands(command, (*path, name))
        else:
            found.append((*path, name))
    return found


COMMANDS = _commands()


def test_the_command_tree_is_walked():
    # A walk that found nothing would leave the help test below empty.
    expected = {
        ("list-models",),
        ("train",),
        ("sample",),
        ("evaluate",),
        ("export",),
        ("pipeline",),
        ("pipeline", "run"),
        ("lineage",),
    }
    assert expected <= set(COMMANDS)


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "kerasynth")
def test_every_command_has_help_listing_its_options(path):
    import click

    from kerasynth.cli import main

    command = main
    for name in path:
        command = command.commands[name]
    result = run(*path, "--help")
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"Usage: main {' '.join(path)}".rstrip())
    for parameter in command.params:
        if isinstance(parameter, click.Argument):
            assert parameter.human_readable_name in result.output, parameter.name
        else:
            for flag in parameter.opts + parameter.secondary_opts:
                assert flag in result.output, (path, flag)
    for name in getattr(command, "commands", {}):
        assert name in result.output, (path, name)


def test_list_models():
    from kerasynth import registry

    result = run("list-models")
    assert result.exit_code == 0
    listed = {line.split()[0]: line.split()[1] for line in result.output.splitlines()}
    registered = registry.list_models()
    assert sorted(listed) == sorted(registered)
    assert listed == {name: cls.task for name, cls in registered.items()}


def test_train_writes_a_run(run_dir):
    config = json.loads((run_dir / "config.json").read_text())
    assert config["model_config"]["image_size"] == 32
    assert config["model_config"]["latent_dim"] == 100  # the model's default
    assert config["training"]["epochs"] == 1
    assert Image.open(run_dir / "samples.png").size == (8 * 34 + 2, 8 * 34 + 2)


def test_sample_formats(run_dir, tmp_path):
    assert run("sample", "--run", run_dir, "--num", 5, "--seed", 1,
               "--output", tmp_path / "a.npy").exit_code == 0  # fmt: skip
    run("sample", "--run", run_dir, "--num", 5, "--seed", 1, "--output",
        tmp_path / "b.npy")  # fmt: skip
    a, b = np.load(tmp_path / "a.npy"), np.load(tmp_path / "b.npy")
    assert a.shape == (5, 32, 32, 1)
    np.testing.assert_array_equal(a, b)
    assert run("sample", "--run", run_dir, "--num", 3, "--output",
               tmp_path / "pngs").exit_code == 0  # fmt: skip
    assert len(list((tmp_path / "pngs").glob("*.png"))) == 3
    result = run("sample", "--run", run_dir, "--num", 4, "--output",
                 tmp_path / "grid.png")  # fmt: skip
    assert result.exit_code == 0 and (tmp_path / "grid.png").is_file()


def test_export(run_dir, tmp_path):
    result = run("export", "--run", run_dir, "--serving-dir", tmp_path)
    assert result.exit_code == 0, result.output
    version = tmp_path / "dcgan" / "1"
    loaded = tf.saved_model.load(str(version))
    out = loaded.signatures["sample"](num_samples=tf.constant(2), seed=tf.constant(0))
    assert out["images"].shape == (2, 32, 32, 1)
    result = run("export", "--run", run_dir, "--serving-dir", tmp_path, "--name", "mri")
    assert (tmp_path / "mri" / "1" / "saved_model.pb").is_file()


def test_default_output_is_a_new_timestamped_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for _ in range(2):
        result = run("train", "--model", "dcgan", *TRAIN_FAST)
        assert result.exit_code == 0, result.output
    made = sorted(p.name for p in (tmp_path / "runs").iterdir())
    assert len(made) == 2 and all(name.startswith("dcgan-") for name in made)


def _bad_folder(tmp_path):
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "broken.png").write_bytes(b"not a png")
    return folder


@pytest.mark.parametrize(
    "make_args, message",
    [
        (lambda p: ["--model", "dcgan", "--data", p], "No images found in folder"),
        (lambda p: ["--model", "dcgan", "--data", _bad_folder(p)], "broken.png"),
    ],
    ids=["empty-folder", "bad-image"],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, make_args, message):
    data = tmp_path / "data"
    data.mkdir()
    output = tmp_path / "out"
    result = run("train", *TRAIN_FAST, *make_args(data), "--output", output)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert message in lines[0]
    assert "Traceback" not in result.output
    assert not output.exists()
    assert not any(p.name.startswith(".") for p in tmp_path.iterdir())


def test_non_empty_output_is_refused(run_dir):
    result = run("train", "--model", "dcgan", *TRAIN_FAST, "--output", run_dir)
    assert result.exit_code == 2
    assert "--overwrite" in result.stderr
    assert (run_dir / "model.keras").is_file()  # untouched


@pytest.mark.slow
def test_console_script_prints_one_line(tmp_path):
    script = [sys.executable, "-c", "from kerasynth.cli import main; main()"]
    completed = subprocess.run(
        [
            *script,
            "sample",
            "--run",
            str(tmp_path),
            "--num",
            "1",
            "--output",
            str(tmp_path / "x.png"),
        ],  # fmt: skip
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 2
    assert completed.stderr.strip().splitlines() == [
        f"Error: {tmp_path} is not a kerasynth run directory: model.keras is missing."
    ]
