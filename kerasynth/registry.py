"""The model registry: one name -> one Keras model class.

A registry is a dict plus a decorator (as in tensorflow/models'
``official/core/registry.py``). ``@register_model("dcgan", task=...)`` (in
`kerasynth.models.registration`) also registers the class for Keras saving,
so ``keras.saving.load_model("model.keras")`` finds it without
``custom_objects``. The CLI, the pipelines and the notebooks look models up
here by name and never import model classes directly.
"""

from __future__ import annotations

import inspect
from typing import Any

import keras

import kerasynth.models  # noqa: F401  (registers the built-in models)
from kerasynth.models.registration import _MODELS, register_model

__all__ = ["get_model", "get_model_class", "list_models", "model_arguments",
           "register_model"]  # fmt: skip


def list_models() -> dict[str, type]:
    """Returns the registered models, by name, in alphabetical order."""
    return dict(sorted(_MODELS.items()))


def get_model_class(name: str) -> type:
    """Returns the class registered under `name`.

    Raises:
        ValueError: if no model has that name; the message lists the names.
    """
    models = list_models()
    if name not in models:
        raise ValueError(
            f"Unknown model {name!r}. Registered models: {', '.join(models)}."
        )
    return models[name]


def get_model(name: str, **kwargs: Any) -> keras.Model:
    """Builds the model registered under `name` with `kwargs`.

    Keyword arguments the model's constructor does not take raise a
    `ValueError` that lists the ones it does take.
    """
    cls = get_model_class(name)
    accepted = model_arguments(cls)
    unknown = sorted(set(kwargs) - set(accepted))
    if unknown:
        raise ValueError(
            f"Model {name!r} does not take {', '.join(unknown)}. "
            f"It takes: {', '.join(accepted)}."
        )
    return cls(**kwargs)


def model_arguments(cls: type) -> dict[str, Any]:
    """The constructor arguments of a model class and their defaults."""
    parameters = inspect.signature(cls.__init__).parameters.values()
    return {
        p.name: p.default
        for p in parameters
        if p.name != "self" and p.kind is p.POSITIONAL_OR_KEYWORD
    }
