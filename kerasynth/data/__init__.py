"""Data sources and input pipelines.

`load_images` reads any image source into an `ImageData` and `load_table` any
table into a `TableData` (NumPy/PIL/pandas only, no TensorFlow);
`TableTransformer` encodes tables for the models. `make_dataset` turns images
into a batched `tf.data.Dataset` and is imported on first use, so
`import kerasynth.data` stays fast.
"""

from kerasynth.data.images import ImageData, load_images
from kerasynth.data.tables import TableData, load_table
from kerasynth.data.transformer import TableTransformer

__all__ = [
    "ImageData",
    "TableData",
    "TableTransformer",
    "load_images",
    "load_table",
    "make_dataset",
]


def __getattr__(name: str):
    # TensorFlow takes seconds to import: load the tf.data module lazily.
    if name == "make_dataset":
        from kerasynth.data.pipeline import make_dataset

        return make_dataset
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
