"""The convolutional Beta-VAE of the study's Figure 5 (Higgins et al. 2017).

Higgins et al., "beta-VAE: Learning Basic Visual Concepts with a Constrained
Variational Framework", ICLR 2017: a VAE whose KL term is weighted by
``beta``; ``beta = 1`` is the plain VAE of Kingma and Welling (2014).
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import layers

from kerasynth.models import losses
from kerasynth.models.base import ImageGenerativeModel
from kerasynth.models.registration import register_model
from kerasynth.models.variational import VariationalModel

# === Networks ===


BLOCKS = 4  # stride-2 blocks: the image side must divide by 2**4 = 16


def build_encoder(image_size, channels, latent_dim, filters=32, dtype=None):
    """Four strided 4x4 convolutions (ReLU) doubling the width from
    `filters`, then Dense layers to the latent mean and log-variance.
    At 64x64: 32x32x32 -> 16x16x64 -> 8x8x128 -> 4x4x256 -> 2 x 128."""
    inputs = keras.Input((image_size, image_size, channels), name="images")
    x = inputs
    for block in range(BLOCKS):
        # (bs, 32, 32, 32), (bs, 16, 16, 64), (bs, 8, 8, 128), (bs, 4, 4, 256)
        x = layers.Conv2D(
            filters * 2**block, 4, strides=2, padding="same", activation="relu",
            dtype=dtype,
        )(x)  # fmt: skip
    x = layers.Flatten(dtype=dtype)(x)  # (bs, 4096)
    mean = layers.Dense(latent_dim, dtype="float32", name="mean")(x)
    log_var = layers.Dense(latent_dim, dtype="float32", name="log_var")(x)
    return keras.Model(inputs, [mean, log_var], name="encoder")


def build_decoder(image_size, channels, latent_dim, filters=32, dtype=None):
    """Dense to the encoder's last feature map, transposed 4x4 strided
    convolutions (ReLU) halving the width, then `channels` with tanh (float32).
    At 64x64: 128 -> 4096 = 4x4x256 -> 8x8x128 -> 16x16x64 -> 32x32x32 ->
    64x64xC."""
    side = image_size // 2**BLOCKS
    width = filters * 2 ** (BLOCKS - 1)
    inputs = keras.Input((latent_dim,), name="latent")
    x = layers.Dense(side * side * width, dtype=dtype)(inputs)  # (bs, 4096)
    x = layers.Reshape((side, side, width), dtype=dtype)(x)  # (bs, 4, 4, 256)
    for block in range(BLOCKS - 1):
        x = layers.Conv2DTranspose(
            width // 2 ** (block + 1), 4, strides=2, padding="same",
            activation="relu", dtype=dtype,
        )(x)  # (bs, 8, 8, 128), (bs, 16, 16, 64), (bs, 32, 32, 32)  # fmt: skip
    x = layers.Conv2DTranspose(channels, 4, strides=2, padding="same", dtype=dtype)(
        x
    )  # (bs, 64, 64, C)
    outputs = layers.Activation("tanh", dtype="float32", name="images")(x)
    return keras.Model(inputs, outputs, name="decoder")


# === Model ===


@register_model("beta_vae", task="latent_images")
class BetaVAE(VariationalModel, ImageGenerativeModel):
    """Convolutional Beta-VAE for images (Higgins et al. 2017).

    The study's Figure 5 network: 2,957,251 trainable parameters at 3
    channels and 64x64. Loss: the squared error summed over each image's
    pixels, plus ``beta`` times the KL divergence to N(0, I), optionally
    warmed up linearly from 0 over `kl_warmup_steps` (Bowman et al. 2016)
    so the decoder learns to use the latent before the KL term presses on it.

    Args:
        image_size: side of the square images, a multiple of 16 from 16.
        channels: 1 (greyscale MRI) or 3.
        latent_dim: size of the latent code.
        beta: weight of the KL term (1: the plain VAE).
        kl_warmup_steps: steps over which the KL weight grows from 0 to
            `beta` (0: no warm-up).
        filters: width of the encoder's first convolution.
        num_classes: 0, or the number of classes of a conditional VAE (Sohn
            et al. 2015): the label's one-hot enters the encoder as constant
            image channels and the decoder beside the latent code.
        class_names: the classes' names, for ``conditions={"label": ...}``.
        covariates: `None`, or the `kerasynth.data.covariates.Covariates`
            (or its config) whose encoded values condition the model
            instead of a class: each image's person's age, sex, CDR.
        seed: seed of the model's `keras.random.SeedGenerator`.

    Example:

    ```python
    vae = kerasynth.registry.get_model("beta_vae", beta=4.0)
    vae.compile()
    vae.fit(dataset, epochs=100)
    images = vae.generate(16, seed=0)        # from the prior
    again = vae.reconstruct(images)          # encode, then decode the mean
    ```
    """

    training_defaults = {"epochs": 100, "batch_size": 16}

    def __init__(
        self,
        image_size=64,
        channels=1,
        latent_dim=128,
        beta=1.0,
        kl_warmup_steps=0,
        filters=32,
        num_classes=0,
        class_names=None,
        covariates=None,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.check_classes(num_classes, class_names, covariates)
        if image_size < 16 or image_size % 16:
            raise ValueError(
                "BetaVAE image_size must be a multiple of 16. "
                f"Received: image_size={image_size}"
            )
        if channels not in (1, 3):
            raise ValueError(f"channels must be 1 or 3. Received: channels={channels}")
        if beta < 0:
            raise ValueError(f"beta must be >= 0. Received: beta={beta}")
        self.image_size = image_size
        self.channels = channels
        self.latent_dim = latent_dim
        self.beta = float(beta)
        self.kl_warmup_steps = int(kl_warmup_steps)
        self.filters = filters
        self.seed = seed
        self.encoder = build_encoder(
            image_size,
            channels + self.condition_dim,
            latent_dim,
            filters,
            self.dtype_policy,
        )
        self.decoder = build_decoder(
            image_size,
            channels,
            latent_dim + self.condition_dim,
            filters,
            self.dtype_policy,
        )
        self.generator = self.decoder  # what generate() and the tools use
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.built = True

    def kl_weight(self):
        """``beta``, ramped up linearly over the first `kl_warmup_steps`."""
        if not self.kl_warmup_steps:
            return tf.constant(self.beta, tf.float32)
        progress = tf.cast(self.optimizer.iterations, tf.float32) / self.kl_warmup_steps
        return self.beta * tf.minimum(progress, 1.0)

    def encode(self, images, labels=None, training=False):
        """Images (and their labels, if conditional) -> ``(mean, log_var)``."""
        return self.encoder(self.label_maps(images, labels), training=training)

    def decode(self, latent, labels=None, training=False):
        """Latent codes (and labels, if conditional) -> images in [-1, 1]."""
        return self.decoder(self.with_label(latent, labels), training=training)

    def reconstruct(self, images, labels=None):
        """Encodes and decodes the posterior mean (as a NumPy array)."""
        mean, _ = self.encode(images, labels)
        return keras.ops.convert_to_numpy(self.decode(mean, labels))

    def train_step(self, data):
        images, labels = data if isinstance(data, tuple) else (data, None)
        with tf.GradientTape() as tape:
            mean, log_var = self.encode(images, labels, training=True)
            latent = self.sample_posterior(mean, log_var)
            decoded = self.decode(latent, labels, training=True)
            error = tf.square(tf.cast(images, tf.float32) - decoded)
            reconstruction = tf.reduce_mean(tf.reduce_sum(error, axis=[1, 2, 3]))
            kl = self.kl_divergence(mean, log_var)
            loss = reconstruction + self.kl_weight() * kl
            scaled = self.optimizer.scale_loss(losses.scale_for_replicas(loss))
        grads = tape.gradient(scaled, self.trainable_variables)
        self.optimizer.apply(grads, self.trainable_variables)
        return self.track(loss, reconstruction, kl)

    def call(self, images, training=False):
        # Keras' symbolic calls pass images only: a conditional model's
        # callers use `encode`/`decode` with labels.
        labels = self.null_conditions(tf.shape(images)[0]) if self.uses_labels else None
        mean, _ = self.encode(images, labels, training=training)
        return self.decode(mean, labels, training=training)

    def get_config(self):
        return {
            **super().get_config(),
            "image_size": self.image_size,
            "channels": self.channels,
            "latent_dim": self.latent_dim,
            "beta": self.beta,
            "kl_warmup_steps": self.kl_warmup_steps,
            "filters": self.filters,
            **self.conditioning_config(),
            "seed": self.seed,
        }
