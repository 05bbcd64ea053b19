"""The ingest component: a source -> `Examples`, `Schema`, `Statistics`."""

from __future__ import annotations

import json

import numpy as np

from kerasynth.components.artifacts import Examples, Schema, Statistics
from kerasynth.components.component import Output, component

IMAGES_FILE = "data.npz"
TABLE_FILE = "data.parquet"
SCHEMA_FILE = "schema.json"


def data_file(examples: Examples):
    """The data file inside an `Examples` artifact."""
    name = IMAGES_FILE if examples.properties.get("modality") == "image" else TABLE_FILE
    return examples.path / name


@component(version="2")  # 2: a table's schema.json is its TableSchema
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
    source_fingerprint: str = "",
):
    """Reads `source` (`None`: the embedded default of the modality),
    validates and normalises it, and writes what training reads.

    A table's `Schema` is its `TableSchema` as JSON (`SCHEMA_FILE`), the
    kinds the train component trains with; the columns `load_table` left
    out are in `schema.properties["dropped"]`. An image source's schema is
    its image shape and class names.

    `source_fingerprint` is not read here: the pipeline passes the source's
    content hash so that the cache sees a changed file.
    """
    if modality == "image":
        from kerasynth.data.images import load_images

        data = load_images(source, image_size=image_size, channels=channels)
        arrays = {"images": data.images}
        if data.labels is not None:
            arrays.update(labels=data.labels, class_names=np.array(data.class_names))
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

        table = load_table(source, columns=columns, dropna=dropna)
        table.frame.to_parquet(examples.path / TABLE_FILE, index=False)
        facts = {"rows": len(table), "source_fingerprint": table.fingerprint}
        text = infer_schema(table.frame).to_json()
        schema.properties.update(dropped=table.dropped)
        summary = json.loads(table.frame.describe(include="all").to_json())
    else:
        raise ValueError(f"modality must be image or table. Received: {modality!r}")
    examples.properties.update(modality=modality, source=source, **facts)
    (schema.path / SCHEMA_FILE).write_text(text)
    (statistics.path / "statistics.json").write_text(
        json.dumps(summary, indent=2, default=str)
    )
