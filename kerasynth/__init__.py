"""kerasynth: synthetic brain MRI and medical tables with Keras 3.

Importing the package is cheap: TensorFlow loads only when a model, the data
pipeline or training is first used.
"""

__version__ = "0.1.0"
