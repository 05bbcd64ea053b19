"""Sampling throughput of a kerasynth model, eager and exported, against training.

Builds the model and trains it one untimed warm-up epoch (or loads a run
directory with ``--run``), exports it with `kerasynth.export.export_model` and
loads the SavedModel back. Then measures samples per second (images/s or
rows/s) of every way to draw samples, per number of samples per call:

- ``generate``: ``model.generate(n, seed=s)``, in Python (NumPy images, or a
  DataFrame of decoded rows);
- ``saved_model_sample``: the SavedModel's ``sample`` signature
  (``num_samples``, ``seed``), its outputs copied to NumPy;
- ``saved_model_serving_default``: image models from noise, the
  ``serving_default`` signature on a batch of noise made beforehand;
- Pix2Pix instead: ``generate`` from its training images, and the
  ``translate`` signature on a batch of them.

Each (path, batch size) gets one untimed warm-up call; then every round trains
``--epochs`` timed epochs of the same model, batch size and policy (as
train_throughput.py), and times each path in turn, so the ratio of sampling to
training throughput is measured side by side. The issue's target: sampling
from the exported generator at least 10x faster than training.

    python benchmarks/sample_throughput.py --model dcgan --repeats 3
"""

from __future__ import annotations

import argparse
import functools
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from _common import (
    LoadMeter,
    current_rss_mb,
    emit,
    flop_fields,
    graph_flops,
    peak_gflops,
    peak_rss_mb,
    provenance,
)
from train_throughput import (
    JIT_SETTINGS,
    POLICIES,
    Setting,
    Workload,
    add_peak_argument,
    add_workload_arguments,
    build_model,
    load_workload,
    measure,
    train_gflop_per_sample,
    warm_up,
)

from kerasynth.cli import _import_tensorflow_quietly

if TYPE_CHECKING:
    import keras

# Draws `n` samples with seed `s` and returns them in memory.
Sampler = Callable[[int, int], Any]


def prepare(
    args: argparse.Namespace, setting: Setting
) -> tuple[keras.Model, Workload, Setting, float]:
    """The model to sample from, its training workload and setting, and the
    seconds of its warm-up epoch.

    Without ``--run``, a new model built and trained one epoch. With it, the
    run's model (its own dtype policy) on the run's data (unless ``--data``),
    compiled again with the XLA setting asked for, then warmed up.
    """
    if args.run is None:
        workload = load_workload(args)
        model, warmup_s = build_model(args, workload, setting)
        return model, workload, setting, warmup_s
    from kerasynth import runs

    model = runs.load_model(args.run)
    if args.data is None:
        source = runs.read_config(args.run)["data"]["source"]
        args = argparse.Namespace(**{**vars(args), "data": source})
    workload = load_workload(args, model)
    model.compile(jit_compile=setting.jit == "on")
    setting = Setting(model.dtype_policy.name, setting.jit)
    return model, workload, setting, warm_up(args, workload, model)


def samplers(model: keras.Model, saved: Any, workload: Workload) -> dict[str, Sampler]:
    """The ways to draw samples from `model` and its loaded SavedModel `saved`,
    by path name. Each returns its samples in memory (NumPy or a DataFrame),
    so a signature's time includes copying its outputs out of TensorFlow."""
    import numpy as np
    import tensorflow as tf

    signatures = saved.signatures
    num_classes = getattr(model, "num_classes", 0)

    def exported(name: str, **inputs: Any) -> dict[str, np.ndarray]:
        return {key: value.numpy() for key, value in signatures[name](**inputs).items()}

    def labels(n: int) -> dict[str, tf.Tensor]:
        # A class-conditional model's signatures also take a label per image.
        return {"label": tf.zeros([n], tf.int32)} if num_classes else {}

    if model.task == "translation":
        data = workload.data
        sources = (data.images, data.labels) if model.uses_labels else data.images

        def translate(n: int, seed: int) -> dict[str, np.ndarray]:
            picks = np.random.default_rng(seed).integers(len(data.images), size=n)
            return exported(
                "translate", images=tf.constant(data.images[picks]), **labels(n)
            )

        return {
            "generate": lambda n, s: model.generate(n, seed=s, sources=sources),
            "saved_model_translate": translate,
        }

    def sample(n: int, seed: int) -> dict[str, np.ndarray]:
        # -1: classes drawn uniformly, as `generate()` without conditions.
        label = {"label": tf.constant(-1)} if num_classes else {}
        return exported(
            "sample", num_samples=tf.constant(n), seed=tf.constant(seed), **label
        )

    paths = {
        "generate": lambda n, s: model.generate(n, seed=s),
        "saved_model_sample": sample,
    }
    if model.task == "latent_images":

        @functools.cache
        def noise(n: int) -> tf.Tensor:
            rng = np.random.default_rng(0)
            return tf.constant(rng.standard_normal((n, model.latent_dim), "float32"))

        paths["saved_model_serving_default"] = lambda n, s: exported(
            "serving_default", noise=noise(n), **labels(n)
        )
    return paths


def generator_gflop_per_sample(model: keras.Model) -> float | None:
    """GFLOP of one forward pass of the model's generator network per sample
    (`graph_flops`), what every path runs; `None` without a `generator`.
    Drawing noise and decoding table rows are not counted."""
    import tensorflow as tf

    network = getattr(model, "generator", None)
    if network is None:
        return None
    specs = [tf.TensorSpec([1, *x.shape[1:]], x.dtype) for x in network.inputs]
    forward = tf.function(lambda inputs: network(inputs, training=False))
    graph = forward.get_concrete_function(specs[0] if len(specs) == 1 else specs).graph
    return graph_flops(graph) / 1e9


def time_sampler(
    sample: Sampler, batch_size: int, num: int, seed: int
) -> tuple[int, LoadMeter]:
    """Draws `num` samples (at least one call) in calls of `batch_size`, each
    with its own seed; returns the number drawn and the timing."""
    calls = max(1, num // batch_size)
    with LoadMeter() as load:
        for call in range(calls):
            sample(batch_size, seed + call)
    return calls * batch_size, load


def run(args: argparse.Namespace) -> Iterator[dict[str, Any]]:
    """Trains or loads, exports, warms every path up, then the rounds."""
    import tensorflow as tf

    from kerasynth.export import export_model

    model, workload, setting, warmup_s = prepare(args, Setting(args.policy, args.jit))
    unit, gpu = workload.unit, bool(tf.config.list_physical_devices("GPU"))
    peak = peak_gflops(setting.policy, args.peak_gflops, gpu)
    train_gflop = train_gflop_per_sample(model, workload) if args.epochs else None
    sample_gflop = generator_gflop_per_sample(model)
    print(f"warm-up epoch {warmup_s:.1f} s", file=sys.stderr)
    common = {"model": args.model, "policy": setting.policy, **workload.fields}

    with tempfile.TemporaryDirectory(prefix="sample-throughput-") as serving_dir:
        started = time.perf_counter()
        saved = tf.saved_model.load(str(export_model(model, serving_dir, args.model)))
        export_s = time.perf_counter() - started
        print(f"export and load {export_s:.1f} s", file=sys.stderr)
        paths = samplers(model, saved, workload)
        warmups = {}
        for batch_size in args.batch_sizes:
            for name, sample in paths.items():
                started = time.perf_counter()
                sample(batch_size, args.seed)
                warmups[name, batch_size] = time.perf_counter() - started

        for round_ in range(args.repeats):
            train_rate = None
            if args.epochs:
                fields = measure(args, workload, setting, model)
                train_rate = fields[f"{unit}_per_s"]
                yield {
                    **common,
                    "jit": setting.jit,
                    "path": "train",
                    "batch_size": workload.batch_size,
                    "unit": unit,
                    "round": round_,
                    "warmup_s": round(warmup_s, 3),
                    **fields,
                    **flop_fields(train_rate, train_gflop, peak),
                    **provenance(),
                }
            for batch_size in args.batch_sizes:
                for name, sample in paths.items():
                    seed = args.seed + 1000 * (round_ + 1)
                    drawn, load = time_sampler(sample, batch_size, args.num, seed)
                    rate = drawn / load.seconds
                    yield {
                        **common,
                        # Neither generate() nor the SavedModel compile with XLA.
                        "jit": "off",
                        "path": name,
                        "batch_size": batch_size,
                        "unit": unit,
                        "round": round_,
                        "samples": drawn,
                        "warmup_s": round(warmups[name, batch_size], 3),
                        "seconds": round(load.seconds, 3),
                        f"{unit}_per_s": round(rate, 2),
                        "train_ratio": None
                        if train_rate is None
                        else round(rate / train_rate, 2),
                        **flop_fields(rate, sample_gflop, peak),
                        "export_s": round(export_s, 3),
                        "peak_rss_mb": peak_rss_mb(),
                        "rss_mb": current_rss_mb(),
                        "other_cpus": load.other_cpus,
                        **provenance(),
                    }


def summary_table(records: list[dict[str, Any]]) -> str:
    """Per (path, batch size): the median throughput, its ratio to the median
    training throughput (`x train`), the median of the ratios taken within
    each round (`paired`), the median FLOP rate and the highest peak RSS."""
    key = f"{records[0]['unit']}_per_s"
    groups: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for record in records:
        groups.setdefault((record["path"], record["batch_size"]), []).append(record)
    train = [r[key] for r in records if r["path"] == "train"]
    train_median = statistics.median(train) if train else None
    lines = [
        f"{'path':<28} {'batch':>5} {'rounds':>6} {key:>12} {'x train':>8} "
        f"{'paired':>6} {'GFLOP/s':>8} {'peak RSS MB':>11}"
    ]
    for (path, batch_size), rs in groups.items():
        median = statistics.median(r[key] for r in rs)
        ratio = paired = "-"
        if train_median and path != "train":
            ratio = f"{median / train_median:.3g}"
            paired = f"{statistics.median(r['train_ratio'] for r in rs):.3g}"
        rates = [r["gflop_per_s"] for r in rs if r.get("gflop_per_s") is not None]
        rate = f"{statistics.median(rates):.1f}" if rates else "-"
        lines.append(
            f"{path:<28} {batch_size:>5} {len(rs):>6} {median:>12.1f} {ratio:>8} "
            f"{paired:>6} {rate:>8} {max(r['peak_rss_mb'] for r in rs):>11}"
        )
    lines.append(
        "x train: samples/s over the training samples/s of the same run (target: "
        ">= 10); batch: samples per call. GFLOP/s: a training step, or one "
        "generator forward pass (noise and decoding not counted), per sample."
    )
    return "\n".join(lines)


def _positive_ints(text: str) -> list[int]:
    try:
        values = [int(value) for value in text.split(",") if value.strip()]
    except ValueError:
        values = []
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated positive integers. Received: {text!r}"
        )
    return values


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_workload_arguments(parser)
    parser.add_argument(
        "--run", help="A kerasynth run directory: sample its model (no new one)."
    )
    parser.add_argument(
        "--epochs",
        type=int,
        default=1,
        help="Timed training epochs per round, for the ratio to training "
        "(default 1; 0 measures sampling only).",
    )
    parser.add_argument(
        "--num",
        type=int,
        default=512,
        help="Samples per measurement: num // batch calls, at least one (default 512).",
    )
    parser.add_argument(
        "--batch-sizes",
        type=_positive_ints,
        default=[1, 32, 256],
        help="Samples per call, comma-separated (default 1,32,256).",
    )
    parser.add_argument(
        "--policy",
        choices=POLICIES,
        default="float32",
        help="Dtype policy of a new model (default float32; a run keeps its own).",
    )
    parser.add_argument(
        "--jit",
        choices=JIT_SETTINGS,
        default="off",
        help="XLA for the training epochs (default off); sampling never uses it.",
    )
    parser.add_argument("--repeats", type=int, default=3, help="Rounds (default 3).")
    add_peak_argument(parser)
    parser.add_argument("--output", help="Also append the JSON lines to this file.")
    args = parser.parse_args()
    for name, least in (("data_repeat", 1), ("epochs", 0), ("num", 1), ("repeats", 1)):
        if getattr(args, name) < least:
            parser.error(f"--{name.replace('_', '-')} must be >= {least}")
    return args


def main() -> None:
    args = parse_args()
    _import_tensorflow_quietly()
    records = []
    try:
        for record in run(args):
            emit(record, args.output)
            records.append(record)
    except (ValueError, OSError) as error:  # bad model name, data or run
        sys.exit(f"error: {error}")
    print()
    print(summary_table(records))


if __name__ == "__main__":
    main()
