"""Apache Beam: an exported generator's shards through RunInference.

The job `kerasynth.shards.plan` makes (one `Chunk` per signature call)
becomes a Beam pipeline::

    Create(chunks) -> Reshuffle -> RunInference(SavedGeneratorHandler)
        -> (shard, (chunk, samples)) -> GroupByKey -> write one file per shard

Any runner runs it: the DirectRunner here (the default), Dataflow, Flink or
Spark elsewhere, with Beam's own options::

    kerasynth sample --saved-model serving/ctgan --engine beam --shards 64 \\
        --num 10000000 --output gs://bucket/synthetic -- \\
        --runner=DataflowRunner --project=P --region=R \\
        --temp_location=gs://bucket/tmp --requirements_file=requirements.txt

Beam's own `TFModelHandlerTensor` loads a model with
``tf.keras.models.load_model``, which under Keras 3 does not read a
SavedModel, and feeds it one tensor; a generator's ``sample`` signature takes
scalars (``num_samples``, ``seed``). Hence this handler: it loads the
SavedModel with ``tf.saved_model.load`` once per worker (RunInference shares
it between a worker's threads) and calls the signature once per chunk.

Needs the ``[beam]`` extra: ``pip install 'kerasynth[beam]'``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

try:
    import apache_beam as beam
    from apache_beam.io.filesystems import FileSystems
    from apache_beam.ml.inference.base import (
        ModelHandler,
        PredictionResult,
        RunInference,
    )
    from apache_beam.options.pipeline_options import PipelineOptions
except ImportError as error:  # pragma: no cover - depends on the install
    raise ImportError(
        f"The Beam engine needs Apache Beam: pip install 'kerasynth[beam]' ({error})"
    ) from error

from kerasynth.shards import (
    Chunk,
    SavedGenerator,
    concatenate,
    encode_shard,
    shard_name,
)


class SavedGeneratorHandler(ModelHandler[Chunk, PredictionResult, SavedGenerator]):
    """RunInference's view of an exported generator: a `Chunk` in, its
    samples (an image array or a DataFrame) out."""

    def __init__(self, path: str, condition: tuple[str, str] | None = None):
        # One chunk per call: a chunk is already a batch of samples.
        super().__init__(max_batch_size=1)
        self._path = str(path)
        self._condition = condition

    def load_model(self) -> SavedGenerator:
        return SavedGenerator(self._path, self._condition)

    def run_inference(
        self,
        batch: Sequence[Chunk],
        model: SavedGenerator,
        inference_args: dict[str, Any] | None = None,
    ) -> Iterable[PredictionResult]:
        for chunk in batch:
            yield PredictionResult(chunk, model.sample(chunk.num_samples, chunk.seed))

    def get_num_bytes(self, batch: Sequence[Chunk]) -> int:
        return 32 * len(batch)

    def get_metrics_namespace(self) -> str:
        return "kerasynth"


def _by_shard(result: PredictionResult):
    chunk = result.example
    return chunk.shard, (chunk.chunk, result.inference)


def write_shard(element, output: str, shards: int, fmt: str) -> str:
    """Writes one shard's chunks, in chunk order, under a hidden temporary
    name, then renames it (through Beam's `FileSystems`, so ``gs://`` and
    other remote folders work as local ones do)."""
    shard, parts = element
    samples = concatenate(samples for _, samples in sorted(parts, key=_first))
    name = shard_name(shard, shards, fmt)
    final = FileSystems.join(output, name)
    temporary = FileSystems.join(output, f".{name}.incomplete")
    with FileSystems.create(temporary) as handle:
        handle.write(encode_shard(samples, fmt))
    if FileSystems.exists(final):
        FileSystems.delete([final])
    FileSystems.rename([temporary], [final])
    return final


def _first(pair):
    return pair[0]


def build(pipeline, path, condition, chunks: list[Chunk], output: str, shards: int,
          fmt: str):  # fmt: skip
    """Adds the sampling transforms to `pipeline`; returns the PCollection of
    written shard paths."""
    return (
        pipeline
        | "Plan" >> beam.Create(chunks)
        | "Spread" >> beam.Reshuffle()
        | "Sample" >> RunInference(SavedGeneratorHandler(path, condition))
        | "KeyByShard" >> beam.Map(_by_shard)
        | "GatherShards" >> beam.GroupByKey()
        | "WriteShards" >> beam.Map(write_shard, output, shards, fmt)
    )


# Runners that execute in this machine's processes, where local paths work.
LOCAL_RUNNERS = {"directrunner", "prismrunner", "interactiverunner", "direct", "prism"}


def check_reachable(pipeline_args, saved_model: str, output: str) -> None:
    """A remote runner's workers cannot read or write this machine's
    folders: refuse local paths before starting it."""
    from apache_beam.options.pipeline_options import StandardOptions

    runner = PipelineOptions(list(pipeline_args or [])).view_as(StandardOptions).runner
    if runner is None or str(runner).lower() in LOCAL_RUNNERS:
        return
    for what, path in (("--saved-model", saved_model), ("--output", output)):
        if "://" not in path:
            raise ValueError(
                f"{runner} runs on other machines, which cannot reach the local "
                f"{what} {path}: give a shared location (gs://..., s3://...)."
            )


def clear_shards(output: str, overwrite: bool) -> None:
    """Refuses to mix with an earlier job's shards in `output`, or deletes
    them when `overwrite`."""
    found = [m.path for m in FileSystems.match([FileSystems.join(output, "part-*")])[0]
             .metadata_list]  # fmt: skip
    if found and not overwrite:
        raise ValueError(
            f"{output} already holds {len(found)} shards (e.g. {found[0]}); pass "
            "--overwrite to replace them."
        )
    if found:
        FileSystems.delete(found)


def check_complete(output: str, shards: int, fmt: str) -> None:
    """Every shard of the job exists in `output`."""
    names = [
        FileSystems.join(output, shard_name(s, shards, fmt)) for s in range(shards)
    ]
    missing = [name for name in names if not FileSystems.exists(name)]
    if missing:
        raise ValueError(f"The job wrote {shards - len(missing)} of {shards} shards; "
                         f"missing: {missing[:3]}")  # fmt: skip


def run(path, condition, chunks: list[Chunk], output: str, shards: int, fmt: str,
        pipeline_args: list[str] | None = None) -> None:  # fmt: skip
    """Runs the sampling pipeline to completion with `pipeline_args` (Beam's
    command-line options; the DirectRunner when none name a runner)."""
    options = PipelineOptions(list(pipeline_args or []))
    with beam.Pipeline(options=options) as pipeline:
        build(pipeline, path, condition, chunks, output, shards, fmt)
