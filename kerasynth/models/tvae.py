"""TVAE (Xu et al. 2019), written from the paper.

Xu, Skoularidou, Cuesta-Infante and Veeramachaneni, "Modeling Tabular Data
using Conditional GAN", NeurIPS 2019: the variational autoencoder baseline
of that paper, on the same mode-specific transformer as CTGAN.
"""

from __future__ import annotations

import keras
import tensorflow as tf
import tensorflow_probability as tfp
from keras import layers

from kerasynth.models import spans
from kerasynth.models.registration import register_model
from kerasynth.models.table_base import TableGenerativeModel, as_transformer
from kerasynth.models.variational import VariationalModel

# === Networks ===


def build_mlp(input_dim, widths, output_dim, name, dtype=None):
    """Dense + ReLU hidden layers, then a linear float32 output."""
    inputs = keras.Input((input_dim,))
    x = inputs
    for width in widths:
        x = layers.Dense(width, activation="relu", dtype=dtype)(x)  # (bs, 128)
    outputs = layers.Dense(output_dim, dtype="float32")(x)
    return keras.Model(inputs, outputs, name=name)


@keras.saving.register_keras_serializable(package="kerasynth")
class Clip(keras.constraints.Constraint):
    """Keeps a weight within ``[low, high]`` after every update."""

    def __init__(self, low, high):
        self.low, self.high = float(low), float(high)

    def __call__(self, w):
        return keras.ops.clip(w, self.low, self.high)

    def get_config(self):
        return {"low": self.low, "high": self.high}


# === Model ===


@register_model("tvae", task="tables")
class TVAE(VariationalModel, TableGenerativeModel):
    """Tabular variational autoencoder (Xu et al. 2019).

    Encoder and decoder of two 128-wide ReLU layers, a 128-dimensional
    Gaussian latent, a per-span reconstruction loss (a Gaussian likelihood
    with a learned standard deviation per numeric value, clipped to
    [0.01, 1], and cross-entropy per one-hot block) weighted by
    `loss_factor` 2, plus the KL divergence to the standard normal prior.
    Adam 1e-3 with L2 1e-5 (as weight decay), batches of 500. The posterior
    and the KL term are TensorFlow Probability distributions.

    Training length: the paper's 300 epochs were meant for tables of
    thousands of rows. A table no larger than a batch (OASIS-1's 305
    training rows) has one step an epoch, and 300 steps leave the model
    barely trained (measured on OASIS-1, seed 0): the posterior is still
    about the prior (under 3 nats of KL over all 128 latent dimensions), the
    learned sigmas have *grown* to the reconstruction error (0.16-0.17,
    against a value spread of 0.25) and every mode softmax is unsure (its
    largest probability 0.55-0.75 on average), so each column's mode is
    drawn almost independently of the others' and the joint structure is
    lost (Age~nWBV r -0.19, real -0.86). After 3,000 steps six latent
    dimensions carry the rows (13.5 nats), the sigmas are 0.010-0.016 and
    the modes are reconstructed 99-100 % of the time: over seeds 0-2, Age~nWBV
    r -0.75 and eTIV~ASF -0.90 (real -0.99), column pair trends 0.90. Hence a
    default length of 3,000 optimizer steps of 500 rows, whatever the
    table's size (`training_defaults` in steps; ``--epochs`` still sets
    epochs). Smaller batches for as many steps did worse.

    Args:
        transformer: the fitted `TableTransformer` or its config.
        latent_dim: size of the latent code.
        encoder_widths: hidden widths of the encoder.
        decoder_widths: hidden widths of the decoder.
        loss_factor: weight of the reconstruction loss against the KL term.
        seed: seed of the model's `keras.random.SeedGenerator`.
    """

    training_defaults = {"steps": 3000, "batch_size": 500}

    def __init__(
        self,
        transformer,
        latent_dim=128,
        encoder_widths=(128, 128),
        decoder_widths=(128, 128),
        loss_factor=2.0,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.transformer = as_transformer(transformer)
        if not isinstance(latent_dim, int) or latent_dim < 1:
            raise ValueError(
                "latent_dim must be a positive integer. "
                f"Received: latent_dim={latent_dim}"
            )
        self.latent_dim = latent_dim
        self.encoder_widths = tuple(encoder_widths)
        self.decoder_widths = tuple(decoder_widths)
        self.loss_factor = float(loss_factor)
        self.seed = seed
        self.spans = self.transformer.spans
        data_dim = self.transformer.output_dim
        self.encoder = build_mlp(
            data_dim, self.encoder_widths, 2 * latent_dim, "encoder", self.dtype_policy
        )
        self.decoder = build_mlp(
            latent_dim, self.decoder_widths, data_dim, "decoder", self.dtype_policy
        )
        self.generator = self.decoder  # what tools inspect on every model
        self.sigmas = self.add_weight(
            name="sigmas",
            shape=(data_dim,),
            initializer=keras.initializers.Constant(0.1),
            constraint=Clip(0.01, 1.0),
            dtype="float32",
        )
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.built = True

    @property
    def sampling_variables(self):
        """Variables `sample_matrix` reads besides the decoder's (export)."""
        return [self.sigmas]

    def default_optimizer(self):
        """The paper's Adam: learning rate 1e-3, L2 1e-5 (here as Keras'
        decoupled weight decay)."""
        return keras.optimizers.Adam(learning_rate=1e-3, weight_decay=1e-5)

    def posterior(self, rows, training=False):
        """q(z | rows): a diagonal Gaussian (a TFP distribution).

        TVAE draws from it and takes its KL divergence with TFP, not with
        `VariationalModel.sample_posterior` and `kl_divergence`, so that a
        seed trains the same TVAE as before the shared base: TFP draws its
        noise latent-major (other noise than `losses.reparameterise` for a
        seed), and its KL rounds differently from `losses.gaussian_kl` (by
        1e-9 on the weights after three steps).
        """
        mean, log_var = tf.split(self.encoder(rows, training=training), 2, axis=-1)
        return tfp.distributions.MultivariateNormalDiag(
            loc=mean, scale_diag=tf.exp(0.5 * log_var)
        )

    def prior(self):
        return tfp.distributions.MultivariateNormalDiag(
            loc=tf.zeros(self.latent_dim), scale_diag=tf.ones(self.latent_dim)
        )

    def train_step(self, data):
        rows = data[0] if isinstance(data, tuple) else data
        seed = self.seed_pair()
        with tf.GradientTape() as tape:
            posterior = self.posterior(rows, training=True)
            latent = posterior.sample(seed=seed)
            raw = self.decoder(latent, training=True)
            reconstruction = spans.reconstruction_loss(
                rows, raw, self.sigmas, self.spans
            )
            kl = tf.reduce_mean(posterior.kl_divergence(self.prior()))
            loss = self.loss_factor * reconstruction + kl
            scaled = self.optimizer.scale_loss(loss)
        # The sigmas get no gradient on a table without numeric values.
        pairs = [
            (g, v)
            for g, v in zip(
                tape.gradient(scaled, self.trainable_variables),
                self.trainable_variables,
                strict=True,
            )
            if g is not None
        ]
        self.optimizer.apply(*zip(*pairs, strict=True))
        return self.track(loss, reconstruction, kl)

    def sample_matrix(self, num_samples, seed, cond=None):
        """Decodes prior draws: numeric values are the decoder's tanh mean
        plus its learned noise (clipped to [-1, 1]); categories are drawn from
        the decoder's softmax."""
        noise_seed, value_seed, category_seed = tf.unstack(
            tf.random.experimental.stateless_split(tf.cast(seed, tf.int32), 3)
        )
        latent = tf.random.stateless_normal((num_samples, self.latent_dim), noise_seed)
        raw = self.decoder(latent, training=False)
        rows = spans.activate(raw, self.spans)
        noise = tf.random.stateless_normal(tf.shape(rows), value_seed) * self.sigmas
        is_value = tf.constant(
            [s.activation == "tanh" for s in self.spans for _ in range(s.width)]
        )
        rows = tf.where(is_value, tf.clip_by_value(rows + noise, -1.0, 1.0), rows)
        return spans.sample_categories(rows, self.spans, category_seed)

    def call(self, rows, training=False):
        return self.decoder(self.posterior(rows, training).mean(), training=training)

    def get_config(self):
        return {
            **super().get_config(),
            "latent_dim": self.latent_dim,
            "encoder_widths": list(self.encoder_widths),
            "decoder_widths": list(self.decoder_widths),
            "loss_factor": self.loss_factor,
            "seed": self.seed,
        }
