"""Training throughput of a kerasynth model per dtype policy and XLA setting.

Measures samples per second (images/s for image models, rows/s for table
models) of steady training epochs: each configuration's model is built once
and trained for one untimed warm-up epoch (tracing, XLA compilation), then
every round trains each configuration for ``--epochs`` timed epochs,
round-robin, so that the noise of a shared machine spreads over all of them.
The figures to read are ratios to float32 without XLA, measured side by side
in the same run (benchmarks/README.md says how to read them).

Each measurement also records its FLOP rate: the float operations one
training step runs per sample (TensorFlow's per-op counts over the traced
``train_step``, see `_common.graph_flops`) times the samples per second, and
the fraction of this CPU's peak.

Prints one JSON line per (round, configuration), then a table of medians:

    python benchmarks/train_throughput.py --model dcgan --epochs 3 --repeats 5

Op determinism is off here: under it Keras silently turns XLA off (each line
records the ``jit_used`` that Keras actually kept).
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from _common import (
    LoadMeter,
    current_rss_mb,
    emit,
    flop_fields,
    graph_flops,
    others_cpu_seconds,  # noqa: F401  (peers.py imports it from here)
    peak_gflops,
    peak_rss_mb,
    provenance,
)

from kerasynth.cli import _import_tensorflow_quietly

if TYPE_CHECKING:
    import keras
    import tensorflow as tf

POLICIES = ("float32", "mixed_bfloat16", "mixed_float16")
JIT_SETTINGS = ("off", "on")
BASELINE = ("float32", "off")


@dataclasses.dataclass(frozen=True)
class Setting:
    """One configuration: a Keras dtype policy and XLA asked on or off."""

    policy: str
    jit: str


@dataclasses.dataclass
class Workload:
    """The model-specific part of a benchmark: what to build, what to feed.

    Attributes:
        model_kwargs: the model's constructor arguments.
        fields: what the JSON lines record of the model and data (image size
            and channels; a table's columns, encoded width and rows).
        dataset: the training dataset, batched.
        batch_size: samples per batch.
        samples_per_epoch: samples one epoch trains on (whole batches only).
        steps_per_epoch: batches per epoch of an endless dataset (tables);
            `None`: one pass over the dataset.
        unit: "images" or "rows".
        data: what the dataset serves: the `ImageData`, or a table's encoded
            rows (the input benchmark builds pipelines from it; Pix2Pix
            translates its images).
        load_s: seconds the data took to read and prepare (decoding and
            resizing images; fitting the transformer and encoding a table).
    """

    model_kwargs: dict[str, Any]
    fields: dict[str, Any]
    dataset: tf.data.Dataset
    batch_size: int
    samples_per_epoch: int
    steps_per_epoch: int | None
    unit: str
    data: Any
    load_s: float


def load_workload(
    args: argparse.Namespace, model: keras.Model | None = None
) -> Workload:
    """The data and constructor arguments of `args.model`, by its task.

    Image models train on `load_images(args.data)` (the embedded MNI152
    slices by default), Pix2Pix on pairs whose sources its pairing degrades
    from them, table models on `load_table(args.data)` (the embedded diabetes
    table by default, as ``kerasynth train``) encoded by a `TableTransformer`;
    all repeated `args.data_repeat` times to lengthen an epoch.

    Args:
        args: the script's arguments (`add_workload_arguments`).
        model: an already built model (a run's) whose sizes, or transformer,
            the data must fit; `None` builds the model from `args`.
    """
    from kerasynth import registry, tasks

    model_class = registry.get_model_class(args.model)
    if tasks.task_of(model_class).data_kind == "table":
        return _table_workload(args, model_class, model)
    return _image_workload(args, model_class, model)


def _image_workload(args, model_class, model) -> Workload:
    import numpy as np

    from kerasynth import registry
    from kerasynth.data.images import load_images
    from kerasynth.data.pairs import make_pair_dataset
    from kerasynth.data.pipeline import make_dataset

    if model is None:
        # A throwaway instance answers what the data must be: the
        # constructor's defaults, and whether batches carry labels.
        sizes = {"image_size": args.image_size, "channels": args.channels}
        model = registry.get_model(
            args.model, **{k: v for k, v in sizes.items() if v is not None}
        )
    started = time.perf_counter()
    data = load_images(args.data, image_size=model.image_size, channels=model.channels)
    load_s = time.perf_counter() - started
    if args.data_repeat > 1:
        labels = None if data.labels is None else np.tile(data.labels, args.data_repeat)
        images = np.tile(data.images, (args.data_repeat, 1, 1, 1))
        data = dataclasses.replace(data, images=images, labels=labels)
    batch_size = args.batch_size or model_class.training_defaults["batch_size"]
    if model.task == "translation":
        # Pix2Pix: each epoch degrades the images afresh into its sources.
        dataset = make_pair_dataset(
            data.images,
            batch_size,
            seed=args.seed,
            pairing=model.pairing,
            strength=model.pairing_strength,
            labels=data.labels if model.uses_labels else None,
        )
    else:
        dataset = make_dataset(
            data, batch_size, seed=args.seed, with_labels=model.uses_labels
        )
    sizes = {"image_size": model.image_size, "channels": model.channels}
    return Workload(
        model_kwargs=sizes,
        fields=sizes,
        dataset=dataset,
        batch_size=batch_size,
        samples_per_epoch=len(data) // batch_size * batch_size,
        steps_per_epoch=None,
        unit="images",
        data=data,
        load_s=load_s,
    )


def _table_workload(args, model_class, model) -> Workload:
    import numpy as np

    from kerasynth import registry
    from kerasynth.data.conditional_sampler import ConditionalSampler
    from kerasynth.data.pipeline import make_row_dataset
    from kerasynth.data.tables import load_table
    from kerasynth.data.transformer import TableTransformer

    started = time.perf_counter()
    table = load_table(args.data)
    if model is None:
        transformer = TableTransformer(
            encoding=model_class.encoding, seed=args.seed
        ).fit(table.frame)
    else:
        transformer = model.transformer
    rows = transformer.transform(table.frame)
    load_s = time.perf_counter() - started
    if args.data_repeat > 1:
        rows = np.tile(rows, (args.data_repeat, 1))
    batch_size = args.batch_size or model_class.training_defaults["batch_size"]
    pac = getattr(model, "pac", None) or registry.model_arguments(model_class).get(
        "pac", 1
    )
    if batch_size % pac:
        raise ValueError(
            f"batch_size must be a multiple of {args.model}'s pac ({pac}). "
            f"Received: batch_size={batch_size}"
        )
    # The row datasets are endless: an epoch is one pass over the rows.
    steps = max(len(rows) // batch_size, 1)
    if model_class.input_kind == "conditional":
        dataset = ConditionalSampler(transformer, rows).dataset(
            batch_size, seed=args.seed
        )
    else:
        dataset = make_row_dataset(rows, batch_size, seed=args.seed)
    return Workload(
        model_kwargs={"transformer": transformer},
        fields={
            "columns": len(table.frame.columns),
            "row_dim": int(rows.shape[1]),
            "rows": len(rows),
        },
        dataset=dataset,
        batch_size=batch_size,
        samples_per_epoch=steps * batch_size,
        steps_per_epoch=steps,
        unit="rows",
        data=rows,
        load_s=load_s,
    )


def build_model(
    args: argparse.Namespace, workload: Workload, setting: Setting
) -> tuple[keras.Model, float]:
    """Builds and compiles the model, then trains one untimed warm-up epoch.

    Returns:
        The model and the warm-up epoch's seconds (tracing, XLA compilation).
    """
    from kerasynth import registry, runtime

    with (
        runtime.seeded(args.seed, deterministic=False),
        runtime.dtype_policy(setting.policy),
    ):
        model = registry.get_model(args.model, **workload.model_kwargs)
        model.compile(jit_compile=setting.jit == "on")
    return model, warm_up(args, workload, model)


def warm_up(args: argparse.Namespace, workload: Workload, model: keras.Model) -> float:
    """Trains one untimed epoch (tracing, XLA compilation); returns its seconds."""
    from kerasynth import runtime

    with runtime.seeded(args.seed, deterministic=False):
        started = time.perf_counter()
        model.fit(
            workload.dataset,
            epochs=1,
            steps_per_epoch=workload.steps_per_epoch,
            shuffle=False,
            verbose=0,
        )
    return time.perf_counter() - started


def train_gflop_per_sample(model: keras.Model, workload: Workload) -> float:
    """GFLOP of one training step per sample: `graph_flops` of the model's
    ``train_step`` traced on a batch of the workload, over the batch size.

    It is the step the model defines (a GAN's discriminator and generator
    updates, with the generator forward pass each of them runs), whatever
    the dtype policy or XLA; the optimizers' updates count too (they are a
    fraction of a percent).
    """
    import tensorflow as tf

    step = tf.function(model.train_step)
    graph = step.get_concrete_function(workload.dataset.element_spec).graph
    return graph_flops(graph) / workload.batch_size / 1e9


def measure(
    args: argparse.Namespace, workload: Workload, setting: Setting, model: keras.Model
) -> dict[str, Any]:
    """Trains `args.epochs` timed epochs; returns the measurement's fields."""
    import tensorflow as tf

    from kerasynth import runtime
    from kerasynth.callbacks import EpochTimer

    gpu = bool(tf.config.list_physical_devices("GPU"))
    if gpu:
        tf.config.experimental.reset_memory_stats("GPU:0")
    # An endless dataset (tables) keeps one iterator for all the epochs of a
    # training run, but every call to `fit` creates it again (tf.data's graph
    # rewrites: ~0.5 s, more than a table epoch): one more epoch, untimed,
    # absorbs that. A finite dataset (images) creates one every epoch anyway.
    untimed = 1 if workload.steps_per_epoch else 0
    timer = EpochTimer()
    with runtime.seeded(args.seed, deterministic=False), LoadMeter() as load:
        model.fit(
            workload.dataset,
            epochs=args.epochs + untimed,
            steps_per_epoch=workload.steps_per_epoch,
            shuffle=False,
            callbacks=[timer],
            verbose=0,
        )
    durations = timer.durations[untimed:]
    seconds = sum(durations)
    peak_gpu = tf.config.experimental.get_memory_info("GPU:0")["peak"] if gpu else None
    return {
        "seconds": round(seconds, 3),
        f"{workload.unit}_per_s": round(
            workload.samples_per_epoch * args.epochs / seconds, 2
        ),
        "epoch_s": [round(d, 3) for d in durations],
        "jit_used": bool(model.jit_compile),
        "peak_rss_mb": peak_rss_mb(),
        "rss_mb": current_rss_mb(),
        # CPUs kept busy by other processes meanwhile: ~0 on a quiet machine.
        "other_cpus": load.other_cpus,
        "peak_gpu_mb": None if peak_gpu is None else round(peak_gpu / 2**20),
    }


def run_in_process(args: argparse.Namespace) -> Iterator[dict[str, Any]]:
    """Round-robin over the settings, each model built (and warmed up) once."""
    import tensorflow as tf

    workload = load_workload(args)
    gpu = bool(tf.config.list_physical_devices("GPU"))
    models: dict[Setting, tuple[keras.Model, float]] = {}
    gflop_per_sample = None  # the same step whatever the setting: counted once
    for round_, setting in itertools.product(range(args.repeats), settings(args)):
        if setting not in models:
            models[setting] = build_model(args, workload, setting)
            print(
                f"{setting.policy} / XLA {setting.jit}: warm-up epoch "
                f"{models[setting][1]:.1f} s",
                file=sys.stderr,
            )
        model, warmup_s = models[setting]
        if gflop_per_sample is None:
            gflop_per_sample = train_gflop_per_sample(model, workload)
        fields = measure(args, workload, setting, model)
        peak = peak_gflops(setting.policy, args.peak_gflops, gpu)
        yield {
            "model": args.model,
            "policy": setting.policy,
            "jit": setting.jit,
            **workload.fields,
            "batch_size": workload.batch_size,
            "unit": workload.unit,
            "samples_per_epoch": workload.samples_per_epoch,
            "epochs": args.epochs,
            "round": round_,
            "warmup_s": round(warmup_s, 3),
            **fields,
            **flop_fields(fields[f"{workload.unit}_per_s"], gflop_per_sample, peak),
            "isolated": False,
            **provenance(),
        }


def run_isolated(args: argparse.Namespace) -> Iterator[dict[str, Any]]:
    """Round-robin again, each measurement in a fresh process of this script.

    Every process builds its model and pays its warm-up again; its peak RSS
    is that of one configuration alone.
    """
    for round_, setting in itertools.product(range(args.repeats), settings(args)):
        command = [sys.executable, __file__, *sys.argv[1:]]
        command += ["--policy", setting.policy, "--jit", setting.jit]
        command += ["--repeats", "1", "--worker"]
        child = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=True)
        for line in child.stdout.splitlines():
            if line.startswith("{"):
                yield {**json.loads(line), "round": round_, "isolated": True}


def settings(args: argparse.Namespace) -> list[Setting]:
    """Every (policy, XLA) combination asked for, in a fixed order."""
    return [Setting(p, j) for p, j in itertools.product(args.policy, args.jit)]


def summary_table(records: list[dict[str, Any]]) -> str:
    """Per setting: the median throughput, its ratio to the median of float32
    without XLA, the median of the same ratio taken within each round
    (`paired`: immune to a machine that slows down for a few rounds), the
    median FLOP rate and its share of the peak, and the highest peak RSS."""
    key = f"{records[0]['unit']}_per_s"
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for record in records:
        groups.setdefault((record["policy"], record["jit"]), []).append(record)
    medians = {k: statistics.median(r[key] for r in rs) for k, rs in groups.items()}
    baseline = {r["round"]: r[key] for r in groups.get(BASELINE, [])}
    lines = [
        f"{'policy':<15} {'XLA':<7} {'rounds':>6} {key:>13} {'ratio':>6} "
        f"{'paired':>6} {'GFLOP/s':>8} {'% peak':>6} {'peak RSS MB':>11}"
    ]
    for (policy, jit), rs in groups.items():
        xla = jit if {r["jit_used"] for r in rs} == {jit == "on"} else f"{jit}(!)"
        ratio = paired = "-"
        if baseline:
            ratio = f"{medians[policy, jit] / medians[BASELINE]:.2f}"
            pairs = [
                r[key] / baseline[r["round"]] for r in rs if r["round"] in baseline
            ]
            paired = f"{statistics.median(pairs):.2f}" if pairs else "-"
        rate = _median_of(rs, "gflop_per_s")
        share = _median_of(rs, "peak_fraction")
        lines.append(
            f"{policy:<15} {xla:<7} {len(rs):>6} {medians[policy, jit]:>13.1f} "
            f"{ratio:>6} {paired:>6} {_format(rate, '.1f'):>8} "
            f"{_format(share and 100 * share, '.1f'):>6} "
            f"{max(r['peak_rss_mb'] for r in rs):>11}"
        )
    if any("(!)" in line for line in lines):
        lines.append("(!): Keras did not keep the XLA setting asked for (jit_used).")
    lines.append(flop_note(records))
    return "\n".join(lines)


def flop_note(records: list[dict[str, Any]]) -> str:
    """The line under a table that says what the FLOP columns count."""
    gflop = records[0].get("gflop_per_sample")
    if gflop is None:
        return "GFLOP/s: not counted."
    unit = records[0]["unit"].removesuffix("s")
    peaks = {r["policy"]: r.get("peak_gflop_per_s") for r in records}
    peak_text = ", ".join(
        f"{policy} {peak:.0f}" for policy, peak in peaks.items() if peak
    )
    return (
        f"GFLOP/s: {gflop:.3g} GFLOP per {unit} (TensorFlow's op counts of one "
        f"traced train_step, per {unit}) x {unit}s/s; % peak of "
        f"{peak_text or 'an unknown peak (--peak-gflops)'} GFLOP/s."
    )


def _median_of(records: list[dict[str, Any]], key: str) -> float | None:
    values = [r[key] for r in records if r.get(key) is not None]
    return statistics.median(values) if values else None


def _format(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _choices(allowed: tuple[str, ...]) -> Callable[[str], list[str]]:
    def parse(text: str) -> list[str]:
        values = [value.strip() for value in text.split(",") if value.strip()]
        unknown = [value for value in values if value not in allowed]
        if unknown or not values:
            raise argparse.ArgumentTypeError(
                f"expected a comma-separated list of {', '.join(allowed)}. "
                f"Received: {text!r}"
            )
        return values

    return parse


def add_workload_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments `load_workload` reads: the model, its data and sizes."""
    parser.add_argument("--model", required=True, help="Registered model name.")
    parser.add_argument(
        "--data",
        help="Default: the embedded MNI152 slices (image models) or diabetes "
        "table (table models).",
    )
    parser.add_argument(
        "--data-repeat",
        type=int,
        default=1,
        help="Repeat the data N times to lengthen an epoch (default 1).",
    )
    parser.add_argument("--batch-size", type=int, help="Default: the model's.")
    parser.add_argument("--image-size", type=int, help="Default: the model's.")
    parser.add_argument("--channels", type=int, help="1 or 3. Default: the model's.")
    parser.add_argument("--seed", type=int, default=0, help="Default 0.")


def add_peak_argument(parser: argparse.ArgumentParser) -> None:
    """``--peak-gflops``: the peak the FLOP rates are compared with."""
    parser.add_argument(
        "--peak-gflops",
        type=float,
        help="Peak GFLOP/s for every policy. Default: this CPU's, physical "
        "cores x 32 float32 FLOP/cycle x the clock of /proc/cpuinfo, twice "
        "that for mixed_bfloat16 with AVX512_BF16; none with a GPU.",
    )


def check_counts(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Exits with a usage error unless the count arguments are >= 1."""
    for name in ("data_repeat", "epochs", "repeats"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_workload_arguments(parser)
    parser.add_argument(
        "--epochs", type=int, default=3, help="Timed epochs per round (default 3)."
    )
    parser.add_argument(
        "--policy",
        type=_choices(POLICIES),
        default=["float32", "mixed_bfloat16"],
        help=f"Comma-separated, of {', '.join(POLICIES)} "
        "(default float32,mixed_bfloat16).",
    )
    parser.add_argument(
        "--jit",
        type=_choices(JIT_SETTINGS),
        default=["off", "on"],
        help="XLA: comma-separated, of off,on (default off,on).",
    )
    parser.add_argument("--repeats", type=int, default=3, help="Rounds (default 3).")
    add_peak_argument(parser)
    parser.add_argument("--output", help="Also append the JSON lines to this file.")
    parser.add_argument(
        "--isolate",
        action="store_true",
        help="Run every measurement in its own process (clean peak RSS per "
        "configuration; each pays its warm-up again).",
    )
    # A child process of --isolate: JSON lines only.
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    check_counts(parser, args)
    return args


def main() -> None:
    args = parse_args()
    _import_tensorflow_quietly()
    isolate = args.isolate and not args.worker
    records = []
    try:
        for record in run_isolated(args) if isolate else run_in_process(args):
            emit(record, None if args.worker else args.output)
            records.append(record)
    except (ValueError, OSError) as error:  # bad model name, data or size
        sys.exit(f"error: {error}")
    if not args.worker:
        print()
        print(summary_table(records))


if __name__ == "__main__":
    main()
