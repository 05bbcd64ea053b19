"""TabDDPM (Kotelnikov et al. 2023), written from the paper.

Kotelnikov, Baranchuk, Rubachev and Babenko, "TabDDPM: Modelling Tabular
Data with Diffusion Models", ICML 2023: Gaussian diffusion on the
quantile-normalised numbers, multinomial diffusion on the categories, one
MLP denoiser for both. The diffusion math is `kerasynth.models.diffusion`.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import layers

from kerasynth.models import diffusion, spans
from kerasynth.models.base import SingleOptimizerModel
from kerasynth.models.registration import register_model
from kerasynth.models.table_base import TableGenerativeModel, as_transformer

# === Denoiser ===


def build_denoiser(data_dim, widths, embedding_dim, dropout, name, dtype=None):
    """TabDDPM's MLP: the noisy row projected to `embedding_dim` plus the
    timestep's embedding (sinusoidal, then Dense-SiLU-Dense), then Dense +
    ReLU (+ dropout) blocks and a linear float32 output of the row's width:
    the predicted noise of each number and the logits of ``x_0`` of each
    category."""
    rows = keras.Input((data_dim,), name="rows")
    timesteps = keras.Input((), name="timesteps")
    time = diffusion.TimestepEmbedding(embedding_dim)(timesteps)
    time = layers.Dense(embedding_dim, activation="silu", dtype=dtype)(time)
    time = layers.Dense(embedding_dim, dtype=dtype)(time)
    x = layers.Add()([layers.Dense(embedding_dim, dtype=dtype)(rows), time])
    for width in widths:
        x = layers.Dense(width, activation="relu", dtype=dtype)(x)
        if dropout:
            x = layers.Dropout(dropout)(x)
    outputs = layers.Dense(data_dim, dtype="float32")(x)
    return keras.Model([rows, timesteps], outputs, name=name)


# === Model ===


@register_model("tab_ddpm", task="tables")
class TabDDPM(SingleOptimizerModel, TableGenerativeModel):
    """Gaussian and multinomial diffusion on a table (Kotelnikov et al. 2023).

    Numbers are quantile-normalised to N(0, 1) (the ``quantile`` encoding,
    `kerasynth.data.encoders.QuantileEncoder`) and diffused by Gaussian
    noise, the denoiser predicting the noise (Ho et al. 2020); every
    categorical span (a category, a number's missing flag) is diffused
    towards the uniform by multinomial diffusion (Hoogeboom et al. 2021),
    the denoiser predicting its ``x_0``. The loss is the noise's mean squared
    error plus the mean over categorical spans of ``KL(q(x_{t-1} | x_t, x_0)
    || p(x_{t-1} | x_t))``; the cosine schedule over `timesteps` steps.

    Beyond the paper:

    - an exponential moving average of the denoiser's weights
      (`ema_decay`, warmed up as ``min(decay, (1 + n) / (10 + n))`` after
      ``n`` updates) is the network that samples and is exported;
    - sampling takes `sampling_steps` strided steps: DDIM for the numbers
      (Song et al. 2021, `eta` 0: deterministic) and the multinomial
      posterior between the same timesteps for the categories;
    - conditions on categorical columns are met by rejection sampling
      (`TableGenerativeModel.generate`): exact draws from the model's
      conditional distribution. Replacing the conditioned spans at every
      reverse step (RePaint-style, Lugmayr et al. 2022) was tried and
      dropped: conditioned on a group whose mean age is 17 years above
      another's, its rows differed by 3.

    Args:
        transformer: the fitted `TableTransformer` (``quantile``) or its
            config.
        widths: hidden widths of the denoiser's MLP.
        embedding_dim: width of the row projection and the timestep
            embedding.
        dropout: dropout after each hidden layer. 0.1 keeps the OASIS
            five-column table's samples from fitting closer than a fresh
            real sample does (at 0: quality 0.927 and pair trends 0.930
            against the real holdout's 0.911 and 0.900, DCR excess 0.071,
            TSTR/TRTR 0.90; at 0.1: 0.906, 0.905, 0.033, 0.966), but on
            wide tables it leaves the samples over-dispersed: trained under
            dropout and sampled without it, the denoiser's noise estimates
            fall short (on scikit-learn's 30-measurement breast cancer
            table the samples' normal scores have a standard deviation of
            1.7 against 1.0; quality 0.855 at 0.1 against 0.92 at 0).
            ``benchmarks/RESULTS.md`` has both on four tables.
        timesteps: ``T``, the steps of the forward process.
        sampling_steps: reverse steps when sampling (at most ``T``).
        eta: DDIM's noise (0 deterministic, 1 as DDPM's ancestral step).
        ema_decay: decay of the sampling network's moving average.
        learning_rate: AdamW's learning rate.
        weight_decay: AdamW's decoupled weight decay.
        seed: seed of the model's `keras.random.SeedGenerator`.
    """

    encoding = "quantile"
    training_defaults = {"steps": 1000, "batch_size": 256}

    def __init__(
        self,
        transformer,
        widths=(256, 256, 256),
        embedding_dim=128,
        dropout=0.1,
        timesteps=1000,
        sampling_steps=50,
        eta=0.0,
        ema_decay=0.999,
        learning_rate=2e-3,
        weight_decay=1e-4,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.transformer = as_transformer(transformer)
        if self.transformer.encoding != self.encoding:
            raise ValueError(
                "TabDDPM reads the 'quantile' encoding. Received a transformer "
                f"with encoding={self.transformer.encoding!r}"
            )
        for name, value, low in (("timesteps", timesteps, 1),
                                 ("sampling_steps", sampling_steps, 1)):  # fmt: skip
            if not isinstance(value, int) or value < low:
                raise ValueError(
                    f"{name} must be an integer >= {low}. Received: {name}={value}"
                )
        self.widths = tuple(widths)
        self.embedding_dim = int(embedding_dim)
        self.dropout = float(dropout)
        self.timesteps = timesteps
        self.sampling_steps = sampling_steps
        self.eta = float(eta)
        self.ema_decay = float(ema_decay)
        self.learning_rate = float(learning_rate)
        self.weight_decay = float(weight_decay)
        self.seed = seed
        self.spans = self.transformer.spans
        self.latent_dim = self.transformer.output_dim
        width = self.transformer.output_dim
        args = (width, self.widths, self.embedding_dim, self.dropout)
        self.denoiser = build_denoiser(*args, "denoiser", self.dtype_policy)
        # The moving average samples: TabDDPM's generator.
        self.ema_denoiser = build_denoiser(*args, "ema_denoiser", self.dtype_policy)
        self.ema_denoiser.trainable = False
        diffusion.copy_weights(self.ema_denoiser, self.denoiser)
        self.generator = self.ema_denoiser
        self.blocks = spans.softmax_blocks(self.spans)
        self.is_value = tf.constant(
            [float(s.kind == "value") for s in self.spans for _ in range(s.width)]
        )
        self.num_values = sum(s.width for s in self.spans if s.kind == "value")
        # The widest normal score the encoders give: the bound of x_0.
        self.bound = max(
            (e.bound for e in self.transformer.encoders if hasattr(e, "bound")),
            default=None,
        )
        self.alpha_bars = tf.constant(
            diffusion.cosine_alpha_bars(timesteps), tf.float32
        )
        self.schedule = tf.constant(
            diffusion.sampling_timesteps(timesteps, sampling_steps), tf.int32
        )
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.gaussian_tracker = keras.metrics.Mean(name="gaussian")
        self.multinomial_tracker = keras.metrics.Mean(name="multinomial")
        self.built = True

    @property
    def metrics(self):
        return [self.loss_tracker, self.gaussian_tracker, self.multinomial_tracker]

    def default_optimizer(self):
        """AdamW, as TabDDPM trains (learning rate 2e-3, weight decay 1e-4)."""
        return keras.optimizers.AdamW(
            learning_rate=self.learning_rate, weight_decay=self.weight_decay
        )

    # === Training ===

    def _categories(self, rows):
        # The one-hot blocks [B, spans, widest] of rows, zero on padding.
        return self.blocks.take(rows) * self.blocks.valid

    def train_step(self, data):
        rows = tf.cast(data[0] if isinstance(data, tuple) else data, tf.float32)
        noised = self.noised(rows)
        with tf.GradientTape() as tape:
            loss, gaussian, multinomial = self.denoising_losses(noised)
            scaled = self.optimizer.scale_loss(loss)
        variables = self.denoiser.trainable_variables
        self.optimizer.apply(tape.gradient(scaled, variables), variables)
        return self.after_update(loss, gaussian, multinomial)

    def noised(self, rows):
        """The forward process on a batch of `rows`: ``{"t", "abar",
        "abar_prev", "noise", "noisy"}`` and, with categorical spans, their
        one-hots ``x0`` and noised ``x_t`` (noise from the seed generator)."""
        count = tf.shape(rows)[0]
        time_seed, noise_seed, category_seed = tf.unstack(
            tf.random.experimental.stateless_split(self.seed_pair(), 3)
        )
        t = tf.random.stateless_uniform(
            [count], time_seed, 1, self.timesteps + 1, dtype=tf.int32
        )
        abar = tf.gather(self.alpha_bars, t)[:, None]
        noise = tf.random.stateless_normal(tf.shape(rows), noise_seed)
        noised = {"t": t, "abar": abar, "noise": noise,
                  "abar_prev": tf.gather(self.alpha_bars, t - 1)[:, None],
                  "noisy": diffusion.gaussian_q_sample(rows, noise, abar)}  # fmt: skip
        if self.blocks.count:
            x0 = self._categories(rows)
            valid = self.blocks.valid
            marginal = diffusion.multinomial_marginal(x0, abar[:, None], valid)
            x_t = diffusion.sample_one_hot(marginal, valid, category_seed)
            noised |= {"x0": x0, "x_t": x_t,
                       "noisy": self.blocks.put(noised["noisy"], x_t)}  # fmt: skip
        return noised

    def denoising_losses(self, noised):
        """``(loss, gaussian, multinomial)`` of the denoiser on a `noised`
        batch, each a mean over its rows."""
        count = tf.shape(noised["noisy"])[0]
        t = tf.cast(noised["t"], tf.float32)
        output = self.denoiser([noised["noisy"], t], training=True)
        error = tf.square(noised["noise"] - output) * self.is_value
        gaussian = tf.reduce_sum(error) / tf.cast(
            count * max(self.num_values, 1), tf.float32
        )
        multinomial = tf.zeros((), tf.float32)
        if self.blocks.count:
            predicted = tf.nn.softmax(self.blocks.take(output))
            valid = self.blocks.valid
            steps = (noised["abar"][:, None], noised["abar_prev"][:, None], valid)
            x_t, x0 = noised["x_t"], noised["x0"]
            true = diffusion.multinomial_posterior(x_t, x0, *steps)
            model = diffusion.multinomial_posterior(x_t, predicted, *steps)
            multinomial = tf.reduce_mean(diffusion.categorical_kl(true, model))
        return gaussian + multinomial, gaussian, multinomial

    def after_update(self, loss, gaussian, multinomial):
        """The moving average's step and the trackers; the step's logs."""
        diffusion.update_moving_average(
            self.ema_denoiser, self.denoiser, self.optimizer.iterations, self.ema_decay
        )
        self.loss_tracker.update_state(loss)
        self.gaussian_tracker.update_state(gaussian)
        self.multinomial_tracker.update_state(multinomial)
        return {m.name: m.result() for m in self.metrics}

    # === Sampling ===

    def sample_matrix(self, num_samples, seed, cond=None):
        """Rows in the transformer's layout from a stateless ``[2]`` seed:
        `sampling_steps` reverse steps from noise (numbers: normal scores;
        categories: one-hots)."""
        del cond  # unconditional; conditions: rejection sampling (the base)
        seed = tf.cast(seed, tf.int32)
        start_seed, loop_seed = tf.unstack(
            tf.random.experimental.stateless_split(seed, 2)
        )
        width = self.transformer.output_dim
        valid = self.blocks.valid
        x = tf.random.stateless_normal([num_samples, width], start_seed)
        if self.blocks.count:
            uniform = tf.broadcast_to(
                valid / diffusion.category_counts(valid),
                [num_samples, *valid.shape],
            )
            categories = diffusion.sample_one_hot(
                uniform, valid, tf.random.experimental.stateless_fold_in(start_seed, 1)
            )
            x = self.blocks.put(x, categories)

        def step(index, x):
            t, s = self.schedule[index], self.schedule[index + 1]
            abar_t = tf.gather(self.alpha_bars, t)
            abar_s = tf.gather(self.alpha_bars, s)
            noise_seed, category_seed = tf.unstack(
                tf.random.experimental.stateless_split(
                    tf.random.experimental.stateless_fold_in(loop_seed, index), 2
                )
            )
            timesteps = tf.fill([num_samples], tf.cast(t, tf.float32))
            output = self.ema_denoiser([x, timesteps], training=False)
            noise = None
            if self.eta:
                noise = tf.random.stateless_normal(tf.shape(x), noise_seed)
            values = diffusion.ddim_step(
                x, output, abar_t, abar_s, self.eta, noise, self.bound
            )
            if not self.blocks.count:
                return index + 1, values
            predicted = tf.nn.softmax(self.blocks.take(output))
            posterior = diffusion.multinomial_posterior(
                self._categories(x), predicted, abar_t, abar_s, valid
            )
            categories = diffusion.sample_one_hot(posterior, valid, category_seed)
            return index + 1, self.blocks.put(values, categories)

        _, x = tf.while_loop(
            lambda index, x: index < tf.shape(self.schedule)[0] - 1,
            step,
            (tf.constant(0), x),
            shape_invariants=(tf.TensorShape([]), tf.TensorShape([None, width])),
        )
        return x

    def call(self, inputs, training=False):
        """The denoiser's prediction for ``(noisy rows, timesteps)``."""
        return self.denoiser(inputs, training=training)

    def get_config(self):
        return {
            **super().get_config(),
            "widths": list(self.widths),
            "embedding_dim": self.embedding_dim,
            "dropout": self.dropout,
            "timesteps": self.timesteps,
            "sampling_steps": self.sampling_steps,
            "eta": self.eta,
            "ema_decay": self.ema_decay,
            "learning_rate": self.learning_rate,
            "weight_decay": self.weight_decay,
            "seed": self.seed,
        }
