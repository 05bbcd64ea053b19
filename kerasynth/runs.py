"""The run directory: what `train` writes, written atomically, and read back.

A run directory holds ``model.keras`` (reloadable with
`keras.saving.load_model`), ``config.json`` (everything to rebuild and
reproduce the run), ``history.json`` (per-epoch metrics) and ``samples.png``.
It is built in a hidden sibling folder and renamed into place at the end, so
a failed or interrupted run never leaves a half-written run directory.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from kerasynth.atomic import check_output, staged_directory, write_json

__all__ = ["check_output", "staged_directory", "write_json", "load_model"]

MODEL_FILE = "model.keras"
CONFIG_FILE = "config.json"
HISTORY_FILE = "history.json"
SAMPLES_FILE = "samples.png"
TABLE_SAMPLES_FILE = "samples.csv"
TRANSFORMER_FILE = "transformer.json"
BEST_MODEL_FILE = "best.keras"
CSV_LOG_FILE = "history.csv"
TENSORBOARD_DIR = "logs"


def work_dir(run_dir: str | os.PathLike) -> Path:
    """Where a run keeps its logs, backup and best model while it trains:
    a hidden sibling of the run directory, removed when the run succeeds
    and kept (for ``--resume``) when it is interrupted."""
    run_dir = Path(run_dir)
    return run_dir.parent / f".{run_dir.name}.work"


def read_config(run_dir: str | os.PathLike) -> dict[str, Any]:
    """The ``config.json`` of a run directory."""
    path = require_run(run_dir) / CONFIG_FILE
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{path} is not valid JSON: {error}") from None


def require_run(run_dir: str | os.PathLike) -> Path:
    """Checks that `run_dir` is a run directory and returns it as a Path."""
    run_dir = Path(run_dir)
    if run_dir.is_file():
        raise NotADirectoryError(
            f"{run_dir} is a file; --run takes a run directory (what "
            "kerasynth train writes)."
        )
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

    path = require_run(run_dir) / MODEL_FILE
    import zipfile

    if not zipfile.is_zipfile(path):
        raise ValueError(
            f"{path} is not a .keras archive (a zip file): it is truncated or "
            "damaged; train the run again."
        )
    try:
        return keras.saving.load_model(path)
    except (OSError, ValueError) as error:
        # A truncated or corrupt archive: Keras' own message says "File not
        # found" or names its zip internals.
        if isinstance(error, ValueError) and "Could not locate" in str(error):
            raise
        raise ValueError(
            f"{path} cannot be read as a Keras model ({type(error).__name__}: "
            f"{' '.join(str(error).split())[:200]}); train the run again."
        ) from None
