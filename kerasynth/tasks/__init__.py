"""Tasks: one per model family, the only place that knows how a family
meets its data (see `kerasynth.tasks.base.Task`).

The registry records each model's task by name
(``@register_model("pix2pix", task="translation")``); `task_of` gives the
task of a model, a model class or a registered name.
"""

from __future__ import annotations

from typing import Any

from kerasynth import registry
from kerasynth.tasks.base import Task, TrainingInput
from kerasynth.tasks.diffusion_images import DiffusionImageTask
from kerasynth.tasks.latent_images import LatentImageTask
from kerasynth.tasks.tables import TableTask
from kerasynth.tasks.translation import TranslationTask

__all__ = ["Task", "TrainingInput", "get_task", "task_of", "list_tasks"]

_TASKS: dict[str, Task] = {
    task.name: task
    for task in (
        LatentImageTask(),
        DiffusionImageTask(),
        TranslationTask(),
        TableTask(),
    )
}


def list_tasks() -> dict[str, Task]:
    """The tasks, by name."""
    return dict(_TASKS)


def get_task(name: str) -> Task:
    """The task called `name`; a `ValueError` lists the known ones."""
    if name not in _TASKS:
        raise ValueError(f"Unknown task {name!r}. Tasks: {', '.join(_TASKS)}.")
    return _TASKS[name]


def task_of(model: Any) -> Task:
    """The task of a model instance, a model class or a registered name."""
    if isinstance(model, str):
        model = registry.get_model_class(model)
    return get_task(model.task)
