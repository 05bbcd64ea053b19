"""Runs a pipeline: its steps in order, each through the cache and the
lineage store, with one status line per component."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kerasynth.components.artifacts import Artifact
from kerasynth.components.component import Component, execute
from kerasynth.components.lineage import LINEAGE_FILE, SqliteLineageStore
from kerasynth.versions import package_versions

logger = logging.getLogger("kerasynth")


@dataclasses.dataclass
class Step:
    """One component in a pipeline: its inputs are outputs of earlier steps,
    named ``"step.output"``."""

    component: Component
    inputs: dict[str, str] = dataclasses.field(default_factory=dict)
    parameters: dict[str, Any] = dataclasses.field(default_factory=dict)
    name: str = ""

    def __post_init__(self):
        self.name = self.name or self.component.name


@dataclasses.dataclass
class PipelineResult:
    """Every step's outputs, and which came from the cache."""

    outputs: dict[str, dict[str, Artifact]]
    cached: dict[str, bool]

    def artifact(self, reference: str) -> Artifact:
        step, output = reference.split(".")
        return self.outputs[step][output]


def run_pipeline(
    steps: list[Step],
    root: str | Path,
    *,
    use_cache: bool = True,
    status: Callable[[str], None] = print,
) -> PipelineResult:
    """Runs `steps` in order under `root` (artifacts and ``lineage.sqlite``).

    A step whose inputs and parameters are unchanged reuses its recorded
    outputs; a failing step publishes nothing and stops the pipeline, and
    running it again resumes after the last completed step (which the cache
    serves).
    """
    root = Path(root)
    store = SqliteLineageStore(root / LINEAGE_FILE)
    versions = package_versions()
    outputs: dict[str, dict[str, Artifact]] = {}
    cached: dict[str, bool] = {}
    try:
        for step in steps:
            inputs = {}
            for name, reference in step.inputs.items():
                source_step, output = reference.split(".")
                inputs[name] = outputs[source_step][output]
            try:
                result = execute(step.component, inputs, step.parameters, root,
                                 store, versions, use_cache)  # fmt: skip
            except BaseException as error:
                status(f"{step.name:<10} failed   {type(error).__name__}: {error}")
                raise
            outputs[step.name], cached[step.name] = result.outputs, result.cached
            described = ", ".join(
                f"{a.type_name}" + (f" ({_facts(a)})" if _facts(a) else "")
                for a in result.outputs.values()
            )
            state = "cached" if result.cached else "done"
            status(f"{step.name:<10} {state:<8} {result.seconds:7.1f} s  {described}")
    finally:
        store.close()
    return PipelineResult(outputs, cached)


def _facts(artifact: Artifact) -> str:
    keys = (
        "rows",
        "epochs",
        "blessed",
        "quality",
        "formless_share",
        "copy_share",
        "version",
    )
    return ", ".join(
        f"{k} {artifact.properties[k]}" for k in keys if k in artifact.properties
    )
