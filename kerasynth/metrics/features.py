"""Learned feature spaces that need no download.

FID and KID are usually computed on Inception features, which need a
download and were trained on photographs, not on MRI. Here the features come
from an encoder trained in the project on the real images: a trained
Beta-VAE's encoder (its first output, the latent mean), or the small
autoencoder (or classifier, when labels exist) that `train_feature_encoder`
fits in seconds on a CPU. `EncoderFeatures` turns either into the feature
function that `kerasynth.metrics.image` expects, with a name for reports.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
import numpy as np
from keras import layers

from kerasynth import runtime


class EncoderFeatures:
    """A feature function ``images -> [n, D]`` from an encoder-like callable.

    Calls the encoder batch by batch (Keras layers and models in inference
    mode), keeps its first output when it returns several (a VAE encoder's
    latent mean), and flattens the rest of each sample.

    Args:
        encoder: a Keras model or layer, or any callable taking an
            ``[n, H, W, C]`` float32 batch.
        batch_size: images per call.
        name: the feature space's name in reports; by default derived from
            the encoder's name.

    Example:

    ```python
    features = EncoderFeatures(vae.encoder, name="Beta-VAE latent mean")
    image_fidelity(real, fake, features=features)
    ```
    """

    def __init__(
        self,
        encoder: Callable[..., Any],
        batch_size: int = 64,
        name: str | None = None,
    ):
        if not callable(encoder):
            raise ValueError(f"encoder must be callable. Received: encoder={encoder!r}")
        if batch_size < 1:
            raise ValueError(
                f"batch_size must be >= 1. Received: batch_size={batch_size}"
            )
        self.encoder = encoder
        self.batch_size = batch_size
        label = getattr(encoder, "name", None) or type(encoder).__name__
        self.name = name or f"encoder {label!r} (first output)"

    @property
    def feature_space(self) -> str:
        return self.name

    def __call__(self, images: np.ndarray) -> np.ndarray:
        images = np.asarray(images, np.float32)
        if images.ndim != 4:
            raise ValueError(
                f"Expected NHWC images [N, H, W, C]. Received: shape={images.shape}"
            )
        batches = []
        for start in range(0, len(images), self.batch_size):
            batch = images[start : start + self.batch_size]
            if isinstance(self.encoder, keras.Layer):
                outputs = self.encoder(batch, training=False)
            else:
                outputs = self.encoder(batch)
            if isinstance(outputs, (list, tuple)):
                outputs = outputs[0]
            outputs = np.asarray(keras.ops.convert_to_numpy(outputs), np.float64)
            batches.append(outputs.reshape(len(batch), -1))
        if not batches:
            raise ValueError(f"Received no images: shape={images.shape}")
        return np.concatenate(batches)


# === Networks ===


def conv_encoder(
    shape: tuple[int, int, int], feature_dim: int, name: str = "feature_encoder"
) -> keras.Model:
    """Three strided 3x3 convolutions (ReLU), then a linear Dense layer: the
    feature encoder here, and with one output the image detector's CNN
    (`kerasynth.metrics.image_detection`).
    At 64x64: 32x32x16 -> 16x16x32 -> 8x8x64 -> feature_dim."""
    inputs = keras.Input(shape, name="images")
    x = inputs
    for width in (16, 32, 64):
        x = layers.Conv2D(width, 3, strides=2, padding="same", activation="relu")(x)
    x = layers.Flatten()(x)
    features = layers.Dense(feature_dim, name="features")(x)
    return keras.Model(inputs, features, name=name)


def _build_decoder(shape: tuple[int, int, int], feature_dim: int) -> keras.Model:
    """The encoder mirrored, ending in tanh (images are in [-1, 1]); sides
    that do not divide by 8 are rounded up, then cropped back."""
    height, width, channels = shape
    small = (-(-height // 8), -(-width // 8))  # ceil: what the encoder reached
    inputs = keras.Input((feature_dim,), name="features")
    x = layers.Dense(small[0] * small[1] * 64, activation="relu")(inputs)
    x = layers.Reshape((*small, 64))(x)  # (bs, H/8, W/8, 64)
    for filters in (32, 16):
        x = layers.Conv2DTranspose(
            filters, 3, strides=2, padding="same", activation="relu"
        )(x)  # (bs, H/4, W/4, 32), (bs, H/2, W/2, 16)
    x = layers.Conv2DTranspose(
        channels, 3, strides=2, padding="same", activation="tanh"
    )(x)  # (bs, 8 * ceil(H/8), 8 * ceil(W/8), C)
    x = layers.Cropping2D(((0, 8 * small[0] - height), (0, 8 * small[1] - width)))(x)
    return keras.Model(inputs, x, name="feature_decoder")


def train_feature_encoder(
    real_images: np.ndarray,
    labels: np.ndarray | None = None,
    epochs: int = 30,
    feature_dim: int = 32,
    seed: int = 0,
) -> EncoderFeatures:
    """Trains a small encoder on real images and returns its feature function.

    Without labels, a convolutional autoencoder (mean squared reconstruction
    error) whose bottleneck gives the features; with labels, a classifier
    (cross-entropy) whose last hidden layer gives them. About 100k
    parameters: a few seconds on a CPU for a few hundred 64x64 images.
    Training is seeded and deterministic on a CPU.

    Args:
        real_images: ``[N, H, W, C]`` real images in [-1, 1], H, W >= 8.
        labels: optional ``[N]`` integer class labels.
        epochs: passes over the images (batches of 32, Adam 1e-3).
        feature_dim: the number of features.
        seed: seeds the weights, the shuffling and the ops.

    Returns:
        An `EncoderFeatures` whose name says what it is and what it was
        trained on.

    Example:

    ```python
    features = train_feature_encoder(real, seed=0)
    image_fidelity(real, fake, features=features)
    ```
    """
    images = np.asarray(real_images, np.float32)
    if images.ndim != 4 or min(images.shape[1:3]) < 8 or len(images) < 2:
        raise ValueError(
            "Expected at least 2 NHWC images [N, H, W, C] with H, W >= 8. "
            f"Received: real_images.shape={images.shape}"
        )
    if labels is not None:
        labels = np.asarray(labels)
        if labels.shape != (len(images),):
            raise ValueError(
                f"Expected one label per image. Received: labels.shape="
                f"{labels.shape} for real_images.shape={images.shape}"
            )
        labels = np.unique(labels, return_inverse=True)[1].astype(np.int32)
    if epochs < 1 or feature_dim < 1:
        raise ValueError(
            f"epochs and feature_dim must be >= 1. "
            f"Received: epochs={epochs}, feature_dim={feature_dim}"
        )
    shape = images.shape[1:]
    with runtime.seeded(seed), runtime.dtype_policy("float32"):
        encoder = conv_encoder(shape, feature_dim)
        if labels is None:
            model = keras.Sequential([encoder, _build_decoder(shape, feature_dim)])
            model.compile(keras.optimizers.Adam(1e-3), loss="mse")
            targets, kind = images, "autoencoder"
        else:
            num_classes = int(labels.max()) + 1
            model = keras.Sequential([encoder, layers.Dense(num_classes)])
            model.compile(
                keras.optimizers.Adam(1e-3),
                loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            )
            targets, kind = labels, f"{num_classes}-class classifier"
        model.fit(
            images, targets, batch_size=32, epochs=epochs, shuffle=True, verbose=0
        )
    name = (
        f"{kind} features ({feature_dim}-d, trained on {len(images)} real images "
        f"for {epochs} epochs, seed {seed})"
    )
    return EncoderFeatures(encoder, name=name)
