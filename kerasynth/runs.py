"""The run directory: what `train` writes, written atomically, and read back.

A run directory holds ``model.keras`` (reloadable with
`keras.saving.load_model`), ``config.json`` (everything to rebuild and
reproduce the run), ``history.json`` (per-epoch metrics) and ``samples.png``.
It is built in a hidden sibling folder and renamed into place at the end, so
a failed or interrupted run never leaves a half-written run directory.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

MODEL_FILE = "model.keras"
CONFIG_FILE = "config.json"
HISTORY_FILE = "history.json"
SAMPLES_FILE = "samples.png"


def check_output(path: Path, overwrite: bool) -> None:
    """Raises `FileExistsError` if `path` is a non-empty folder or a file and
    `overwrite` is false."""
    if not path.exists():
        return
    if path.is_dir() and not any(path.iterdir()):
        return
    if not overwrite:
        kind = "folder" if path.is_dir() else "file"
        raise FileExistsError(
            f"Output {kind} {path} already exists and is not empty; choose "
            "another output or pass --overwrite to replace it."
        )


@contextlib.contextmanager
def staged_directory(target: Path, overwrite: bool = False) -> Iterator[Path]:
    """Yields an empty hidden folder beside `target`; renames it to `target`
    when the block succeeds and deletes it when the block raises."""
    target = Path(target)
    check_output(target, overwrite)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(
        tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent)
    )
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if target.is_dir():
        shutil.rmtree(target)
    elif target.exists():
        target.unlink()
    os.replace(staging, target)


def write_json(path: Path, payload: Any) -> None:
    """Writes `payload` as indented JSON, through a temporary file."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n")
    os.replace(tmp, path)


def read_config(run_dir: str | os.PathLike) -> dict[str, Any]:
    """The ``config.json`` of a run directory."""
    path = require_run(run_dir) / CONFIG_FILE
    return json.loads(path.read_text())


def require_run(run_dir: str | os.PathLike) -> Path:
    """Checks that `run_dir` is a run directory and returns it as a Path."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise FileNotFoundError(f"Run directory {run_dir} does not exist.")
    for name in (MODEL_FILE, CONFIG_FILE):
        if not (run_dir / name).is_file():
            raise FileNotFoundError(
                f"{run_dir} is not a kerasynth run directory: {name} is missing."
            )
    return run_dir


def load_model(run_dir: str | os.PathLike):
    """Loads the trained model of a run directory."""
    import keras

    import kerasynth.models  # noqa: F401  (registers the classes for loading)

    return keras.saving.load_model(require_run(run_dir) / MODEL_FILE)
