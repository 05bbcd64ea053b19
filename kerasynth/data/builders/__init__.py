"""TFDS dataset builders; importing this package registers them with TFDS.

`kerasynth.data.catalog` imports it before looking a dataset up, so
`load_images("tfds:brain_tumor_mri")` finds the builder. It imports
`tensorflow_datasets` (and TensorFlow), so nothing imports it eagerly.
"""

from kerasynth.data.builders.brain_tumor_mri import BrainTumorMri

__all__ = ["BrainTumorMri"]
