"""Keras' BatchNormalization, trained with TensorFlow's fused kernel.

Keras 3 normalizes a batch with a dozen small ops (moments, then
``tf.nn.batch_normalization``), and under ``mixed_bfloat16`` it first casts
the activations to float32 and back. TensorFlow's ``FusedBatchNormV3`` does
the same in one kernel (one gradient kernel), reads bfloat16 activations
directly and keeps its statistics in float32. In our DCGAN's training step
the unfused ops and their casts were about a tenth of the op time.

The class keeps Keras' name, so the weights' paths in a ``.keras`` file (which
Keras derives from the class name) stay those of
`keras.layers.BatchNormalization`: weights saved before load into it. A
``.keras`` file saved with it names ``kerasynth>BatchNormalization``, so
loading one needs kerasynth imported (as every kerasynth model does anyway).
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import layers


@keras.saving.register_keras_serializable(package="kerasynth")
class BatchNormalization(layers.BatchNormalization):
    """`keras.layers.BatchNormalization` with a fused training step.

    In training, on 4-D inputs normalized over the last axis (NHWC, what our
    convolutional networks use), the batch statistics and the normalization
    come from ``tf.compat.v1.nn.fused_batch_norm``. The moving statistics are
    updated as Keras does (``moving * momentum + batch * (1 - momentum)``,
    with the biased batch variance), so only rounding differs.
    Inference, masks, renormalization, synchronized statistics and other axes
    use Keras' own path.

    Args: those of `keras.layers.BatchNormalization`.
    """

    def _fused(self, inputs, training, mask):
        return (
            training
            and self.trainable
            and mask is None
            and not self.renorm
            and not self.synchronized
            and len(inputs.shape) == 4
            and self.axis in (-1, 3)
            and inputs.dtype in (tf.float32, tf.bfloat16)
        )

    def call(self, inputs, training=None, mask=None):
        if not self._fused(inputs, training, mask):
            return super().call(inputs, training=training, mask=mask)
        channels = inputs.shape[-1]
        scale = self.gamma if self.scale else tf.ones([channels], tf.float32)
        offset = self.beta if self.center else tf.zeros([channels], tf.float32)
        outputs, mean, variance = tf.compat.v1.nn.fused_batch_norm(
            inputs,
            tf.convert_to_tensor(scale),
            tf.convert_to_tensor(offset),
            epsilon=self.epsilon,
            is_training=True,
        )
        # The kernel returns the unbiased variance (n / (n - 1) times the one
        # it normalized with); Keras' moving variance tracks the biased one.
        count = tf.cast(tf.reduce_prod(tf.shape(inputs)[:-1]), tf.float32)
        variance = variance * ((count - 1.0) / tf.maximum(count, 1.0))
        momentum = self.momentum
        self.moving_mean.assign(self.moving_mean * momentum + mean * (1 - momentum))
        self.moving_variance.assign(
            self.moving_variance * momentum + variance * (1 - momentum)
        )
        return tf.cast(outputs, self.compute_dtype)
