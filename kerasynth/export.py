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
that read the folder rather than a server (`kerasynth.export_sampling`): what
it makes (images or a table), its signatures, a table's column order (a
signature's outputs are a map, so their order is lost) and a conditional
model's class names. TF Serving ignores both files' contents beyond warm-up.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import keras
import tensorflow as tf

from kerasynth import atomic, locks, runs, tasks
from kerasynth.signatures import Endpoint

WARMUP_FILE = Path("assets.extra") / "tf_serving_warmup_requests"
METADATA_FILE = Path("assets.extra") / "kerasynth.json"


def serving_endpoints(model) -> tuple[list[keras.Layer], list[Endpoint]]:
    """What to export of `model`, as its task says: the networks the
    signatures use (only those are saved; a GAN's discriminator is not) and
    the signatures."""
    return tasks.task_of(model).serving(model)


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
    """The contents of ``assets.extra/kerasynth.json`` for `model`: what it
    makes (``kind``, from its task), its signatures, and its privacy budget
    (``differential_privacy``: the record of its training, `None` for a
    model trained without differential privacy)."""
    from kerasynth import __version__

    return {
        "kerasynth_version": __version__,
        "model_class": type(model).__name__,
        "signatures": [endpoint.name for endpoint in endpoints],
        "differential_privacy": model.differential_privacy,
        **tasks.task_of(model).describe(model),
    }


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

    # Exports of one name take its lock: two never pick the same version,
    # and a staging folder a killed export left is removed.
    with locks.hold(model_dir):
        atomic.remove_leftovers(model_dir, ".export-*")
        staging = Path(tempfile.mkdtemp(prefix=".export-", dir=model_dir))
        try:
            archive.write_out(str(staging / "model"), verbose=False)
            write_warmup_requests(staging / "model" / WARMUP_FILE, name, endpoints)
            atomic.write_json(
                staging / "model" / METADATA_FILE, describe(model, endpoints)
            )
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
