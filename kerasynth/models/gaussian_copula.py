"""The Gaussian copula table synthesizer: a floor for the neural table models.

Empirical marginals tied by a Gaussian copula (Sklar 1959), as the copula
synthesizers of Li, Xiong and Jiang 2014 (DPCopula, here without its privacy
noise) and SDV's ``GaussianCopulaSynthesizer``: the correlation of two
numbers from Kendall's tau (DPCopula-Kendall), that of a pair with a
category or a missing flag from normal scores. It learns nothing by
gradient: `adapt` fits its statistics in well under a second, and
`kerasynth.tasks.TableTask` calls it before ``fit``, whose single epoch
leaves them as they are.
"""

from __future__ import annotations

from typing import ClassVar

import keras
import tensorflow as tf

from kerasynth.models.copula_generator import CopulaGenerator
from kerasynth.models.registration import register_model
from kerasynth.models.table_base import TableGenerativeModel, as_transformer


@register_model("gaussian_copula", task="tables")
class GaussianCopula(TableGenerativeModel):
    """Empirical marginals and a Gaussian copula (Sklar 1959; Li et al. 2014).

    Each column is a set of ordered intervals of the uniform: a category (a
    missing category too) takes the interval its frequency spans, a number
    is read off its empirical quantile function, and a numerical column
    with missing values has a missing flag, a Bernoulli that is one more
    dimension of the copula. The copula's correlation is ``sin(pi tau /
    2)`` of Kendall's tau for two numbers, and for a pair with a discrete
    column the Pearson correlation of their normal scores corrected for
    discreteness (the polyserial estimator); the matrix is projected onto
    the correlation matrices (`kerasynth.models.copulas`). Sampling is
    TensorFlow ops in float64 (`CopulaGenerator`), so an exported ``sample``
    gives `generate`'s rows.
    A condition on one categorical column is met exactly: its latent value
    is drawn in its category's interval and the others from the Gaussian
    conditional; several conditions fall back on rejection sampling.

    The statistics are non-trainable weights, filled by `adapt`; ``fit``
    runs a `train_step` that changes nothing (one epoch by default).

    Args:
        transformer: the fitted `TableTransformer` (``mode_specific``) or its
            config.
        num_quantiles: knots of each numerical column's quantile function.
        seed: seed of the model's `keras.random.SeedGenerator` (the noise of
            `generate(seed=None)`).

    Example:

    >>> transformer = TableTransformer(seed=0).fit(frame)
    >>> model = GaussianCopula(transformer)
    >>> model.adapt(frame)
    >>> rows = model.generate(100, seed=0, conditions={"M/F": "F"})
    """

    training_defaults = {"epochs": 1, "batch_size": 500}
    trains_by_gradient = False
    # Whether `adapt` estimates the copula's correlation (`IndependentColumns`
    # keeps the identity).
    correlated: ClassVar[bool] = True

    def __init__(self, transformer, num_quantiles=1000, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.transformer = as_transformer(transformer)
        self.num_quantiles = num_quantiles
        self.seed = seed
        self.generator = CopulaGenerator(self.transformer, num_quantiles, name="copula")
        self.latent_dim = self.generator.latent_dim
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.rows_tracker = keras.metrics.Mean(name="rows")
        self.built = True

    def adapt(self, frame):
        """Fits the marginals and the copula on the rows of `frame`."""
        self.generator.adapt(frame, correlated=self.correlated)

    # === Training: nothing to optimise ===

    def compile(self, *, run_eagerly=False, jit_compile="auto", steps_per_execution=1):
        """Configures ``fit``; there is no optimizer (no trainable weight)."""
        config = {
            "run_eagerly": run_eagerly,
            "jit_compile": jit_compile,
            "steps_per_execution": steps_per_execution,
        }
        super().compile(optimizer=None, **config)
        self._kerasynth_compile_config = config

    def get_compile_config(self):
        if not getattr(self, "compiled", False):
            return None
        return dict(self._kerasynth_compile_config)

    def compile_from_config(self, config):
        self.compile(**config)

    @property
    def metrics(self):
        return [self.rows_tracker]

    def train_step(self, data):
        """Changes nothing: the statistics come from `adapt`. Logs ``rows``,
        the number of rows they were fitted on (0 before `adapt`)."""
        self.rows_tracker.update_state(self.generator.rows)
        return {m.name: m.result() for m in self.metrics}

    # === Sampling ===

    def _noise(self, num_samples, seed):
        shape = (num_samples, self.latent_dim)
        seed = tf.cast(seed, tf.int32)
        return tf.random.stateless_normal(shape, seed, dtype=tf.float64)

    def sample_matrix(self, num_samples, seed, cond=None):
        """Rows in the transformer's layout from a stateless ``[2]`` seed."""
        return self.generator(self._noise(num_samples, seed))

    def sample_conditional_matrix(self, num_samples, seed, keys):
        """`sample_matrix` with every row in the given categories: exact for
        one ``column=value`` key, rejection sampling for several."""
        if len(keys) != 1:
            return super().sample_conditional_matrix(num_samples, seed, keys)
        found = self._lookup(tf.convert_to_tensor(keys, tf.string))
        condition = (found["columns"][0], tf.cast(found["indices"][0], tf.int32))
        return self.generator(self._noise(num_samples, seed), condition=condition)

    def call(self, noise, training=False):
        return self.generator(noise)

    def get_config(self):
        return {
            **super().get_config(),
            "num_quantiles": self.num_quantiles,
            "seed": self.seed,
        }
