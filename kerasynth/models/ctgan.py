"""CTGAN (Xu et al. 2019), written from the paper.

Xu, Skoularidou, Cuesta-Infante and Veeramachaneni, "Modeling Tabular Data
using Conditional GAN", NeurIPS 2019 (arXiv:1907.00503). Mode-specific
normalisation (the `TableTransformer`), a conditional generator with residual
blocks, a PacGAN critic (Lin et al. 2018), the WGAN-GP loss (Gulrajani et al.
2017), Gumbel-softmax outputs and training-by-sampling.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import layers

from kerasynth.models import losses, spans
from kerasynth.models.base import AdversarialModel, adam_pair
from kerasynth.models.registration import register_model
from kerasynth.models.table_base import TableGenerativeModel, as_transformer

# === Networks ===


def build_residual_generator(input_dim, output_dim, widths=(256, 256), dtype=None):
    """CTGAN's generator: residual blocks that concatenate their input.

    Each block is Dense -> BatchNorm -> ReLU, and its output is concatenated
    with its input, so the last layer sees every earlier representation. The
    last Dense gives logits; `spans.activate` turns them into a row.
    """
    inputs = keras.Input((input_dim,), name="noise_and_condition")
    x = inputs
    for width in widths:
        h = layers.Dense(width, dtype=dtype)(x)  # (bs, 256)
        h = layers.BatchNormalization(momentum=0.9, epsilon=1e-5, dtype=dtype)(h)
        h = layers.ReLU(dtype=dtype)(h)
        x = layers.Concatenate(dtype=dtype)([h, x])  # (bs, 256 + input_dim), ...
    outputs = layers.Dense(output_dim, dtype="float32", name="logits")(x)
    return keras.Model(inputs, outputs, name="generator")


def build_pac_critic(input_dim, pac, widths=(256, 256), dropout=0.5, dtype=None):
    """The PacGAN critic: `pac` rows (with their conditions) judged together.

    Dense -> LeakyReLU(0.2) -> Dropout(0.5) per hidden layer, then one
    unbounded score (a Wasserstein critic; DRAGAN reads it as a logit).
    """
    inputs = keras.Input((input_dim * pac,), name="packed_rows")
    x = inputs
    for width in widths:
        x = layers.Dense(width, dtype=dtype)(x)  # (bs / pac, 256)
        x = layers.LeakyReLU(negative_slope=0.2, dtype=dtype)(x)
        x = layers.Dropout(dropout, dtype=dtype)(x)
    outputs = layers.Dense(1, dtype="float32", name="score")(x)  # (bs / pac, 1)
    return keras.Model(inputs, outputs, name="discriminator")


def pack(rows, pac):
    """``[B, D]`` -> ``[B / pac, pac * D]`` (B must be a multiple of pac)."""
    return tf.reshape(rows, [-1, pac * rows.shape[-1]])


# === Model ===


@register_model("ctgan", task="tables")
class CTGAN(AdversarialModel, TableGenerativeModel):
    """Conditional tabular GAN (Xu et al. 2019).

    The paper's defaults: residual generator (256, 256), critic (256, 256)
    with LeakyReLU 0.2 and dropout 0.5, PacGAN with 10 rows per pack, WGAN-GP
    with lambda 10, Gumbel-softmax at temperature 0.2, Adam 2e-4 with betas
    (0.5, 0.9) and weight decay 1e-6, batches of 500. Batches come from the
    training-by-sampling sampler (one step per 500 rows of the table, at
    least one per epoch).

    Training length: the paper's 300 epochs were meant for tables of
    thousands of rows; on a table no larger than a batch (OASIS-1's 305
    training rows) they are 300 steps, after which the generator has not
    even learned the marginals (mean KS 0.22) and the columns are about
    independent (Age~nWBV r -0.05, real -0.86). 3,000 steps reach a mean KS
    of 0.12-0.15 and Age~nWBV r -0.64 to -0.68; smaller batches for as many
    steps do worse (batches of 100: 10 packs a critic step). Hence a default
    length of 3,000 optimizer steps of 500 rows, whatever the table's size
    (`training_defaults` in steps; ``--epochs`` still sets epochs).

    Args:
        transformer: the fitted `TableTransformer` (mode-specific encoding)
            or its config.
        latent_dim: the noise size ("embedding_dim" in the paper's code).
        generator_widths: widths of the generator's residual blocks.
        discriminator_widths: widths of the critic's hidden layers.
        pac: rows per pack; batch sizes must be multiples of it.
        gradient_penalty_weight: lambda of WGAN-GP.
        temperature: the Gumbel-softmax temperature.
        discriminator_steps: critic updates per generator update.
        seed: seed of the model's `keras.random.SeedGenerator`.

    Example:

    ```python
    synthesizer = kerasynth.TableSynthesizer("ctgan", epochs=300, seed=0)
    synthesizer.fit(frame).sample(1000, conditions={"M/F": "F"})
    ```
    """

    input_kind = "conditional"
    conditional = True
    training_defaults = {"steps": 3000, "batch_size": 500}

    def __init__(
        self,
        transformer,
        latent_dim=128,
        generator_widths=(256, 256),
        discriminator_widths=(256, 256),
        pac=10,
        gradient_penalty_weight=10.0,
        temperature=0.2,
        discriminator_steps=1,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.transformer = as_transformer(transformer)
        for name, value in (("latent_dim", latent_dim), ("pac", pac),
                            ("discriminator_steps", discriminator_steps)):  # fmt: skip
            if not isinstance(value, int) or value < 1:
                raise ValueError(
                    f"{name} must be a positive integer. Received: {name}={value}"
                )
        self.latent_dim = latent_dim
        self.generator_widths = tuple(generator_widths)
        self.discriminator_widths = tuple(discriminator_widths)
        self.pac = pac
        self.gradient_penalty_weight = float(gradient_penalty_weight)
        self.temperature = float(temperature)
        self.discriminator_steps = discriminator_steps
        self.seed = seed
        self.spans = self.transformer.spans
        self.discrete_spans = self.transformer.discrete_spans
        data_dim = self.transformer.output_dim
        cond_dim = self.transformer.condition_dim
        self.generator = build_residual_generator(
            latent_dim + cond_dim, data_dim, self.generator_widths, self.dtype_policy
        )
        self.discriminator = build_pac_critic(
            data_dim + cond_dim, pac, self.discriminator_widths, dtype=self.dtype_policy
        )
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.penalty_tracker = keras.metrics.Mean(name="penalty")
        self.cond_loss_tracker = keras.metrics.Mean(name="cond_loss")
        self.built = True

    def default_optimizers(self):
        return adam_pair(beta_2=0.9, weight_decay=1e-6)

    @property
    def metrics(self):
        return [
            self.d_loss_tracker,
            self.g_loss_tracker,
            self.penalty_tracker,
            self.cond_loss_tracker,
        ]

    @property
    def batch_multiple(self):
        return self.pac

    # --- Losses (DRAGAN overrides these two) ---

    def discriminator_loss(self, real_packed, fake_packed, seed):
        """WGAN-GP: critic loss plus lambda x the gradient penalty."""
        real_scores = self.discriminator(real_packed, training=True)
        fake_scores = self.discriminator(fake_packed, training=True)
        penalty = losses.gradient_penalty(
            self.discriminator, real_packed, fake_packed, seed
        )
        loss = losses.wasserstein_critic_loss(real_scores, fake_scores)
        return loss + self.gradient_penalty_weight * penalty, penalty

    def generator_adversarial_loss(self, fake_scores):
        return losses.wasserstein_generator_loss(fake_scores)

    # --- Training ---

    def _fake_rows(self, noise, cond, seed, training):
        raw = self.generator(tf.concat([noise, cond], axis=1), training=training)
        rows = spans.activate(raw, self.spans, temperature=self.temperature, seed=seed)
        return raw, rows

    def train_step(self, data):
        real, real_cond = data["real"], data["real_cond"]
        cond, mask = data["cond"], data["mask"]
        batch_size = tf.shape(real)[0]

        # Critic: real rows with their conditions against generated rows.
        for _ in range(self.discriminator_steps):
            seeds = tf.random.experimental.stateless_split(self.seed_pair(), 3)
            noise = tf.random.stateless_normal((batch_size, self.latent_dim), seeds[0])
            with tf.GradientTape() as tape:
                _, fake = self._fake_rows(noise, cond, seeds[1], training=True)
                real_packed = pack(tf.concat([real, real_cond], axis=1), self.pac)
                fake_packed = pack(tf.concat([fake, cond], axis=1), self.pac)
                d_loss, penalty = self.discriminator_loss(
                    real_packed, fake_packed, seeds[2]
                )
                scaled = self.discriminator_optimizer.scale_loss(
                    losses.scale_for_replicas(d_loss)
                )
            variables = self.discriminator.trainable_variables
            grads = tape.gradient(scaled, variables)
            self.discriminator_optimizer.apply(grads, variables)

        # Generator: fool the critic and honour the condition vector.
        seeds = tf.random.experimental.stateless_split(self.seed_pair(), 2)
        noise = tf.random.stateless_normal((batch_size, self.latent_dim), seeds[0])
        with tf.GradientTape() as tape:
            raw, fake = self._fake_rows(noise, cond, seeds[1], training=True)
            scores = self.discriminator(
                pack(tf.concat([fake, cond], axis=1), self.pac), training=True
            )
            cond_loss = spans.conditional_loss(raw, cond, mask, self.discrete_spans)
            g_loss = self.generator_adversarial_loss(scores) + cond_loss
            scaled = self.generator_optimizer.scale_loss(
                losses.scale_for_replicas(g_loss)
            )
        variables = self.generator.trainable_variables
        grads = tape.gradient(scaled, variables)
        self.generator_optimizer.apply(grads, variables)

        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        self.penalty_tracker.update_state(penalty)
        self.cond_loss_tracker.update_state(cond_loss)
        return {m.name: m.result() for m in self.metrics}

    # --- Generation ---

    def default_conditions(self, num_samples, seed):
        """Condition vectors drawn from the categories' training frequencies
        (as the paper samples); width 0 without categorical columns."""
        frequencies = self.transformer.condition_frequencies()
        if not len(frequencies):
            return tf.zeros((num_samples, 0), tf.float32)
        column_seed, category_seed = tf.unstack(
            tf.random.experimental.stateless_split(seed, 2)
        )
        parts, chosen = (
            [],
            tf.random.stateless_uniform(
                [num_samples], column_seed, 0, len(frequencies), dtype=tf.int32
            ),
        )
        for index, probs in enumerate(frequencies):
            drawn = tf.random.stateless_categorical(
                tf.math.log(tf.constant([probs], tf.float32)),
                num_samples,
                spans.split_seed(category_seed, index),
                dtype=tf.int32,
            )[0]
            one_hot = tf.one_hot(drawn, len(probs), dtype=tf.float32)
            parts.append(one_hot * tf.cast(chosen == index, tf.float32)[:, None])
        return tf.concat(parts, axis=1)

    def sample_matrix(self, num_samples, seed, cond=None):
        noise_seed, cond_seed, category_seed = tf.unstack(
            tf.random.experimental.stateless_split(tf.cast(seed, tf.int32), 3)
        )
        noise = tf.random.stateless_normal((num_samples, self.latent_dim), noise_seed)
        if cond is None:
            cond = self.default_conditions(num_samples, cond_seed)
        raw = self.generator(
            tf.concat([noise, tf.cast(cond, noise.dtype)], axis=1), training=False
        )
        rows = spans.activate(raw, self.spans)
        return spans.sample_categories(rows, self.spans, category_seed)

    def call(self, inputs, training=False):
        return self.generator(inputs, training=training)

    def get_config(self):
        return {
            **super().get_config(),
            "latent_dim": self.latent_dim,
            "generator_widths": list(self.generator_widths),
            "discriminator_widths": list(self.discriminator_widths),
            "pac": self.pac,
            "gradient_penalty_weight": self.gradient_penalty_weight,
            "temperature": self.temperature,
            "discriminator_steps": self.discriminator_steps,
            "seed": self.seed,
        }
