"""The serving signatures of kerasynth's generators, one builder per family.

Each builder returns the `Endpoint`s (a function, its input signature and a
warm-up request) that `kerasynth.export` writes into a SavedModel; a model's
task (`kerasynth.tasks`) picks the builder. Every ``sample`` signature draws
with stateless random ops, so ``sample(num_samples, seed)`` gives exactly
``model.generate(num_samples, seed=seed)``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
import tensorflow as tf

from kerasynth.models.table_base import condition_key


@dataclasses.dataclass
class Endpoint:
    """One serving signature: a function, its input signature, and the
    inputs of its warm-up request."""

    name: str
    fn: Callable
    input_signature: list[tf.TensorSpec]
    warmup_inputs: dict[str, np.ndarray]


def _images(tensor):
    return {"images": tf.cast(tensor, tf.float32)}


def _image_spec(model, name):
    shape = [None, model.image_size, model.image_size, model.channels]
    return tf.TensorSpec(shape, tf.float32, name=name)


def _image_warmup(model):
    return np.zeros((1, model.image_size, model.image_size, model.channels), "float32")


def _with_labels(model, specs, warmup, scalar=False):
    """Adds a conditioned model's inputs to a signature: ``label`` (int32,
    one per image, or one scalar) for a class-conditional model; for one
    conditioned on covariates, one ``[None]`` input per covariate, named by
    `Covariate.input_name` (``M/F`` -> ``M_F``): float32 for a numeric one
    (NaN for missing), string for a categorical one (``""`` for missing),
    one value per image or one for all."""
    if model.covariates is not None:
        extra, values = [], {}
        for column in model.covariates.columns:
            name = column.input_name
            if column.kind == "numeric":
                extra.append(tf.TensorSpec([None], tf.float32, name=name))
                values[name] = np.array([column.low], np.float32)
            else:
                extra.append(tf.TensorSpec([None], tf.string, name=name))
                values[name] = np.array([column.categories[0].encode()], object)
        return [*specs, *extra], {**warmup, **values}
    if not model.num_classes:
        return specs, warmup
    shape = [] if scalar else [None]
    label = np.array(0 if scalar else [0], np.int32)
    return [*specs, tf.TensorSpec(shape, tf.int32, name="label")], {
        **warmup,
        "label": label,
    }


def _given_conditions(model, given, count, seed=None):
    """The conditions of `count` images (as training batches carry them)
    from a signature's condition inputs `given` (`_with_labels`): the
    encoded covariates (a single value broadcast to all), per-image
    labels, or, with a `seed` (``sample``), one scalar label, -1 for
    labels drawn uniformly. `None` for an unconditional model."""
    if not model.uses_labels:
        return None
    if model.covariates is not None:
        values = {}
        for column, value in zip(model.covariates.columns, given, strict=True):
            single = tf.equal(tf.size(value), 1)
            values[column.input_name] = tf.cond(
                single, lambda v=value: tf.fill([count], v[0]), lambda v=value: v
            )
        return model.covariates.encode_tensors(values)
    (label,) = given
    if seed is None:
        return label
    drawn = model.draw_labels(count, seed)
    return tf.where(label >= 0, tf.fill([count], label), drawn)


def latent_image_endpoints(model) -> list[Endpoint]:
    """A generator from latent noise: ``serving_default`` (``noise``) and
    ``sample`` (``num_samples``, ``seed``); a class-conditional model also
    takes ``label`` (per image; for ``sample`` one scalar, -1 for classes
    drawn uniformly), a covariate-conditioned one its covariates
    (`_with_labels`)."""
    generator = model.generator

    def from_noise(noise, *given):
        labels = _given_conditions(model, given, tf.shape(noise)[0])
        return _images(generator(model.with_label(noise, labels), training=False))

    def sample(num_samples, seed, *given):
        noise = model.latent_noise(num_samples, seed)
        labels = _given_conditions(model, given, num_samples, seed)
        return _images(generator(model.with_label(noise, labels), training=False))

    noise_spec = [tf.TensorSpec([None, model.latent_dim], tf.float32, name="noise")]
    scalars = [
        tf.TensorSpec([], tf.int32, name="num_samples"),
        tf.TensorSpec([], tf.int32, name="seed"),
    ]
    return [
        Endpoint(
            "serving_default",
            from_noise,
            *_with_labels(
                model, noise_spec, {"noise": np.zeros((1, model.latent_dim), "float32")}
            ),
        ),
        Endpoint(
            "sample",
            sample,
            *_with_labels(
                model,
                scalars,
                {"num_samples": np.array(1, np.int32), "seed": np.array(0, np.int32)},
                scalar=True,
            ),
        ),
    ]


def diffusion_image_endpoints(model) -> list[Endpoint]:
    """A diffusion model (`ddim`): ``sample`` (``num_samples``, ``seed``,
    ``steps``, and ``label`` when class-conditional: one scalar, -1 for
    classes drawn uniformly; or the covariates), the same images as
    ``model.generate(num_samples, seed=seed, steps=steps)``; and
    ``serving_default``, which denoises given ``noise`` (``[None, H, W,
    C]``, the starting ``x_T``) in ``steps`` steps (with per-image
    ``label``s or covariates)."""

    def from_noise(noise, steps, *given):
        labels = _given_conditions(model, given, tf.shape(noise)[0])
        conditions = None if labels is None else model._conditions(labels, None)
        return _images(model.denoise_from(noise, conditions, steps))

    def sample(num_samples, seed, steps, *given):
        noise = model.latent_noise(num_samples, seed)
        labels = _given_conditions(model, given, num_samples, seed)
        conditions = None if labels is None else model._conditions(labels, None)
        return _images(model.denoise_from(noise, conditions, steps))

    steps = tf.TensorSpec([], tf.int32, name="steps")
    few = np.array(1, np.int32)  # the warm-up traces the loop, one step is enough
    scalars = [
        tf.TensorSpec([], tf.int32, name="num_samples"),
        tf.TensorSpec([], tf.int32, name="seed"),
        steps,
    ]
    return [
        Endpoint(
            "serving_default",
            from_noise,
            *_with_labels(
                model,
                [_image_spec(model, "noise"), steps],
                {"noise": _image_warmup(model), "steps": few},
            ),
        ),
        Endpoint(
            "sample",
            sample,
            *_with_labels(
                model,
                scalars,
                {
                    "num_samples": np.array(1, np.int32),
                    "seed": np.array(0, np.int32),
                    "steps": few,
                },
                scalar=True,
            ),  # fmt: skip
        ),
    ]


def translation_endpoints(model) -> list[Endpoint]:
    """Pix2Pix: ``serving_default`` and ``translate``, images (and labels,
    if conditional) -> images."""

    def translate(images, labels=None):
        return _images(
            model.generator(model.label_maps(images, labels), training=False)
        )

    specs, warmup = _with_labels(
        model, [_image_spec(model, "images")], {"images": _image_warmup(model)}
    )
    return [
        Endpoint("serving_default", translate, specs, warmup),
        Endpoint("translate", translate, specs, warmup),
    ]


def autoencoder_endpoints(model) -> list[Endpoint]:
    """The Beta-VAE: the generator's signatures (``serving_default`` from
    noise, ``sample``), plus ``decode`` (latent -> images) and
    ``reconstruct`` (images -> images through the posterior mean); with
    ``label`` inputs when conditional."""

    def decode(latent, *given):
        labels = _given_conditions(model, given, tf.shape(latent)[0])
        return _images(model.decode(latent, labels))

    def reconstruct(images, *given):
        labels = _given_conditions(model, given, tf.shape(images)[0])
        mean, _ = model.encode(images, labels)
        return _images(model.decode(mean, labels))

    latent_spec = [tf.TensorSpec([None, model.latent_dim], tf.float32, name="latent")]
    return [
        *latent_image_endpoints(model),
        Endpoint(
            "decode",
            decode,
            *_with_labels(
                model,
                latent_spec,
                {"latent": np.zeros((1, model.latent_dim), np.float32)},
            ),
        ),
        Endpoint(
            "reconstruct",
            reconstruct,
            *_with_labels(
                model, [_image_spec(model, "images")], {"images": _image_warmup(model)}
            ),
        ),
    ]


def table_endpoints(model) -> list[Endpoint]:
    """The signatures of a table model: decoded rows, one output per column
    (numbers in the original units, categories as strings, NaN or "" where
    the model generates a missing value). The inverse transform runs in the
    graph, so TF Serving answers with rows a person can read."""

    def first_seed(seed):
        # As `generate()` seeds its first chunk of rows.
        return tf.random.experimental.stateless_fold_in(model.seed_pair(seed), 0)

    def sample(num_samples, seed):
        rows = model.sample_matrix(num_samples, first_seed(seed))
        return model.transformer.inverse_transform_graph(rows)

    def sample_conditional(num_samples, seed, column, value):
        key = tf.strings.join([column, value], separator="=")
        rows = model.sample_conditional_matrix(num_samples, first_seed(seed), [key])
        return model.transformer.inverse_transform_graph(rows)

    scalars = [
        tf.TensorSpec([], tf.int32, name="num_samples"),
        tf.TensorSpec([], tf.int32, name="seed"),
    ]
    warmup = {"num_samples": np.array(1, np.int32), "seed": np.array(0, np.int32)}
    endpoints = [
        Endpoint("serving_default", sample, scalars, warmup),
        Endpoint("sample", sample, scalars, warmup),
    ]
    if model.transformer.categorical_columns:
        first = model.transformer.categorical_columns[0]
        category = model.transformer.categories(first)[0]
        column, value = condition_key(first, category).split("=", 1)
        endpoints.append(
            Endpoint(
                "sample_conditional",
                sample_conditional,
                [
                    *scalars,
                    tf.TensorSpec([], tf.string, name="column"),
                    tf.TensorSpec([], tf.string, name="value"),
                ],
                {**warmup, "column": np.array(column), "value": np.array(value)},
            )
        )
    return endpoints
