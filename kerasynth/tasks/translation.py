"""`TranslationTask`: image-to-image models (Pix2Pix), whose "samples" are
translations of real images.

The task owns the real images a translation model starts from, its
sampling context, so that sampling from a run, the fidelity callbacks, the
evaluation and the samples grid all get them. With a pairing (``noise``,
``blur``, ...) the outputs reconstruct real patients' images: the
evaluation marks them ``derived_from_real`` and the default gate refuses
them.
"""

from __future__ import annotations

from kerasynth import signatures
from kerasynth.tasks.images import ImageTask


class TranslationTask(ImageTask):
    """(source, target) batches; sampling translates real images."""

    name = "translation"

    def model_kwargs(self, config):
        kwargs = dict(config.model_kwargs)
        if config.target is not None:
            kwargs["pairing"] = None  # the pairs are given: nothing to degrade
        return kwargs

    def batches(self, model, config, train, batch_size, seed):
        from kerasynth.data.pairs import make_pair_dataset, pair_by_key

        labels = train.labels if model.uses_labels else None
        if config.target is None:
            dataset = make_pair_dataset(
                train.images,
                batch_size,
                seed=seed,
                pairing=model.pairing,
                strength=model.pairing_strength,
                labels=labels,
            )
            return dataset, self.context_from(model, train)
        if labels is not None:
            raise ValueError(
                "--conditional Pix2Pix learns from one source (--pairing)."
            )
        targets = self.load(config.target, model=model)
        sources, target_images = pair_by_key(train, targets)
        dataset = make_pair_dataset(
            target_images, batch_size, seed=seed, sources=sources
        )
        return dataset, sources

    def prepare(self, config, batch_size, seed, data):
        prepared = super().prepare(config, batch_size, seed, data)
        prepared.description["target"] = config.target
        return prepared

    def sample(self, model, num_samples, seed=None, conditions=None, context=None):
        return model.generate(num_samples, seed, conditions, sources=context)

    def context_from(self, model, data):
        if model.uses_labels:
            return data.images, data.labels
        return data.images

    def run_context(self, model, record):
        # The run's training images, read again from the source it names.
        source = self.load(record["data"]["source"], model=model)
        return self.context_from(model, source)

    def pairs(self, model, train, seed):
        import tensorflow as tf

        degraded = model.degrade(tf.constant(train.images), tf.constant([seed, 3]))
        labels = train.labels if model.uses_labels else None
        return train.images, model.translate(degraded.numpy(), labels)

    def derived_from_real(self, model):
        return model.pairing is not None

    def serving(self, model):
        return [model.generator], signatures.translation_endpoints(model)
