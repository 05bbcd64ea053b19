"""`CopulaGenerator`: standard normal noise -> table rows, by a Gaussian copula.

The layer of the reference table models (`gaussian_copula`, `independent`):
it holds their fitted statistics as non-trainable weights, fills them in
`adapt` (as `keras.layers.Normalization.adapt` does) and maps noise to rows
in the transformer's mode-specific layout, in TensorFlow ops, so that the
exported ``sample`` signature runs it as `generate` does. The math is in
`kerasynth.models.copulas`.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from kerasynth.data.column_values import numeric_values
from kerasynth.data.encoders.mode_specific import _STD_MULTIPLE as STD_MULTIPLE
from kerasynth.models import copulas
from kerasynth.models.table_base import as_transformer


class CopulaGenerator(keras.layers.Layer):
    """Noise ``[n, latent_dim]`` -> rows ``[n, output_dim]`` through a
    Gaussian copula with empirical marginals.

    One latent dimension per column, in the table's order, then one per
    numerical column with missing values (its missing flag, a Bernoulli tied
    into the copula like any other column). The noise is made
    ``z ~ N(0, correlation)``; a categorical column takes the category whose
    interval of the uniform holds ``Phi(z)``; a number is its empirical
    quantile function at ``Phi(z)``, linear between `num_quantiles` knots,
    written in the transformer's layout (the value under its nearest mode,
    whose one-hot it sets); a missing flag is set in the top ``missing
    rate`` of its uniform.

    Weights (non-trainable float32): ``correlation`` ``[latent_dim,
    latent_dim]``, ``probabilities`` per categorical column (padded with 0
    to the most categories), ``quantiles`` ``[numerical, num_quantiles]``,
    ``missing_rates`` per numerical column with missing values, and
    ``rows``, the number of rows `adapt` saw. Before `adapt` they hold what
    the transformer knows: its category frequencies, each number uniform over
    its range, no missing numbers, independent columns.

    Args:
        transformer: a fitted `TableTransformer` with
            ``encoding="mode_specific"``.
        num_quantiles: knots of each numerical column's quantile function.
    """

    def __init__(self, transformer, num_quantiles=1000, **kwargs):
        # Full precision whatever the global policy: quantiles and
        # thresholds in bfloat16 would move every value.
        super().__init__(**{"dtype": "float32", "autocast": False, **kwargs})
        transformer = as_transformer(transformer)
        if transformer.encoding != "mode_specific":
            raise ValueError(
                "The copula models write the mode_specific layout. Received a "
                f"transformer with encoding={transformer.encoding!r}"
            )
        if not isinstance(num_quantiles, int) or num_quantiles < 2:
            raise ValueError(
                "num_quantiles must be an integer >= 2. "
                f"Received: num_quantiles={num_quantiles}"
            )
        self.transformer = transformer
        self.num_quantiles = num_quantiles
        schema = transformer.schema
        encoders = transformer.get_config()["columns"]
        self.categorical = [  # (dim, column, number of categories)
            (dim, column.name, len(encoders[dim]["categories"]))
            for dim, column in enumerate(schema.columns)
            if column.kind == "categorical"
        ]
        self.numerical = [  # (dim, column, its encoder's fitted state)
            (dim, column.name, encoders[dim])
            for dim, column in enumerate(schema.columns)
            if column.kind == "numerical"
        ]
        with_missing = [c.name for c in schema.columns if c.missing]
        self.missing_dims = {  # numerical column -> the dim of its missing flag
            name: len(schema.columns) + index
            for index, name in enumerate(
                name for _, name, _ in self.numerical if name in with_missing
            )
        }
        self.latent_dim = len(schema.columns) + len(self.missing_dims)
        most = max((count for _, _, count in self.categorical), default=1)
        probabilities = np.zeros((len(self.categorical), most), np.float32)
        for index, (_, name, count) in enumerate(self.categorical):
            counts = np.asarray(transformer.category_counts(name), np.float32)
            probabilities[index, :count] = counts / counts.sum()
        quantiles = np.array(
            [
                np.linspace(state["minimum"], state["maximum"], num_quantiles)
                for _, _, state in self.numerical
            ],
            np.float32,
        ).reshape(len(self.numerical), num_quantiles)
        self.correlation = self._statistic("correlation", np.eye(self.latent_dim))
        self.probabilities = self._statistic("probabilities", probabilities)
        self.quantiles = self._statistic("quantiles", quantiles)
        self.missing_rates = self._statistic(
            "missing_rates", np.zeros(len(self.missing_dims))
        )
        self.rows = self._statistic("rows", np.zeros(()))
        self.built = True

    def _statistic(self, name, value):
        return self.add_weight(
            name=name,
            shape=np.shape(value),
            initializer=keras.initializers.Constant(np.asarray(value, np.float32)),
            trainable=False,
            dtype="float32",
        )

    # === Fitting ===

    def adapt(self, frame, correlated=True):
        """Fits the statistics on the rows of `frame`.

        Args:
            frame: a DataFrame with the transformer's columns (values it
                has not seen are an error, as in `TableTransformer.transform`).
            correlated: estimate the copula's correlation (`copulas`); with
                `False` it stays the identity (independent columns).
        """
        encoded = self.transformer.transform(frame)
        one_hots = {s.column: s for s in self.transformer.spans if s.kind == "category"}
        scores = np.full((len(frame), self.latent_dim), np.nan)
        probabilities = np.zeros(self.probabilities.shape)
        for index, (dim, name, count) in enumerate(self.categorical):
            span = one_hots[name]
            codes = encoded[:, span.start : span.end].argmax(axis=1)
            probabilities[index, :count] = np.bincount(codes, minlength=count)
            probabilities[index] /= len(frame)
            scores[:, dim] = copulas.category_scores(
                codes, probabilities[index, :count]
            )
        quantiles = np.zeros(self.quantiles.shape)
        rates = np.zeros(self.missing_rates.shape)
        for index, (dim, name, _) in enumerate(self.numerical):
            values = numeric_values(name, frame[name])
            missing = np.isnan(values)
            if missing.all():
                raise ValueError(f"Column {name!r} has no values to fit on")
            quantiles[index] = copulas.quantile_knots(values, self.num_quantiles)
            scores[:, dim] = copulas.value_scores(values)
            if name in self.missing_dims:
                flag = self.missing_dims[name]
                rates[flag - len(self.transformer.columns)] = missing.mean()
                scores[:, flag] = copulas.category_scores(
                    missing.astype(np.int64), [1.0 - missing.mean(), missing.mean()]
                )
        self.probabilities.assign(probabilities)
        self.quantiles.assign(quantiles)
        self.missing_rates.assign(rates)
        self.correlation.assign(
            copulas.latent_correlation(scores, [dim for dim, _, _ in self.numerical])
            if correlated
            else np.eye(self.latent_dim)
        )
        self.rows.assign(float(len(frame)))

    # === Sampling ===

    def category_bounds(self):
        """Each categorical column's category intervals on the latent scale,
        float64 ``[categorical, most + 1]``: ``-inf``, then
        ``Phi^-1(cumulative probability)`` (``inf`` from the last category on)."""
        probabilities = tf.cast(self.probabilities, tf.float64)
        cumulative = tf.cumsum(probabilities, axis=1)
        cumulative /= cumulative[:, -1:]  # the last is exactly 1: Phi^-1 is inf
        edges = tf.concat([tf.zeros_like(cumulative[:, :1]), cumulative], axis=1)
        return copulas.standard_normal().quantile(edges)

    def call(self, noise, condition=None):
        """Rows from standard normal `noise` ``[n, latent_dim]``.

        Args:
            noise: standard normal draws (any float dtype; used in float64).
            condition: `None`, or ``(column, category)`` int scalars: the
                index of a categorical column (among the categorical ones) and
                of one of its categories; every row then has that category,
                the other columns drawn from the copula's conditional.
        """
        noise = tf.cast(noise, tf.float64)
        correlation = tf.cast(self.correlation, tf.float64)
        bounds = self.category_bounds()
        if condition is None:
            latent = tf.matmul(noise, tf.linalg.cholesky(correlation), transpose_b=True)
        else:
            column, category = condition
            dims = tf.constant([dim for dim, _, _ in self.categorical], tf.int32)
            dim = tf.gather(dims, column)
            value = copulas.truncated_normal(
                tf.gather(noise, dim, axis=1),
                bounds[column, category],
                bounds[column, category + 1],
            )
            latent = copulas.conditioned_latent(noise, correlation, dim, value)
        return self.layout(latent, bounds)

    def layout(self, latent, bounds):
        """Copula draws ``z`` ``[n, latent_dim]`` -> rows in the transformer's
        layout, float32 (values in [-1, 1], one-hots)."""
        blocks = {}
        for index, (dim, name, count) in enumerate(self.categorical):
            inner = bounds[index, 1:count]  # [count - 1]
            codes = tf.reduce_sum(
                tf.cast(latent[:, dim : dim + 1] > inner[None, :], tf.int32), axis=1
            )
            blocks[name] = [tf.one_hot(codes, count, dtype=tf.float64)]
        if self.numerical:
            dims = [dim for dim, _, _ in self.numerical]
            uniform = copulas.standard_normal().cdf(tf.gather(latent, dims, axis=1))
            values = tfp.math.batch_interp_regular_1d_grid(
                tf.transpose(uniform), 0.0, 1.0, tf.cast(self.quantiles, tf.float64)
            )  # [numerical, n]
        for index, (_, name, state) in enumerate(self.numerical):
            blocks[name] = self._mode_blocks(values[index], state)
            if name in self.missing_dims:
                blocks[name].append(self._missing_block(latent, name))
        rows = [block for name in self.transformer.columns for block in blocks[name]]
        return tf.cast(tf.concat(rows, axis=1), tf.float32)

    def _mode_blocks(self, values, state):
        # The value under its nearest mode (in that mode's standard
        # deviations: the smallest alpha), as ModeSpecificEncoder writes it.
        means = tf.constant(state["means"], tf.float64)
        stds = tf.constant(state["stds"], tf.float64)
        mode = tf.argmin(tf.abs(values[:, None] - means) / stds, axis=1)
        alpha = (values - tf.gather(means, mode)) / (
            STD_MULTIPLE * tf.gather(stds, mode)
        )
        alpha = tf.clip_by_value(alpha, -1.0, 1.0)
        return [alpha[:, None], tf.one_hot(mode, len(state["means"]), dtype=tf.float64)]

    def _missing_block(self, latent, name):
        # [present, missing]: missing in the top `rate` of the flag's uniform.
        dim = self.missing_dims[name]
        rate = self.missing_rates[dim - len(self.transformer.columns)]
        threshold = copulas.standard_normal().quantile(1.0 - tf.cast(rate, tf.float64))
        missing = tf.cast(latent[:, dim] > threshold, tf.float64)
        return tf.stack([1.0 - missing, missing], axis=1)

    def get_config(self):
        return {
            **super().get_config(),
            "transformer": self.transformer.get_config(),
            "num_quantiles": self.num_quantiles,
        }
