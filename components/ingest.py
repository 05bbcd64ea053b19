"""The ingest component: a source -> `Examples`, `Schema`, `Statistics`."""

from __future__ import annotations

import json

import numpy as np

from kerasynth.components.artifacts import Examples, Schema, Statistics
from kerasynth.components.component import Output, component

IMAGES_FILE = "data.npz"
TABLE_FILE = "data.parquet"
SCHEMA_FILE = "schema.json"
# With `holdout_by`, each item's group travels in the data file under this
# name (an array of the .npz, a column of the table: its `_id` ending makes
# `load_table` leave it out of the modelled columns), and the train
# component holds out by it.
GROUP_KEY = "kerasynth_group_id"
# With `covariates`, each image's ID travels in the .npz under this name, and
# the rows of those IDs (the covariates only) in `COVARIATES_FILE`.
IMAGE_ID_KEY = "kerasynth_image_id"
COVARIATES_FILE = "covariates.parquet"


def covariates_of(examples: Examples) -> dict | None:
    """The `CovariateSource` (as a dict) of images ingested with covariates,
    its table resolved inside the artifact; `None` otherwise."""
    covariates = examples.properties.get("covariates")
    if covariates is None:
        return None
    return {**covariates, "table": str(examples.path / covariates["table"])}


def data_file(examples: Examples):
    """The data file inside an `Examples` artifact."""
    name = IMAGES_FILE if examples.properties.get("modality") == "image" else TABLE_FILE
    return examples.path / name


# 2: a table's schema.json is its TableSchema; 3: holdout_by keeps the groups;
# 4: images keep their people's covariates
@component(version="4")
def ingest(
    examples: Output[Examples],
    schema: Output[Schema],
    statistics: Output[Statistics],
    *,
    source: str | None = None,
    modality: str,
    image_size: int | None = None,
    channels: int | None = None,
    columns: list[str] | None = None,
    dropna: bool = False,
    holdout_by: str | None = None,
    covariates: dict | None = None,
    source_fingerprint: str = "",
    covariates_fingerprint: str = "",
):
    """Reads `source` (`None`: the embedded default of the modality),
    validates and normalises it, and writes what training reads.

    A table's `Schema` is its `TableSchema` as JSON (`SCHEMA_FILE`), the
    kinds the train component trains with; the columns `load_table` left
    out are in `schema.properties["dropped"]`. An image source's schema is
    its image shape and class names.

    `holdout_by` (``KEY[:REGEX]``, `kerasynth.data.groups`) reads each
    image's or row's group (its person) and writes it beside the data as
    `GROUP_KEY`, so that training holds out whole people;
    ``examples.properties["holdout_by"]`` names it then.

    `covariates` (a `kerasynth.data.covariates.CovariateSource` as a dict)
    joins each image to its person's row: the images' IDs go in the .npz as
    `IMAGE_ID_KEY`, the rows of those IDs (the covariates) in
    `COVARIATES_FILE`, and ``examples.properties["covariates"]`` says so
    in the form training reads.

    `source_fingerprint` and `covariates_fingerprint` are not read here:
    the pipeline passes the sources' content hashes so that the cache sees
    a changed file.
    """
    if modality == "image":
        from kerasynth.tasks.images import ImageTask

        data = ImageTask().load(
            source, image_size=image_size, channels=channels, group_by=holdout_by,
            covariates=covariates,
        )  # fmt: skip
        arrays = {"images": data.images}
        if data.covariates is not None:
            import pandas as pd

            arrays[IMAGE_ID_KEY] = data.ids
            rows = data.covariates.assign(ID=data.ids).drop_duplicates("ID")
            pd.DataFrame(rows).to_parquet(examples.path / COVARIATES_FILE, index=False)
            # The file is named, not its path: the artifact moves when it is
            # published (`covariates_of` resolves it).
            examples.properties.update(covariates={
                "names": list(covariates["names"]), "id_column": "ID",
                "table": COVARIATES_FILE, "image_ids": IMAGE_ID_KEY,
            })  # fmt: skip
        if data.labels is not None:
            arrays.update(labels=data.labels, class_names=np.array(data.class_names))
        if data.groups is not None:
            arrays[GROUP_KEY] = data.groups
        np.savez(examples.path / IMAGES_FILE, **arrays)
        facts = {"rows": len(data), "source_fingerprint": data.fingerprint}
        layout = {"image_shape": list(data.images.shape[1:]),
                  "class_names": data.class_names}  # fmt: skip
        summary = {"count": len(data), "mean": float(data.images.mean()),
                   "std": float(data.images.std()),
                   "duplicate_groups": len(data.duplicates)}  # fmt: skip
        text = json.dumps(layout, indent=2, default=str)
    elif modality == "table":
        from kerasynth.data.schema import infer_schema
        from kerasynth.data.tables import load_table

        table = load_table(source, columns=columns, dropna=dropna, group_by=holdout_by)
        written = table.frame
        if table.groups is not None:
            if GROUP_KEY in written.columns:
                raise ValueError(
                    f"--holdout-by: the table has a column {GROUP_KEY!r} already, "
                    "the name the pipeline keeps groups under; rename it"
                )
            written = written.assign(**{GROUP_KEY: table.groups})
        written.to_parquet(examples.path / TABLE_FILE, index=False)
        facts = {"rows": len(table), "source_fingerprint": table.fingerprint}
        text = infer_schema(table.frame).to_json()
        schema.properties.update(dropped=table.dropped)
        summary = json.loads(table.frame.describe(include="all").to_json())
    else:
        raise ValueError(f"modality must be image or table. Received: {modality!r}")
    examples.properties.update(
        modality=modality,
        source=source,
        holdout_by=None if holdout_by is None else GROUP_KEY,
        **facts,
    )
    (schema.path / SCHEMA_FILE).write_text(text)
    (statistics.path / "statistics.json").write_text(
        json.dumps(summary, indent=2, default=str)
    )
