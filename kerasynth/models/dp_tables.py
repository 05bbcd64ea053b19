"""Table models trained with DP-SGD: `dp_tvae`.

A DP-SGD model is its non-private model with the update that reads the
training rows replaced by DP-SGD's (`kerasynth.privacy.dp_sgd`): for a VAE
the whole network's. `TableTask.prepare` gives them Poisson batches
and calls `plan_privacy` with the run's planned steps, which calibrates the
noise to ``--dp-epsilon`` and writes the record (`differential_privacy`).
The transformer is fitted on the public facts only, as for
`dp_gaussian_copula`.

A DPGAN (Xie et al. 2018: the study's `tabular_gan` with a DP-SGD
discriminator, the generator learning only through it) was built and
measured on OASIS-1 at epsilon 1-8 (`benchmarks/RESULTS.md`): every run
collapsed to one sex, sdmetrics quality 0.35-0.52, no better than its
untrained generator. It is not registered.

References: M. Abadi et al., *Deep Learning with Differential Privacy*,
CCS 2016; L. Xie, K. Lin, S. Wang, F. Wang, J. Zhou, *Differentially
Private Generative Adversarial Network*, 2018.
"""

from __future__ import annotations

from typing import ClassVar

import keras
import tensorflow as tf

from kerasynth.models import losses, spans
from kerasynth.models.registration import register_model
from kerasynth.models.tvae import TVAE
from kerasynth.privacy import accounting, dp_sgd

NOT_COVERED = [
    "the schema read off the data and treated as public: column kinds and "
    "dtypes, whole numbers, decimal places, and whether a column has missing "
    "values where --metadata does not say",
    "the bounds and categories themselves (public, from --metadata)",
    "the training logs (losses per epoch in history.csv, TensorBoard) are "
    "computed on the rows without noise, and the noise is drawn from the "
    "run's seed, which config.json records: share the synthetic rows or the "
    "export, not the run directory",
    "choosing hyperparameters by trying several on the same rows",
]


def batch_mean(values):
    """The mean over a batch's examples of their values (zeros for a batch
    that sampled no row, which Poisson sampling allows)."""
    count = tf.cast(tf.shape(values)[0], tf.float32)
    return tf.math.divide_no_nan(tf.reduce_sum(values, axis=0), count)


class PrivateTraining:
    """What a DP-SGD model adds to its model: the budget, `plan_privacy`,
    and `private_gradients` for its `train_step`.

    Args (of the models):
        epsilon, delta: the budget for the planned steps.
        noise_multiplier: instead of `epsilon`, the noise (epsilon is then
            computed for the planned steps).
        l2_norm_clip: each row's gradient is clipped to this L2 norm.
        differential_privacy: the record `plan_privacy` wrote (on loading).
    """

    differentially_private: ClassVar[bool] = True
    # How the budget is spent: TableTask.prepare gives Poisson batches and
    # calls plan_privacy.
    private_training: ClassVar[str] = "dp_sgd"
    covered: ClassVar[list[str]] = []

    def init_privacy(self, epsilon, delta, noise_multiplier, l2_norm_clip,
                     differential_privacy):  # fmt: skip
        if noise_multiplier is None:
            accounting.check_epsilon(epsilon)
        accounting.check_delta(delta)
        if not (isinstance(l2_norm_clip, int | float) and l2_norm_clip > 0):
            raise ValueError(f"l2_norm_clip must be > 0. Received: {l2_norm_clip!r}")
        self.epsilon, self.delta = epsilon, delta
        self.noise_multiplier = noise_multiplier
        self.l2_norm_clip = float(l2_norm_clip)
        self.differential_privacy = differential_privacy
        self.clipped_tracker = keras.metrics.Mean(name="clipped")

    def plan_privacy(self, *, num_examples, batch_size, steps):
        """Calibrates the noise for `steps` Poisson-sampled steps of expected
        size `batch_size` over `num_examples` rows, and records the budget."""
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        if replicas > 1:
            raise ValueError(
                f"DP-SGD trains on one replica here (each replica would add its "
                f"own noise, which the accounting does not cover). Received: "
                f"{replicas} replicas"
            )
        if keras.config.dtype_policy().name == "mixed_float16":
            raise ValueError(
                "DP-SGD clips the true gradients, which float16's loss scaling "
                "hides: use mixed_precision bfloat16 or none"
            )
        planned = dp_sgd.plan(
            num_examples=num_examples,
            batch_size=batch_size,
            steps=steps,
            epsilon=self.epsilon,
            delta=self.delta,
            noise_multiplier=self.noise_multiplier,
        )
        self.differential_privacy = {
            "mechanism": dp_sgd.MECHANISM,
            "epsilon": round(planned["epsilon"], 4),
            "delta": self.delta,
            "accountant": accounting.accountant_name(),
            "neighbouring": accounting.NEIGHBOURING,
            "noise_multiplier": round(planned["noise_multiplier"], 6),
            "l2_norm_clip": self.l2_norm_clip,
            "sampling": "Poisson",
            "sampling_rate": round(planned["sampling_rate"], 6),
            "expected_batch_size": batch_size,
            "steps": steps,
            "preprocessing": "public: bounds and categories from --metadata",
            "covered": list(self.covered)
            + [
                f"the planned {steps} steps; a run stopped early spent less, "
                "one trained on (a resume past them) more"
            ],
            "not_covered": NOT_COVERED,
        }

    def _planned(self):
        record = self.differential_privacy
        if not record or "expected_batch_size" not in record:
            raise RuntimeError(
                f"{type(self).__name__} trains only after plan_privacy (as "
                "kerasynth train and TableSynthesizer do)"
            )
        return record

    def private_gradients(self, loss_of_one, examples, variables):
        """`dp_sgd.private_gradients` with the planned noise and clip, noise
        from the model's seed generator; tracks the clipped share. Returns
        the gradients and each example's values of `loss_of_one`."""
        record = self._planned()
        gradients, clipped, values = dp_sgd.private_gradients(
            loss_of_one,
            examples,
            variables,
            l2_norm_clip=self.l2_norm_clip,
            noise_multiplier=record["noise_multiplier"],
            expected_batch_size=float(record["expected_batch_size"]),
            seed=self.fresh_seed(),
        )
        self.clipped_tracker.update_state(clipped)
        return gradients, values

    def privacy_config(self):
        return {
            "learning_rate": self.learning_rate,
            "epsilon": self.epsilon,
            "delta": self.delta,
            "noise_multiplier": self.noise_multiplier,
            "l2_norm_clip": self.l2_norm_clip,
            "differential_privacy": self.differential_privacy,
        }


@register_model("dp_tvae", task="tables")
class DPTVAE(PrivateTraining, TVAE):
    """TVAE (Xu et al. 2019) trained with DP-SGD on the whole network: each
    row's gradient of its own loss (reconstruction and KL) is clipped.
    Smaller by default than TVAE (latent 16, widths 64): the noise grows
    with the number of weights while a small table's signal does not. Args
    as `TVAE` and `PrivateTraining`.

    Measured on OASIS-1's 305 training rows at epsilon 3 (seed 0): quality
    0.68-0.71 for every length, batch and learning rate tried (20-100
    epochs, batches 64-128, 1e-3 to 1e-2), and 0.74-0.79 even at epsilon
    1,000 for 1,000 steps: TVAE needs thousands of steps (see `TVAE`), and
    clipped, noisy steps are dearer."""

    training_defaults = {"epochs": 50, "batch_size": 64}
    covered = ["every training row's influence on the encoder, decoder and sigmas"]

    def __init__(self, transformer, latent_dim=16, encoder_widths=(64, 64),
                 decoder_widths=(64, 64), loss_factor=2.0, seed=None,
                 learning_rate=5e-3, epsilon=3.0, delta=accounting.DEFAULT_DELTA,
                 noise_multiplier=None, l2_norm_clip=1.0,
                 differential_privacy=None, **kwargs):  # fmt: skip
        super().__init__(
            transformer,
            latent_dim=latent_dim,
            encoder_widths=encoder_widths,
            decoder_widths=decoder_widths,
            loss_factor=loss_factor,
            seed=seed,
            **kwargs,
        )
        self.learning_rate = float(learning_rate)
        self.init_privacy(
            epsilon, delta, noise_multiplier, l2_norm_clip, differential_privacy
        )

    def default_optimizer(self):
        return keras.optimizers.Adam(
            learning_rate=self.learning_rate, weight_decay=1e-5
        )

    @property
    def metrics(self):
        return [*super().metrics, self.clipped_tracker]

    def train_step(self, data):
        rows = data[0] if isinstance(data, tuple) else data
        noise = tf.random.stateless_normal(
            (tf.shape(rows)[0], self.latent_dim), self.seed_pair()
        )

        def loss_of_one(example):
            row, draw = example
            mean, log_var = tf.split(self.encoder(row, training=True), 2, axis=-1)
            latent = mean + tf.exp(0.5 * log_var) * draw
            raw = self.decoder(latent, training=True)
            reconstruction = spans.reconstruction_loss(
                row, raw, self.sigmas, self.spans
            )
            kl = losses.gaussian_kl(mean, log_var)
            return self.loss_factor * reconstruction + kl, reconstruction, kl

        variables = self.trainable_variables
        gradients, values = self.private_gradients(
            loss_of_one, (rows, noise), variables
        )
        self.optimizer.apply(gradients, variables)
        loss, reconstruction, kl = tf.unstack(batch_mean(values))
        return self.track(loss, reconstruction, kl)

    def get_config(self):
        return {**super().get_config(), **self.privacy_config()}
