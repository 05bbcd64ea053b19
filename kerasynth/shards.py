"""What every sampling engine shares: the chunk plan, the exported generator
it calls, and the bytes of the shard files it writes.

A sampling job is a list of `Chunk` requests: ``num`` samples split into
``shards`` output files, each shard into chunks of at most ``chunk_size``
samples, and every chunk one call of the SavedModel's ``sample`` signature
(or ``sample_conditional``) with its own seed. A chunk's seed is derived from
``(seed, shard, chunk)`` alone, so the samples do not depend on who runs the
plan, in what order or on how many workers: the in-process engine
(`kerasynth.export_sampling`) and the Apache Beam pipeline (`kerasynth.beam`)
both run the pieces here and write the same shards.

A shard is named ``part-00003-of-00008.csv`` (or ``.parquet``, or ``.npy``
for images: float32 in [-1, 1], shape ``[n, H, W, C]``).
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd


@dataclasses.dataclass(frozen=True)
class Chunk:
    """One signature call: `num_samples` samples for `shard`, drawn with
    `seed`; `chunk` orders the chunks within their shard."""

    shard: int
    chunk: int
    num_samples: int
    seed: int


def chunk_seed(seed: int, shard: int, chunk: int) -> int:
    """A non-negative int32 seed for one chunk, from the job's seed and the
    chunk's place alone (NumPy's `SeedSequence` hashes the three)."""
    # SeedSequence takes non-negative entries: a negative seed wraps to 32 bits.
    state = np.random.SeedSequence([seed % 2**32, shard, chunk]).generate_state(1)[0]
    return int(state >> 1)


def plan(num: int, shards: int, chunk_size: int, seed: int) -> list[Chunk]:
    """Splits `num` samples into `shards` shards of near-equal size (the first
    ``num % shards`` one larger) and each shard into chunks of at most
    `chunk_size`."""
    for name, value in (("num", num), ("shards", shards), ("chunk_size", chunk_size)):
        if value < 1:
            raise ValueError(f"{name} must be at least 1. Received: {name}={value}")
    if shards > num:
        raise ValueError(
            f"Cannot split {num} samples into {shards} shards: every shard "
            "needs at least one sample."
        )
    chunks = []
    for shard in range(shards):
        size = num // shards + (shard < num % shards)
        for index, start in enumerate(range(0, size, chunk_size)):
            chunks.append(
                Chunk(
                    shard,
                    index,
                    min(chunk_size, size - start),
                    chunk_seed(seed, shard, index),
                )
            )
    return chunks


def shard_name(shard: int, shards: int, suffix: str) -> str:
    """``part-00003-of-00008.csv``, the naming of Beam's and Hadoop's
    sharded files."""
    return f"part-{shard:05d}-of-{shards:05d}.{suffix}"


def _join(*parts: str) -> str:
    # Not pathlib: it would turn "gs://bucket" into "gs:/bucket".
    return "/".join([parts[0].rstrip("/"), *parts[1:]])


def resolve_saved_model(path: str | os.PathLike) -> str:
    """`path` itself if it holds a ``saved_model.pb``, else its highest
    integer version folder (TF Serving's ``BASE/NAME`` layout). Local or
    remote (``gs://...``): read through ``tf.io.gfile``."""
    from tensorflow.io import gfile

    path = os.fspath(path)
    if gfile.exists(_join(path, "saved_model.pb")):
        return path
    names = gfile.listdir(path) if gfile.isdir(path) else []
    versions = sorted((int(n.strip("/")) for n in names if n.strip("/").isdigit()),
                      reverse=True)  # fmt: skip
    for version in versions:
        if gfile.exists(_join(path, str(version), "saved_model.pb")):
            return _join(path, str(version))
    raise ValueError(
        f"{path} is not an exported generator: expected a SavedModel folder "
        "(with saved_model.pb) or TF Serving's BASE/NAME folder of numbered "
        "versions (written by `kerasynth export`)."
    )


class SavedGenerator:
    """A generator exported by `kerasynth.export`, loaded for sampling.

    Args:
        path: the SavedModel folder, or ``BASE/NAME`` (its highest version).
        condition: ``(column, value)`` for a table's ``sample_conditional``
            signature, or ``("label", class)`` for a conditional image model
            (a class name, or its index).
    """

    def __init__(
        self, path: str | os.PathLike, condition: tuple[str, str] | None = None
    ):
        import tensorflow as tf

        self.path = resolve_saved_model(path)
        self.metadata = read_metadata(self.path)
        self.kind = self.metadata["kind"]
        self._loaded = tf.saved_model.load(self.path)
        self.signature_name, self._extra = self._pick_signature(condition)
        _, inputs = self._loaded.signatures["sample"].structured_input_signature
        if "steps" in inputs:  # a diffusion model: its own default number
            self._extra["steps"] = tf.constant(
                self.metadata["sampling_steps"], tf.int32
            )
        self._signature = self._loaded.signatures[self.signature_name]
        self._transformer = None
        if "transformer" in self.metadata:  # exports since the dtypes fix
            from kerasynth.data.transformer import TableTransformer

            self._transformer = TableTransformer.from_config(
                self.metadata["transformer"]
            )
        if condition is not None and self.kind == "table":
            self._check_condition(condition)

    def _check_condition(self, condition) -> None:
        """One row, so that an unknown column or category is a clear error
        here rather than a failed pipeline."""
        import tensorflow as tf

        try:
            self.sample(1, 0)
        except tf.errors.InvalidArgumentError:
            column, value = condition
            raise ValueError(
                f"Unknown condition {column}={value}: expected COLUMN=VALUE with a "
                f"categorical column of the table and one of its categories "
                f"(columns: {self.metadata.get('columns')})."
            ) from None

    def _pick_signature(self, condition):
        import tensorflow as tf

        signatures = set(self._loaded.signatures.keys())
        if "sample" not in signatures:
            raise ValueError(
                f"{self.path} has no `sample` signature (it has "
                f"{sorted(signatures)}): only generators that sample from noise "
                "can run shard by shard. A translation model needs its input "
                "images; serve it instead."
            )
        _, inputs = self._loaded.signatures["sample"].structured_input_signature
        if self.kind == "table":
            if condition is None:
                return "sample", {}
            if "sample_conditional" not in signatures:
                raise ValueError(
                    f"{self.path} has no `sample_conditional` signature: the "
                    "table has no categorical column to condition on."
                )
            column, value = condition
            return "sample_conditional", {
                "column": tf.constant(column),
                "value": tf.constant(value),
            }
        covariates = self.metadata.get("covariates")
        if covariates:
            names = ", ".join(c["name"] for c in covariates)
            raise ValueError(
                f"{self.path} is conditioned on covariates ({names}): each image "
                "needs its row. Draw patients with `kerasynth sample --run "
                "TABLE_RUN --images-run RUN`, or call its `sample` signature with "
                "the covariates."
            )
        if "label" not in inputs:
            if condition is not None:
                raise ValueError(
                    f"{self.path} is not a class-conditional generator: it takes "
                    f"no condition. Received: {condition[0]}={condition[1]}"
                )
            return "sample", {}
        return "sample", {"label": tf.constant(self._label(condition), tf.int32)}

    def _label(self, condition) -> int:
        """The class index of a ``label=NAME`` condition; -1 (classes drawn
        uniformly) without one."""
        if condition is None:
            return -1
        key, value = condition
        names = self.metadata.get("class_names") or []
        if key != "label":
            raise ValueError(
                f"An image generator takes only label=CLASS. Received: {key}={value}"
            )
        if value in names:
            return names.index(value)
        if value.isdigit() and int(value) < len(names):
            return int(value)
        raise ValueError(f"Unknown label {value!r}. The classes are {names}")

    def sample(self, num_samples: int, seed: int):
        """One signature call: an image array or a DataFrame."""
        import tensorflow as tf

        outputs = self._signature(
            num_samples=tf.constant(num_samples, tf.int32),
            seed=tf.constant(seed, tf.int32),
            **self._extra,
        )
        outputs = {key: value.numpy() for key, value in outputs.items()}
        if self._transformer is not None:  # the original dtypes back
            return self._transformer.restore_decoded(outputs)
        return decode_outputs(outputs, self.kind, self.metadata.get("columns"))


def read_metadata(version_dir: str) -> dict[str, Any]:
    """``assets.extra/kerasynth.json``, or ``{"kind": None}`` for an export
    without it."""
    from tensorflow.io import gfile

    from kerasynth.export import METADATA_FILE

    path = _join(version_dir, *METADATA_FILE.parts)
    if gfile.exists(path):
        with gfile.GFile(path, "r") as file:
            try:
                return json.loads(file.read())
            except json.JSONDecodeError as error:
                raise ValueError(f"{path} is not valid JSON: {error}") from None
    return {"kind": None}


def decode_outputs(outputs: dict[str, np.ndarray], kind: str | None, columns=None):
    """A signature's outputs as samples: the ``images`` array, or a DataFrame
    in `columns`' order with categories as text and missing values as NaN."""
    if kind == "images" or (kind is None and set(outputs) == {"images"}):
        return outputs["images"].astype(np.float32, copy=False)
    frame = pd.DataFrame(
        {name: _decode_column(outputs[name]) for name in (columns or sorted(outputs))}
    )
    return frame


def _decode_column(values: np.ndarray) -> np.ndarray:
    if values.dtype == object:  # tf.string: bytes; "" is a missing category
        return np.array(
            [value.decode() if value else None for value in values], dtype=object
        )
    return values


def concatenate(parts: Iterable[Any]):
    """Chunks of one shard, in order, as one array or DataFrame."""
    parts = list(parts)
    if isinstance(parts[0], pd.DataFrame):
        return pd.concat(parts, ignore_index=True)
    return np.concatenate(parts, axis=0)


def encode_shard(samples, suffix: str) -> bytes:
    """A shard's file contents."""
    buffer = io.BytesIO()
    if suffix == "npy":
        np.save(buffer, samples, allow_pickle=False)
    elif suffix == "parquet":
        samples.to_parquet(buffer, index=False)
    else:
        buffer.write(samples.to_csv(index=False).encode())
    return buffer.getvalue()
