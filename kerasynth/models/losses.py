"""Stateless loss functions shared by the models.

Every function returns a scalar: the mean over the (per-replica) batch. Call
`scale_for_replicas` on a loss before taking gradients under a
`tf.distribute` strategy, because the replicas' gradients are summed.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops


def scale_for_replicas(loss):
    """Divides `loss` by the number of replicas in sync (1 outside a strategy).

    Each replica averages over its share of the global batch and the
    optimizer sums the replicas' gradients, so the division makes the update
    equal to the one of the global-batch mean.
    """
    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    if replicas == 1:
        return loss
    return loss * ops.cast(1.0 / replicas, loss.dtype)


def gan_discriminator_loss(real_probs, fake_probs):
    """Binary cross-entropy of a discriminator: real -> 1, generated -> 0.

    The sum of the two halves, as in Radford et al. 2015 (DCGAN).
    """
    real = keras.losses.binary_crossentropy(ops.ones_like(real_probs), real_probs)
    fake = keras.losses.binary_crossentropy(ops.zeros_like(fake_probs), fake_probs)
    return ops.mean(real) + ops.mean(fake)


def gan_generator_loss(fake_probs):
    """Non-saturating generator loss: -log D(G(z)) (Goodfellow et al. 2014)."""
    return ops.mean(
        keras.losses.binary_crossentropy(ops.ones_like(fake_probs), fake_probs)
    )


def wasserstein_critic_loss(real_scores, fake_scores):
    """The WGAN critic loss: fake scores down, real scores up."""
    return ops.mean(fake_scores) - ops.mean(real_scores)


def wasserstein_generator_loss(fake_scores):
    """The WGAN generator loss: raise the critic's score of generated rows."""
    return -ops.mean(fake_scores)


def _penalty_at(critic, points):
    """E[(||grad critic(points)||_2 - 1)^2], the norm taken per row."""
    with tf.GradientTape() as tape:
        tape.watch(points)
        scores = critic(points, training=True)
    gradients = tape.gradient(scores, points)
    norms = tf.sqrt(tf.reduce_sum(tf.square(gradients), axis=-1) + 1e-12)
    return tf.reduce_mean(tf.square(norms - 1.0))


def gradient_penalty(critic, real, fake, seed):
    """WGAN-GP's penalty (Gulrajani et al. 2017) on random interpolates.

    Args:
        critic: the network; it must take ``training=True``.
        real, fake: ``[B, D]`` inputs of the critic (already packed, for
            PacGAN: one interpolation weight per pack).
        seed: a stateless ``[2]`` seed for the interpolation weights.
    """
    real = tf.cast(real, tf.float32)
    fake = tf.cast(fake, tf.float32)
    alpha = tf.random.stateless_uniform([tf.shape(real)[0], 1], seed=seed)
    return _penalty_at(critic, alpha * real + (1.0 - alpha) * fake)


def dragan_penalty(critic, real, seed):
    """DRAGAN's penalty (Kodali et al. 2017, "On Convergence and Stability of
    GANs"): the gradient norm is pushed to 1 around the real data, at points
    between each real row and a perturbation of it by up to half a standard
    deviation of each feature."""
    real = tf.cast(real, tf.float32)
    noise_seed, alpha_seed = tf.unstack(
        tf.random.experimental.stateless_split(tf.cast(seed, tf.int32), 2)
    )
    std = tf.math.reduce_std(real, axis=0, keepdims=True)
    perturbed = real + 0.5 * std * tf.random.stateless_uniform(
        tf.shape(real), seed=noise_seed
    )
    alpha = tf.random.stateless_uniform([tf.shape(real)[0], 1], seed=alpha_seed)
    return _penalty_at(critic, alpha * real + (1.0 - alpha) * perturbed)


def gan_discriminator_loss_from_logits(real_logits, fake_logits):
    """`gan_discriminator_loss` for a discriminator that outputs logits."""
    real = keras.losses.binary_crossentropy(
        ops.ones_like(real_logits), real_logits, from_logits=True
    )
    fake = keras.losses.binary_crossentropy(
        ops.zeros_like(fake_logits), fake_logits, from_logits=True
    )
    return ops.mean(real) + ops.mean(fake)


def gan_generator_loss_from_logits(fake_logits):
    """`gan_generator_loss` for a discriminator that outputs logits."""
    return ops.mean(
        keras.losses.binary_crossentropy(
            ops.ones_like(fake_logits), fake_logits, from_logits=True
        )
    )


def reparameterise(mean, log_var, seed):
    """A differentiable draw from N(mean, exp(log_var)): the
    reparameterisation trick of Kingma and Welling 2014.

    ``mean + exp(log_var / 2) * epsilon`` with ``epsilon ~ N(0, I)`` drawn
    statelessly from `seed`, so the gradient flows to `mean` and `log_var`
    and the same seed gives the same draw.

    Args:
        mean, log_var: the posterior's parameters, of the same shape.
        seed: a stateless ``[2]`` int32 seed (`GenerativeModel.fresh_seed`).
    """
    epsilon = tf.random.stateless_normal(tf.shape(mean), seed, dtype=mean.dtype)
    return mean + tf.exp(0.5 * log_var) * epsilon


def gaussian_kl(mean, log_var):
    """KL(N(mean, exp(log_var)) || N(0, I)), summed over the latent
    dimensions and averaged over the batch (Kingma and Welling 2014)."""
    mean = tf.cast(mean, tf.float32)
    log_var = tf.cast(log_var, tf.float32)
    per_row = -0.5 * tf.reduce_sum(
        1.0 + log_var - tf.square(mean) - tf.exp(log_var), axis=-1
    )
    return tf.reduce_mean(per_row)
