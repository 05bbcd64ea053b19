"""`OrdinalEncoder`: a categorical column as one number in [0, 1]."""

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from kerasynth.data.encoders.base import CategoricalEncoder

if TYPE_CHECKING:  # TensorFlow is imported only inside the graph methods
    import tensorflow as tf


class OrdinalEncoder(CategoricalEncoder):
    """A categorical column as one `"plain"` sigmoid number: `code / (n - 1)`.

    The study's own simple encoding (its small GAN and VAE, `tabular_gan`
    and `tabular_vae`): the index of the value among the sorted categories,
    scaled to [0, 1]. Decoding takes the nearest code. It does not model
    missing values: fitting on a column with some is an error.

    Args:
        column: the column's `ColumnSchema` (a categorical one).
    """

    name = "ordinal"
    models_missing = False

    def shapes(self) -> list[tuple[str, str, int]]:
        return [("plain", "sigmoid", 1)]

    def encode(
        self, series: pd.Series, rng: np.random.Generator | None = None
    ) -> np.ndarray:
        del rng  # deterministic
        codes = self.codes(series)
        block = np.zeros((len(codes), 1), dtype=np.float32)
        block[:, 0] = codes / max(len(self.categories) - 1, 1)
        return block

    def decode_codes(self, block: np.ndarray) -> np.ndarray:
        unit = np.clip(block[:, 0], 0.0, 1.0)
        return np.round(unit * (len(self.categories) - 1)).astype(np.int64)

    def decode_codes_graph(self, block: "tf.Tensor") -> "tf.Tensor":
        import tensorflow as tf

        unit = tf.clip_by_value(block[:, 0], 0.0, 1.0)
        return tf.cast(tf.round(unit * float(len(self.categories) - 1)), tf.int64)
