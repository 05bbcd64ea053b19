"""kerasynth: synthetic brain MRI and medical tables with Keras 3.

Importing the package is cheap: TensorFlow loads only when a model, the data
pipeline or training is first used.
"""

__version__ = "0.1.0"

__all__ = ["TableSynthesizer"]


def __getattr__(name: str):
    if name == "TableSynthesizer":
        from kerasynth.synthesizer import TableSynthesizer

        return TableSynthesizer
    raise AttributeError(f"module 'kerasynth' has no attribute {name!r}")
