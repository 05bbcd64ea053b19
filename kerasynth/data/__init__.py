"""Data sources and input pipelines.

`load_images` reads any image source into an `ImageData` (NumPy/PIL only, no
TensorFlow); `make_dataset` turns it into a batched `tf.data.Dataset` and is
imported on first use, so `import kerasynth.data` stays fast.
"""

from kerasynth.data.images import ImageData, load_images

__all__ = ["ImageData", "load_images", "make_dataset"]


def __getattr__(name: str):
    # TensorFlow takes seconds to import: load the tf.data module lazily.
    if name == "make_dataset":
        from kerasynth.data.pipeline import make_dataset

        return make_dataset
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
