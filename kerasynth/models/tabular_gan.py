"""The study's tabular GAN (Radwan, Figure 1).

Small dense networks on a plain encoding: one number per column in [0, 1]
(numbers min-max scaled, categories as scaled codes). On the study's five
OASIS columns the generator has 9,669 parameters and the discriminator 9,089.
Kept to reproduce the study's figures; CTGAN, TVAE and DRAGAN are the models
to use.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import layers

from kerasynth.models import losses
from kerasynth.models.base import AdversarialModel, adam_pair
from kerasynth.models.registration import register_model
from kerasynth.models.table_base import TableGenerativeModel, as_transformer


def dense_stack(input_dim, widths, output_dim, activation, output_activation, name,
                dtype=None):  # fmt: skip
    """A dense network: hidden layers of `widths`, then `output_dim` units."""
    inputs = keras.Input((input_dim,))
    x = inputs
    for width in widths:
        x = layers.Dense(width, activation=activation, dtype=dtype)(x)
    outputs = layers.Dense(output_dim, activation=output_activation, dtype="float32")(x)
    return keras.Model(inputs, outputs, name=name)


def check_plain(transformer, name):
    """Raises unless `transformer` uses the plain encoding."""
    if transformer.encoding != "plain":
        raise ValueError(
            f"{name} reads the plain encoding (one number per column). "
            f"Received a transformer with encoding={transformer.encoding!r}"
        )


@register_model("tabular_gan", task="tables")
class TabularGAN(AdversarialModel, TableGenerativeModel):
    """The study's tabular GAN (its Figure 1): dense networks on a plain
    encoding.

    Generator: noise (10) -> Dense 64 ReLU -> Dense 128 ReLU -> one sigmoid
    per column. Discriminator: Dense 128 LeakyReLU(0.2) -> Dense 64
    LeakyReLU(0.2) -> sigmoid. Binary cross-entropy, Adam 2e-4 (beta_1 0.5).

    Args:
        transformer: a fitted `TableTransformer` with ``encoding="plain"``.
        latent_dim: the noise size.
        seed: seed of the model's `keras.random.SeedGenerator`.
    """

    encoding = "plain"
    training_defaults = {"epochs": 300, "batch_size": 32}

    def __init__(self, transformer, latent_dim=10, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.transformer = as_transformer(transformer)
        check_plain(self.transformer, "tabular_gan")
        self.latent_dim = latent_dim
        self.seed = seed
        self.spans = self.transformer.spans
        width = self.transformer.output_dim
        self.generator = dense_stack(
            latent_dim, (64, 128), width, "relu", "sigmoid", "generator",
            self.dtype_policy,
        )  # fmt: skip
        self.discriminator = dense_stack(
            width, (128, 64), 1, layers.LeakyReLU(0.2), "sigmoid", "discriminator",
            self.dtype_policy,
        )  # fmt: skip
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.built = True

    def default_optimizers(self):
        return adam_pair()

    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker]

    def train_step(self, data):
        real = data[0] if isinstance(data, tuple) else data
        batch_size = tf.shape(real)[0]
        d_loss = self.discriminator_step(real)
        g_loss = self.generator_step(batch_size)
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        return {m.name: m.result() for m in self.metrics}

    def discriminator_step(self, real):
        """One update of the discriminator on `real` rows and as many
        generated ones; returns its loss."""
        noise = self.latent_noise(tf.shape(real)[0])
        with tf.GradientTape() as tape:
            fake = self.generator(noise, training=True)
            d_loss = losses.gan_discriminator_loss(
                self.discriminator(real, training=True),
                self.discriminator(fake, training=True),
            )
            scaled = self.discriminator_optimizer.scale_loss(
                losses.scale_for_replicas(d_loss)
            )
        variables = self.discriminator.trainable_variables
        self.discriminator_optimizer.apply(tape.gradient(scaled, variables), variables)
        return d_loss

    def generator_step(self, batch_size):
        """One update of the generator on `batch_size` noise draws, through
        the discriminator alone; returns its loss."""
        noise = self.latent_noise(batch_size)
        with tf.GradientTape() as tape:
            fake = self.generator(noise, training=True)
            g_loss = losses.gan_generator_loss(self.discriminator(fake, training=True))
            scaled = self.generator_optimizer.scale_loss(
                losses.scale_for_replicas(g_loss)
            )
        variables = self.generator.trainable_variables
        self.generator_optimizer.apply(tape.gradient(scaled, variables), variables)
        return g_loss

    def sample_matrix(self, num_samples, seed, cond=None):
        noise = tf.random.stateless_normal(
            (num_samples, self.latent_dim), tf.cast(seed, tf.int32)
        )
        return self.generator(noise, training=False)

    def call(self, noise, training=False):
        return self.generator(noise, training=training)

    def get_config(self):
        return {
            **super().get_config(),
            "latent_dim": self.latent_dim,
            "seed": self.seed,
        }
