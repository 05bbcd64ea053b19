"""kerasynth: synthetic brain MRI and medical tables with Keras 3.

Importing the package is cheap: TensorFlow loads only when a model, the data
pipeline or training is first used. The models register with Keras as soon
as Keras is imported, so ``keras.saving.load_model("run/model.keras")`` works
after ``import kerasynth`` in either order.
"""

from kerasynth import _keras_hook

__version__ = "0.1.0"

_keras_hook.install()

__all__ = ["TableSynthesizer"]


def __getattr__(name: str):
    if name == "TableSynthesizer":
        from kerasynth.synthesizer import TableSynthesizer

        return TableSynthesizer
    raise AttributeError(f"module 'kerasynth' has no attribute {name!r}")
