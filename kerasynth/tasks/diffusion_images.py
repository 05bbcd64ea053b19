"""`DiffusionImageTask`: images made by a diffusion model (`ddim`).

The data side is the latent image family's (batches of images, with labels
when conditional); sampling runs the model's DDIM loop, whose number of
steps the exported ``sample`` signature takes as an input.
"""

from __future__ import annotations

from kerasynth import signatures
from kerasynth.tasks.latent_images import LatentImageTask


class DiffusionImageTask(LatentImageTask):
    """Images from noise by iterative denoising: the EMA denoiser is the one
    network an export saves."""

    name = "diffusion_images"

    def pairs(self, model, train, seed):
        return None  # no encoder: samples are paired with their nearest image

    def serving(self, model):
        return [model.ema_denoiser], signatures.diffusion_image_endpoints(model)

    def describe(self, model):
        return {**super().describe(model), "sampling_steps": model.sampling_steps}
