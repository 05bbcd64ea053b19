"""Export a trained generator as a SavedModel in TF Serving's layout.

``export_model(model, base, name)`` writes ``base/name/V/`` with V the next
free integer version (TF Serving loads the highest and ignores non-numeric
folders, so the version is written under a hidden name and renamed). An image
generator answers two signatures:

- ``serving_default``: ``noise`` float32 ``[None, latent_dim]`` ->
  ``images`` float32 ``[None, H, W, C]`` in [-1, 1];
- ``sample``: ``num_samples`` and ``seed`` int32 scalars -> ``images``, drawn
  with stateless random ops, so a seed always gives the same images (the same
  as ``model.generate(num_samples, seed=seed)``).

A table model answers ``sample`` (also as ``serving_default``) with one
output per column, decoded in the graph, and ``sample_conditional`` (also
``column`` and ``value`` strings) when the table has categorical columns.

``assets.extra/tf_serving_warmup_requests`` holds one warm-up
``PredictionLog`` per signature, so TF Serving traces both before its first
request. ``assets.extra/kerasynth.json`` describes the generator for clients
that read the folder rather than a server (`kerasynth.batch_sampling`): what
it makes (images or a table), its signatures, a table's column order (a
signature's outputs are a map, so their order is lost) and a conditional
model's class names. TF Serving ignores both files' contents beyond warm-up.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from kerasynth import atomic, runs
from kerasynth.models.base import ImageGenerativeModel
from kerasynth.models.table_base import TableGenerativeModel, condition_key

WARMUP_FILE = Path("assets.extra") / "tf_serving_warmup_requests"
METADATA_FILE = Path("assets.extra") / "kerasynth.json"


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
    """Adds a ``label`` input (int32, one per image, or one scalar) to a
    class-conditional model's signature."""
    if not model.num_classes:
        return specs, warmup
    shape = [] if scalar else [None]
    label = np.array(0 if scalar else [0], np.int32)
    return [*specs, tf.TensorSpec(shape, tf.int32, name="label")], {
        **warmup,
        "label": label,
    }


def latent_image_endpoints(model: ImageGenerativeModel) -> list[Endpoint]:
    """A generator from latent noise: ``serving_default`` (``noise``) and
    ``sample`` (``num_samples``, ``seed``); a class-conditional model also
    takes ``label`` (per image; for ``sample`` one scalar, -1 for classes
    drawn uniformly)."""
    generator = model.generator

    def from_noise(noise, labels=None):
        return _images(generator(model.with_label(noise, labels), training=False))

    def sample(num_samples, seed, label=None):
        noise = model.latent_noise(num_samples, seed)
        if model.num_classes:
            drawn = model.draw_labels(num_samples, seed)
            labels = tf.where(label >= 0, tf.fill([num_samples], label), drawn)
            noise = model.with_label(noise, labels)
        return _images(generator(noise, training=False))

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

    def decode(latent, labels=None):
        return _images(model.decode(latent, labels))

    def reconstruct(images, labels=None):
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


def table_endpoints(model: TableGenerativeModel) -> list[Endpoint]:
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


def serving_endpoints(model) -> tuple[list[keras.Layer], list[Endpoint]]:
    """What to export of `model`: the networks the signatures use (only those
    are saved; a GAN's discriminator is not) and the signatures."""
    if getattr(model, "needs_sources", False):
        return [model.generator], translation_endpoints(model)
    if hasattr(model, "encoder") and isinstance(model, ImageGenerativeModel):
        return [model.encoder, model.decoder], autoencoder_endpoints(model)
    if isinstance(model, ImageGenerativeModel):
        return [model.generator], latent_image_endpoints(model)
    if isinstance(model, TableGenerativeModel):
        return [model.generator], table_endpoints(model)
    raise ValueError(f"Export does not know how to serve {type(model).__name__}.")


def next_version(model_dir: Path) -> int:
    """One more than the highest integer version folder (1 when none)."""
    versions = [
        int(p.name) for p in model_dir.glob("*") if p.is_dir() and p.name.isdigit()
    ]
    return max(versions, default=0) + 1


def write_warmup_requests(path: Path, name: str, endpoints: list[Endpoint]) -> None:
    """Writes TF Serving warm-up records: a TFRecord of ``PredictionLog``."""
    from tensorflow_serving.apis import model_pb2, predict_pb2, prediction_log_pb2

    path.parent.mkdir(parents=True, exist_ok=True)
    with tf.io.TFRecordWriter(str(path)) as writer:
        for endpoint in endpoints:
            request = predict_pb2.PredictRequest(
                model_spec=model_pb2.ModelSpec(name=name, signature_name=endpoint.name)
            )
            for key, value in endpoint.warmup_inputs.items():
                request.inputs[key].CopyFrom(tf.make_tensor_proto(value))
            log = prediction_log_pb2.PredictionLog(
                predict_log=prediction_log_pb2.PredictLog(request=request)
            )
            writer.write(log.SerializeToString())


def describe(model, endpoints: list[Endpoint]) -> dict:
    """The contents of ``assets.extra/kerasynth.json`` for `model`."""
    from kerasynth import __version__

    metadata = {
        "kerasynth_version": __version__,
        "model_class": type(model).__name__,
        "signatures": [endpoint.name for endpoint in endpoints],
    }
    if isinstance(model, TableGenerativeModel):
        metadata["kind"] = "table"
        metadata["columns"] = list(model.transformer.columns)
    else:
        metadata["kind"] = "images"
        metadata["image_shape"] = [model.image_size, model.image_size, model.channels]
        if getattr(model, "num_classes", 0):
            metadata["class_names"] = list(model.class_names)
    return metadata


def export_model(model, serving_dir: str | os.PathLike, name: str) -> Path:
    """Writes `model` as ``serving_dir/name/<next version>/`` and returns it.

    Args:
        model: a trained kerasynth model.
        serving_dir: TF Serving's model base path.
        name: the model's name under TF Serving (its REST path
            ``/v1/models/<name>``).
    """
    if not name or "/" in name or name.startswith("."):
        raise ValueError(f"Invalid serving model name. Received: name={name!r}")
    model_dir = Path(serving_dir) / name
    model_dir.mkdir(parents=True, exist_ok=True)
    networks, endpoints = serving_endpoints(model)
    archive = keras.export.ExportArchive()
    for network in networks:
        archive.track(network)
    # Variables the signatures read outside the networks (TVAE's sigmas).
    extra = list(getattr(model, "sampling_variables", ()))
    if extra:
        archive.add_variable_collection("sampling_variables", extra)
    for endpoint in endpoints:
        archive.add_endpoint(endpoint.name, endpoint.fn, endpoint.input_signature)

    staging = Path(tempfile.mkdtemp(prefix=".export-", dir=model_dir))
    try:
        archive.write_out(str(staging / "model"), verbose=False)
        write_warmup_requests(staging / "model" / WARMUP_FILE, name, endpoints)
        atomic.write_json(staging / "model" / METADATA_FILE, describe(model, endpoints))
        version_dir = model_dir / str(next_version(model_dir))
        os.replace(staging / "model", version_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return version_dir


def export_run(
    run_dir: str | os.PathLike, serving_dir: str | os.PathLike, name: str | None = None
) -> Path:
    """Exports the model of a run directory (see `export_model`); `name`
    defaults to the run's model name."""
    config = runs.read_config(run_dir)
    model = runs.load_model(run_dir)
    return export_model(model, serving_dir, name or config["model"])
