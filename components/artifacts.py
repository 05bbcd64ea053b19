"""Typed artifacts: what components consume and produce.

An artifact is a typed record: its type, where it lives (a URI: a folder
under the pipeline root), its properties, and a fingerprint of its content,
so a later run can tell whether anything changed. The types follow TFX's
standard ones (`Examples`, `Schema`, `Statistics`, `Model`, `ModelBlessing`,
`PushedModel`), plus `Evaluation` for kerasynth's report.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from pathlib import Path
from typing import Any, ClassVar


@dataclasses.dataclass
class Artifact:
    """A typed, fingerprinted output of a component.

    Attributes:
        uri: the artifact's folder.
        properties: small JSON-ready facts (row counts, blessed, version...).
        fingerprint: SHA-256 of the folder's files (names and bytes).
        id: the lineage store's id, once recorded.
    """

    TYPE: ClassVar[str] = "Artifact"

    uri: str
    properties: dict[str, Any] = dataclasses.field(default_factory=dict)
    fingerprint: str = ""
    id: int | None = None

    @property
    def type_name(self) -> str:
        return self.TYPE

    @property
    def path(self) -> Path:
        return Path(self.uri)

    def seal(self) -> Artifact:
        """Computes the fingerprint of the artifact's content."""
        self.fingerprint = fingerprint_folder(self.path)
        return self


class Examples(Artifact):
    """The ingested data (``data.npz`` for images, ``data.parquet`` for
    tables), normalised as the models read it."""

    TYPE = "Examples"


class Schema(Artifact):
    """The data's schema: column kinds, or image shape and classes."""

    TYPE = "Schema"


class Statistics(Artifact):
    """Summary statistics of the ingested data."""

    TYPE = "Statistics"


class Model(Artifact):
    """A trained model: a kerasynth run directory."""

    TYPE = "Model"


class Evaluation(Artifact):
    """The evaluation report: ``metrics.json``, figures, ``report.html``."""

    TYPE = "Evaluation"


class ModelBlessing(Artifact):
    """The gate's verdict: ``properties["blessed"]`` and the failures."""

    TYPE = "ModelBlessing"


class PushedModel(Artifact):
    """A SavedModel pushed to TF Serving's ``BASE/NAME/VERSION``."""

    TYPE = "PushedModel"


ARTIFACT_TYPES = {
    cls.TYPE: cls
    for cls in (Examples, Schema, Statistics, Model, Evaluation, ModelBlessing,
                PushedModel)
}  # fmt: skip


def fingerprint_folder(path: str | os.PathLike) -> str:
    """SHA-256 over a file or a folder's files (relative names and bytes)."""
    path = Path(path)
    digest = hashlib.sha256()
    files = (
        [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    )
    for file in files:
        digest.update(
            str(file.relative_to(path) if path.is_dir() else file.name).encode()
        )
        with open(file, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()
