"""Input pipeline throughput against training throughput of the same model.

Iterates a model's own tf.data training pipeline, without the model, and
compares its samples per second with the training throughput of the same
model and batch size, measured side by side in alternating rounds: a ratio
input/train far above 1 says the input is never the bottleneck. The pipeline
is train_throughput.py's (`load_workload`): `make_dataset` for image models,
`make_pair_dataset` for Pix2Pix (its sources degraded every epoch),
`make_row_dataset` or CTGAN's `ConditionalSampler` for table models.

Stages measured each round:

- ``input``: the training pipeline, ``--epochs`` passes;
- ``input_flip``: image models, ``make_dataset(augment="flip")``, the
  pipeline's one per-batch ``map``;
- ``decode``: with ``--data`` (files, not the embedded data), `load_images`
  again: reading and decoding every file, the rate an epoch would run at if
  the pipeline decoded the images every epoch. It does not: `make_dataset`
  serves arrays decoded once into memory and has no cache option, so this
  is the uncached case it avoids;
- ``train``: ``--epochs`` timed training epochs (train_throughput.py's
  `measure`).

    python benchmarks/input_pipeline.py --model dcgan --repeats 3
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from _common import LoadMeter, current_rss_mb, emit, peak_rss_mb, provenance
from train_throughput import (
    JIT_SETTINGS,
    POLICIES,
    Setting,
    Workload,
    add_workload_arguments,
    build_model,
    check_counts,
    load_workload,
    measure,
)

from kerasynth.cli import _import_tensorflow_quietly

if TYPE_CHECKING:
    import keras
    import tensorflow as tf

# An input stage runs at least this long, whole epochs (at least --epochs).
MIN_SECONDS = 1.0


def pipelines(
    args: argparse.Namespace, workload: Workload, model: keras.Model
) -> dict[str, tf.data.Dataset]:
    """The datasets to iterate, by stage name: the training pipeline, and for
    image models from noise the same with ``augment="flip"``."""
    from kerasynth.data.pipeline import make_dataset

    datasets = {"input": workload.dataset}
    if model.task == "latent_images":
        datasets["input_flip"] = make_dataset(
            workload.data,
            workload.batch_size,
            seed=args.seed,
            with_labels=model.uses_labels,
            augment="flip",
        )
    return datasets


def iterate(
    dataset: tf.data.Dataset, workload: Workload, epochs: int, min_seconds: float = 0
) -> tuple[int, LoadMeter]:
    """Pulls batches from `dataset` as `fit` would, for `epochs` epochs and
    more, whole ones, until `min_seconds` have passed (a stage of a few
    milliseconds would only measure the clock). Returns the epochs pulled and
    the timing.

    A finite dataset (images) gets a new iterator every epoch, as in `fit`;
    an endless one (tables) one iterator for all epochs, first pulled one
    untimed epoch (its creation, tf.data's graph rewrites, is paid once per
    training run).
    """
    steps = workload.steps_per_epoch
    iterator = None if steps is None else iter(dataset)
    for _ in range(steps or 0):
        next(iterator)
    done = 0
    with LoadMeter() as load:
        started = time.perf_counter()
        while done < epochs or time.perf_counter() - started < min_seconds:
            if iterator is None:
                for _ in dataset:
                    pass
            else:
                for _ in range(steps):
                    next(iterator)
            done += 1
    return done, load


def time_decoding(
    args: argparse.Namespace, workload: Workload
) -> tuple[int, LoadMeter]:
    """Reads and decodes `args.data` again with `load_images`; returns the
    number of images and the timing."""
    from kerasynth.data.images import load_images

    size = workload.fields
    with LoadMeter() as load:
        data = load_images(args.data, size["image_size"], size["channels"])
    return len(data), load


def run(args: argparse.Namespace) -> Iterator[dict[str, Any]]:
    """Builds the workload and model, then the rounds: every input stage,
    then the training epochs."""
    setting = Setting(args.policy, args.jit)
    workload = load_workload(args)
    model, warmup_s = build_model(args, workload, setting)
    print(
        f"data loaded in {workload.load_s:.1f} s, warm-up epoch {warmup_s:.1f} s",
        file=sys.stderr,
    )
    datasets = pipelines(args, workload, model)
    for dataset in datasets.values():  # untimed: tf.data's first pass
        iterate(dataset, workload, epochs=1)
    decode = args.data is not None and workload.unit == "images"
    unit, key = workload.unit, f"{workload.unit}_per_s"
    common = {
        "model": args.model,
        "policy": setting.policy,
        "jit": setting.jit,
        **workload.fields,
        "batch_size": workload.batch_size,
        "unit": unit,
        "load_s": round(workload.load_s, 3),
    }
    for round_ in range(args.repeats):
        lines = []
        for name, dataset in datasets.items():
            epochs, load = iterate(dataset, workload, args.epochs, MIN_SECONDS)
            lines.append((name, workload.samples_per_epoch * epochs, load))
        if decode:
            lines.append(("decode", *time_decoding(args, workload)))
        train = measure(args, workload, setting, model)
        for name, samples, load in lines:
            rate = samples / load.seconds
            yield {
                **common,
                "stage": name,
                "round": round_,
                "samples": samples,
                "seconds": round(load.seconds, 3),
                key: round(rate, 2),
                "train_ratio": float(f"{rate / train[key]:.3g}"),
                "peak_rss_mb": peak_rss_mb(),
                "rss_mb": current_rss_mb(),
                "other_cpus": load.other_cpus,
                **provenance(),
            }
        yield {
            **common,
            "stage": "train",
            "round": round_,
            "epochs": args.epochs,
            "warmup_s": round(warmup_s, 3),
            **train,
            **provenance(),
        }


def summary_table(records: list[dict[str, Any]]) -> str:
    """Per stage: the median throughput, its ratio to the median training
    throughput (`x train`) and the median of the ratios within each round
    (`paired`)."""
    key = f"{records[0]['unit']}_per_s"
    groups: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        groups.setdefault(record["stage"], []).append(record)
    train = statistics.median(r[key] for r in groups["train"])
    lines = [
        f"{'stage':<12} {'batch':>5} {'rounds':>6} {key:>13} {'x train':>8} "
        f"{'paired':>7} {'other CPUs':>10}"
    ]
    for stage, rs in groups.items():
        median = statistics.median(r[key] for r in rs)
        ratio = paired = "-"
        if stage != "train":
            ratio = f"{median / train:.3g}"
            paired = f"{statistics.median(r['train_ratio'] for r in rs):.3g}"
        others = [r["other_cpus"] for r in rs if r["other_cpus"] is not None]
        load = f"{statistics.median(others):.2f}" if others else "-"
        batch = "-" if stage == "decode" else rs[0]["batch_size"]
        lines.append(
            f"{stage:<12} {batch:>5} {len(rs):>6} {median:>13.1f} "
            f"{ratio:>8} {paired:>7} {load:>10}"
        )
    lines.append(
        "x train: the stage's samples/s over training's (above 1: the input "
        "keeps up). decode: reading and decoding the files every epoch, which "
        "the pipeline does once."
    )
    return "\n".join(lines)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_workload_arguments(parser)
    parser.add_argument(
        "--epochs",
        type=int,
        default=2,
        help="Epochs per stage and round, input and training (default 2).",
    )
    parser.add_argument(
        "--policy",
        choices=POLICIES,
        default="float32",
        help="Dtype policy of the training (default float32).",
    )
    parser.add_argument(
        "--jit", choices=JIT_SETTINGS, default="off", help="XLA (default off)."
    )
    parser.add_argument("--repeats", type=int, default=3, help="Rounds (default 3).")
    parser.add_argument("--output", help="Also append the JSON lines to this file.")
    args = parser.parse_args()
    check_counts(parser, args)
    return args


def main() -> None:
    args = parse_args()
    _import_tensorflow_quietly()
    records = []
    started = time.perf_counter()
    try:
        for record in run(args):
            emit(record, args.output)
            records.append(record)
    except (ValueError, OSError) as error:  # bad model name or data
        sys.exit(f"error: {error}")
    print()
    print(summary_table(records))
    print(f"({time.perf_counter() - started:.0f} s)", file=sys.stderr)


if __name__ == "__main__":
    main()
