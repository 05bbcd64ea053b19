"""Sampling at scale from an exported generator, shard by shard.

The SavedModel that `kerasynth.export` writes is the unit a distributed
engine runs. `sample_saved_model` plans the job (`kerasynth.shards.plan`: one
`Chunk` per signature call, each with a seed from its place alone) and runs
it in this process or with the Apache Beam pipeline in `kerasynth.beam`; both
write the same shards.

A shard is written as ``part-00003-of-00008.csv`` (or ``.parquet``, or
``.npy`` for images: float32 in [-1, 1], shape ``[n, H, W, C]``), under a
temporary name and renamed when complete.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import pandas as pd

# The plan and the generator's pieces live in `shards`, which `beam` imports
# too; they stay importable from here, where callers have always found them.
from kerasynth.shards import (
    Chunk,
    SavedGenerator,
    chunk_seed,
    concatenate,
    decode_outputs,
    encode_shard,
    plan,
    read_metadata,
    resolve_saved_model,
    shard_name,
)

logger = logging.getLogger("kerasynth")

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "FORMATS",
    "Chunk",
    "SavedGenerator",
    "check_format",
    "chunk_seed",
    "concatenate",
    "decode_outputs",
    "encode_shard",
    "plan",
    "read_metadata",
    "read_shards",
    "resolve_saved_model",
    "sample_saved_model",
    "shard_name",
    "write_shards_locally",
]

FORMATS = {"table": ("csv", "parquet"), "images": ("npy",)}
DEFAULT_CHUNK_SIZE = {"table": 4096, "images": 256}


def check_format(kind: str, fmt: str | None) -> str:
    """`fmt`, or the kind's default, if the kind can be written in it."""
    allowed = FORMATS[kind]
    fmt = fmt or allowed[0]
    if fmt not in allowed:
        raise ValueError(
            f"{'Images' if kind == 'images' else 'Tables'} are written as "
            f"{' or '.join(allowed)} shards. Received: --format {fmt}"
        )
    return fmt


def write_shards_locally(generator: SavedGenerator, chunks: list[Chunk], folder: Path,
                         shards: int, fmt: str) -> None:  # fmt: skip
    """The in-process engine: every shard's chunks, one after the other."""
    by_shard: dict[int, list[Chunk]] = {}
    for chunk in chunks:
        by_shard.setdefault(chunk.shard, []).append(chunk)
    for shard, own in sorted(by_shard.items()):
        samples = concatenate(generator.sample(c.num_samples, c.seed) for c in own)
        path = folder / shard_name(shard, shards, fmt)
        path.write_bytes(encode_shard(samples, fmt))


def sample_saved_model(
    saved_model: str | os.PathLike,
    num: int,
    output: str | os.PathLike,
    shards: int = 1,
    seed: int | None = None,
    chunk_size: int | None = None,
    condition: tuple[str, str] | None = None,
    fmt: str | None = None,
    engine: str = "local",
    pipeline_args: list[str] | None = None,
    overwrite: bool = False,
) -> Path | str:
    """Samples `num` rows or images from an exported generator into
    ``output/part-*-of-*``, in this process (``engine="local"``) or with
    Apache Beam (``engine="beam"``, `pipeline_args` as on Beam's command
    line, e.g. ``["--runner=DirectRunner", "--direct_num_workers=2"]``).

    A local `output` is staged and renamed, so a failed job leaves nothing;
    a remote one (``gs://...``, Beam only; returned as a string) gets each
    shard renamed into place as it completes, and is checked complete at
    the end. A remote runner needs a remote `saved_model` and `output`.
    Without a `seed`, a fresh one is drawn and logged (the same seed gives
    the same shards).
    """
    from kerasynth import atomic

    generator = SavedGenerator(saved_model, condition)
    if generator.kind is None:
        raise ValueError(
            f"{generator.path} has no assets.extra/kerasynth.json: export it "
            "again with this kerasynth to sample it shard by shard."
        )
    fmt = check_format(generator.kind, fmt)
    if seed is None:
        from kerasynth.runtime import new_seed

        seed = new_seed()
    logger.info("Sampling %d from %s with seed %d", num, generator.path, seed)
    chunks = plan(num, shards, chunk_size or DEFAULT_CHUNK_SIZE[generator.kind], seed)
    if engine == "local":
        output = Path(output)
        with atomic.staged_directory(output, overwrite) as staging:
            write_shards_locally(generator, chunks, staging, shards, fmt)
        return output
    if engine != "beam":
        raise ValueError(f"Unknown engine {engine!r}: use local or beam.")
    from kerasynth import beam  # an ImportError names the extra to install

    beam.check_reachable(pipeline_args, generator.path, str(output))
    job = (generator.path, condition, chunks)
    if "://" in str(output):
        output = str(output)
        beam.clear_shards(output, overwrite)
        beam.run(*job, output, shards, fmt, pipeline_args)
        beam.check_complete(output, shards, fmt)
        return output
    output = Path(output)
    with atomic.staged_directory(output, overwrite) as staging:
        beam.run(*job, str(staging), shards, fmt, pipeline_args)
    return output


def read_shards(folder: str | os.PathLike):
    """All ``part-*`` shards of `folder`, in shard order, as one array or
    DataFrame."""
    paths = sorted(Path(folder).glob("part-*-of-*"))
    if not paths:
        raise ValueError(f"No part-*-of-* shards in {folder}")
    readers = {
        ".npy": np.load,
        ".csv": pd.read_csv,
        ".parquet": pd.read_parquet,
    }
    return concatenate(readers[path.suffix](path) for path in paths)
