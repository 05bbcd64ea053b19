"""The export component: a blessed `Model` -> `PushedModel` in TF Serving's
``BASE/NAME/VERSION`` layout. An unblessed model is refused (the error names
the failed thresholds) unless ``force=True``."""

from __future__ import annotations

import json

from kerasynth.components.artifacts import Model, ModelBlessing, PushedModel
from kerasynth.components.component import Input, Output, component
from kerasynth.components.lineage import LINEAGE_POINTER


class ExportRefused(ValueError):
    """The model did not pass the evaluation gate."""


@component
def export(
    model: Input[Model],
    blessing: Input[ModelBlessing],
    pushed: Output[PushedModel],
    *,
    serving_dir: str,
    name: str | None = None,
    force: bool = False,
):
    """Pushes the model's generator as a SavedModel, if blessed (or forced)."""
    from kerasynth.export import export_run

    if not blessing.properties.get("blessed") and not force:
        failures = "; ".join(blessing.properties.get("failures", [])) or "no verdict"
        raise ExportRefused(
            f"Export refused: the model is not blessed ({failures}). Loosen the "
            "thresholds or pass force=True (--force) to push it anyway."
        )
    version = export_run(model.uri, serving_dir, name)
    # The SavedModel carries a pointer back to its lineage.
    pointer = {"pipeline_root": str(pushed.path.parents[2]), "model": model.uri}
    (version / LINEAGE_POINTER).write_text(json.dumps(pointer, indent=2))
    pushed.uri = str(version)
    pushed.properties.update(
        name=version.parent.name,
        version=int(version.name),
        forced=not blessing.properties.get("blessed"),
    )
