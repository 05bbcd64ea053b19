"""Registering a model: the registry's dict and its decorator.

The models import this module (not `kerasynth.registry`, which imports the
models to look them up), so the imports point one way:
``kerasynth.registry -> kerasynth.models -> kerasynth.models.registration``.
"""

from __future__ import annotations

from collections.abc import Callable

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
