"""A denoising diffusion model for images: DDPM training, DDIM sampling.

- Ho, Jain and Abbeel, "Denoising Diffusion Probabilistic Models", NeurIPS
  2020: the forward process adds Gaussian noise over ``T`` steps; a U-Net
  learns to predict the noise of ``x_t`` (the "simple" loss).
- Song, Meng and Ermon, "Denoising Diffusion Implicit Models", ICLR 2021:
  the same network samples deterministically in a few strided steps.
- Nichol and Dhariwal, "Improved Denoising Diffusion Probabilistic Models",
  ICML 2021: the cosine schedule.
- Ho and Salimans, "Classifier-Free Diffusion Guidance", 2022: a
  class-conditional model also learns the unconditional score (labels
  dropped at random in training) and can guide its samples.

The U-Net follows Ronneberger et al. (2015) with the residual blocks and
per-block timestep embedding of Ho et al. (2020), sized for a CPU: by
default it reads 2x2 patches (the U-Net runs at half the image's side) with
widths 32-64-96 and one block per level. Trained for 8 minutes on the OASIS
slices (64x64, batch 32), this trained 2.5 times faster than the full-size
U-Net of widths 16-32-64-96 (40 against 16 images/s, both beside other
work) and its samples' pixel-PCA Frechet distance to held-out people was
26.5 against 50.9. The diffusion math is
`kerasynth.models.diffusion`.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from kerasynth.models import diffusion, losses
from kerasynth.models.base import ImageGenerativeModel, SingleOptimizerModel
from kerasynth.models.registration import register_model

# === The U-Net ===


def _norm(width, dtype):
    # GroupNorm (Wu and He 2018) as Ho et al.: per image, so it behaves the
    # same in training and in sampling, with no moving statistics.
    return layers.GroupNormalization(groups=min(8, width // 4), dtype=dtype)


def _residual_block(x, embedding, width, dtype):
    """GroupNorm-SiLU-conv, plus the projected embedding, GroupNorm-SiLU-conv,
    added to the input (a 1x1 convolution when the width changes)."""
    skip = x if x.shape[-1] == width else layers.Conv2D(width, 1, dtype=dtype)(x)
    h = layers.Activation("silu", dtype=dtype)(_norm(x.shape[-1], dtype)(x))
    h = layers.Conv2D(width, 3, padding="same", dtype=dtype)(h)
    shift = layers.Dense(width, dtype=dtype)(embedding)
    h = layers.Add(dtype=dtype)([h, layers.Reshape((1, 1, width), dtype=dtype)(shift)])
    h = layers.Activation("silu", dtype=dtype)(_norm(width, dtype)(h))
    h = layers.Conv2D(width, 3, padding="same", dtype=dtype)(h)
    return layers.Add(dtype=dtype)([skip, h])


@keras.saving.register_keras_serializable(package="kerasynth")
class ConditionMaps(layers.Layer):
    """``[images, vectors]`` -> the images with each vector entry appended as
    a constant channel (the conditioning by concatenation of SR3 and
    Palette, Saharia et al. 2022, for a vector)."""

    def call(self, images, vectors):
        size = keras.ops.shape(images)[1:3]
        maps = keras.ops.broadcast_to(
            vectors[:, None, None, :],
            (keras.ops.shape(images)[0], *size, vectors.shape[-1]),
        )
        return keras.ops.concatenate(
            [images, keras.ops.cast(maps, images.dtype)], axis=-1
        )


def build_denoiser(
    image_size,
    channels,
    widths=(16, 32, 64, 96),
    block_depth=1,
    embedding_dim=64,
    condition_dim=0,
    condition_maps=False,
    patch_size=1,
    name="denoiser",
    dtype=None,
):
    """The noise-predicting U-Net: ``(noisy images, timesteps[, conditions])
    -> predicted noise`` (float32, the images' shape).

    The timestep's sinusoidal embedding (and a condition vector, projected
    and added) goes through Dense-SiLU-Dense and is added inside every
    residual block. Each level but the last has `block_depth` blocks and
    halves the side by average pooling; the way up upsamples bilinearly and
    concatenates the skip of the same level. At 64x64x1 with widths
    16-32-64-96: about 0.5 M parameters.

    With ``patch_size`` p > 1 the U-Net runs at ``1/p`` of the image side: a
    p x p strided convolution reads each patch (space-to-depth and a 1x1
    convolution in one) and a transposed one writes it back, as the
    "simple diffusion" of Hoogeboom, Heek and Salimans (ICML 2023) does for
    large images. On this CPU a 64x64 level of 16 channels costs more than
    the rest of the network.

    Args:
        image_size: side of the square images (divisible by
            ``2 ** (len(widths) - 1)``).
        channels: image channels.
        widths: channels of each level, from the full-size one down.
        block_depth: residual blocks per level.
        embedding_dim: width of the timestep (and condition) embedding.
        condition_dim: size of the condition vector (0: unconditional).
        condition_maps: also append the condition vector to the noisy
            images as constant channels (`ConditionMaps`), beside adding it
            to the embedding.
        patch_size: side of the patches the U-Net reads (1: pixels).
        name: the model's name.
        dtype: the layers' dtype policy.
    """
    images = keras.Input((image_size, image_size, channels), name="noisy_images")
    timesteps = keras.Input((), name="timesteps")
    inputs = [images, timesteps]
    embedding = diffusion.TimestepEmbedding(embedding_dim)(timesteps)
    if condition_dim:
        conditions = keras.Input((condition_dim,), name="conditions")
        inputs.append(conditions)
        projected = layers.Dense(embedding_dim, dtype=dtype)(conditions)
        embedding = layers.Add(dtype=dtype)([embedding, projected])
    embedding = layers.Dense(embedding_dim * 2, activation="silu", dtype=dtype)(
        embedding
    )
    embedding = layers.Dense(embedding_dim * 2, dtype=dtype)(embedding)

    stem = dict(kernel_size=patch_size, strides=patch_size) if patch_size > 1 else {}
    x = images
    if condition_dim and condition_maps:
        x = ConditionMaps(dtype=dtype)(images, conditions)
    x = layers.Conv2D(
        widths[0], padding="same", dtype=dtype, **({"kernel_size": 3} | stem)
    )(x)
    skips = []
    for width in widths[:-1]:
        for _ in range(block_depth):
            x = _residual_block(x, embedding, width, dtype)
            skips.append(x)
        x = layers.AveragePooling2D(2, dtype=dtype)(x)
    for _ in range(block_depth):
        x = _residual_block(x, embedding, widths[-1], dtype)
    for width in reversed(widths[:-1]):
        x = layers.UpSampling2D(interpolation="bilinear", dtype=dtype)(x)
        for _ in range(block_depth):
            x = layers.Concatenate(dtype=dtype)([x, skips.pop()])
            x = _residual_block(x, embedding, width, dtype)
    x = layers.Activation("silu", dtype=dtype)(_norm(widths[0], dtype)(x))
    # Zero-initialised output: the untrained network predicts no noise.
    head = layers.Conv2DTranspose if patch_size > 1 else layers.Conv2D
    outputs = head(
        channels, padding="same", kernel_initializer="zeros", dtype="float32",
        name="noise", **({"kernel_size": 3} | stem),
    )(x)  # fmt: skip
    return keras.Model(inputs, outputs, name=name)


# === Model ===


@register_model("ddim", task="diffusion_images")
class DDIM(SingleOptimizerModel, ImageGenerativeModel):
    """A diffusion model for images: trained as DDPM, sampled as DDIM.

    Training (Ho et al. 2020): a timestep ``t`` uniform in ``1..T``, noise
    ``e``, ``x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) e``; the U-Net
    `denoiser` predicts ``e`` from ``(x_t, t)``, with the squared error
    (``loss="l2"``, Ho et al.'s simple loss) or the absolute error
    (``"l1"``, as the keras-io DDIM example). An exponential moving average
    of its weights (`ema_denoiser`, the `generator`) samples and is
    exported. Sampling (Song et al. 2021): from ``x_T ~ N(0, I)``,
    `sampling_steps` strided deterministic DDIM steps (``eta = 0``), the
    predicted ``x_0`` clipped to [-1, 1] at every step.

    A class-conditional model (``num_classes > 0``) adds the label's one-hot,
    projected, to the timestep embedding; in training the label is dropped
    (all zeros) for `label_dropout` of the images, so that the same network
    also predicts the unconditional noise and ``guidance`` ``w`` can mix
    ``(1 + w) e(x, y) - w e(x)`` when sampling (Ho and Salimans 2022; ``w =
    0``, the default, is plain conditional sampling, one network call per
    step). A model conditioned on `covariates` (age, sex, CDR) adds their
    encoded vector and a "given" flag the same way; dropped, both are
    zeros.

    `test_step` reports the denoising loss on the given images and, as the
    keras-io example, the KID (Binkowski et al. 2018) between them and as
    many images sampled in `kid_steps` steps, in the features of
    `kid_features` (by default the images average-pooled to 16x16 pixels;
    set it to a trained encoder, e.g.
    `kerasynth.metrics.features.train_feature_encoder`, for a learned
    space): no pretrained network can be downloaded here.

    Args:
        image_size: side of the square images (divisible by
            ``2 ** (len(widths) - 1)``).
        channels: 1 (greyscale MRI) or 3.
        widths: the U-Net's channels per level.
        block_depth: residual blocks per level.
        embedding_dim: width of the timestep embedding.
        patch_size: side of the patches the U-Net reads (`build_denoiser`).
        timesteps: ``T``, the forward process's steps.
        schedule: ``"cosine"`` (Nichol and Dhariwal 2021) or ``"linear"``
            (Ho et al. 2020: ``beta`` from 1e-4 to 0.02 over 1,000 steps,
            rescaled to `timesteps`).
        loss: ``"l2"`` or ``"l1"`` on the predicted noise.
        sampling_steps: the default number of DDIM steps of `generate` and
            of the exported ``sample`` (each call may give its own).
        ema_decay: decay of the sampling network's moving average.
        learning_rate: AdamW's learning rate.
        weight_decay: AdamW's decoupled weight decay.
        label_dropout: share of training images whose label is dropped (a
            conditional model).
        guidance: the default classifier-free guidance weight ``w``.
        condition_maps: a conditional model also reads its condition vector
            as constant image channels (`ConditionMaps`), not only in the
            embedding. Measured on slices whose ventricle disc widens with
            the asked age (1,000 steps, guidance 2): the disc's radius went
            from 1.0 to 5.7 px between ages 20 and 80 with the maps, 0.6 to
            5.1 without (the training images: 3.3 to 7.0).
        kid_steps: sampling steps of the images `test_step` scores.
        num_classes: 0, or the classes of a class-conditional model.
        class_names: the classes' names, for ``conditions={"label": ...}``.
        covariates: `None`, or the `kerasynth.data.covariates.Covariates`
            (or its config) whose encoded values condition the model
            instead of a class: each image's person's age, sex, CDR.
        seed: seed of the model's `keras.random.SeedGenerator`.

    Example:

    ```python
    model = kerasynth.registry.get_model("ddim", image_size=64)
    model.compile()
    model.fit(dataset, epochs=30)
    images = model.generate(16, seed=0, steps=20)
    ```
    """

    # A diffusion model needs thousands of updates: 600 steps of 32 slices
    # (8 minutes here) drew brain-shaped but speckled slices. 3,000 steps
    # are about 30 minutes on this 2-core CPU; an epoch of a small set is a
    # few dozen steps, so the default counts steps.
    training_defaults = {"steps": 3000, "batch_size": 32}
    # GroupNorm under bfloat16 ran over ten times slower than float32 on
    # this CPU (the U-Net's 64x64 training step): no automatic mixed policy.
    auto_mixed_precision = False

    def __init__(
        self,
        image_size=64,
        channels=1,
        widths=(32, 64, 96),
        block_depth=1,
        embedding_dim=64,
        patch_size=2,
        timesteps=1000,
        schedule="cosine",
        loss="l2",
        sampling_steps=20,
        ema_decay=0.999,
        learning_rate=1e-3,
        weight_decay=1e-4,
        label_dropout=0.1,
        guidance=0.0,
        condition_maps=True,
        kid_steps=5,
        num_classes=0,
        class_names=None,
        covariates=None,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.check_classes(num_classes, class_names, covariates)
        self.widths = tuple(int(w) for w in widths)
        if not isinstance(patch_size, int) or patch_size < 1:
            raise ValueError(
                f"patch_size must be an integer >= 1. Received: {patch_size}"
            )
        levels = patch_size * 2 ** (len(self.widths) - 1)
        if image_size < levels or image_size % levels:
            raise ValueError(
                f"DDIM image_size must be a multiple of {levels} (patch_size "
                f"times 2 ** the {len(self.widths) - 1} downsamplings of "
                f"widths={list(self.widths)}). Received: image_size={image_size}"
            )
        if channels not in (1, 3):
            raise ValueError(f"channels must be 1 or 3. Received: channels={channels}")
        if schedule not in SCHEDULES:
            raise ValueError(
                f"schedule must be one of {', '.join(SCHEDULES)}. "
                f"Received: schedule={schedule!r}"
            )
        if loss not in ("l1", "l2"):
            raise ValueError(f"loss must be 'l1' or 'l2'. Received: loss={loss!r}")
        for name, value in (("timesteps", timesteps), ("block_depth", block_depth),
                            ("sampling_steps", sampling_steps),
                            ("kid_steps", kid_steps)):  # fmt: skip
            if not isinstance(value, int) or value < 1:
                raise ValueError(
                    f"{name} must be an integer >= 1. Received: {name}={value}"
                )
        if not 0.0 <= label_dropout < 1.0:
            raise ValueError(
                f"label_dropout must be in [0, 1). Received: {label_dropout}"
            )
        self.image_size = image_size
        self.channels = channels
        self.block_depth = block_depth
        self.embedding_dim = int(embedding_dim)
        self.patch_size = patch_size
        self.timesteps = timesteps
        self.schedule = schedule
        self.loss = loss
        self.sampling_steps = sampling_steps
        self.ema_decay = float(ema_decay)
        self.learning_rate = float(learning_rate)
        self.weight_decay = float(weight_decay)
        self.label_dropout = float(label_dropout)
        self.guidance = float(guidance)
        self.condition_maps = bool(condition_maps)
        self.kid_steps = kid_steps
        self.seed = seed
        # The noise x_T has the images' shape: the "latent" of generate().
        self.latent_shape = (image_size, image_size, channels)
        args = dict(
            image_size=image_size, channels=channels, widths=self.widths,
            block_depth=block_depth, embedding_dim=self.embedding_dim,
            condition_dim=self._denoiser_condition_dim, patch_size=patch_size,
            condition_maps=self.condition_maps, dtype=self.dtype_policy,
        )  # fmt: skip
        self.denoiser = build_denoiser(name="denoiser", **args)
        self.ema_denoiser = build_denoiser(name="ema_denoiser", **args)
        self.ema_denoiser.trainable = False
        diffusion.copy_weights(self.ema_denoiser, self.denoiser)
        self.generator = self.ema_denoiser
        self.alpha_bars = tf.constant(SCHEDULES[schedule](timesteps), tf.float32)
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.kid_features = pooled_pixels
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.kid_tracker = keras.metrics.Mean(name="kid")
        self.built = True

    @property
    def metrics(self):
        return [self.loss_tracker, self.kid_tracker]

    def default_optimizer(self):
        """AdamW (learning rate 1e-3, weight decay 1e-4), as keras-io's DDIM."""
        return keras.optimizers.AdamW(
            learning_rate=self.learning_rate, weight_decay=self.weight_decay
        )

    # === Training ===

    @property
    def _denoiser_condition_dim(self):
        # Encoded covariates get a "given" flag: all zeros is then the null
        # condition only, never the mean patient.
        return self.condition_dim + int(self.covariates is not None)

    def _conditions(self, labels, count, seed=None):
        """The condition vectors of `labels` (one-hot labels, or encoded
        covariates and a 1; zeros, the unconditional "null" condition,
        where dropped at random when `seed` is given), or `None` for an
        unconditional model."""
        if not self.uses_labels:
            return None
        vectors = self.condition_vector(labels)
        if self.covariates is not None:
            vectors = tf.concat([vectors, tf.ones_like(vectors[:, :1])], axis=-1)
        if seed is None or not self.label_dropout:
            return vectors
        kept = tf.random.stateless_uniform([count], seed) >= self.label_dropout
        return vectors * tf.cast(kept, vectors.dtype)[:, None]

    def _denoise(self, network, x, timesteps, conditions, training=False):
        inputs = [x, timesteps] if conditions is None else [x, timesteps, conditions]
        return network(inputs, training=training)

    def noise_loss(self, images, labels=None, seed=None, training=False):
        """The denoising loss of `images` at random timesteps (a stateless
        ``[2]`` `seed`, fresh when `None`)."""
        images = tf.cast(images, tf.float32)
        count = tf.shape(images)[0]
        seed = self.fresh_seed() if seed is None else seed
        time_seed, noise_seed, label_seed = tf.unstack(
            tf.random.experimental.stateless_split(seed, 3)
        )
        t = tf.random.stateless_uniform(
            [count], time_seed, 1, self.timesteps + 1, dtype=tf.int32
        )
        abar = tf.gather(self.alpha_bars, t)[:, None, None, None]
        noise = tf.random.stateless_normal(tf.shape(images), noise_seed)
        noisy = diffusion.gaussian_q_sample(images, noise, abar)
        conditions = self._conditions(labels, count, label_seed if training else None)
        predicted = self._denoise(
            self.denoiser, noisy, tf.cast(t, tf.float32), conditions, training
        )
        error = predicted - noise
        error = tf.abs(error) if self.loss == "l1" else tf.square(error)
        return tf.reduce_mean(error)

    def train_step(self, data):
        images, labels = data if isinstance(data, tuple) else (data, None)
        with tf.GradientTape() as tape:
            loss = self.noise_loss(images, labels, training=True)
            scaled = self.optimizer.scale_loss(losses.scale_for_replicas(loss))
        variables = self.denoiser.trainable_variables
        self.optimizer.apply(tape.gradient(scaled, variables), variables)
        diffusion.update_moving_average(
            self.ema_denoiser, self.denoiser, self.optimizer.iterations, self.ema_decay
        )
        self.loss_tracker.update_state(loss)
        return {"loss": self.loss_tracker.result()}

    def test_step(self, data):
        images, labels = data if isinstance(data, tuple) else (data, None)
        images = tf.cast(images, tf.float32)
        count = tf.shape(images)[0]
        self.loss_tracker.update_state(self.noise_loss(images, labels))
        noise = tf.random.stateless_normal(tf.shape(images), self.fresh_seed())
        conditions = self._conditions(labels, count)
        generated = self.denoise_from(noise, conditions, self.kid_steps)
        self.kid_tracker.update_state(
            kernel_distance(self.kid_features(images), self.kid_features(generated))
        )
        return {m.name: m.result() for m in self.metrics}

    # === Sampling ===

    def denoise_from(self, noise, conditions=None, steps=None, guidance=None):
        """Images from the noise ``x_T`` by `steps` DDIM steps of the EMA
        network (graph ops: `steps` may be a tensor).

        Args:
            noise: ``[N, H, W, C]`` float32.
            conditions: the condition vectors of a conditional model
                (`_conditions`: one-hot labels, or encoded covariates and a
                1), `None` otherwise.
            steps: the number of steps, 1 to ``T`` (default:
                `sampling_steps`).
            guidance: the classifier-free guidance weight, a Python number
                (default: the model's `guidance`; not 0 costs a second network
                call per step).
        """
        steps = self.sampling_steps if steps is None else steps
        steps = tf.clip_by_value(tf.cast(steps, tf.int32), 1, self.timesteps)
        guidance = self.guidance if guidance is None else float(guidance)
        guided = conditions is not None and guidance != 0.0
        # tau_0 = 0 < ... < tau_n = T, evenly spaced (distinct: n <= T).
        schedule = tf.cast(
            tf.round(tf.linspace(0.0, float(self.timesteps), steps + 1)), tf.int32
        )
        count = tf.shape(noise)[0]

        def predict(x, t):
            timesteps = tf.fill([count], tf.cast(t, tf.float32))
            predicted = self._denoise(self.ema_denoiser, x, timesteps, conditions)
            if guided:
                free = self._denoise(
                    self.ema_denoiser, x, timesteps, tf.zeros_like(conditions)
                )
                predicted = (1.0 + guidance) * predicted - guidance * free
            return predicted

        def step(index, x):
            t, s = schedule[index], schedule[index - 1]
            abar_t = tf.gather(self.alpha_bars, t)
            abar_s = tf.gather(self.alpha_bars, s)
            x = diffusion.ddim_step(x, predict(x, t), abar_t, abar_s, bound=1.0)
            return index - 1, x

        _, x = tf.while_loop(
            lambda index, x: index > 0,
            step,
            (steps, tf.cast(noise, tf.float32)),
            shape_invariants=(
                tf.TensorShape([]),
                tf.TensorShape([None, *self.latent_shape]),
            ),
        )
        return tf.clip_by_value(x, -1.0, 1.0)

    def latent_noise(self, num_samples, seed=None):
        """The starting noise ``x_T``, ``[num_samples, H, W, C]`` (stateless
        for a seed, as `GenerativeModel.latent_noise`)."""
        shape = (num_samples, *self.latent_shape)
        if seed is None:
            return tf.random.stateless_normal(shape, seed=self.fresh_seed())
        return tf.random.stateless_normal(
            shape, seed=tf.stack([tf.cast(seed, tf.int32), 0])
        )

    def generate(
        self, num_samples, seed=None, conditions=None, batch_size=256, steps=None,
        guidance=None,
    ):  # fmt: skip
        """Returns ``[num_samples, H, W, C]`` float32 images in [-1, 1].

        Args:
            num_samples: how many images.
            seed: an int for repeatable images (the exported ``sample``
                gives the same ones), `None` for fresh ones.
            conditions: as `ImageGenerativeModel.generate`: a label, or
                the covariates' values (drawn when `None`).
            batch_size: images per sampling loop (bounds memory).
            steps: DDIM steps (default: `sampling_steps`).
            guidance: classifier-free guidance weight (default: `guidance`).
        """
        if num_samples < 1:
            raise ValueError(f"num_samples must be >= 1. Received: {num_samples}")
        labels = self.condition_batch(num_samples, seed, conditions)
        noise = self.latent_noise(num_samples, seed)
        sampler = self._graph_sampler()
        steps = tf.constant(self.sampling_steps if steps is None else steps, tf.int32)
        guidance = self.guidance if guidance is None else float(guidance)
        images = []
        for start in range(0, num_samples, batch_size):
            part = slice(start, start + batch_size)
            conditions = (
                None if labels is None else self._conditions(labels[part], None)
            )
            images.append(sampler(noise[part], conditions, steps, guidance))
        return keras.ops.convert_to_numpy(keras.ops.concatenate(images, axis=0))

    def _graph_sampler(self):
        # One traced sampling loop, reused by every generate() call.
        if getattr(self, "_sampler", None) is None:
            self._sampler = tf.function(self.denoise_from, reduce_retracing=True)
        return self._sampler

    def call(self, inputs, training=False):
        """The denoiser's noise prediction for ``[noisy, timesteps(,
        conditions)]``."""
        return self.denoiser(inputs, training=training)

    def get_config(self):
        return {
            **super().get_config(),
            "image_size": self.image_size,
            "channels": self.channels,
            "widths": list(self.widths),
            "block_depth": self.block_depth,
            "embedding_dim": self.embedding_dim,
            "patch_size": self.patch_size,
            "timesteps": self.timesteps,
            "schedule": self.schedule,
            "loss": self.loss,
            "sampling_steps": self.sampling_steps,
            "ema_decay": self.ema_decay,
            "learning_rate": self.learning_rate,
            "weight_decay": self.weight_decay,
            "label_dropout": self.label_dropout,
            "guidance": self.guidance,
            "condition_maps": self.condition_maps,
            "kid_steps": self.kid_steps,
            **self.conditioning_config(),
            "seed": self.seed,
        }


# === Schedules and the in-graph KID ===


def linear_alpha_bars(timesteps: int) -> np.ndarray:
    """``abar_t`` for ``t = 0..T`` of Ho et al.'s linear schedule: ``beta``
    from 1e-4 to 0.02, scaled by ``1000 / T`` so that any ``T`` destroys the
    data as their 1,000 steps do."""
    scale = 1000.0 / timesteps
    betas = np.linspace(scale * 1e-4, min(scale * 0.02, 0.999), timesteps)
    return np.concatenate([[1.0], np.cumprod(1.0 - betas)])


SCHEDULES = {"cosine": diffusion.cosine_alpha_bars, "linear": linear_alpha_bars}


def pooled_pixels(images, side=16):
    """Images average-pooled to ``side x side`` and flattened: the default
    feature space of `DDIM.test_step`'s KID."""
    images = tf.cast(images, tf.float32)
    return tf.reshape(
        tf.image.resize(images, [side, side], method="area"), [tf.shape(images)[0], -1]
    )


def kernel_distance(features_a, features_b):
    """The unbiased squared MMD with KID's cubic polynomial kernel ``(x.y /
    D + 1)^3`` (Binkowski et al. 2018) between two feature batches, in
    graph ops (`kerasynth.metrics.feature_distances.kid` is the NumPy one
    the reports use)."""
    a = tf.cast(features_a, tf.float32)
    b = tf.cast(features_b, tf.float32)
    dim = tf.cast(tf.shape(a)[1], tf.float32)
    n = tf.cast(tf.shape(a)[0], tf.float32)
    m = tf.cast(tf.shape(b)[0], tf.float32)

    def kernel(x, y):
        return (tf.matmul(x, y, transpose_b=True) / dim + 1.0) ** 3

    k_aa, k_bb, k_ab = kernel(a, a), kernel(b, b), kernel(a, b)
    within_a = (tf.reduce_sum(k_aa) - tf.linalg.trace(k_aa)) / (n * (n - 1.0))
    within_b = (tf.reduce_sum(k_bb) - tf.linalg.trace(k_bb)) / (m * (m - 1.0))
    return within_a + within_b - 2.0 * tf.reduce_mean(k_ab)
