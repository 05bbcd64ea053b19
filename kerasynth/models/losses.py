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
