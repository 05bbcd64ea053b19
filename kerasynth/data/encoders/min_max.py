"""`MinMaxEncoder`: a numerical column min-max scaled to [0, 1]."""

from typing import TYPE_CHECKING

import numpy as np

from kerasynth.data.encoders.base import NumericalEncoder

if TYPE_CHECKING:  # TensorFlow is imported only inside the graph methods
    import tensorflow as tf


class MinMaxEncoder(NumericalEncoder):
    """A numerical column as one `"plain"` sigmoid number in [0, 1].

    The study's own simple encoding (its small GAN and VAE, `tabular_gan`
    and `tabular_vae`): `(value - min) / (max - min)` over the observed
    range (0 for a constant column). Decoding clips to [0, 1], scales back,
    then rounds like the real column. It does not model missing values:
    fitting on a column with some is an error.

    Args:
        column: the column's `ColumnSchema` (a numerical one).
    """

    name = "min_max"
    models_missing = False

    def shapes(self) -> list[tuple[str, str, int]]:
        return [("plain", "sigmoid", 1)]

    def encode_values(
        self,
        values: np.ndarray,
        missing: np.ndarray,
        block: np.ndarray,
        rng: np.random.Generator | None,
    ) -> None:
        del missing, rng  # no missing values; deterministic
        width = self.maximum - self.minimum
        block[:, 0] = (values - self.minimum) / width if width else values * 0.0

    def decode_values(self, block: np.ndarray) -> np.ndarray:
        unit = np.clip(block[:, 0], 0.0, 1.0)
        return unit * (self.maximum - self.minimum) + self.minimum

    def decode_values_graph(self, block: "tf.Tensor") -> "tf.Tensor":
        import tensorflow as tf

        low = tf.constant(self.minimum, tf.float64)
        high = tf.constant(self.maximum, tf.float64)
        unit = tf.clip_by_value(block[:, 0], 0.0, 1.0)
        return unit * (high - low) + low
