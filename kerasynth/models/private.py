"""What a model trained with DP-SGD adds to its model (`PrivateTraining`).

The model's `train_step` computes its update with `private_gradients`
(`kerasynth.privacy.dp_sgd`); its task gives it Poisson batches
(`Task.private_batches`) and `kerasynth.training` calls `plan_privacy` with
the run's planned steps, which calibrates the noise to the budget and
writes the record (`differential_privacy`, saved in the model's config).
"""

from __future__ import annotations

from typing import ClassVar

import keras
import tensorflow as tf

from kerasynth.privacy import accounting, dp_sgd

NOT_COVERED = [
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
        learning_rate: the optimizer's (DP-SGD wants its own).
        differential_privacy: the record `plan_privacy` wrote (on loading).
    """

    differentially_private: ClassVar[bool] = True
    # How the budget is spent: the task gives Poisson batches
    # (`Task.private_batches`), and training calls plan_privacy.
    private_training: ClassVar[str] = "dp_sgd"
    # In words, for the record: what the guarantee covers, what it does not,
    # and how the preprocessing was kept from reading the data.
    covered: ClassVar[list[str]] = []
    not_covered: ClassVar[list[str]] = NOT_COVERED
    preprocessing: ClassVar[str] = ""

    def init_privacy(self, epsilon, delta, noise_multiplier, l2_norm_clip,
                     differential_privacy, learning_rate):  # fmt: skip
        if noise_multiplier is None:
            accounting.check_epsilon(epsilon)
        accounting.check_delta(delta)
        if not (isinstance(l2_norm_clip, int | float) and l2_norm_clip > 0):
            raise ValueError(f"l2_norm_clip must be > 0. Received: {l2_norm_clip!r}")
        self.epsilon, self.delta = epsilon, delta
        self.noise_multiplier = noise_multiplier
        self.l2_norm_clip = float(l2_norm_clip)
        self.differential_privacy = differential_privacy
        self.learning_rate = float(learning_rate)
        # The share of a batch's examples whose gradient was clipped.
        self.clipped_tracker = keras.metrics.Mean(name="clipped")

    @property
    def metrics(self):
        return [*super().metrics, self.clipped_tracker]

    def plan_privacy(self, *, num_examples, batch_size, steps):
        """Calibrates the noise for `steps` Poisson-sampled steps of expected
        size `batch_size` over `num_examples` rows, and records the budget."""
        if isinstance(tf.distribute.get_strategy(),
                      tf.distribute.MultiWorkerMirroredStrategy):  # fmt: skip
            raise ValueError(
                "DP-SGD draws its Poisson batches from the rows in one process: "
                "train on one machine (one or several replicas), not multi-worker"
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
            "preprocessing": self.preprocessing,
            "covered": list(self.covered)
            + [
                f"the planned {steps} steps; a run stopped early spent less, "
                "one trained on (a resume past them) more"
            ],
            "not_covered": list(self.not_covered),
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

    def get_config(self):
        return {**super().get_config(), **self.privacy_config()}

    def privacy_config(self):
        return {
            "learning_rate": self.learning_rate,
            "epsilon": self.epsilon,
            "delta": self.delta,
            "noise_multiplier": self.noise_multiplier,
            "l2_norm_clip": self.l2_norm_clip,
            "differential_privacy": self.differential_privacy,
        }
