"""`OneHotEncoder`: a categorical column as a one-hot of its categories."""

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from kerasynth.data.encoders.base import CategoricalEncoder

if TYPE_CHECKING:  # TensorFlow is imported only inside the graph methods
    import tensorflow as tf


class OneHotEncoder(CategoricalEncoder):
    """A categorical column as a `"category"` span: a softmax one-hot.

    The categorical half of CTGAN's encoding (Xu et al. 2019, "Modeling
    Tabular Data using Conditional GAN", section 4.2), used by CTGAN, TVAE
    and DRAGAN. Missing values are one more category, so synthetic data
    keeps the real missing rate; the spans are also what CTGAN's condition
    vector covers. Decoding takes the category of the largest output.

    Args:
        column: the column's `ColumnSchema` (a categorical one).
    """

    name = "one_hot"

    def shapes(self) -> list[tuple[str, str, int]]:
        return [("category", "softmax", len(self.categories))]

    def encode(
        self, series: pd.Series, rng: np.random.Generator | None = None
    ) -> np.ndarray:
        del rng  # deterministic
        codes = self.codes(series)
        block = np.zeros((len(codes), len(self.categories)), dtype=np.float32)
        block[np.arange(len(codes)), codes] = 1.0
        return block

    def decode_codes(self, block: np.ndarray) -> np.ndarray:
        return np.argmax(block, axis=1)

    def decode_codes_graph(self, block: "tf.Tensor") -> "tf.Tensor":
        import tensorflow as tf

        return tf.argmax(block, axis=1)
