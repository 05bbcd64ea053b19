"""`ModeSpecificEncoder`: CTGAN's mode-specific normalisation of a number."""

import warnings
from typing import TYPE_CHECKING

import numpy as np

from kerasynth.data.encoders.base import NumericalEncoder
from kerasynth.data.schema import ColumnSchema

if TYPE_CHECKING:  # TensorFlow is imported only inside the graph methods
    import tensorflow as tf

# Most rows the mixture is fitted on; bigger columns use a seeded subsample.
MAX_FIT_ROWS = 10_000
# Most rows x iterations of the variational mixture fit: 100 iterations (the
# paper's code) on MAX_FIT_ROWS rows, up to MAX_ITERATIONS on small columns.
ITERATION_BUDGET = 100 * MAX_FIT_ROWS
MIN_ITERATIONS, MAX_ITERATIONS = 100, 1000
_ALPHA_LIMIT = 0.99
_STD_MULTIPLE = 4.0  # alpha = (c - mean) / (4 std): the paper's scale


def check_mode_options(max_modes: int, weight_threshold: float) -> None:
    """Raises a `ValueError` for an invalid `max_modes` or `weight_threshold`."""
    if not _is_int(max_modes) or max_modes < 1:
        raise ValueError(f"`max_modes` must be an integer >= 1. Received: {max_modes=}")
    if not isinstance(weight_threshold, (int, float)) or not (
        0.0 <= weight_threshold < 1.0
    ):
        raise ValueError(
            "`weight_threshold` must be a number in [0, 1). "
            f"Received: {weight_threshold=}"
        )


class ModeSpecificEncoder(NumericalEncoder):
    """A number as a tanh "value" and a softmax "mode": mode-specific normalisation.

    Xu et al. 2019, "Modeling Tabular Data using Conditional GAN"
    (NeurIPS), section 4.2, the numerical encoding of CTGAN, TVAE and DRAGAN.
    A single min-max number squeezes a multi-modal column (OASIS age:
    young controls and old patients) into a narrow band the generator must
    hit exactly; modelling each mode separately keeps every value in range.

    - the column is modelled by a variational Gaussian mixture
      (scikit-learn's `BayesianGaussianMixture`, Dirichlet-process prior with
      concentration 0.001, up to `max_modes` components); components with a
      weight above `weight_threshold` are its modes. For speed the mixture is
      fitted on the standardised values of at most `MAX_FIT_ROWS` rows (a
      seeded subsample of bigger columns), with k-means++ seeding instead of
      a full k-means run and diagonal covariances (the same model in one
      dimension): six times faster on OASIS (about 0.03 s a column).
      The fit runs for up to `ITERATION_BUDGET / rows` iterations (between
      100 and 1,000): stopped at the paper code's 100, the mixture on a small
      column has not converged (OASIS-1's eTIV, nWBV and ASF, 305 rows, need
      130-430) and keeps a redundant mode on top of another; since a value's
      mode is drawn, such a mode is noise in the encoding that a model must
      learn, and a TVAE trained on it keeps less of eTIV~ASF (r -0.87
      against -0.90, real -0.99) and of the pair trends (0.88 against 0.90).
    - a value `c` becomes a "value" span (width 1, tanh)
      `alpha = (c - mean_k) / (4 std_k)` clipped to [-0.99, 0.99] and a
      "mode" span (softmax), the one-hot of its mode `k`. As in the paper, `k`
      is *sampled* from the mode probabilities
      `rho_k ~ weight_k N(c; mean_k, std_k)`, not taken as the most probable
      mode: a value between two modes is encoded under either, in proportion.
    - a column with missing values also gets a "missing" span (width 2,
      softmax, `[present, missing]`); its missing rows are encoded with
      `alpha = 0` under the heaviest mode.

    Decoding takes the mode and the missing flag by argmax and computes
    `alpha * 4 std_k + mean_k` (alpha clipped to [-1, 1]).

    Args:
        column: the column's `ColumnSchema` (a numerical one).
        max_modes: most mixture components.
        weight_threshold: a component is a mode when its weight exceeds this.
    """

    name = "mode_specific"
    options = ("max_modes", "weight_threshold")
    state = NumericalEncoder.state + ("means", "stds", "weights")

    def __init__(
        self,
        column: ColumnSchema,
        *,
        max_modes: int = 10,
        weight_threshold: float = 0.005,
    ):
        check_mode_options(max_modes, weight_threshold)
        super().__init__(column)
        self.max_modes = int(max_modes)
        self.weight_threshold = float(weight_threshold)

    @property
    def num_modes(self) -> int:
        return len(self.means)

    @property
    def missing_mode(self) -> int:
        """The heaviest mode, under which missing rows are encoded."""
        return int(np.argmax(self.weights))

    def shapes(self) -> list[tuple[str, str, int]]:
        shapes = [("value", "tanh", 1), ("mode", "softmax", self.num_modes)]
        if self.column.missing:
            shapes.append(("missing", "softmax", 2))
        return shapes

    def fit_values(self, present: np.ndarray, rng: np.random.Generator | None) -> None:
        """Fits the variational Gaussian mixture; keeps the modes by mean."""
        rng = np.random.default_rng(0) if rng is None else rng
        if np.unique(present).size == 1:
            self.means, self.stds, self.weights = [float(present[0])], [1.0], [1.0]
            return
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.mixture import BayesianGaussianMixture

        if present.size > MAX_FIT_ROWS:
            present = rng.choice(present, MAX_FIT_ROWS, replace=False)
        # Standardised values keep the mixture's fixed regularisation (1e-6
        # on variances) meaningful whatever the column's units.
        center, scale = float(present.mean()), float(present.std())
        mixture = BayesianGaussianMixture(
            n_components=min(self.max_modes, present.size),
            covariance_type="diag",
            weight_concentration_prior_type="dirichlet_process",
            weight_concentration_prior=0.001,
            init_params="k-means++",
            max_iter=mixture_iterations(present.size),
            random_state=int(rng.integers(2**31 - 1)),
        )
        with warnings.catch_warnings():
            # A big column may stop before convergence; its modes are
            # settled by then, and there are data enough to learn them.
            warnings.simplefilter("ignore", ConvergenceWarning)
            mixture.fit(((present - center) / scale)[:, None])
        keep = mixture.weights_ > self.weight_threshold
        if not keep.any():
            keep = mixture.weights_ == mixture.weights_.max()
        means = mixture.means_[keep, 0] * scale + center
        stds = np.sqrt(mixture.covariances_[keep, 0]) * scale
        weights = mixture.weights_[keep] / mixture.weights_[keep].sum()
        order = np.argsort(means, kind="stable")
        self.means = [float(v) for v in means[order]]
        self.stds = [float(v) for v in stds[order]]
        self.weights = [float(v) for v in weights[order]]

    def encode_values(
        self,
        values: np.ndarray,
        missing: np.ndarray,
        block: np.ndarray,
        rng: np.random.Generator | None,
    ) -> None:
        rng = np.random.default_rng(0) if rng is None else rng
        present = np.where(missing, self.means[self.missing_mode], values)
        modes = self._draw_modes(present, rng)
        modes[missing] = self.missing_mode
        means, stds = np.asarray(self.means), np.asarray(self.stds)
        alpha = (present - means[modes]) / (_STD_MULTIPLE * stds[modes])
        alpha = np.clip(alpha, -_ALPHA_LIMIT, _ALPHA_LIMIT)
        alpha[missing] = 0.0
        rows = np.arange(len(values))
        block[:, 0] = alpha
        block[rows, 1 + modes] = 1.0
        if self.column.missing:
            block[rows, 1 + self.num_modes + missing.astype(np.int64)] = 1.0

    def _draw_modes(self, values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Samples each value's mode from rho_k ~ weight_k N(value; mean_k, std_k)."""
        means, stds = np.asarray(self.means), np.asarray(self.stds)
        log_rho = (
            np.log(np.asarray(self.weights))
            - np.log(stds)
            - 0.5 * ((values[:, None] - means) / stds) ** 2
        )
        log_rho -= log_rho.max(axis=1, keepdims=True)
        rho = np.exp(log_rho)
        cumulative = np.cumsum(rho / rho.sum(axis=1, keepdims=True), axis=1)
        draws = rng.random(len(values))[:, None]
        return np.minimum((cumulative < draws).sum(axis=1), len(means) - 1)

    def decode_values(self, block: np.ndarray) -> np.ndarray:
        alpha = np.clip(block[:, 0], -1.0, 1.0)
        modes = np.argmax(block[:, 1 : 1 + self.num_modes], axis=1)
        means, stds = np.asarray(self.means), np.asarray(self.stds)
        return alpha * _STD_MULTIPLE * stds[modes] + means[modes]

    def decode_values_graph(self, block: "tf.Tensor") -> "tf.Tensor":
        import tensorflow as tf

        alpha = tf.clip_by_value(block[:, 0], -1.0, 1.0)
        modes = tf.argmax(block[:, 1 : 1 + self.num_modes], axis=1)
        means = tf.gather(tf.constant(self.means, tf.float64), modes)
        stds = tf.gather(tf.constant(self.stds, tf.float64), modes)
        return alpha * _STD_MULTIPLE * stds + means

    def decode_missing(self, block: np.ndarray) -> np.ndarray | None:
        if not self.column.missing:
            return None
        start = 1 + self.num_modes
        return np.argmax(block[:, start : start + 2], axis=1) == 1

    def decode_missing_graph(self, block: "tf.Tensor") -> "tf.Tensor | None":
        if not self.column.missing:
            return None
        import tensorflow as tf

        start = 1 + self.num_modes
        return tf.equal(tf.argmax(block[:, start : start + 2], axis=1), 1)


def mixture_iterations(rows: int) -> int:
    """Most iterations of the mixture fit on `rows` values: the paper code's
    100 on `MAX_FIT_ROWS` rows, more on smaller columns (at most 1,000), so
    that a small column's fit converges at no more cost than a big one's."""
    return int(
        np.clip(ITERATION_BUDGET // max(rows, 1), MIN_ITERATIONS, MAX_ITERATIONS)
    )


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)
