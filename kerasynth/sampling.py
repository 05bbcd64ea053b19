"""Sampling from a run directory, and writing the samples.

Images go through `kerasynth.image_output` (PNG grid, folder of PNGs, ``.npy``);
tables are written as CSV or Parquet. Every write is atomic.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from kerasynth import atomic, image_output

TABLE_SUFFIXES = (".csv", ".parquet")


def parse_conditions(pairs: Sequence[str]) -> dict[str, str]:
    """``["M/F=F", "CDR=0.5"]`` -> ``{"M/F": "F", "CDR": "0.5"}``.

    Values stay strings; the model's transformer matches them against its
    categories by their text.
    """
    conditions = {}
    for pair in pairs:
        column, sep, value = pair.partition("=")
        if not sep or not column:
            raise ValueError(
                f"A condition must look like COLUMN=VALUE. Received: {pair!r}"
            )
        conditions[column] = value
    return conditions


def sample_run(run_dir, num_samples, seed=None, conditions=None):
    """Draws samples from a run directory's model.

    The model's task supplies what its sampling needs: a translation model
    (Pix2Pix) starts from the run's own training images, read again from the
    data source its ``config.json`` names.
    """
    from kerasynth import runs, tasks

    model = runs.load_model(run_dir)
    task = tasks.task_of(model)
    context = task.run_context(model, runs.read_config(run_dir))
    return task.sample(model, num_samples, seed, conditions, context=context)


def save_samples(samples: Any, path: str | os.PathLike, overwrite: bool = False):
    """Writes images (an array) or rows (a DataFrame) by the form of `path`."""
    path = Path(path)
    if not isinstance(samples, pd.DataFrame):
        return image_output.save_images(samples, path, overwrite=overwrite)
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise ValueError(
            f"Table samples are written as {' or '.join(TABLE_SUFFIXES)}. "
            f"Received: {path}"
        )
    with atomic.staged_file(path, overwrite) as staging:
        if suffix == ".csv":
            samples.to_csv(staging, index=False)
        else:
            samples.to_parquet(staging, index=False)
    return path
