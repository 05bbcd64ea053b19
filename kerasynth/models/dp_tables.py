"""Table models trained with DP-SGD: `dp_tvae` and `dp_tab_ddpm`.

A DP-SGD model is its non-private model with the update that reads the
training rows replaced by DP-SGD's (`kerasynth.privacy.dp_sgd`): the whole
network's, the VAE's and the diffusion denoiser's. `TableTask.prepare` gives
them Poisson batches and `kerasynth.training` calls `plan_privacy` with the
planned steps, which calibrates the noise to ``--dp-epsilon`` and writes the
record (`differential_privacy`). The transformer is fitted on the public
facts only, as for `dp_gaussian_copula`.

A DPGAN (Xie et al. 2018: the study's `tabular_gan` with a DP-SGD
discriminator, the generator learning only through it) was built and
measured on OASIS-1 at epsilon 1-8 (`benchmarks/RESULTS.md`): every run
collapsed to one sex, sdmetrics quality 0.35-0.52, no better than its
untrained generator. It is not registered.

References: M. Abadi et al., *Deep Learning with Differential Privacy*,
CCS 2016; L. Xie, K. Lin, S. Wang, F. Wang, J. Zhou, *Differentially
Private Generative Adversarial Network*, 2018.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from kerasynth.models import losses, private, spans
from kerasynth.models.private import PrivateTraining, batch_mean
from kerasynth.models.registration import register_model
from kerasynth.models.tab_ddpm import TabDDPM
from kerasynth.models.tvae import TVAE
from kerasynth.privacy import accounting

NOT_COVERED = [
    "the schema read off the data and treated as public: column kinds and "
    "dtypes, whole numbers, decimal places, and whether a column has missing "
    "values where --metadata does not say",
    "the bounds and categories themselves (public, from --metadata)",
    *private.NOT_COVERED,
]


@register_model("dp_tvae", task="tables")
class DPTVAE(PrivateTraining, TVAE):
    """TVAE (Xu et al. 2019) trained with DP-SGD on the whole network: each
    row's gradient of its own loss (reconstruction and KL) is clipped.
    Smaller by default than TVAE (latent 16, widths 64): the noise grows
    with the number of weights while a small table's signal does not. Args
    as `TVAE` and `PrivateTraining`.

    Measured on OASIS-1's 305 training rows at epsilon 3 (seed 0): quality
    0.68-0.71 for every length, batch and learning rate tried (20-100
    epochs, batches 64-128, 1e-3 to 1e-2), and 0.74-0.79 even at epsilon
    1,000 for 1,000 steps: TVAE needs thousands of steps (see `TVAE`), and
    clipped, noisy steps are dearer."""

    training_defaults = {"epochs": 50, "batch_size": 64}
    covered = ["every training row's influence on the encoder, decoder and sigmas"]
    not_covered = NOT_COVERED
    preprocessing = "public: bounds and categories from --metadata"

    def __init__(self, transformer, latent_dim=16, encoder_widths=(64, 64),
                 decoder_widths=(64, 64), loss_factor=2.0, seed=None,
                 learning_rate=5e-3, epsilon=3.0, delta=accounting.DEFAULT_DELTA,
                 noise_multiplier=None, l2_norm_clip=1.0,
                 differential_privacy=None, **kwargs):  # fmt: skip
        super().__init__(
            transformer,
            latent_dim=latent_dim,
            encoder_widths=encoder_widths,
            decoder_widths=decoder_widths,
            loss_factor=loss_factor,
            seed=seed,
            **kwargs,
        )
        self.init_privacy(epsilon, delta, noise_multiplier, l2_norm_clip,
                          differential_privacy, learning_rate)  # fmt: skip

    def default_optimizer(self):
        return keras.optimizers.Adam(
            learning_rate=self.learning_rate, weight_decay=1e-5
        )

    def train_step(self, data):
        rows = data[0] if isinstance(data, tuple) else data
        noise = tf.random.stateless_normal(
            (tf.shape(rows)[0], self.latent_dim), self.seed_pair()
        )

        def loss_of_one(example):
            row, draw = example
            mean, log_var = tf.split(self.encoder(row, training=True), 2, axis=-1)
            latent = mean + tf.exp(0.5 * log_var) * draw
            raw = self.decoder(latent, training=True)
            reconstruction = spans.reconstruction_loss(
                row, raw, self.sigmas, self.spans
            )
            kl = losses.gaussian_kl(mean, log_var)
            return self.loss_factor * reconstruction + kl, reconstruction, kl

        variables = self.trainable_variables
        gradients, values = self.private_gradients(
            loss_of_one, (rows, noise), variables
        )
        self.optimizer.apply(gradients, variables)
        loss, reconstruction, kl = tf.unstack(batch_mean(values))
        return self.track(loss, reconstruction, kl)


@register_model("dp_tab_ddpm", task="tables")
class DPTabDDPM(PrivateTraining, TabDDPM):
    """TabDDPM (Kotelnikov et al. 2023) trained with DP-SGD on the whole
    denoiser: each row's diffusion loss (at its own timestep and noise) is
    clipped. Narrower than `tab_ddpm` (widths 128-128, embedding 64) and
    without dropout (its mask would be drawn per batch, not per row); the
    moving average reads only the noisy weights (post-processing). Args as
    `TabDDPM` and `PrivateTraining`.

    Measured on OASIS-1's 305 training rows (50 epochs of 64): learning
    rate 5e-3 reached sdmetrics quality 0.61-0.69 at epsilon 3 (seeds 0, 1)
    and 0.78 at epsilon 8 (Age~nWBV r -0.48, real -0.86); 2e-3 0.47 and
    0.72, 1e-2 0.54 at epsilon 3; 25 epochs of 128, 0.45."""

    training_defaults = {"epochs": 50, "batch_size": 64}
    covered = ["every training row's influence on the denoiser and its average"]
    not_covered = NOT_COVERED
    preprocessing = "public: bounds and categories from --metadata"

    def __init__(self, transformer, widths=(128, 128), embedding_dim=64,
                 timesteps=1000, sampling_steps=50, eta=0.0, ema_decay=0.999,
                 learning_rate=5e-3, weight_decay=1e-4, seed=None, epsilon=3.0,
                 delta=accounting.DEFAULT_DELTA, noise_multiplier=None,
                 l2_norm_clip=1.0, differential_privacy=None,
                 **kwargs):  # fmt: skip
        kwargs.pop("dropout", None)  # a saved config names it: always 0 here
        super().__init__(
            transformer, widths=widths, embedding_dim=embedding_dim, dropout=0.0,
            timesteps=timesteps, sampling_steps=sampling_steps, eta=eta,
            ema_decay=ema_decay, learning_rate=learning_rate,
            weight_decay=weight_decay, seed=seed, **kwargs,
        )  # fmt: skip
        self.init_privacy(epsilon, delta, noise_multiplier, l2_norm_clip,
                          differential_privacy, learning_rate)  # fmt: skip

    def train_step(self, data):
        rows = tf.cast(data[0] if isinstance(data, tuple) else data, tf.float32)
        noised = self.noised(rows)
        variables = self.denoiser.trainable_variables
        gradients, values = self.private_gradients(
            self.denoising_losses, noised, variables
        )
        self.optimizer.apply(gradients, variables)
        return self.after_update(*tf.unstack(batch_mean(values)))
