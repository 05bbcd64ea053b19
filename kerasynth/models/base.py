"""Base classes shared by every kerasynth model.

`GenerativeModel` fixes the contract every model answers: `generate()` and
the training defaults the CLI falls back on (how data meets the model is its
task's business: `kerasynth.tasks`). `AdversarialModel` adds what every GAN
needs on top of `keras.Model`: two optimizers in `compile()`, their
(de)serialization, and loss scaling under ``mixed_float16`` for both of them.
"""

from __future__ import annotations

from typing import Any, ClassVar

import keras
import tensorflow as tf


class GenerativeModel(keras.Model):
    """A Keras model that generates synthetic samples from latent noise.

    Subclasses set `training_defaults` (the batch size and the epochs of
    their paper, or its optimizer ``steps``, which `kerasynth train` uses
    when the user gives none: `kerasynth.training.training_epochs`) and
    implement `generate()`; `register_model` sets `registry_name` and
    `task`. The model owns its latent noise (`latent_noise`), so
    `generate()` and an exported ``sample`` signature draw exactly the same
    noise for a seed. `trains_by_gradient` is `False` for a model whose
    statistics are fitted by `adapt` instead (the reference table models),
    whose ``fit`` changes no weight.
    """

    training_defaults: ClassVar[dict[str, int]] = {"epochs": 50, "batch_size": 32}
    registry_name: ClassVar[str] = ""
    task: ClassVar[str] = ""
    unit: ClassVar[str] = "images"
    # Whether ``--mixed-precision auto`` may pick a mixed policy: it pays for
    # convolutions, not for the small dense networks of the table models.
    auto_mixed_precision: ClassVar[bool] = True
    trains_by_gradient: ClassVar[bool] = True
    # Whether the model trains under a differential privacy budget
    # (``--dp-epsilon``): it then carries `differential_privacy`, the record
    # of the budget spent (`kerasynth.privacy`).
    differentially_private: ClassVar[bool] = False
    differential_privacy: dict | None = None
    latent_dim: int
    seed_generator: keras.random.SeedGenerator

    def fresh_seed(self):
        """A new stateless ``[2]`` seed from the model's seed generator.

        Under a distribution strategy the generator's state is mirrored, so
        every replica would draw the same noise; the replica's index is
        folded in so that each draws its own.
        """
        seed = tf.cast(self.seed_generator.next(), tf.int32)
        context = tf.distribute.get_replica_context()
        if context is not None and context.num_replicas_in_sync > 1:
            seed = tf.random.experimental.stateless_fold_in(
                seed, context.replica_id_in_sync_group
            )
        return seed

    def latent_noise(self, num_samples, seed=None):
        """Standard normal latent vectors, shape ``[num_samples, latent_dim]``.

        Args:
            num_samples: an int or a scalar int tensor.
            seed: an int or scalar int tensor (stateless: the same seed gives
                the same noise), or `None` for fresh noise (`fresh_seed`).
        """
        shape = (num_samples, self.latent_dim)
        if seed is None:
            return tf.random.stateless_normal(shape, seed=self.fresh_seed())
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
    """A model whose `generator` maps a latent vector to images in [-1, 1].

    A model can be conditioned, on a class or on covariates:

    - with ``num_classes > 0`` it is class-conditional: training batches
      carry int labels, and `generate` takes ``conditions={"label": name}``;
    - with `covariates` (a `kerasynth.data.covariates.Covariates`, or its
      config) it is conditioned on each image's person (age, sex, CDR):
      training batches carry the encoded ``[batch, condition_dim]`` float
      vectors, and `generate` takes the covariates' values
      (``conditions={"Age": 80, "M/F": "F", "CDR": 1}``, or a DataFrame of
      one row per image).

    Either way the condition vector (a label's one-hot, or the encoded
    covariates) is concatenated to the generator's latent input and, as
    constant maps, to the images a discriminator or encoder reads
    (`with_label`, `label_maps`). Subclasses set `num_classes`,
    `class_names` and `covariates` with `check_classes`.
    """

    image_size: int
    channels: int
    num_classes: int = 0
    class_names: list[str] | None = None
    covariates: Any = None

    @property
    def condition_dim(self) -> int:
        """The length of the condition vector (0: unconditional)."""
        if self.covariates is not None:
            return self.covariates.dimension
        return self.num_classes

    @property
    def uses_labels(self) -> bool:
        """Whether training batches must carry labels or covariates."""
        return self.condition_dim > 0

    def check_classes(self, num_classes, class_names, covariates=None):
        """Validates and stores the conditioning arguments of a constructor."""
        from kerasynth.data.covariates import Covariates

        if num_classes < 0 or num_classes == 1:
            raise ValueError(
                "num_classes must be 0 (unconditional) or at least 2. "
                f"Received: num_classes={num_classes}"
            )
        if class_names is not None and len(class_names) != num_classes:
            raise ValueError(
                f"class_names must name the {num_classes} classes. "
                f"Received: class_names={class_names}"
            )
        if num_classes and covariates is not None:
            raise ValueError(
                "Condition on classes or on covariates, not both. "
                f"Received: num_classes={num_classes}, covariates={covariates!r}"
            )
        self.num_classes = num_classes
        self.class_names = (
            list(class_names)
            if class_names is not None
            else [str(i) for i in range(num_classes)] or None
        )
        self.covariates = Covariates.coerce(covariates)

    def conditioning_config(self) -> dict[str, Any]:
        """The conditioning arguments, for `get_config`."""
        return {
            "num_classes": self.num_classes,
            "class_names": self.class_names if self.num_classes else None,
            "covariates": None
            if self.covariates is None
            else self.covariates.get_config(),
        }

    def label_index(self, conditions) -> int | None:
        """``{"label": name}`` -> the class index (`None` without conditions)."""
        if conditions is None:
            return None
        if not self.num_classes:
            raise ValueError(
                f"{type(self).__name__} is unconditional (train it with "
                f"--conditional or --covariates). Received: conditions={conditions!r}"
            )
        if set(conditions) != {"label"}:
            raise ValueError(
                "Image models take one condition, label=NAME. "
                f"Received: conditions={conditions!r}"
            )
        value = str(conditions["label"])
        if value not in self.class_names:
            raise ValueError(
                f"Unknown label {value!r}. The classes are {self.class_names}"
            )
        return self.class_names.index(value)

    def draw_labels(self, num_samples, seed=None, label=None):
        """Labels for generation: all `label`, or uniform over the classes
        (from the seed's second stream, so the noise is unchanged)."""
        if label is not None:
            return tf.fill([num_samples], tf.cast(label, tf.int32))
        if seed is None:
            pair = self.fresh_seed()
        else:
            pair = tf.stack([tf.cast(seed, tf.int32), 1])
        return tf.random.stateless_uniform(
            [num_samples], pair, 0, self.num_classes, dtype=tf.int32
        )

    def condition_batch(self, num_samples, seed=None, conditions=None):
        """The conditions of `num_samples` images to generate, as training
        batches carry them (`None` for an unconditional model): int labels
        (`conditions` ``{"label": name}``, or drawn uniformly), or encoded
        covariates (`conditions` their values, or drawn from their
        training marginals with `seed`)."""
        if self.covariates is None:
            label = self.label_index(conditions)
            if not self.num_classes:
                return None
            return self.draw_labels(num_samples, seed, label)
        if conditions is None:
            conditions = self.covariates.draw(num_samples, seed)
        return tf.constant(self.covariates.encode(conditions, num_samples))

    def condition_vector(self, conditions, dtype="float32"):
        """A batch's conditions (int labels, or encoded covariates) as the
        ``[batch, condition_dim]`` vectors the networks read."""
        if self.covariates is not None:
            return tf.cast(conditions, dtype)
        return tf.one_hot(conditions, self.num_classes, dtype=dtype)

    def null_conditions(self, count):
        """Placeholder conditions (label 0, or zero vectors), for Keras'
        symbolic calls."""
        if self.covariates is not None:
            return tf.zeros([count, self.condition_dim])
        return tf.zeros([count], tf.int32)

    def with_label(self, latent, labels):
        """The generator input: `latent`, and the condition vector if any."""
        if not self.condition_dim:
            return latent
        vectors = self.condition_vector(labels, latent.dtype)
        return tf.concat([latent, vectors], axis=-1)

    def label_maps(self, images, labels):
        """`images` with one constant channel per condition entry appended."""
        if not self.condition_dim:
            return images
        vectors = self.condition_vector(labels, images.dtype)
        size = tf.shape(images)[1:3]
        maps = tf.tile(vectors[:, None, None, :], [1, size[0], size[1], 1])
        return tf.concat([images, maps], axis=-1)

    def generate(self, num_samples, seed=None, conditions=None, batch_size=256):
        """Returns ``[num_samples, H, W, C]`` float32 images in [-1, 1].

        Args:
            num_samples: how many images.
            seed: an int for repeatable images, `None` for fresh ones.
            conditions: ``{"label": name}`` for a class-conditional model
                (without it, classes are drawn uniformly); the covariates'
                values for a covariate-conditioned one (one value each, or
                a sequence or DataFrame of `num_samples`; without them,
                drawn from their training marginals); `None` otherwise.
            batch_size: images per generator call (bounds memory).
        """
        if num_samples < 1:
            raise ValueError(f"num_samples must be >= 1. Received: {num_samples}")
        labels = self.condition_batch(num_samples, seed, conditions)
        inputs = self.latent_noise(num_samples, seed)
        if labels is not None:
            inputs = self.with_label(inputs, labels)
        images = [
            self.generator(inputs[start : start + batch_size], training=False)
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
