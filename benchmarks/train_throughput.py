"""Training throughput of a kerasynth model per dtype policy and XLA setting.

Measures samples per second (images/s for image models) of steady training
epochs: each configuration's model is built once and trained for one untimed
warm-up epoch (tracing, XLA compilation), then every round trains each
configuration for ``--epochs`` timed epochs, round-robin, so that the noise of
a shared machine spreads over all of them. The figures to read are ratios to
float32 without XLA, measured side by side in the same run (benchmarks/README.md
says how to read them).

Prints one JSON line per (round, configuration), then a table of medians:

    python benchmarks/train_throughput.py --model dcgan --epochs 3 --repeats 5

Op determinism is off here: under it Keras silently turns XLA off (each line
records the ``jit_used`` that Keras actually kept).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import itertools
import json
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from kerasynth.cli import _import_tensorflow_quietly

try:
    import psutil
except ImportError:  # optional: `rss_mb` and `other_cpus` are then null
    psutil = None

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
    """The model-specific part of a benchmark: what to build, what to feed."""

    model_kwargs: dict[str, Any]
    dataset: tf.data.Dataset
    samples_per_epoch: int
    unit: str  # "images"; table models will say "rows"


def load_workload(args: argparse.Namespace) -> Workload:
    """The data and constructor arguments of `args.model`, by its modality.

    Image models train on `load_images(args.data)` (the embedded MNI152 slices
    by default), repeated `args.data_repeat` times to lengthen an epoch.
    """
    import numpy as np

    from kerasynth import registry
    from kerasynth.data.images import load_images
    from kerasynth.data.pipeline import make_dataset

    model_class = registry.get_model_class(args.model)
    if model_class.modality != "image" or getattr(model_class, "needs_sources", False):
        raise ValueError(
            "No throughput workload yet for table or image-to-image models. "
            f"Received: model={args.model!r}"
        )
    kwargs = {"image_size": args.image_size, "channels": args.channels}
    # A throwaway instance answers what the data must be: the constructor's
    # defaults, and whether batches carry labels.
    probe = registry.get_model(
        args.model, **{k: v for k, v in kwargs.items() if v is not None}
    )
    data = load_images(args.data, image_size=probe.image_size, channels=probe.channels)
    if args.data_repeat > 1:
        labels = None if data.labels is None else np.tile(data.labels, args.data_repeat)
        images = np.tile(data.images, (args.data_repeat, 1, 1, 1))
        data = dataclasses.replace(data, images=images, labels=labels)
    batch_size = args.batch_size or model_class.training_defaults["batch_size"]
    return Workload(
        model_kwargs={"image_size": probe.image_size, "channels": probe.channels},
        dataset=make_dataset(
            data, batch_size, seed=args.seed, with_labels=probe.uses_labels
        ),
        samples_per_epoch=len(data) // batch_size * batch_size,
        unit="images",
    )


def build_model(
    args: argparse.Namespace, workload: Workload, setting: Setting
) -> tuple[keras.Model, float]:
    """Builds and compiles the model, then trains one untimed warm-up epoch.

    Returns:
        The model and the warm-up epoch's seconds (tracing, XLA compilation).
    """
    from kerasynth import registry, runtime

    with runtime.seeded(args.seed, deterministic=False):
        with runtime.dtype_policy(setting.policy):
            model = registry.get_model(args.model, **workload.model_kwargs)
            model.compile(jit_compile=setting.jit == "on")
        started = time.perf_counter()
        model.fit(workload.dataset, epochs=1, shuffle=False, verbose=0)
    return model, time.perf_counter() - started


def measure(
    args: argparse.Namespace, workload: Workload, setting: Setting, model: keras.Model
) -> dict[str, Any]:
    """Trains `args.epochs` timed epochs; returns the measurement's fields."""
    import tensorflow as tf

    from kerasynth import runtime
    from kerasynth.training import EpochTimer

    gpu = bool(tf.config.list_physical_devices("GPU"))
    if gpu:
        tf.config.experimental.reset_memory_stats("GPU:0")
    timer = EpochTimer()
    others_before, started = others_cpu_seconds(), time.perf_counter()
    with runtime.seeded(args.seed, deterministic=False):
        model.fit(
            workload.dataset,
            epochs=args.epochs,
            shuffle=False,
            callbacks=[timer],
            verbose=0,
        )
    wall, others_after = time.perf_counter() - started, others_cpu_seconds()
    seconds = sum(timer.durations)
    peak_gpu = tf.config.experimental.get_memory_info("GPU:0")["peak"] if gpu else None
    return {
        "seconds": round(seconds, 3),
        f"{workload.unit}_per_s": round(
            workload.samples_per_epoch * args.epochs / seconds, 2
        ),
        "epoch_s": [round(d, 3) for d in timer.durations],
        "jit_used": bool(model.jit_compile),
        # ru_maxrss is in KiB on Linux; it is the process's high-water mark.
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "rss_mb": current_rss_mb(),
        # CPUs kept busy by other processes meanwhile: ~0 on a quiet machine.
        "other_cpus": None
        if others_before is None
        else round((others_after - others_before) / wall, 2),
        "peak_gpu_mb": None if peak_gpu is None else round(peak_gpu / 2**20),
    }


def current_rss_mb() -> int | None:
    """Resident memory now, unlike the high-water mark `peak_rss_mb`."""
    if psutil is None:
        return None
    return round(psutil.Process().memory_info().rss / 2**20)


def others_cpu_seconds() -> float | None:
    """CPU seconds used so far by all processes but this one."""
    if psutil is None:
        return None
    machine, own = psutil.cpu_times(), psutil.Process().cpu_times()
    busy = sum(
        getattr(machine, name, 0.0)
        for name in ("user", "nice", "system", "irq", "softirq")
    )
    return busy - own.user - own.system


def run_in_process(args: argparse.Namespace) -> Iterator[dict[str, Any]]:
    """Round-robin over the settings, each model built (and warmed up) once."""
    import keras
    import tensorflow as tf

    workload = load_workload(args)
    models: dict[Setting, tuple[keras.Model, float]] = {}
    for round_, setting in itertools.product(range(args.repeats), settings(args)):
        if setting not in models:
            models[setting] = build_model(args, workload, setting)
            print(
                f"{setting.policy} / XLA {setting.jit}: warm-up epoch "
                f"{models[setting][1]:.1f} s",
                file=sys.stderr,
            )
        model, warmup_s = models[setting]
        yield {
            "model": args.model,
            "policy": setting.policy,
            "jit": setting.jit,
            **workload.model_kwargs,
            "batch_size": workload.dataset.element_spec.shape[0],
            "unit": workload.unit,
            "samples_per_epoch": workload.samples_per_epoch,
            "epochs": args.epochs,
            "round": round_,
            "warmup_s": round(warmup_s, 3),
            **measure(args, workload, setting, model),
            "isolated": False,
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
            "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
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
    (`paired`: immune to a machine that slows down for a few rounds), and the
    highest peak RSS seen."""
    key = f"{records[0]['unit']}_per_s"
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for record in records:
        groups.setdefault((record["policy"], record["jit"]), []).append(record)
    medians = {k: statistics.median(r[key] for r in rs) for k, rs in groups.items()}
    baseline = {r["round"]: r[key] for r in groups.get(BASELINE, [])}
    lines = [
        f"{'policy':<15} {'XLA':<7} {'rounds':>6} {key:>13} {'ratio':>6} "
        f"{'paired':>6} {'peak RSS MB':>11}"
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
        lines.append(
            f"{policy:<15} {xla:<7} {len(rs):>6} {medians[policy, jit]:>13.1f} "
            f"{ratio:>6} {paired:>6} {max(r['peak_rss_mb'] for r in rs):>11}"
        )
    if any("(!)" in line for line in lines):
        lines.append("(!): Keras did not keep the XLA setting asked for (jit_used).")
    return "\n".join(lines)


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


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="Registered model name.")
    parser.add_argument("--data", help="Default: the embedded MNI152 slices.")
    parser.add_argument(
        "--data-repeat",
        type=int,
        default=1,
        help="Repeat the data N times to lengthen an epoch (default 1).",
    )
    parser.add_argument(
        "--epochs", type=int, default=3, help="Timed epochs per round (default 3)."
    )
    parser.add_argument("--batch-size", type=int, help="Default: the model's.")
    parser.add_argument("--image-size", type=int, help="Default: the model's.")
    parser.add_argument("--channels", type=int, help="1 or 3. Default: the model's.")
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
    parser.add_argument("--seed", type=int, default=0, help="Default 0.")
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
    for name in ("data_repeat", "epochs", "repeats"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1")
    return args


def main() -> None:
    args = parse_args()
    _import_tensorflow_quietly()
    isolate = args.isolate and not args.worker
    records = []
    try:
        for record in run_isolated(args) if isolate else run_in_process(args):
            line = json.dumps(record)
            print(line, flush=True)
            if args.output and not args.worker:
                with open(args.output, "a", encoding="utf-8") as output:
                    output.write(line + "\n")
            records.append(record)
    except (ValueError, OSError) as error:  # bad model name, data or size
        sys.exit(f"error: {error}")
    if not args.worker:
        print()
        print(summary_table(records))


if __name__ == "__main__":
    main()
