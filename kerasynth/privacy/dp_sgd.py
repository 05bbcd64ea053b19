"""DP-SGD in a custom `train_step`: Poisson batches, per-example clipping,
Gaussian noise, and its accounting.

Abadi et al. 2016: each step takes a batch in which every training row is
present with probability ``q`` (Poisson sampling, independently per row and
step, so a batch's size varies), computes every row's gradient, clips each
to L2 norm ``C``, adds Gaussian noise of standard deviation ``sigma * C`` to
their sum and divides by the *expected* batch size ``q * n``. A row then
moves the update by at most ``C / (q n)`` whether it is in the batch or not,
and the RDP accountant of `dp-accounting` composes the ``T`` steps of the
sampled Gaussian mechanism (Mironov, Talwar and Zhang 2019) into
``(epsilon, delta)``. What the optimizer does with the noisy gradient
(Adam's moments, weight decay) is post-processing.

Here the batches come from `poisson_batches` (a `tf.data` pipeline over the
rows in memory, seeded per step) and the gradients from `private_gradients`
(per-example gradients with `tf.vectorized_map`). Under `MirroredStrategy`
each replica clips its share of the Poisson batch and adds noise of
``1 / sqrt(replicas)`` the deviation; the optimizer's sum over replicas then
carries the planned noise once (several workers are refused: each would
draw its own batches).

References: M. Abadi, A. Chu, I. Goodfellow, H. B. McMahan, I. Mironov,
K. Talwar, L. Zhang, *Deep Learning with Differential Privacy*, CCS 2016;
I. Mironov, K. Talwar, L. Zhang, *Renyi Differential Privacy of the Sampled
Gaussian Mechanism*, 2019.
"""

from __future__ import annotations

import logging
import math

import numpy as np
import tensorflow as tf

from kerasynth.privacy import accounting


class _PforFallbacks(logging.Filter):
    """Drops TensorFlow's "<op> uses a while_loop. Fix that!" warnings:
    `tf.vectorized_map` has no vectorised rule for some gradients (a
    convolution's filter gradient) and runs those per example in a loop,
    which is correct and what DP-SGD needs; the warning tells a user nothing
    they can act on."""

    def filter(self, record):
        return "uses a while_loop" not in record.getMessage()


logging.getLogger("tensorflow").addFilter(_PforFallbacks())

MECHANISM = (
    "DP-SGD (Abadi et al. 2016): Poisson-sampled batches, each row's gradient "
    "clipped to l2_norm_clip, Gaussian noise of noise_multiplier * l2_norm_clip "
    "on their sum"
)


def dp_sgd_event(sampling_rate: float, noise_multiplier: float, steps: int):
    """The `DpEvent` of `steps` Poisson-sampled Gaussian steps."""
    import dp_accounting

    step = dp_accounting.PoissonSampledDpEvent(
        float(sampling_rate), dp_accounting.GaussianDpEvent(float(noise_multiplier))
    )
    return dp_accounting.SelfComposedDpEvent(step, int(steps))


def sampling_rate(num_examples: int, batch_size: int) -> float:
    """``q = batch_size / num_examples``: the expected batch is `batch_size`.
    A batch as large as the table is refused (it would sample every row)."""
    if batch_size >= num_examples:
        raise ValueError(
            f"DP-SGD samples each row with probability batch_size / rows: "
            f"batch_size must be below the {num_examples} training rows. "
            f"Received: batch_size={batch_size}"
        )
    return batch_size / num_examples


def poisson_batches(rows: np.ndarray, rate: float, seed: int) -> tf.data.Dataset:
    """An endless dataset of Poisson batches of `rows`: batch ``i`` keeps
    each row with probability `rate`, by uniforms seeded with ``(seed, i)``
    (the same seed, the same batches). Sizes vary, and may be zero."""
    rows = tf.constant(rows, tf.float32)
    count = int(rows.shape[0])

    def batch(step):
        draw = tf.random.stateless_uniform(
            [count], tf.stack([tf.cast(seed, tf.int64), step])
        )
        return tf.boolean_mask(rows, draw < rate)

    return tf.data.Dataset.counter().map(batch).prefetch(2)


def clipped_gradient_sum(loss_of_one, examples, variables, l2_norm_clip):
    """The sum over `examples` of each one's gradient of `loss_of_one`,
    clipped to L2 norm `l2_norm_clip` (over all `variables` together); the
    examples' unclipped gradient norms; and what `loss_of_one` returned for
    each (``[examples, values]``).

    Args:
        loss_of_one: a function of one example (each tensor of `examples`
            with a leading axis of 1) to a scalar loss, or to a tuple of
            scalars whose first is the loss (the others are only reported).
        examples: a tensor or a nest of tensors with a leading batch axis
            (an empty batch gives zero sums).
        variables: what to differentiate.
        l2_norm_clip: the clipping norm ``C``.
    """

    def one(example):
        example = tf.nest.map_structure(lambda t: t[None], example)
        with tf.GradientTape() as tape:
            values = loss_of_one(example)
            values = tuple(values) if isinstance(values, tuple | list) else (values,)
        gradients = tape.gradient(
            values[0], variables, unconnected_gradients=tf.UnconnectedGradients.ZERO
        )
        gradients = [tf.cast(g, tf.float32) for g in gradients]
        # Not tf.linalg.global_norm: pfor has no converter for its L2Loss.
        norm = tf.sqrt(tf.add_n([tf.reduce_sum(tf.square(g)) for g in gradients]))
        scale = tf.minimum(1.0, l2_norm_clip / tf.maximum(norm, 1e-12))
        reported = tf.stack([tf.cast(tf.reshape(v, []), tf.float32) for v in values])
        return [g * scale for g in gradients], norm, reported

    gradients, norms, values = tf.vectorized_map(one, examples)
    return [tf.reduce_sum(g, axis=0) for g in gradients], norms, values


def private_gradients(
    loss_of_one,
    examples,
    variables,
    *,
    l2_norm_clip: float,
    noise_multiplier: float,
    expected_batch_size: float,
    seed,
):
    """DP-SGD's gradient: the clipped per-example gradients summed, Gaussian
    noise of standard deviation ``noise_multiplier * l2_norm_clip`` added
    (drawn statelessly from `seed`, a ``[2]`` int32 tensor), divided by the
    expected batch size. Returns the gradients (one per variable, in its
    dtype), the share of examples whose gradient was clipped, and the
    examples' values of `loss_of_one` (see `clipped_gradient_sum`)."""
    summed, norms, values = clipped_gradient_sum(
        loss_of_one, examples, variables, l2_norm_clip
    )
    seeds = tf.random.experimental.stateless_split(
        tf.cast(seed, tf.int32), len(variables)
    )
    # Under a distribution strategy each replica clips its share of the
    # batch and adds noise of 1/sqrt(replicas) the deviation, with its own
    # seed: the optimizer sums the replicas' gradients, so the sum carries
    # the planned noise once.
    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    std = noise_multiplier * l2_norm_clip / math.sqrt(replicas)
    gradients = [
        tf.cast(
            (total + tf.random.stateless_normal(tf.shape(total), seeds[i], stddev=std))
            / expected_batch_size,
            variable.dtype,
        )
        for i, (total, variable) in enumerate(zip(summed, variables, strict=True))
    ]
    clipped = tf.reduce_mean(tf.cast(norms > l2_norm_clip, tf.float32))
    clipped = tf.where(tf.size(norms) > 0, clipped, 0.0)
    return gradients, clipped, values


def plan(
    *,
    num_examples: int,
    batch_size: int,
    steps: int,
    epsilon: float | None,
    delta: float,
    noise_multiplier: float | None,
) -> dict:
    """The noise for a run: `noise_multiplier` if given (epsilon computed),
    else the smallest one that spends `epsilon` at `delta` in `steps`
    Poisson-sampled steps at rate ``batch_size / num_examples``. Returns
    ``{"sampling_rate", "steps", "noise_multiplier", "epsilon", "delta"}``."""
    rate = sampling_rate(num_examples, batch_size)
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive integer. Received: {steps!r}")
    accounting.check_delta(delta)

    def event(multiplier):
        return dp_sgd_event(rate, multiplier, steps)

    if noise_multiplier is None:
        noise_multiplier = accounting.calibrate(event, epsilon, delta)
    elif not (isinstance(noise_multiplier, int | float) and noise_multiplier > 0):
        raise ValueError(
            f"noise_multiplier must be > 0. Received: {noise_multiplier!r}"
        )
    spent = accounting.epsilon(event(noise_multiplier), delta)
    if not math.isfinite(spent):
        raise ValueError(
            f"noise_multiplier {noise_multiplier} spends an unbounded epsilon "
            f"in {steps} steps: give more noise or fewer steps"
        )
    return {
        "sampling_rate": rate,
        "steps": steps,
        "noise_multiplier": float(noise_multiplier),
        "epsilon": spent,
        "delta": delta,
    }
