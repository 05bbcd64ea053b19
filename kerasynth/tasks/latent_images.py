"""`LatentImageTask`: models that generate images from latent noise (DCGAN,
the Beta-VAE)."""

from __future__ import annotations

from kerasynth import signatures
from kerasynth.tasks.images import ImageTask


class LatentImageTask(ImageTask):
    """Images from noise: batches of images (with labels when conditional);
    sampling needs nothing but the model. An autoencoder (the Beta-VAE) also
    gives reconstruction pairs and serves ``decode`` and ``reconstruct``."""

    name = "latent_images"

    def batches(self, model, config, train, batch_size, seed):
        from kerasynth.data.pipeline import make_dataset

        dataset = make_dataset(
            train, batch_size, seed=seed, conditions=self.conditions_of(model, train)
        )
        return dataset, None

    def pairs(self, model, train, seed):
        if not hasattr(model, "reconstruct"):
            return None
        labels = self.conditions_of(model, train)
        return train.images, model.reconstruct(train.images, labels)

    def serving(self, model):
        if hasattr(model, "decode"):
            return [model.encoder, model.decoder], signatures.autoencoder_endpoints(
                model
            )
        return [model.generator], signatures.latent_image_endpoints(model)
