"""`QuantileEncoder`: a number as its normal score (a quantile transform)."""

from typing import TYPE_CHECKING

import numpy as np
from scipy import special

from kerasynth.data.encoders.base import NumericalEncoder
from kerasynth.data.schema import ColumnSchema

if TYPE_CHECKING:  # TensorFlow is imported only inside the graph methods
    import tensorflow as tf


class QuantileEncoder(NumericalEncoder):
    """A number as the standard normal quantile of its empirical CDF.

    The numerical preprocessing of TabDDPM (Kotelnikov, Baranchuk, Rubachev
    and Babenko, "TabDDPM: Modelling Tabular Data with Diffusion Models",
    ICML 2023, section 4): a Gaussian diffusion starts from N(0, 1) and
    ends best on data that is N(0, 1) in every column, whatever the
    column's skew or modes.

    - fit: `num_quantiles` knots (one per value for a shorter column), the
      column's quantiles from its minimum to its maximum, placed at the
      plotting positions ``(i + 1/2) / n`` of the CDF: with one knot per
      value, the ``i``-th smallest value is at ``(i + 1/2) / n``.
    - encode: the CDF ``u`` by linear interpolation between the knots (a tie
      takes the middle of its step, so a value repeated in a tenth of the
      rows sits at the middle of its tenth), then ``z = Phi^-1(u)``: a
      column of 305 rows spans [-2.9, 2.9] (`bound`), never the +-5.2 of a
      CDF clipped at 1e-7.
    - decode: ``u = Phi(z)`` read back through the knots; any real ``z``
      lands in the observed range, and every value of the fitted column
      comes back as itself.
    - a column with missing values has a "missing" span (width 2, softmax,
      ``[present, missing]``), decoded by argmax; its missing rows are
      encoded at ``z = 0``, the median.

    Args:
        column: the column's `ColumnSchema` (a numerical one).
        num_quantiles: most knots of the quantile function.
    """

    name = "quantile"
    options = ("num_quantiles",)
    state = NumericalEncoder.state + ("levels", "knots")

    def __init__(self, column: ColumnSchema, *, num_quantiles: int = 1000):
        if not isinstance(num_quantiles, (int, np.integer)) or num_quantiles < 2:
            raise ValueError(
                f"`num_quantiles` must be an integer >= 2. Received: {num_quantiles=}"
            )
        super().__init__(column)
        self.num_quantiles = int(num_quantiles)

    def shapes(self) -> list[tuple[str, str, int]]:
        shapes = [("value", "linear", 1)]
        if self.column.missing:
            shapes.append(("missing", "softmax", 2))
        return shapes

    @property
    def bound(self) -> float:
        """The largest absolute normal score `encode` gives."""
        return float(special.ndtri(self.levels[-1]))

    def fit_values(self, present: np.ndarray, rng: np.random.Generator | None) -> None:
        del rng  # deterministic
        count = max(min(self.num_quantiles, present.size), 2)
        self.levels = [float(v) for v in (np.arange(count) + 0.5) / count]
        self.knots = [float(v) for v in np.quantile(present, np.linspace(0, 1, count))]

    def encode_values(
        self,
        values: np.ndarray,
        missing: np.ndarray,
        block: np.ndarray,
        rng: np.random.Generator | None,
    ) -> None:
        del rng  # deterministic
        levels, knots = np.asarray(self.levels), np.asarray(self.knots)
        filled = np.where(missing, knots[len(knots) // 2], values)
        # The middle of a tie: interpolate from the left and from the right.
        rising = np.interp(filled, knots, levels)
        falling = 1.0 - np.interp(-filled, -knots[::-1], 1.0 - levels[::-1])
        cdf = 0.5 * (rising + falling)
        block[:, 0] = np.where(missing, 0.0, special.ndtri(cdf))
        if self.column.missing:
            rows = np.arange(len(values))
            block[rows, 1 + missing.astype(np.int64)] = 1.0

    def decode_values(self, block: np.ndarray) -> np.ndarray:
        cdf = special.ndtr(block[:, 0])
        return np.interp(cdf, self.levels, self.knots)

    def decode_values_graph(self, block: "tf.Tensor") -> "tf.Tensor":
        import tensorflow as tf

        cdf = 0.5 * (1.0 + tf.math.erf(block[:, 0] / np.sqrt(2.0)))
        return interpolate_graph(cdf, self.levels, self.knots)

    def decode_missing(self, block: np.ndarray) -> np.ndarray | None:
        if not self.column.missing:
            return None
        return np.argmax(block[:, 1:3], axis=1) == 1

    def decode_missing_graph(self, block: "tf.Tensor") -> "tf.Tensor | None":
        if not self.column.missing:
            return None
        import tensorflow as tf

        return tf.equal(tf.argmax(block[:, 1:3], axis=1), 1)


def interpolate_graph(x: "tf.Tensor", xp, fp) -> "tf.Tensor":
    """`np.interp` in TensorFlow ops: float64 `x` on the increasing knots
    `xp` (Python floats) with values `fp`, constant beyond the ends."""
    import tensorflow as tf

    xp = tf.constant(xp, tf.float64)
    fp = tf.constant(fp, tf.float64)
    x = tf.clip_by_value(x, xp[0], xp[-1])
    right = tf.clip_by_value(
        tf.searchsorted(xp, x, side="right"), 1, tf.size(xp, out_type=tf.int32) - 1
    )
    x0, x1 = tf.gather(xp, right - 1), tf.gather(xp, right)
    y0, y1 = tf.gather(fp, right - 1), tf.gather(fp, right)
    span = x1 - x0
    weight = tf.where(span > 0, (x - x0) / tf.where(span > 0, span, 1.0), 0.0)
    return y0 + weight * (y1 - y0)
