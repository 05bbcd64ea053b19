"""The U-Net generator of the study's Pix2Pix (its Figure 4; Isola et al. 2017).

A shallow U-Net: three strided convolutions down, three transposed
convolutions up, with skip connections that *add* the encoder's features
(the study's choice, which its parameter counts show; Isola et al.
concatenate them).
"""

from __future__ import annotations

import keras
from keras import layers

from kerasynth.models.batch_normalization import BatchNormalization


def build_unet(
    image_size, channels, filters=64, dtype=None, name="generator", extra_channels=0
):
    """Images in [-1, 1] -> images in [-1, 1], same shape.

    At 64x64 with 3 channels and ``filters=64``: 1,318,659 trainable
    parameters, the study's count.

    Args:
        image_size: side of the images (a multiple of 8).
        channels: image channels (input and output).
        filters: width of the first convolution (then 2x and 4x).
        dtype: the layers' dtype policy (`None`: Keras' global policy).
        name: the model's name.
        extra_channels: input channels beyond the image's (a conditional
            model's label maps).
    """

    def down(x, width, norm):
        x = layers.Conv2D(width, 4, strides=2, padding="same", dtype=dtype)(x)
        if norm:
            x = BatchNormalization(momentum=0.9, epsilon=1e-5, dtype=dtype)(x)
        return layers.LeakyReLU(negative_slope=0.2, dtype=dtype)(x)

    def up(x, width):
        x = layers.Conv2DTranspose(width, 4, strides=2, padding="same", dtype=dtype)(x)
        x = BatchNormalization(momentum=0.9, epsilon=1e-5, dtype=dtype)(x)
        return layers.ReLU(dtype=dtype)(x)

    inputs = keras.Input(
        (image_size, image_size, channels + extra_channels), name="images"
    )
    skip1 = down(inputs, filters, norm=False)  # (bs, 32, 32, 64)
    skip2 = down(skip1, filters * 2, norm=True)  # (bs, 16, 16, 128)
    x = down(skip2, filters * 4, norm=True)  # (bs, 8, 8, 256)
    x = layers.Add(dtype=dtype)([up(x, filters * 2), skip2])  # (bs, 16, 16, 128)
    x = layers.Add(dtype=dtype)([up(x, filters), skip1])  # (bs, 32, 32, 64)
    x = layers.Conv2DTranspose(channels, 4, strides=2, padding="same", dtype=dtype)(
        x
    )  # (bs, 64, 64, C)
    outputs = layers.Activation("tanh", dtype="float32", name="translated")(x)
    return keras.Model(inputs, outputs, name=name)
