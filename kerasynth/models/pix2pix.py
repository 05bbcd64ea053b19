"""Pix2Pix (Isola et al. 2017) as in the study's Figure 4.

Isola, Zhu, Zhou and Efros, "Image-to-Image Translation with Conditional
Adversarial Networks", CVPR 2017 (arXiv:1611.07004): a U-Net generator
(`unet.py`) and a PatchGAN discriminator (`patchgan.py`) trained with the
adversarial loss plus an L1 term.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from kerasynth.data.pairs import check_pairing, degrade
from kerasynth.models import losses
from kerasynth.models.base import AdversarialModel, ImageGenerativeModel, adam_pair
from kerasynth.models.patchgan import build_patchgan
from kerasynth.models.registration import register_model
from kerasynth.models.unet import build_unet


@register_model("pix2pix", task="translation")
class Pix2Pix(AdversarialModel, ImageGenerativeModel):
    """Image-to-image translation with a conditional GAN (Isola et al. 2017).

    The study's Figure 4 networks: at 64x64 with 3 channels, the U-Net has
    1,318,659 and the PatchGAN 666,817 trainable parameters. Loss: binary
    cross-entropy on every patch plus `l1_weight` x the L1 distance to the
    target; Adam 2e-4 (beta_1 0.5) for both networks. Each step translates
    the batch once: the discriminator learns from that translation, then the
    generator from the updated discriminator's verdict on it (as in Isola et
    al.'s code).

    Trained on (source, target) pairs: two folders matched by relative path,
    or one folder whose sources are degraded by `pairing` (``noise``,
    ``blur``, ``downsample``, ``mask``) with `pairing_strength`. The study's
    noise-input *synthesis* is ``pairing="noise"``: `generate()` then adds
    fresh noise to real images and translates them. Those outputs are
    reconstructions of real patients' images, not new ones: run the
    memorization check on them before sharing anything.

    Args:
        image_size: side of the images (a multiple of 8).
        channels: 1 or 3.
        l1_weight: weight of the L1 term (Isola et al.: 100).
        pairing: how sources are made from one folder (see above); `None`
            when the model learns from given (source, target) pairs.
        pairing_strength: its strength (`None`: the pairing's default).
        filters: width of the first convolution of both networks.
        num_classes: 0, or the number of classes whose one-hot label enters
            both networks as constant image channels beside the source.
        class_names: the classes' names, for ``conditions={"label": ...}``.
        seed: seed of the model's `keras.random.SeedGenerator`.
    """

    training_defaults = {"epochs": 100, "batch_size": 16}

    def __init__(
        self,
        image_size=64,
        channels=1,
        l1_weight=100.0,
        pairing="noise",
        pairing_strength=None,
        filters=64,
        num_classes=0,
        class_names=None,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.check_classes(num_classes, class_names)
        if image_size < 8 or image_size % 8:
            raise ValueError(
                "Pix2Pix image_size must be a multiple of 8. "
                f"Received: image_size={image_size}"
            )
        if channels not in (1, 3):
            raise ValueError(f"channels must be 1 or 3. Received: channels={channels}")
        self.image_size = image_size
        self.channels = channels
        self.l1_weight = float(l1_weight)
        self.pairing = pairing
        self.pairing_strength = (
            None if pairing is None else check_pairing(pairing, pairing_strength)
        )
        self.filters = filters
        self.seed = seed
        self.latent_dim = 0  # no latent: the source image is the input
        self.generator = build_unet(
            image_size, channels, filters, self.dtype_policy, extra_channels=num_classes
        )
        self.discriminator = build_patchgan(
            image_size, channels, filters, self.dtype_policy, extra_channels=num_classes
        )
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.l1_tracker = keras.metrics.Mean(name="l1")
        self.built = True

    def default_optimizers(self):
        return adam_pair()

    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker, self.l1_tracker]

    def train_step(self, data):
        source, target = data[0], data[1]
        # A conditional model's batches are ((source, labels), target).
        if isinstance(source, tuple):
            source = self.label_maps(*source)

        # One translation serves both updates: the generator does not change
        # in between, so a second forward pass would give the same images
        # (and move the BatchNorm statistics twice per step). The generator's
        # tape pauses while the discriminator learns.
        with tf.GradientTape() as g_tape:
            fake = self.generator(source, training=True)
            with g_tape.stop_recording():
                # Discriminator: (source, target) is real, (source, fake) fake.
                with tf.GradientTape() as d_tape:
                    real_probs = self.discriminator([source, target], training=True)
                    fake_probs = self.discriminator([source, fake], training=True)
                    d_loss = losses.gan_discriminator_loss(real_probs, fake_probs)
                    scaled = self.discriminator_optimizer.scale_loss(
                        losses.scale_for_replicas(d_loss)
                    )
                variables = self.discriminator.trainable_variables
                self.discriminator_optimizer.apply(
                    d_tape.gradient(scaled, variables), variables
                )
            # Generator: fool the updated patches, stay close to the target (L1).
            fake_probs = self.discriminator([source, fake], training=True)
            l1 = tf.reduce_mean(tf.abs(tf.cast(target, tf.float32) - fake))
            g_loss = losses.gan_generator_loss(fake_probs) + self.l1_weight * l1
            scaled = self.generator_optimizer.scale_loss(
                losses.scale_for_replicas(g_loss)
            )
        variables = self.generator.trainable_variables
        self.generator_optimizer.apply(g_tape.gradient(scaled, variables), variables)

        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        self.l1_tracker.update_state(l1)
        return {m.name: m.result() for m in self.metrics}

    def translate(self, images, labels=None, batch_size=256):
        """Source images in [-1, 1] (and their labels, if conditional) ->
        translated images (NumPy, float32)."""
        if self.num_classes and labels is None:
            raise ValueError("A conditional Pix2Pix translates with labels.")
        inputs = self.label_maps(tf.constant(images, tf.float32), labels)
        outputs = [
            self.generator(inputs[start : start + batch_size], training=False)
            for start in range(0, len(images), batch_size)
        ]
        return keras.ops.convert_to_numpy(keras.ops.concatenate(outputs, axis=0))

    def degrade(self, images, seed):
        """`images` degraded by the model's pairing, from a ``[2]`` seed
        (unchanged for a model trained on given pairs)."""
        if self.pairing is None:
            return images
        return degrade(images, self.pairing, self.pairing_strength, seed)

    def generate(self, num_samples, seed=None, conditions=None, sources=None):
        """Translates `num_samples` real images, degraded by the model's
        pairing (the study's noise-input synthesis when ``pairing="noise"``).

        Args:
            num_samples: how many images.
            seed: picks the real images (with replacement) and the fresh
                degradation; `None` draws from the model's seed generator.
            conditions: accepted only as `None`.
            sources: the real images to draw from, ``[N, H, W, C]`` in
                [-1, 1], or for a conditional model ``(images, labels)``;
                ``kerasynth sample`` passes the run's training data. These
                outputs reconstruct real images: check them for memorization
                before sharing.
        """
        images, labels = sources if isinstance(sources, tuple) else (sources, None)
        label = self.label_index(conditions)
        if sources is None:
            raise ValueError(
                "Pix2Pix translates images: pass sources (real images to "
                "degrade and translate), e.g. the run's training data."
            )
        if seed is None:
            pair = self.fresh_seed()
        else:
            pair = tf.stack([tf.cast(seed, tf.int32), 0])
        pick_seed, degrade_seed = tf.unstack(
            tf.random.experimental.stateless_split(pair, 2)
        )
        pool = np.arange(len(images))
        if label is not None:
            # A conditional model translates real images of the asked class.
            pool = pool[np.asarray(labels) == label]
        picks = tf.gather(
            pool,
            tf.random.stateless_uniform(
                [num_samples], pick_seed, 0, len(pool), dtype=tf.int32
            ),
        )
        chosen = tf.gather(tf.constant(np.asarray(images, np.float32)), picks)
        chosen_labels = None if labels is None else tf.gather(labels, picks)
        return self.translate(self.degrade(chosen, degrade_seed), chosen_labels)

    def call(self, images, training=False):
        if self.num_classes:  # Keras' symbolic calls pass images only
            images = self.label_maps(images, tf.zeros(tf.shape(images)[:1], tf.int32))
        return self.generator(images, training=training)

    def get_config(self):
        return {
            **super().get_config(),
            "image_size": self.image_size,
            "channels": self.channels,
            "l1_weight": self.l1_weight,
            "pairing": self.pairing,
            "pairing_strength": self.pairing_strength,
            "filters": self.filters,
            "num_classes": self.num_classes,
            "class_names": self.class_names if self.num_classes else None,
            "seed": self.seed,
        }
