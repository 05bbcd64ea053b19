"""The base of the variational autoencoders: posterior sampling and trackers.

`BetaVAE`, `TVAE` and `TabularVAE` differ in their networks and their
reconstruction losses; what they share lives here, the math in `losses`
(`losses.reparameterise`, `losses.gaussian_kl`) and the state in
`VariationalModel`.
"""

from __future__ import annotations

import keras

from kerasynth.models import losses
from kerasynth.models.base import SingleOptimizerModel


class VariationalModel(SingleOptimizerModel):
    """A VAE: an encoder to a diagonal Gaussian posterior q(z | x), a decoder.

    Kingma and Welling, "Auto-Encoding Variational Bayes", ICLR 2014: the
    loss is a reconstruction term plus the KL divergence of the posterior
    from the N(0, I) prior, and the latent code is drawn from the posterior
    by the reparameterisation trick so that the gradient reaches the
    encoder. This class holds the state every VAE shares: the three loss
    trackers (``loss``, ``reconstruction``, ``kl``) listed in `metrics`, and
    the posterior draw from the model's `seed_generator`. Subclasses build
    the networks and the `seed_generator`, and write `train_step`.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.reconstruction_tracker = keras.metrics.Mean(name="reconstruction")
        self.kl_tracker = keras.metrics.Mean(name="kl")

    @property
    def metrics(self):
        return [self.loss_tracker, self.reconstruction_tracker, self.kl_tracker]

    def sample_posterior(self, mean, log_var):
        """A latent code drawn from N(mean, exp(log_var)) with fresh noise
        from the seed generator (`losses.reparameterise`)."""
        return losses.reparameterise(mean, log_var, self.fresh_seed())

    def kl_divergence(self, mean, log_var):
        """KL(q(z | x) || N(0, I)), summed over the latent dimensions and
        averaged over the batch (`losses.gaussian_kl`)."""
        return losses.gaussian_kl(mean, log_var)

    def track(self, loss, reconstruction, kl):
        """Updates the trackers with a step's losses; returns their results,
        the logs `train_step` returns."""
        self.loss_tracker.update_state(loss)
        self.reconstruction_tracker.update_state(reconstruction)
        self.kl_tracker.update_state(kl)
        return {m.name: m.result() for m in self.metrics}
