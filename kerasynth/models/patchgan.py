"""The PatchGAN discriminator of the study's Pix2Pix (Isola et al. 2017).

It judges overlapping patches of the (input, target) pair instead of the
whole image: a 7x7 map of probabilities at 64x64.
"""

from __future__ import annotations

import keras
from keras import layers

from kerasynth.models.batch_normalization import BatchNormalization


def build_patchgan(
    image_size,
    channels,
    filters=64,
    dtype=None,
    name="discriminator",
    extra_channels=0,
):
    """(input, target) images -> a map of patch probabilities.

    Conv 4x4/2 with bias: 64 (LeakyReLU 0.2), 128 and 256 (BatchNorm,
    LeakyReLU 0.2), then a 1-channel 4x4 convolution (stride 1, padding 1)
    and a float32 sigmoid. At 64x64 with 3 channels: 666,817 trainable
    parameters and a 7x7 patch map, the study's figures. `extra_channels`
    widens the source (a conditional model's label maps).
    """
    source = keras.Input(
        (image_size, image_size, channels + extra_channels), name="source"
    )
    target = keras.Input((image_size, image_size, channels), name="target")
    x = layers.Concatenate(dtype=dtype)([source, target])  # (bs, 64, 64, 2C)
    for block, width in enumerate((filters, filters * 2, filters * 4)):
        # (bs, 32, 32, 64), (bs, 16, 16, 128), (bs, 8, 8, 256)
        x = layers.Conv2D(width, 4, strides=2, padding="same", dtype=dtype)(x)
        if block > 0:
            x = BatchNormalization(momentum=0.9, epsilon=1e-5, dtype=dtype)(x)
        x = layers.LeakyReLU(negative_slope=0.2, dtype=dtype)(x)
    x = layers.ZeroPadding2D(1, dtype=dtype)(x)  # (bs, 10, 10, 256)
    x = layers.Conv2D(1, 4, dtype=dtype)(x)  # (bs, 7, 7, 1)
    outputs = layers.Activation("sigmoid", dtype="float32", name="patches")(x)
    return keras.Model([source, target], outputs, name=name)
