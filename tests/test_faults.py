"""Bad input and faults on the command line: one corpus, one contract.

Each case runs ``kerasynth`` as a user would, in a subprocess whose working
directory is the test's tmp_path (never the checkout: its ``kerasynth/`` folder
would shadow the installed package). A case of bad input must end with exit
code 2 and exactly one line on stderr that names the file, column or value and
what was expected (no traceback, no library warnings), and must leave nothing
behind: no output, no ``.partial-*``, ``.export-*`` or ``.NAME.work`` staging
folder, no lock; the files in tmp_path are the same before and after.

Cases that fail before TensorFlow is imported each get a fresh interpreter,
which also checks that TensorFlow was not imported. The others would pay the
~10 s TensorFlow import each (over 2 minutes in all), so they share one
interpreter that imports it once, as the CLI does, and then runs each command
line through ``kerasynth.cli.main`` in the case's own working directory, with
file descriptors 1 and 2 redirected to files for that command (TensorFlow's
C++ logs included) and Python's warnings registry reset, so a warning shows
as it would in a fresh process.
"""

from __future__ import annotations

import json
import os
import select
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from string import Formatter

import numpy as np
import pandas as pd
import pytest
from PIL import Image

TIMEOUT = 300  # seconds for one command

REGISTERED = (
    "beta_vae, ctgan, dcgan, ddim, dp_beta_vae, dp_gaussian_copula, dp_tab_ddpm, "
    "dp_tvae, dragan, gaussian_copula, independent, pix2pix, tab_ddpm, "
    "tabular_gan, tabular_vae, tvae"
)

# `kerasynth ARGS` in a fresh interpreter; the last stdout line says whether
# TensorFlow was imported (python -m kerasynth does not work: no __main__.py).
FRESH = (
    "import sys\n"
    "from kerasynth.cli import main\n"
    "try:\n"
    "    main()\n"
    "finally:\n"
    "    print('tensorflow imported:', 'tensorflow' in sys.modules)\n"
)

# The shared interpreter: one JSON request a line on stdin (args, cwd and the
# files for the command's stdout and stderr), one exit code a line back.
SERVER = r"""
import json, os, sys, traceback, warnings

from kerasynth.cli import _import_tensorflow_quietly, main

_import_tensorflow_quietly()
replies = os.fdopen(os.dup(1), "w")
for line in sys.stdin:
    job = json.loads(line)
    os.chdir(job["cwd"])
    saved = os.dup(1), os.dup(2)
    with open(job["stdout"], "w") as out, open(job["stderr"], "w") as err:
        os.dup2(out.fileno(), 1)
        os.dup2(err.fileno(), 2)
        try:
            with warnings.catch_warnings():  # resets the once-only registry
                main(job["args"])
            code = 0
        except SystemExit as stop:
            code = stop.code
            if not isinstance(code, int):
                if code is not None:
                    print(code, file=sys.stderr)
                code = 0 if code is None else 1
        except BaseException:
            traceback.print_exc()
            code = 1
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
    for fd in saved:
        os.close(fd)
    os.chdir("/")
    replies.write(json.dumps(code) + "\n")
    replies.flush()
"""


@dataclass
class Done:
    code: int
    stdout: str
    stderr: str

    def __str__(self):
        return f"exit {self.code}\nstdout:\n{self.stdout}\nstderr:\n{self.stderr}"


def run_fresh(cwd: Path, *args) -> tuple[Done, bool]:
    """`kerasynth ARGS` in a new interpreter; also whether it imported TF."""
    done = subprocess.run(
        [sys.executable, "-c", FRESH, *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=TIMEOUT,
    )
    *stdout, marker = done.stdout.splitlines(keepends=True) or [""]
    imported = {"tensorflow imported: False\n": False}.get(marker, True)
    return Done(done.returncode, "".join(stdout), done.stderr), imported


class SharedInterpreter:
    """One Python process with TensorFlow imported, running command lines."""

    def __init__(self, scratch: Path):
        self.scratch = scratch
        self.log = scratch / "interpreter.log"
        self.count = 0
        self.process = None

    def _start(self):
        with open(self.log, "a") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-c", SERVER],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                cwd=self.scratch,
            )

    def run(self, cwd: Path, *args) -> Done:
        if self.process is None or self.process.poll() is not None:
            self._start()
        self.count += 1
        out = self.scratch / f"{self.count}.stdout"
        err = self.scratch / f"{self.count}.stderr"
        job = {"args": [str(a) for a in args], "cwd": str(cwd)}
        job.update(stdout=str(out), stderr=str(err))
        self.process.stdin.write(json.dumps(job) + "\n")
        self.process.stdin.flush()
        ready, _, _ = select.select([self.process.stdout], [], [], TIMEOUT)
        reply = self.process.stdout.readline() if ready else ""
        if not reply:
            self.close()
            pytest.fail(f"the shared interpreter gave no answer:\n{self.log_text()}")
        return Done(json.loads(reply), out.read_text(), err.read_text())

    def log_text(self) -> str:
        return self.log.read_text()[-3000:] if self.log.exists() else ""

    def close(self):
        if self.process is not None:
            self.process.stdin.close()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None


@pytest.fixture(scope="module")
def cli(tmp_path_factory):
    interpreter = SharedInterpreter(tmp_path_factory.mktemp("interpreter"))
    yield interpreter
    interpreter.close()


def _write_table(path: Path, rows: int = 200) -> Path:
    rng = np.random.default_rng(0)
    table = pd.DataFrame(
        {
            "age": rng.integers(20, 80, rows),
            "sex": rng.choice(["F", "M"], rows),
            "score": rng.normal(size=rows).round(3),
        }
    )
    table.to_csv(path, index=False)
    return path


def _write_images(folder: Path, count: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(count):
        pixels = rng.integers(0, 256, (32, 32), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / f"slice{i}.png")
    return folder


@pytest.fixture(scope="module")
def table_run(cli, tmp_path_factory):
    """A tiny gaussian_copula run, for the faults that need a trained run."""
    folder = tmp_path_factory.mktemp("table_run")
    _write_table(folder / "T.csv")
    command = "train --model gaussian_copula --data T.csv --seed 0 --quiet --output run"
    done = cli.run(folder, *shlex.split(command))
    assert done.code == 0, done
    return folder / "run"


@pytest.fixture(scope="module")
def image_run(cli, tmp_path_factory):
    """A tiny dcgan run (8 images, one epoch)."""
    folder = tmp_path_factory.mktemp("image_run")
    _write_images(folder / "images", 8)
    command = (
        "train --model dcgan --data images --image-size 32 --epochs 1 "
        "--batch-size 4 --seed 0 --quiet --output run"
    )
    done = cli.run(folder, *shlex.split(command))
    assert done.code == 0, done
    return folder / "run"


# Inputs a case makes in its tmp_path before the command runs: make(tmp_path,
# fixture), `fixture` giving the shared runs (request.getfixturevalue).


def _text_file(tmp_path, fixture):
    (tmp_path / "notes.txt").write_text("not a run\n")


def _thresholds(text):
    def make(tmp_path, fixture):
        (tmp_path / "thresholds.json").write_text(text)

    return make


def _damaged_run(damage):
    def make(tmp_path, fixture):
        shutil.copytree(fixture("table_run"), tmp_path / "run")
        if damage == "truncated-model":
            model = tmp_path / "run" / "model.keras"
            with open(model, "r+b") as handle:
                handle.truncate(model.stat().st_size // 2)
        else:
            (tmp_path / "run" / "config.json").write_text(
                '{"model": "gaussian_copula", '
            )

    return make


def _folder_with_a_text_jpg(tmp_path, fixture):
    _write_images(tmp_path / "images", 2)
    (tmp_path / "images" / "x.jpg").write_text("a text file, not a JPEG\n")


def _duplicate_headers(tmp_path, fixture):
    (tmp_path / "dup.csv").write_text("age,sex,age\n30,F,31\n40,M,41\n")


def _table(tmp_path, fixture):
    _write_table(tmp_path / "T.csv")


def _interrupted_run(model, seed):
    """A run of `model` interrupted after an epoch: the work directory with
    its recorded options and a backup, as `kerasynth.training` leaves it."""

    def make(tmp_path, fixture):
        from kerasynth import resume, runs
        from kerasynth.config import TrainConfig

        _write_table(tmp_path / "T.csv")
        work = runs.work_dir(tmp_path / "run")
        (work / "backup").mkdir(parents=True)
        first = TrainConfig(
            model=model, data="T.csv", output="run", seed=seed, epochs=3, verbose=0
        )
        resume.check_same_run(first, work / resume.RESUME_FILE)

    return make


@dataclass(frozen=True)
class Case:
    """``kerasynth COMMAND`` (``{table_run}``, ``{image_run}``: the shared
    runs), the one stderr line it must print, the inputs it needs, and
    whether it fails before TensorFlow is imported."""

    command: str
    error: str
    inputs: Callable | None = None
    before_tensorflow: bool = False

    def args(self, fixture) -> list[str]:
        names = {name for _, name, _, _ in Formatter().parse(self.command) if name}
        runs = {name: fixture(name) for name in names}
        return [arg.format(**runs) for arg in shlex.split(self.command)]


def case(command, error, *, id, marks=(), **options):
    return pytest.param(Case(command, error, **options), id=id, marks=marks)


def fast_case(command, error, *, id, **options):
    return case(command, error, id=id, before_tensorflow=True, **options)


def _with_run(run):
    """The commands that read a run directory, given `run` as --run."""
    return {
        "sample": f"sample --run {run} --num 2 --output samples.csv",
        "evaluate": f"evaluate --run {run} --output report",
        "export": f"export --run {run} --serving-dir serving",
    }


MISSING_RUN = "Error: Run directory no-run does not exist."
FILE_AS_RUN = (
    "Error: notes.txt is a file; --run takes a run directory (what kerasynth "
    "train writes)."
)
TRUNCATED = (
    "Error: run/model.keras is not a .keras archive (a zip file): it is "
    "truncated or damaged; train the run again."
)
BROKEN_CONFIG = (
    "Error: run/config.json is not valid JSON: Expecting property name "
    "enclosed in double quotes: line 1 column 30 (char 29)"
)
UNKNOWN_MODEL = f"Error: Unknown model 'dcgna'. Registered models: {REGISTERED}."
TABLE = "--model gaussian_copula --data T.csv --seed 0 --quiet"
THRESHOLDS = "pipeline run --model gaussian_copula --root pipe --quiet"

CASES = [
    # Missing inputs, missing runs, a file as --run, unknown models: refused
    # before TensorFlow is imported.
    fast_case(
        "train --model dcgan --data missing.npz --output out",
        "Error: --data missing.npz: no such file or folder.",
        id="train-missing-data",
    ),
    fast_case(
        "train --model gaussian_copula --metadata missing.json --output out",
        "Error: --metadata missing.json: no such file or folder.",
        id="train-missing-metadata",
    ),
    fast_case(
        "evaluate --synthetic missing.csv --output report",
        "Error: --synthetic missing.csv: no such file or folder.",
        id="evaluate-missing-synthetic",
    ),
    fast_case(
        "evaluate --synthetic T.csv --data missing.csv --output report",
        "Error: --data missing.csv: no such file or folder.",
        inputs=_table,
        id="evaluate-missing-data",
    ),
    fast_case(
        "evaluate --synthetic T.csv --data T.csv --holdout missing.csv --output report",
        "Error: --holdout missing.csv: no such file or folder.",
        inputs=_table,
        id="evaluate-missing-holdout",
    ),
    fast_case(
        "pipeline run --model dcgan --root pipe --thresholds missing.json",
        "Error: --thresholds missing.json: no such file or folder.",
        id="pipeline-missing-thresholds",
    ),
    fast_case(
        "pipeline run --model dp_gaussian_copula --root pipe --metadata missing.json",
        "Error: --metadata missing.json: no such file or folder.",
        id="pipeline-missing-metadata",
    ),
    *(
        fast_case(command, MISSING_RUN, id=f"{name}-missing-run")
        for name, command in _with_run("no-run").items()
    ),
    *(
        fast_case(command, FILE_AS_RUN, inputs=_text_file, id=f"{name}-file-as-run")
        for name, command in _with_run("notes.txt").items()
    ),
    fast_case("train --model dcgna --output out", UNKNOWN_MODEL, id="train-model"),
    fast_case(
        "pipeline run --model dcgna --root pipe", UNKNOWN_MODEL, id="pipeline-model"
    ),
    # Bad options.
    fast_case(
        "train --model dcgan --image-size -64 --output out",
        "Error: Invalid value for '--image-size': -64 is not in the range x>=8.",
        id="dcgan-image-size-negative",
    ),
    case(
        "train --model dcgan --image-size 50 --epochs 1 --quiet --output out",
        "Error: DCGAN image_size must be one of 32, 64, 128, 256. "
        "Received: image_size=50",
        id="dcgan-image-size-50",
    ),
    fast_case(
        f"train {TABLE} --steps 3 --epochs 2 --output out",
        "Error: Give epochs or steps, not both. Received: epochs=2, steps=3",
        inputs=_table,
        id="steps-and-epochs",
    ),
    # Thresholds: refused before anything is trained (no pipeline root).
    case(
        f"{THRESHOLDS} --thresholds thresholds.json",
        "Error: Threshold quality.min must be a number. Received: 'high'",
        inputs=_thresholds('{"quality": {"min": "high"}}'),
        id="thresholds-not-a-number",
    ),
    case(
        f"{THRESHOLDS} --thresholds thresholds.json",
        "Error: Thresholds file thresholds.json is not JSON: Expecting value: "
        "line 1 column 1 (char 0)",
        inputs=_thresholds("quality >= 0.8\n"),
        id="thresholds-not-json",
    ),
    # Damaged run directories: copies of a real tiny run.
    *(
        case(
            _with_run("run")[name],
            error,
            inputs=_damaged_run(damage),
            id=f"{name}-{damage}",
        )
        for damage, error, names in [
            ("truncated-model", TRUNCATED, ("sample", "export")),
            ("broken-config", BROKEN_CONFIG, ("sample", "evaluate", "export")),
        ]
        for name in names
    ),
    # Bad data files and outputs.
    case(
        "train --model dcgan --data images --image-size 32 --epochs 1 --quiet "
        "--output out",
        "Error: Cannot read image images/x.jpg: not an image file its suffix "
        "(.jpg) promises.",
        inputs=_folder_with_a_text_jpg,
        id="text-file-named-jpg",
    ),
    case(
        "sample --run {image_run} --num 2 --output grid.jpg",
        "Error: Images are written as a .png grid, a .npy array or a folder (a "
        "name without a suffix). Received: grid.jpg",
        id="sample-image-output-suffix",
    ),
    case(
        "sample --run {table_run} --num 2 --output rows.xlsx",
        "Error: Table samples are written as .csv or .parquet. Received: rows.xlsx",
        id="sample-table-output-suffix",
    ),
    case(
        "train --model gaussian_copula --data dup.csv --quiet --output out",
        "Error: dup.csv has duplicated column names: ['age']; rename them so that "
        "each column has its own",
        inputs=_duplicate_headers,
        id="duplicate-headers",
    ),
    # --resume: nothing to resume, or not the interrupted run's options (its
    # work directory is kept as it was).
    case(
        f"train {TABLE} --output out --resume",
        "Error: Nothing to resume: no interrupted run of out (.out.work).",
        inputs=_table,
        id="resume-nothing",
    ),
    case(
        f"train {TABLE} --epochs 3 --output run --resume",
        "Error: --resume needs the options of the interrupted run; these differ: "
        "model 'gaussian_copula' (was 'tvae')",
        inputs=_interrupted_run("tvae", seed=0),
        id="resume-other-model",
    ),
    case(
        "train --model tvae --data T.csv --seed 1 --epochs 3 --quiet --output run "
        "--resume",
        "Error: --resume needs the options of the interrupted run; these differ: "
        "seed 1 (was 0)",
        inputs=_interrupted_run("tvae", seed=0),
        id="resume-other-seed",
    ),
]


def _files(folder: Path) -> dict[str, int]:
    """Every path under `folder`, hidden ones included, with its size."""
    return {
        str(path.relative_to(folder)): path.stat().st_size if path.is_file() else -1
        for path in folder.rglob("*")
    }


@pytest.mark.parametrize("spec", CASES)
def test_bad_input_is_one_line_exit_2_and_leaves_nothing(spec, tmp_path, request):
    fixture = request.getfixturevalue
    if spec.inputs is not None:
        spec.inputs(tmp_path, fixture)
    args = spec.args(fixture)
    before = _files(tmp_path)
    if spec.before_tensorflow:
        done, imported = run_fresh(tmp_path, *args)
        assert not imported, f"TensorFlow was imported\n{done}"
    else:
        done = fixture("cli").run(tmp_path, *args)
    assert "Traceback" not in done.stderr, done
    assert done.stderr.splitlines() == [spec.error], done
    assert done.code == 2, done
    assert _files(tmp_path) == before  # nothing written, nothing left


@pytest.fixture(scope="module")
def warned_training(cli, tmp_path_factory):
    """train on a table of 1,500 rows with a 1,000-value text column, a
    column of numbers mixed with text and a column of dates."""
    folder = tmp_path_factory.mktemp("warnings")
    rows = 1500
    dose = [str(i % 97) for i in range(rows)]
    dose[::2] = ["high"] * len(dose[::2])
    table = pd.DataFrame(
        {
            "patient": [f"P{i % 1000:05d}" for i in range(rows)],
            "dose": dose,
            "visit": pd.date_range("2020-01-01", periods=rows).strftime("%Y-%m-%d"),
            "age": np.random.default_rng(0).integers(20, 80, rows),
        }
    )
    table.to_csv(folder / "W.csv", index=False)
    command = "train --model gaussian_copula --data W.csv --seed 0 --quiet --output run"
    done = cli.run(folder, *shlex.split(command))
    return done, folder


@pytest.mark.parametrize(
    "column, action, override",
    [
        (
            "patient",
            "has 1000 distinct values in 1500 rows: each becomes its own category",
            "leave it out (--columns) unless it really is a category",
        ),
        (
            "dose",
            "mixes numbers (50% of its values) with text ('high'): it is modelled "
            "as categorical",
            "fix the text values to model it as numbers",
        ),
        (
            "visit",
            "is not modelled: it holds dates",
            "convert them to numbers (e.g. days since a reference date)",
        ),
    ],
    ids=["many-distinct-values", "numbers-and-text", "dates"],
)
def test_table_warnings_say_what_was_done_and_how_to_override(
    warned_training, column, action, override
):
    done, folder = warned_training
    assert done.code == 0, done
    assert "Traceback" not in done.stderr, done
    assert (folder / "run" / "model.keras").is_file()
    lines = [
        line
        for line in done.stderr.splitlines()
        if f"Column '{column}'" in line or f"column '{column}'" in line
    ]
    assert len(lines) == 1, done
    assert lines[0].startswith("kerasynth: ")
    assert action in lines[0] and override in lines[0], lines[0]


def test_evaluate_on_a_one_column_table(cli, tmp_path):
    # It crashed in the PCA figure (n_components=2 with one feature).
    rng = np.random.default_rng(0)
    real = pd.DataFrame({"age": rng.normal(60, 10, 80)})
    real.to_csv(tmp_path / "real.csv", index=False)
    real.iloc[:20].to_csv(tmp_path / "holdout.csv", index=False)
    synthetic = pd.DataFrame({"age": rng.normal(60, 10, 80)})
    synthetic.to_csv(tmp_path / "synthetic.csv", index=False)
    command = (
        "evaluate --synthetic synthetic.csv --data real.csv --holdout holdout.csv "
        "--seed 0 --output report"
    )
    done = cli.run(tmp_path, *shlex.split(command))
    assert done.code == 0, done
    assert "Traceback" not in done.stderr, done
    report = tmp_path / "report"
    metrics = json.loads((report / "metrics.json").read_text())
    assert 0.0 <= metrics["quality"]["overall"] <= 1.0
    assert (report / "figures" / "pca.png").is_file()
    assert (report / "report.html").is_file()
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_the_shared_interpreter_answers_as_a_fresh_one(cli, tmp_path):
    # A command that fails after TensorFlow is imported and a model is built:
    # the same exit code, stdout and stderr both ways.
    args = shlex.split("train --model dcgan --image-size 50 --epochs 1 --output out")
    fresh, imported = run_fresh(tmp_path, *args)
    assert imported
    shared = cli.run(tmp_path, *args)
    assert (shared.code, shared.stdout, shared.stderr) == (
        fresh.code,
        fresh.stdout,
        fresh.stderr,
    )


# === Two processes, and a kill ===


@pytest.mark.slow
def test_a_live_run_locks_its_output(tmp_path):
    from kerasynth import locks
    from kerasynth.testing import invoke_cli

    output = tmp_path / "run"
    command = [sys.executable, "-c", "from kerasynth.cli import main; main()",
               "train", "--model", "dcgan", "--image-size", "32", "--epochs", "50",
               "--seed", "0", "--quiet", "--output", str(output)]  # fmt: skip
    first = subprocess.Popen(command, stdout=subprocess.DEVNULL, cwd=tmp_path,
                             stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        work = tmp_path / ".run.work"
        deadline = time.time() + 120
        while not work.exists() and time.time() < deadline:
            time.sleep(0.2)
        assert work.exists(), "the first run never started"
        for extra in ([], ["--resume"], ["--overwrite"]):
            second = invoke_cli(*command[3:], *extra)
            assert second.exit_code == 2, second.output
            assert f"another kerasynth process (PID {first.pid})" in second.output
            assert "--resume" not in second.output
        assert work.exists()  # --overwrite did not touch the live run
    finally:
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
    # The dead process's lock is stale: the kernel released it.
    with locks.hold(output):
        pass
    assert not locks.lock_path(output).exists()


@pytest.mark.slow
def test_a_killed_run_resumes_bit_identical(tmp_path):
    """``kill -9`` mid-run, ``--resume``: the weights of the run never
    interrupted (the backup restores the random states and the place in the
    seeded stream of batches; TVAE's one-step epochs are backed up every few,
    so the resume also repeats epochs)."""
    import keras

    def command(output):
        return [sys.executable, "-c", "from kerasynth.cli import main; main()",
                "train", "--model", "tvae", "--steps", "800", "--seed", "0",
                "--quiet", "--output", str(output)]  # fmt: skip

    straight = subprocess.run(command(tmp_path / "straight"), capture_output=True,
                              text=True, cwd=tmp_path, timeout=600)  # fmt: skip
    assert straight.returncode == 0, straight.stderr[-2000:]
    log = tmp_path / ".killed.work" / "history.csv"
    process = subprocess.Popen(command(tmp_path / "killed"), cwd=tmp_path,
                               stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.time() + 300
    while time.time() < deadline and process.poll() is None:
        if log.exists() and len(log.read_text().splitlines()) > 150:
            break
        time.sleep(0.05)
    process.kill()
    process.wait()
    backup = tmp_path / ".killed.work" / "backup"
    assert not (tmp_path / "killed").exists(), "the run ended before the kill"
    epoch = json.loads((backup / "training_metadata.json").read_text())["epoch"]
    assert 1 <= epoch < 800
    resumed = subprocess.run([*command(tmp_path / "killed"), "--resume"],
                             capture_output=True, text=True, cwd=tmp_path,
                             timeout=600)  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    weights = [
        keras.saving.load_model(tmp_path / name / "model.keras", compile=False).weights
        for name in ("straight", "killed")
    ]
    assert len(weights[0]) == len(weights[1])
    for a, b in zip(*weights, strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
