"""DCGAN (Radford et al. 2015) as in the study's Figure 3.

Radford, Metz and Chintala, "Unsupervised Representation Learning with Deep
Convolutional Generative Adversarial Networks", ICLR 2016 (arXiv:1511.06434).
"""

from __future__ import annotations

import math

import keras
import tensorflow as tf
from keras import layers

from kerasynth.models import losses
from kerasynth.models.base import AdversarialModel, ImageGenerativeModel, adam_pair
from kerasynth.models.batch_normalization import BatchNormalization
from kerasynth.models.registration import register_model

SUPPORTED_IMAGE_SIZES = (32, 64, 128, 256)
STEPS = ("fresh", "reuse")


def _conv_init():
    # DCGAN's N(0, 0.02) weights; the global seed makes them repeatable.
    return keras.initializers.RandomNormal(mean=0.0, stddev=0.02)


def _batch_norm(dtype):
    # PyTorch's BatchNorm defaults (momentum 0.1 there is 0.9 here): with the
    # few steps per epoch of small MRI sets, Keras' 0.99 would leave the moving
    # statistics that `generate()` uses far behind the weights.
    return BatchNormalization(
        momentum=0.9,
        epsilon=1e-5,
        gamma_initializer=keras.initializers.RandomNormal(1.0, 0.02),
        dtype=dtype,
    )


# === Networks ===


def build_generator(
    latent_dim, image_size, channels, filters=64, dtype=None, name="generator"
):
    """The DCGAN generator: latent vector -> image in [-1, 1].

    A 4x4 transposed convolution projects the noise, then each block doubles
    the resolution and halves the width (kernel 4, no bias, BatchNorm + ReLU),
    and a last transposed convolution maps to `channels` with tanh (in
    float32, so mixed precision leaves the output dtype alone). At 64x64 and
    ``filters=64``: 512x4x4 -> 256x8x8 -> 128x16x16 -> 64x32x32 -> Cx64x64.
    `dtype` is the layers' dtype policy (`None`: Keras' global policy).
    """
    num_blocks = int(math.log2(image_size)) - 2
    width = filters * 2 ** (num_blocks - 1)
    inputs = keras.Input((latent_dim,), name="noise")
    x = layers.Reshape((1, 1, latent_dim), dtype=dtype)(inputs)  # (bs, 1, 1, latent)
    x = layers.Conv2DTranspose(
        width,
        4,
        padding="valid",
        use_bias=False,
        kernel_initializer=_conv_init(),
        dtype=dtype,
    )(x)  # (bs, 4, 4, 512)
    x = layers.ReLU(dtype=dtype)(_batch_norm(dtype)(x))
    for _ in range(num_blocks - 1):
        width //= 2
        x = layers.Conv2DTranspose(
            width,
            4,
            strides=2,
            padding="same",
            use_bias=False,
            kernel_initializer=_conv_init(),
            dtype=dtype,
        )(x)  # (bs, 8, 8, 256), (bs, 16, 16, 128), (bs, 32, 32, 64)
        x = layers.ReLU(dtype=dtype)(_batch_norm(dtype)(x))
    x = layers.Conv2DTranspose(
        channels,
        4,
        strides=2,
        padding="same",
        use_bias=False,
        kernel_initializer=_conv_init(),
        dtype=dtype,
    )(x)  # (bs, 64, 64, C)
    outputs = layers.Activation("tanh", dtype="float32", name="images")(x)
    return keras.Model(inputs, outputs, name=name)


def build_discriminator(
    image_size, channels, filters=64, dtype=None, name="discriminator"
):
    """The DCGAN discriminator: image -> probability that it is real.

    The generator's mirror: strided 4x4 convolutions without bias, LeakyReLU
    0.2, BatchNorm on all but the first block, then a 4x4 valid convolution to
    one unit and a float32 sigmoid. At 64x64: 64x32x32 -> 128x16x16 ->
    256x8x8 -> 512x4x4 -> 1.
    """
    num_blocks = int(math.log2(image_size)) - 2
    inputs = keras.Input((image_size, image_size, channels), name="images")
    x = inputs
    width = filters
    for block in range(num_blocks):
        x = layers.Conv2D(
            width,
            4,
            strides=2,
            padding="same",
            use_bias=False,
            kernel_initializer=_conv_init(),
            dtype=dtype,
        )(x)  # (bs, 32, 32, 64), (bs, 16, 16, 128), (bs, 8, 8, 256), (bs, 4, 4, 512)
        if block > 0:
            x = _batch_norm(dtype)(x)
        x = layers.LeakyReLU(negative_slope=0.2, dtype=dtype)(x)
        width *= 2
    x = layers.Conv2D(
        1,
        4,
        padding="valid",
        use_bias=False,
        kernel_initializer=_conv_init(),
        dtype=dtype,
    )(x)  # (bs, 1, 1, 1)
    x = layers.Flatten(dtype=dtype)(x)  # (bs, 1)
    outputs = layers.Activation("sigmoid", dtype="float32", name="probability")(x)
    return keras.Model(inputs, outputs, name=name)


def _apply(optimizer, tape, scaled_loss, network):
    """One optimizer step on `network`'s weights from `tape`'s gradients."""
    variables = network.trainable_variables
    optimizer.apply(tape.gradient(scaled_loss, variables), variables)


# === Model ===


@register_model("dcgan", task="latent_images")
class DCGAN(AdversarialModel, ImageGenerativeModel):
    """Deep convolutional GAN for images (Radford et al. 2015).

    The study's Figure 3 network: at 64x64 with 3 channels the generator has
    3,576,704 and the discriminator 2,765,568 trainable parameters. Other
    sizes add or remove one block per factor of two. Trained with binary
    cross-entropy, Adam (learning rate 2e-4, beta_1 0.5) for both networks.
    The training defaults (100 epochs of batch 16) suit MRI sets of a few
    hundred slices: on the 130 embedded slices that is 800 steps, where 200
    steps (50 epochs of 32) still left a grey, noisy background.

    Args:
        image_size: side of the square images: 32, 64, 128 or 256.
        channels: 1 (greyscale MRI) or 3 (RGB, as in the study).
        latent_dim: size of the noise vector.
        generator_filters: width of the generator's last hidden block.
        discriminator_filters: width of the discriminator's first block.
        num_classes: 0 for an unconditional model; otherwise the number of
            classes a one-hot label conditions both networks on (a
            conditional GAN, Mirza and Osindero 2014).
        class_names: the classes' names (``["no", "yes"]``), for
            ``conditions={"label": "yes"}``.
        covariates: `None`, or the `kerasynth.data.covariates.Covariates`
            (or its config) whose encoded values condition the model
            instead of a class: each image's person's age, sex, CDR.
        seed: seed of the model's `keras.random.SeedGenerator` (training
            noise); `None` derives it from Keras' global seed.
        step: ``"fresh"`` (the default) draws new noise for the generator
            update, as in Radford et al.: two generator passes per step.
            ``"reuse"`` trains the generator on the batch the discriminator
            just learned from, as PyTorch's DCGAN example does: one
            generator pass fewer (one generator forward and three
            discriminator passes per step; about 10% less work), each
            generated batch used twice.

    Example:

    ```python
    model = kerasynth.registry.get_model("dcgan", image_size=64)
    model.compile()
    model.fit(dataset, epochs=50)
    images = model.generate(16, seed=0)  # (16, 64, 64, 1), in [-1, 1]
    ```
    """

    training_defaults = {"epochs": 100, "batch_size": 16}

    def __init__(
        self,
        image_size=64,
        channels=1,
        latent_dim=100,
        generator_filters=64,
        discriminator_filters=64,
        num_classes=0,
        class_names=None,
        covariates=None,
        seed=None,
        step="fresh",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.check_classes(num_classes, class_names, covariates)
        if step not in STEPS:
            raise ValueError(
                f"step must be one of {', '.join(STEPS)}. Received: step={step!r}"
            )
        if image_size not in SUPPORTED_IMAGE_SIZES:
            raise ValueError(
                "DCGAN image_size must be one of "
                f"{', '.join(map(str, SUPPORTED_IMAGE_SIZES))}. "
                f"Received: image_size={image_size}"
            )
        if channels not in (1, 3):
            raise ValueError(f"channels must be 1 or 3. Received: channels={channels}")
        for name, value in (
            ("latent_dim", latent_dim),
            ("generator_filters", generator_filters),
            ("discriminator_filters", discriminator_filters),
        ):
            if not isinstance(value, int) or value < 1:
                raise ValueError(
                    f"{name} must be a positive integer. Received: {name}={value}"
                )
        self.image_size = image_size
        self.channels = channels
        self.latent_dim = latent_dim
        self.generator_filters = generator_filters
        self.discriminator_filters = discriminator_filters
        self.seed = seed
        self.step = step
        # The networks follow this model's dtype policy (which `load_model`
        # restores from the config), not whatever the global policy is now.
        self.generator = build_generator(
            latent_dim + self.condition_dim,
            image_size,
            channels,
            generator_filters,
            self.dtype_policy,
        )
        self.discriminator = build_discriminator(
            image_size,
            channels + self.condition_dim,
            discriminator_filters,
            self.dtype_policy,
        )
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.real_score_tracker = keras.metrics.Mean(name="d_real")
        self.fake_score_tracker = keras.metrics.Mean(name="d_fake")
        self.built = True

    def default_optimizers(self):
        return adam_pair()

    @property
    def metrics(self):
        return [
            self.d_loss_tracker,
            self.g_loss_tracker,
            self.real_score_tracker,
            self.fake_score_tracker,
        ]

    def train_step(self, data):
        # Labels condition a class-conditional model; fakes get the batch's.
        real_images, labels = data if isinstance(data, tuple) else (data, None)
        batch_size = tf.shape(real_images)[0]
        noise = self.with_label(self.latent_noise(batch_size), labels)

        if self.step == "reuse":
            # One generated batch serves both updates: the generator's tape
            # pauses while the discriminator learns from that batch, then
            # records the updated discriminator's verdict on it.
            with tf.GradientTape() as g_tape:
                fake_images = self.generator(noise, training=True)
                with g_tape.stop_recording():
                    with tf.GradientTape() as d_tape:
                        d_loss, d_scaled, real_probs, fake_probs = (
                            self._discriminator_loss(real_images, fake_images, labels)
                        )
                    _apply(
                        self.discriminator_optimizer,
                        d_tape,
                        d_scaled,
                        self.discriminator,
                    )
                g_loss, g_scaled = self._generator_loss(fake_images, labels)
            _apply(self.generator_optimizer, g_tape, g_scaled, self.generator)
        else:
            # Discriminator: real images -> 1, generated images -> 0.
            with tf.GradientTape() as d_tape:
                fake_images = self.generator(noise, training=True)
                d_loss, d_scaled, real_probs, fake_probs = self._discriminator_loss(
                    real_images, fake_images, labels
                )
            _apply(self.discriminator_optimizer, d_tape, d_scaled, self.discriminator)
            # Generator: fresh noise, pushed towards "real" by the discriminator.
            noise = self.with_label(self.latent_noise(batch_size), labels)
            with tf.GradientTape() as g_tape:
                fake_images = self.generator(noise, training=True)
                g_loss, g_scaled = self._generator_loss(fake_images, labels)
            _apply(self.generator_optimizer, g_tape, g_scaled, self.generator)

        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        self.real_score_tracker.update_state(keras.ops.mean(real_probs))
        self.fake_score_tracker.update_state(keras.ops.mean(fake_probs))
        return {m.name: m.result() for m in self.metrics}

    def _discriminator_loss(self, real_images, fake_images, labels):
        """Real images -> 1, generated images -> 0: (loss, scaled loss, real
        probabilities, fake probabilities)."""
        real_probs = self.discriminator(
            self.label_maps(real_images, labels), training=True
        )
        fake_probs = self.discriminator(
            self.label_maps(fake_images, labels), training=True
        )
        d_loss = losses.gan_discriminator_loss(real_probs, fake_probs)
        scaled = self.discriminator_optimizer.scale_loss(
            losses.scale_for_replicas(d_loss)
        )
        return d_loss, scaled, real_probs, fake_probs

    def _generator_loss(self, fake_images, labels):
        """The discriminator should call `fake_images` real: (loss, scaled)."""
        fake_probs = self.discriminator(
            self.label_maps(fake_images, labels), training=True
        )
        g_loss = losses.gan_generator_loss(fake_probs)
        scaled = self.generator_optimizer.scale_loss(losses.scale_for_replicas(g_loss))
        return g_loss, scaled

    def call(self, noise, training=False):
        return self.generator(noise, training=training)

    def get_config(self):
        return {
            **super().get_config(),
            "image_size": self.image_size,
            "channels": self.channels,
            "latent_dim": self.latent_dim,
            "generator_filters": self.generator_filters,
            "discriminator_filters": self.discriminator_filters,
            **self.conditioning_config(),
            "seed": self.seed,
            "step": self.step,
        }
