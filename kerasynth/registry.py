"""The model registry: one name -> one Keras model class.

A registry is a dict plus a decorator (as in tensorflow/models'
``official/core/registry.py``). ``@register_model("dcgan")`` also registers the
class for Keras saving, so ``keras.saving.load_model("model.keras")`` finds it
without ``custom_objects``. The CLI, the pipelines and the notebooks look models
up here by name and never import model classes directly.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from typing import Any

import keras

_MODELS: dict[str, type] = {}


def register_model(name: str, *, task: str) -> Callable[[type], type]:
    """Class decorator: register a model under `name` and for Keras saving.

    Args:
        name: the registry name, used by ``kerasynth train --model NAME``.
        task: the name of the model's family in `kerasynth.tasks`
            (``latent_images``, ``translation``, ``tables``), which decides
            how data meets the model.

    Example:

    ```python
    @register_model("dcgan", task="latent_images")
    class DCGAN(AdversarialModel): ...
    ```
    """

    def decorator(cls: type) -> type:
        if name in _MODELS and _MODELS[name] is not cls:
            raise ValueError(
                f"A model is already registered under the name {name!r}: "
                f"{_MODELS[name].__qualname__}."
            )
        cls = keras.saving.register_keras_serializable(
            package="kerasynth", name=cls.__name__
        )(cls)
        cls.registry_name = name
        cls.task = task
        _MODELS[name] = cls
        return cls

    return decorator


def _load_builtin_models() -> None:
    # Importing the models package runs every @register_model decorator.
    importlib.import_module("kerasynth.models")


def list_models() -> dict[str, type]:
    """Returns the registered models, by name, in alphabetical order."""
    _load_builtin_models()
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
