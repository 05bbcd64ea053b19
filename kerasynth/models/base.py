"""Base classes shared by every kerasynth model.

`GenerativeModel` fixes the contract every model answers: `generate()`, the
training defaults the CLI falls back on, and the modality that picks the data
loader. `AdversarialModel` adds what every GAN needs on top of
`keras.Model`: two optimizers in `compile()`, their (de)serialization, and
loss scaling under ``mixed_float16`` for both of them.
"""

from __future__ import annotations

from typing import Any, ClassVar

import keras
import tensorflow as tf


class GenerativeModel(keras.Model):
    """A Keras model that generates synthetic samples from latent noise.

    Subclasses set `modality` ("image" or "table") and `training_defaults`
    (the epochs and batch size of their paper, which `kerasynth train` uses
    when the user gives none), and implement `generate()`. The model owns its
    latent noise (`latent_noise`), so `generate()` and an exported ``sample``
    signature draw exactly the same noise for a seed.
    """

    modality: ClassVar[str] = "image"
    training_defaults: ClassVar[dict[str, int]] = {"epochs": 50, "batch_size": 32}
    registry_name: ClassVar[str] = ""
    unit: ClassVar[str] = "images"
    # Whether ``--mixed-precision auto`` may pick a mixed policy: it pays for
    # convolutions, not for the small dense networks of the table models.
    auto_mixed_precision: ClassVar[bool] = True
    latent_dim: int
    seed_generator: keras.random.SeedGenerator

    def latent_noise(self, num_samples, seed=None):
        """Standard normal latent vectors, shape ``[num_samples, latent_dim]``.

        Args:
            num_samples: an int or a scalar int tensor.
            seed: an int or scalar int tensor (stateless: the same seed gives
                the same noise), or `None` to draw from `self.seed_generator`.
        """
        shape = (num_samples, self.latent_dim)
        if seed is None:
            return keras.random.normal(shape, seed=self.seed_generator)
        seed = tf.cast(seed, tf.int32)
        return tf.random.stateless_normal(shape, seed=tf.stack([seed, 0]))

    def generate(
        self,
        num_samples: int,
        seed: int | None = None,
        conditions: Any = None,
    ) -> Any:
        """Returns `num_samples` synthetic samples.

        Args:
            num_samples: how many samples to draw.
            seed: an int gives the same samples every time (stateless random
                ops); `None` draws fresh samples from the model's seed
                generator.
            conditions: what to condition on, for conditional models.
        """
        raise NotImplementedError


class ImageGenerativeModel(GenerativeModel):
    """A model whose `generator` maps a latent vector to images in [-1, 1]."""

    image_size: int
    channels: int

    def generate(self, num_samples, seed=None, conditions=None, batch_size=256):
        """Returns ``[num_samples, H, W, C]`` float32 images in [-1, 1].

        Args:
            num_samples: how many images.
            seed: an int for repeatable images, `None` for fresh ones.
            conditions: unconditional models accept only `None`.
            batch_size: images per generator call (bounds memory).
        """
        if conditions is not None:
            raise ValueError(
                f"{type(self).__name__} is unconditional. "
                f"Received: conditions={conditions!r}"
            )
        if num_samples < 1:
            raise ValueError(f"num_samples must be >= 1. Received: {num_samples}")
        noise = self.latent_noise(num_samples, seed)
        images = [
            self.generator(noise[start : start + batch_size], training=False)
            for start in range(0, num_samples, batch_size)
        ]
        return keras.ops.convert_to_numpy(keras.ops.concatenate(images, axis=0))


def adam_pair(learning_rate=2e-4, beta_1=0.5, **kwargs):
    """Adam optimizers named ``generator_adam`` and ``discriminator_adam``
    (DCGAN's defaults: learning rate 2e-4, beta_1 0.5)."""
    return tuple(
        keras.optimizers.Adam(
            learning_rate=learning_rate, beta_1=beta_1, name=f"{net}_adam", **kwargs
        )
        for net in ("generator", "discriminator")
    )


class SingleOptimizerModel(GenerativeModel):
    """A model trained with one optimizer (the VAEs): `compile()` falls back
    on the paper's optimizer (`default_optimizer`), builds its variables at
    once (in the strategy scope, and so that `load_model` restores them), and
    reloads from its compile config."""

    def default_optimizer(self) -> keras.optimizers.Optimizer:
        return keras.optimizers.Adam(1e-3)

    def compile(self, optimizer=None, **kwargs):
        """Compiles with `optimizer`, or the paper's when `None`."""
        super().compile(optimizer=optimizer or self.default_optimizer(), **kwargs)
        self.optimizer.build(self.trainable_variables)

    def compile_from_config(self, config):
        self.compile(**keras.saving.deserialize_keras_object(config))


class AdversarialModel(GenerativeModel):
    """A GAN: a `generator`, a `discriminator` and one optimizer for each.

    `compile()` takes the two optimizers (the subclass's paper defaults when
    omitted), wraps both in `keras.optimizers.LossScaleOptimizer` under the
    ``mixed_float16`` policy (Keras wraps only ``self.optimizer``), and
    implements `get_compile_config`/`compile_from_config` so that a
    reloaded ``.keras`` file comes back compiled with its optimizer state.
    """

    generator: keras.Model
    discriminator: keras.Model

    def default_optimizers(self) -> tuple[keras.optimizers.Optimizer, ...]:
        """The (generator, discriminator) optimizers of the model's paper."""
        raise NotImplementedError

    def compile(
        self,
        generator_optimizer=None,
        discriminator_optimizer=None,
        *,
        run_eagerly=False,
        jit_compile="auto",
        steps_per_execution=1,
    ):
        """Configures the model for training.

        Args:
            generator_optimizer: an optimizer, its name or config; `None`
                uses the paper's.
            discriminator_optimizer: the same, for the discriminator.
            run_eagerly: run `train_step` eagerly (for debugging).
            jit_compile: `True`, `False` or ``"auto"`` (XLA on GPU only,
                where it is faster; on CPU it is slower).
            steps_per_execution: batches per compiled call.
        """
        defaults = self.default_optimizers()
        optimizers = [
            keras.optimizers.get(given) if given is not None else default
            for given, default in zip(
                (generator_optimizer, discriminator_optimizer), defaults, strict=True
            )
        ]
        super().compile(
            optimizer=None,
            run_eagerly=run_eagerly,
            jit_compile=jit_compile,
            steps_per_execution=steps_per_execution,
        )
        self._kerasynth_compile_config = {
            "generator_optimizer": optimizers[0],
            "discriminator_optimizer": optimizers[1],
            "run_eagerly": run_eagerly,
            "jit_compile": jit_compile,
            "steps_per_execution": steps_per_execution,
        }
        if self.dtype_policy.name == "mixed_float16":
            optimizers = [
                opt
                if isinstance(opt, keras.optimizers.LossScaleOptimizer)
                else keras.optimizers.LossScaleOptimizer(opt)
                for opt in optimizers
            ]
        self.generator_optimizer, self.discriminator_optimizer = optimizers
        # Create the optimizer variables now, in the caller's strategy scope:
        # created lazily inside a replicated train_step, they break
        # MirroredStrategy; and `load_model` needs them to restore their state.
        self.generator_optimizer.build(self.generator.trainable_variables)
        self.discriminator_optimizer.build(self.discriminator.trainable_variables)

    def get_compile_config(self):
        if not getattr(self, "compiled", False):
            return None
        return keras.saving.serialize_keras_object(self._kerasynth_compile_config)

    def compile_from_config(self, config):
        self.compile(**keras.saving.deserialize_keras_object(config))
