"""The synthetic-patients pipeline: a table and the images of its people ->
a table generator and an image generator conditioned on it, judged as a
pair, both pushed.

    ingest_table ─ train_table ─ evaluate_table ─┐
                                                 ├ evaluate_patients ─ export_table
    ingest_images ─ train_images ─ evaluate_images ┘                  └ export_images

Both models hold out the same people: a fifth of the table's people, drawn
from the seed when the pipeline is built, and with them all their images
(`TrainConfig.holdout_groups`), so the pair's privacy check compares
synthetic patients with people neither model saw. The image ingest records
the table it joined (its fingerprint), so a pushed image generator's
lineage reaches both sources.
"""

from __future__ import annotations

import numpy as np

from kerasynth import registry
from kerasynth.components.evaluate import evaluate
from kerasynth.components.export import export
from kerasynth.components.ingest import ingest
from kerasynth.components.patients import evaluate_patients
from kerasynth.components.train import train
from kerasynth.pipelines.common import HOLDOUT_FRACTION, source_fingerprint
from kerasynth.pipelines.runner import Step


def held_out_people(table: str, holdout_by: str, seed: int) -> list[str]:
    """A seeded fifth of `table`'s people (its groups by `holdout_by`,
    ``COLUMN[:REGEX]``), sorted."""
    from kerasynth.data import splits
    from kerasynth.data.tables import load_table

    groups = load_table(table, group_by=holdout_by).groups
    held = splits.holdout_mask(len(groups), HOLDOUT_FRACTION, seed, groups=groups)
    return sorted({str(group) for group in np.asarray(groups)[held]})


def patients_pipeline(
    table_model: str,
    image_model: str,
    *,
    table: str,
    images: str,
    covariates: list[str],
    id_column: str = "ID",
    image_ids: str = "subject_id",
    table_holdout_by: str | None = None,
    image_holdout_by: str | None = None,
    columns: list[str] | None = None,
    image_size: int | None = None,
    table_epochs: int | None = None,
    image_epochs: int | None = None,
    num_patients: int = 40,
    thresholds: dict | None = None,
    serving_dir: str = "serving",
    force: bool = False,
    seed: int = 0,
) -> list[Step]:
    """The steps above.

    Args:
        table_model: a registered table model (``gaussian_copula``).
        image_model: a registered image model (``beta_vae``, ``dcgan``,
            ``ddim``).
        table: the CSV/Parquet of one row per ID (OASIS-1's
            ``oasis_cross-sectional.csv``).
        images: the images (``oasis1_axial64.npz``).
        covariates: the columns of `table` the images are conditioned on;
            they must be among the table model's columns.
        id_column: `table`'s column of the images' IDs.
        image_ids: each image's ID, ``KEY[:REGEX]`` (`kerasynth.data.groups`).
        table_holdout_by: `table`'s people, ``COLUMN[:REGEX]`` (default:
            `id_column`, OASIS sessions read as their people).
        image_holdout_by: the images' people, named as the table's
            (default: `image_ids`).
        columns: the table model's columns (default: all it models).
        image_size: the images' side (default: the image model's).
        table_epochs: the table model's length (default: its own).
        image_epochs: the image model's length (default: its own).
        num_patients: patients the pair gate draws.
        thresholds: bounds on the pair's metrics (default: no copies).
        serving_dir: where both generators are pushed.
        force: push even if the pair gate fails.
        seed: every seed, and the held-out people's.
    """
    table_holdout_by = table_holdout_by or id_column
    image_holdout_by = image_holdout_by or image_ids
    held = held_out_people(table, table_holdout_by, seed)
    given = {} if image_size is None else {"image_size": image_size}
    sizes = {**registry.model_arguments(registry.get_model_class(image_model)), **given}
    source = {"names": list(covariates), "table": table, "id_column": id_column,
              "image_ids": image_ids}  # fmt: skip
    shared = {
        "seed": seed,
        "holdout_fraction": HOLDOUT_FRACTION,
        "holdout_groups": held,
    }
    return [
        Step(ingest, name="ingest_table", parameters={
            "source": table, "modality": "table", "columns": columns,
            "holdout_by": table_holdout_by,
            "source_fingerprint": source_fingerprint(table)}),
        Step(ingest, name="ingest_images", parameters={
            "source": images, "modality": "image",
            "image_size": sizes["image_size"], "channels": sizes["channels"],
            "holdout_by": image_holdout_by, "covariates": source,
            "source_fingerprint": source_fingerprint(images),
            "covariates_fingerprint": source_fingerprint(table)}),
        Step(train, name="train_table",
             inputs={"examples": "ingest_table.examples",
                     "schema": "ingest_table.schema"},
             parameters={"model_name": table_model, "epochs": table_epochs, **shared}),
        Step(train, name="train_images",
             inputs={"examples": "ingest_images.examples",
                     "schema": "ingest_images.schema"},
             parameters={"model_name": image_model, "epochs": image_epochs,
                         "model_kwargs": given, **shared}),
        Step(evaluate, name="evaluate_table",
             inputs={"model": "train_table.model", "examples": "ingest_table.examples"},
             parameters={"seed": seed}),
        Step(evaluate, name="evaluate_images",
             inputs={"model": "train_images.model",
                     "examples": "ingest_images.examples"},
             parameters={"seed": seed}),
        Step(evaluate_patients, name="evaluate_patients",
             inputs={"table_model": "train_table.model",
                     "image_model": "train_images.model",
                     "image_examples": "ingest_images.examples",
                     "table_blessing": "evaluate_table.blessing",
                     "image_blessing": "evaluate_images.blessing"},
             parameters={"num_patients": num_patients, "thresholds": thresholds,
                         "seed": seed}),
        Step(export, name="export_table",
             inputs={"model": "train_table.model",
                     "blessing": "evaluate_patients.blessing"},
             parameters={"serving_dir": serving_dir, "force": force}),
        Step(export, name="export_images",
             inputs={"model": "train_images.model",
                     "blessing": "evaluate_patients.blessing"},
             parameters={"serving_dir": serving_dir, "force": force}),
    ]  # fmt: skip
