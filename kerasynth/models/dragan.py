"""DRAGAN for tables (Kodali et al. 2017), on CTGAN's networks and sampler.

Kodali, Abernethy, Hays and Kira, "On Convergence and Stability of GANs"
(arXiv:1705.07215): the minimax GAN loss, with a gradient penalty taken only
around the real data (at perturbed real points) instead of WGAN-GP's
interpolates between real and generated rows.
"""

from __future__ import annotations

from kerasynth.models import losses
from kerasynth.models.ctgan import CTGAN
from kerasynth.models.registration import register_model


@register_model("dragan", task="tables")
class DRAGAN(CTGAN):
    """A tabular GAN with DRAGAN's local gradient penalty (Kodali et al. 2017).

    Everything but the loss is CTGAN's (Xu et al. 2019): the mode-specific
    transformer, the conditional residual generator, the PacGAN
    discriminator, Gumbel-softmax outputs, training-by-sampling and the
    conditional loss. The discriminator's score is a logit trained with
    binary cross-entropy (non-saturating for the generator), and the penalty
    ``lambda * E[(|grad D(x_hat)| - 1)^2]`` is taken at points between real
    rows and real rows perturbed by up to half a standard deviation of each
    feature (lambda 10, the paper's value).

    Args: as `CTGAN`; `gradient_penalty_weight` is DRAGAN's lambda.
    """

    def discriminator_loss(self, real_packed, fake_packed, seed):
        real_logits = self.discriminator(real_packed, training=True)
        fake_logits = self.discriminator(fake_packed, training=True)
        penalty = losses.dragan_penalty(self.discriminator, real_packed, seed)
        loss = losses.gan_discriminator_loss_from_logits(real_logits, fake_logits)
        return loss + self.gradient_penalty_weight * penalty, penalty

    def generator_adversarial_loss(self, fake_scores):
        return losses.gan_generator_loss_from_logits(fake_scores)
