"""The lineage store: every component run, its inputs, outputs, parameters.

`LineageStore` is the interface the runner talks to; `SqliteLineageStore`
implements it with the standard library's SQLite in the pipeline root, so no
server is needed (ML Metadata, which TFX uses, has no wheel for this
Python). A server-backed store implements the same five methods.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any, Protocol

from kerasynth.components.artifacts import ARTIFACT_TYPES, Artifact

LINEAGE_FILE = "lineage.sqlite"  # in the pipeline root
# What an export pushed by a pipeline keeps of where it came from.
LINEAGE_POINTER = Path("assets.extra") / "kerasynth_lineage.json"

SCHEMA = """
CREATE TABLE IF NOT EXISTS artifacts (
    id INTEGER PRIMARY KEY, type TEXT NOT NULL, uri TEXT NOT NULL,
    fingerprint TEXT NOT NULL, properties TEXT NOT NULL, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS executions (
    id INTEGER PRIMARY KEY, component TEXT NOT NULL, cache_key TEXT NOT NULL,
    parameters TEXT NOT NULL, status TEXT NOT NULL, started REAL NOT NULL,
    ended REAL, versions TEXT NOT NULL, error TEXT);
CREATE TABLE IF NOT EXISTS events (
    execution_id INTEGER NOT NULL, artifact_id INTEGER NOT NULL,
    kind TEXT NOT NULL, name TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS executions_by_key ON executions (cache_key, status);
"""


class LineageStore(Protocol):
    """What the pipeline runner needs from a lineage store."""

    def start(self, component: str, cache_key: str, parameters: dict,
              versions: dict) -> int: ...  # fmt: skip

    def finish(self, execution_id: int, inputs: dict[str, Artifact],
               outputs: dict[str, Artifact]) -> None: ...  # fmt: skip

    def fail(self, execution_id: int, error: str) -> None: ...

    def cached(self, cache_key: str) -> dict[str, Artifact] | None: ...

    def trace(self, artifact: Artifact) -> list[dict[str, Any]]: ...


class CorruptLineageError(ValueError):
    """The lineage store cannot be read."""


class SqliteLineageStore:
    """A `LineageStore` in one SQLite file (``<root>/lineage.sqlite``)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(self.path)
            self._db.executescript(SCHEMA)
        except sqlite3.DatabaseError as error:
            raise CorruptLineageError(
                f"Lineage store {self.path} cannot be read ({error}); move it "
                "away to start a new lineage."
            ) from None

    def close(self) -> None:
        self._db.close()

    def start(self, component, cache_key, parameters, versions) -> int:
        with self._db:
            cursor = self._db.execute(
                "INSERT INTO executions (component, cache_key, parameters, status,"
                " started, versions) VALUES (?, ?, ?, 'running', ?, ?)",
                (component, cache_key, json.dumps(parameters, sort_keys=True,
                                                  default=str), time.time(),
                 json.dumps(versions)),
            )  # fmt: skip
        return cursor.lastrowid

    def _record_artifact(self, artifact: Artifact) -> int:
        if artifact.id is not None:
            return artifact.id
        cursor = self._db.execute(
            "INSERT INTO artifacts (type, uri, fingerprint, properties, created)"
            " VALUES (?, ?, ?, ?, ?)",
            (artifact.type_name, str(artifact.uri), artifact.fingerprint,
             json.dumps(artifact.properties, default=str), time.time()),
        )  # fmt: skip
        artifact.id = cursor.lastrowid
        return artifact.id

    def finish(self, execution_id, inputs, outputs) -> None:
        with self._db:
            for kind, artifacts in (("input", inputs), ("output", outputs)):
                for name, artifact in artifacts.items():
                    self._db.execute(
                        "INSERT INTO events VALUES (?, ?, ?, ?)",
                        (execution_id, self._record_artifact(artifact), kind, name),
                    )
            self._db.execute(
                "UPDATE executions SET status='complete', ended=? WHERE id=?",
                (time.time(), execution_id),
            )

    def fail(self, execution_id, error) -> None:
        with self._db:
            self._db.execute(
                "UPDATE executions SET status='failed', ended=?, error=? WHERE id=?",
                (time.time(), error[:2000], execution_id),
            )

    def _artifact(self, row) -> Artifact:
        artifact_id, type_name, uri, fingerprint, properties = row
        cls = ARTIFACT_TYPES.get(type_name, Artifact)
        return cls(uri, json.loads(properties), fingerprint, artifact_id)

    def _outputs(self, execution_id) -> dict[str, Artifact]:
        rows = self._db.execute(
            "SELECT e.name, a.id, a.type, a.uri, a.fingerprint, a.properties "
            "FROM events e JOIN artifacts a ON a.id = e.artifact_id "
            "WHERE e.execution_id=? AND e.kind='output'",
            (execution_id,),
        ).fetchall()
        return {row[0]: self._artifact(row[1:]) for row in rows}

    def cached(self, cache_key) -> dict[str, Artifact] | None:
        """The outputs of the last complete execution with this key whose
        artifacts are still on disk, unchanged."""
        rows = self._db.execute(
            "SELECT id FROM executions WHERE cache_key=? AND status='complete' "
            "ORDER BY id DESC",
            (cache_key,),
        ).fetchall()
        from kerasynth.components.artifacts import fingerprint_folder

        for (execution_id,) in rows:
            outputs = self._outputs(execution_id)
            if outputs and all(
                a.path.exists() and fingerprint_folder(a.path) == a.fingerprint
                for a in outputs.values()
            ):
                return outputs
        return None

    def find(self, path: str | Path) -> Artifact | None:
        """The artifact whose folder is `path` or contains it."""
        path = Path(path).resolve()
        rows = self._db.execute(
            "SELECT id, type, uri, fingerprint, properties FROM artifacts "
            "ORDER BY id DESC"
        ).fetchall()
        for row in rows:
            uri = Path(row[2]).resolve()
            if path == uri or uri in path.parents:
                return self._artifact(row)
        return None

    def trace(self, artifact: Artifact) -> list[dict[str, Any]]:
        """The chain of executions from `artifact` back to the source: each
        step's component, parameters, time and its input artifacts."""
        chain, frontier, seen = [], [artifact.id], set()
        while frontier:
            artifact_id = frontier.pop()
            row = self._db.execute(
                "SELECT x.id, x.component, x.parameters, x.started, x.ended "
                "FROM events e JOIN executions x ON x.id = e.execution_id "
                "WHERE e.artifact_id=? AND e.kind='output' ORDER BY x.id DESC",
                (artifact_id,),
            ).fetchone()
            if row is None or row[0] in seen:
                continue
            seen.add(row[0])
            inputs = self._db.execute(
                "SELECT e.name, a.id, a.type, a.uri, a.fingerprint, a.properties "
                "FROM events e JOIN artifacts a ON a.id = e.artifact_id "
                "WHERE e.execution_id=? AND e.kind='input'",
                (row[0],),
            ).fetchall()
            chain.append({
                "execution": row[0], "component": row[1],
                "parameters": json.loads(row[2]), "started": row[3], "ended": row[4],
                "outputs": self._outputs(row[0]),
                "inputs": {i[0]: self._artifact(i[1:]) for i in inputs},
            })  # fmt: skip
            frontier.extend(i[1] for i in inputs)
        return sorted(chain, key=lambda step: -step["execution"])


def find_store(path: str | Path, root: str | Path | None = None) -> Path:
    """The lineage store that recorded `path`: the one in `root`, else the
    one a pushed export points to, else one in a folder above `path`.

    Raises:
        FileNotFoundError: `path` does not exist, or no store is found.
    """
    target = Path(path)
    if not target.exists():
        raise FileNotFoundError(f"No such file or folder: {target}")
    folders = (target, *target.parents)
    if root is None:
        pointer = next((f / LINEAGE_POINTER for f in folders
                        if (f / LINEAGE_POINTER).is_file()), None)  # fmt: skip
        if pointer is not None:
            root = json.loads(pointer.read_text())["pipeline_root"]
        else:
            root = next((f for f in folders if (f / LINEAGE_FILE).is_file()), None)
    if root is None or not (Path(root) / LINEAGE_FILE).is_file():
        raise FileNotFoundError(
            f"No lineage store found for {target}; pass --root PIPELINE_ROOT."
        )
    return Path(root) / LINEAGE_FILE


def describe_lineage(path: str | Path, root: str | Path | None = None) -> list[str]:
    """The lines of ``kerasynth lineage PATH``: the artifact, then each
    execution back to the source data, with its parameters and inputs."""
    store_path = find_store(path, root)
    store = SqliteLineageStore(store_path)
    try:
        artifact = store.find(path)
        if artifact is None:
            raise ValueError(
                f"{path} is not an artifact recorded in {store_path.parent}."
            )
        lines = [
            f"{artifact.type_name} {artifact.uri} (sha256 {artifact.fingerprint[:12]})"
        ]
        for step in store.trace(artifact):
            params = ", ".join(
                f"{k}={v}"
                for k, v in step["parameters"].items()
                if v not in (None, "", {}, [])
            )
            lines.append(
                f"  <- {step['component']} (execution {step['execution']}): {params}"
            )
            for output in step["outputs"].values():
                budget = output.properties.get("differential_privacy")
                if budget:
                    lines.append(
                        f"       differential privacy: epsilon {budget['epsilon']}, "
                        f"delta {budget['delta']} ({budget['accountant']})"
                    )
            for name, source in step["inputs"].items():
                lines.append(
                    f"       {name}: {source.type_name} {source.uri} "
                    f"(sha256 {source.fingerprint[:12]})"
                )
            if not step["inputs"]:
                facts = step["outputs"]["examples"].properties
                fingerprint = facts.get("source_fingerprint", "unknown")
                lines.append(f"       source data fingerprint: {fingerprint}")
        return lines
    finally:
        store.close()
