"""The study's tabular VAE (Radwan, Figure 2).

A small dense VAE on a plain encoding (one number per column in [0, 1]):
1,743 parameters on the study's five OASIS columns. Kept to reproduce the
study's figures; TVAE is the VAE to use.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from kerasynth.models.registration import register_model
from kerasynth.models.table_base import TableGenerativeModel, as_transformer
from kerasynth.models.tabular_gan import check_plain, dense_stack
from kerasynth.models.variational import VariationalModel


@register_model("tabular_vae", task="tables")
class TabularVAE(VariationalModel, TableGenerativeModel):
    """The study's tabular VAE (its Figure 2) on a plain encoding.

    Encoder: Dense 64 ReLU -> mean and log-variance of a 5-dimensional
    latent; decoder: Dense 64 ReLU -> one sigmoid per column. Loss: the
    squared error summed over columns plus the KL divergence to N(0, I);
    Adam 1e-3.

    Args:
        transformer: a fitted `TableTransformer` with ``encoding="plain"``.
        latent_dim: size of the latent code.
        seed: seed of the model's `keras.random.SeedGenerator`.
    """

    encoding = "plain"
    training_defaults = {"epochs": 300, "batch_size": 32}

    def __init__(self, transformer, latent_dim=5, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.transformer = as_transformer(transformer)
        check_plain(self.transformer, "tabular_vae")
        self.latent_dim = latent_dim
        self.seed = seed
        self.spans = self.transformer.spans
        width = self.transformer.output_dim
        self.encoder = dense_stack(
            width, (64,), 2 * latent_dim, "relu", None, "encoder", self.dtype_policy
        )
        self.decoder = dense_stack(
            latent_dim, (64,), width, "relu", "sigmoid", "decoder", self.dtype_policy
        )
        self.generator = self.decoder
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.built = True

    def train_step(self, data):
        rows = data[0] if isinstance(data, tuple) else data
        with tf.GradientTape() as tape:
            mean, log_var = tf.split(self.encoder(rows, training=True), 2, axis=-1)
            latent = self.sample_posterior(mean, log_var)
            decoded = self.decoder(latent, training=True)
            reconstruction = tf.reduce_mean(
                tf.reduce_sum(tf.square(rows - decoded), axis=-1)
            )
            kl = self.kl_divergence(mean, log_var)
            loss = reconstruction + kl
            scaled = self.optimizer.scale_loss(loss)
        grads = tape.gradient(scaled, self.trainable_variables)
        self.optimizer.apply(grads, self.trainable_variables)
        return self.track(loss, reconstruction, kl)

    def sample_matrix(self, num_samples, seed, cond=None):
        latent = tf.random.stateless_normal(
            (num_samples, self.latent_dim), tf.cast(seed, tf.int32)
        )
        return self.decoder(latent, training=False)

    def call(self, rows, training=False):
        mean, _ = tf.split(self.encoder(rows, training=training), 2, axis=-1)
        return self.decoder(mean, training=training)

    def get_config(self):
        return {
            **super().get_config(),
            "latent_dim": self.latent_dim,
            "seed": self.seed,
        }
