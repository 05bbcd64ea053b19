"""Synthetic patients: a table row and brain slices that agree with it.

A table model draws the rows (age, sex, MMSE, CDR, ...); an image model
conditioned on covariates (`kerasynth.data.covariates`) draws each row's
slices from that row's values. The row's columns the image model reads
must be among the table model's; the rest of the row (MMSE, eTIV) comes
along. The pair is written as the OASIS-1 slices are shared:

- ``patients.csv``: one row per patient, its synthetic ``ID`` first
  (``SYN_000001``);
- ``images.npz``: ``images`` (uint8 ``[N * slices, H, W]``, or ``[..., 3]``
  for colour), ``subject_id`` (the patient's ``ID`` of each image) and
  ``slice`` (0 to ``slices - 1``), so that ``kerasynth train --data
  images.npz --covariates ... --table patients.csv`` reads it back;
- ``patients.json``: the two runs, the seed, and how many rows had a
  covariate clipped to the image model's training range.

The slices of one patient are independent draws of the image model for the
same covariates (its training slices carried no position in the volume).
The same seed gives the same patients.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

ID_COLUMN = "ID"
ID_PREFIX = "SYN_"


def _image_conditions(covariates, rows: pd.DataFrame):
    """The image model's covariates of each row, numbers clipped to its
    training range, and how many rows needed a clip."""
    missing = [name for name in covariates.names if name not in rows.columns]
    if missing:
        raise ValueError(
            f"The image model is conditioned on {', '.join(covariates.names)}; "
            f"the table model makes no column {missing[0]!r}. Its columns: "
            f"{', '.join(map(str, rows.columns))}"
        )
    conditions = rows[covariates.names].copy()
    clipped = np.zeros(len(rows), bool)
    for column in covariates.columns:
        if column.kind != "numeric":
            continue
        values = pd.to_numeric(conditions[column.name], errors="coerce")
        bounded = values.clip(column.low, column.high)
        clipped |= (values.notna() & (bounded != values)).to_numpy()
        conditions[column.name] = bounded
    return conditions, int(clipped.sum())


def sample_patients(table_model, image_model, num_patients, *, seed=None, slices=5,
                    table_task=None, image_task=None, batch_size=256):  # fmt: skip
    """Draws `num_patients` synthetic patients.

    Args:
        table_model: a trained table model (its task samples rows).
        image_model: a trained image model conditioned on covariates, all
            of them columns of the table model's rows.
        num_patients: how many patients.
        seed: an int gives the same patients every time.
        slices: images per patient.
        table_task: the table model's task (default: its own).
        image_task: the image model's task (default: its own).
        batch_size: images per generator call.

    Returns:
        ``(rows, images, clipped)``: the rows with their ``ID`` first, the
        ``[num_patients * slices, H, W, C]`` images in [-1, 1] (a patient's
        slices together) and the number of rows with a clipped covariate.

    Raises:
        ValueError: the image model is not conditioned on covariates, or a
            covariate is not a column of the rows.
    """
    from kerasynth import tasks

    covariates = getattr(image_model, "covariates", None)
    if covariates is None:
        raise ValueError(
            "Joint sampling needs an image model conditioned on covariates "
            "(kerasynth train --covariates Age,M/F,CDR --table ...)"
        )
    if slices < 1 or num_patients < 1:
        raise ValueError(
            f"num_patients and slices must be >= 1. Received: {num_patients}, {slices}"
        )
    table_task = table_task or tasks.task_of(table_model)
    image_task = image_task or tasks.task_of(image_model)
    rows = table_task.sample(table_model, num_patients, seed)
    rows = rows.reset_index(drop=True)
    conditions, clipped = _image_conditions(covariates, rows)
    repeated = conditions.loc[conditions.index.repeat(slices)].reset_index(drop=True)
    image_seed = None if seed is None else seed + 1
    images = image_task.sample(
        image_model, len(repeated), image_seed, conditions=repeated
    )
    width = max(6, len(str(num_patients)))
    ids = [f"{ID_PREFIX}{i + 1:0{width}d}" for i in range(num_patients)]
    rows.insert(0, ID_COLUMN, ids)
    return rows, np.asarray(images), clipped


def to_uint8(images: np.ndarray) -> np.ndarray:
    """[-1, 1] float images -> uint8 0..255, a greyscale channel dropped."""
    pixels = np.clip(np.round((np.asarray(images) + 1.0) * 127.5), 0, 255)
    pixels = pixels.astype(np.uint8)
    return pixels[..., 0] if pixels.shape[-1] == 1 else pixels


def save_patients(rows, images, output, *, slices, overwrite=False, record=None):
    """Writes ``patients.csv``, ``images.npz`` and ``patients.json`` into
    the folder `output`, all or nothing (a staging folder, then a rename).
    """
    from kerasynth import atomic

    output = Path(output)
    ids = np.repeat(rows[ID_COLUMN].to_numpy(str), slices)
    with atomic.staged_directory(output, overwrite) as staging:
        rows.to_csv(staging / "patients.csv", index=False)
        np.savez_compressed(
            staging / "images.npz", images=to_uint8(images), subject_id=ids,
            slice=np.tile(np.arange(slices), len(rows)),
        )  # fmt: skip
        manifest = {"patients": len(rows), "slices_per_patient": slices,
                    **(record or {})}  # fmt: skip
        (staging / "patients.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return output


def sample_patient_runs(table_run, images_run, num_patients, output, *, seed=None,
                        slices=5, overwrite=False):  # fmt: skip
    """`sample_patients` from two run directories, written by
    `save_patients`; returns ``(output, clipped)``."""
    from kerasynth import runs

    table_model = runs.load_model(table_run)
    image_model = runs.load_model(images_run)
    rows, images, clipped = sample_patients(
        table_model, image_model, num_patients, seed=seed, slices=slices
    )
    record = {"table_run": str(table_run), "images_run": str(images_run),
              "seed": seed, "covariates": image_model.covariates.names,
              "rows_with_a_clipped_covariate": clipped}  # fmt: skip
    path = save_patients(rows, images, output, slices=slices, overwrite=overwrite,
                         record=record)  # fmt: skip
    return path, clipped
