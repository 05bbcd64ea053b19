"""What the benchmark scripts share: output, the machine's load, memory, FLOPs.

- `emit` prints a measurement as one JSON line (and appends it to a file);
- `LoadMeter` times a block and records how many CPUs other processes kept
  busy meanwhile (`other_cpus`);
- `peak_rss_mb` / `current_rss_mb`: the process's memory;
- `graph_flops` counts the float operations one run of a traced function
  executes, with TensorFlow's own per-op counts;
- `peak_gflops` estimates this CPU's peak FLOP rate per dtype policy.

The scripts import this module by name: Python puts a script's own directory
first on ``sys.path``.
"""

from __future__ import annotations

import datetime
import json
import os
import resource
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

try:
    import psutil
except ImportError:  # optional: `rss_mb` and `other_cpus` are then null
    psutil = None

if TYPE_CHECKING:
    import tensorflow as tf

# float32 FLOP per cycle and core of an AVX-512 CPU with two 256-bit FMA
# pipes (AMD Zen 4, the EPYC we measure on): 2 pipes x 8 lanes x 2 (an FMA).
FLOAT32_FLOP_PER_CYCLE = 32


def emit(record: dict[str, Any], output: str | None = None) -> None:
    """Prints `record` as one JSON line; with `output`, appends it there too."""
    line = json.dumps(record)
    print(line, flush=True)
    if output:
        with open(output, "a", encoding="utf-8") as file:
            file.write(line + "\n")


def provenance() -> dict[str, str]:
    """The versions and the time every measurement records."""
    import keras
    import tensorflow as tf

    return {
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
    }


# === Load and memory ===


def peak_rss_mb() -> int:
    """The process's resident high-water mark (``ru_maxrss``, KiB on Linux)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def current_rss_mb() -> int | None:
    """Resident memory now, unlike the high-water mark `peak_rss_mb`."""
    if psutil is None:
        return None
    return round(psutil.Process().memory_info().rss / 2**20)


def others_cpu_seconds() -> float | None:
    """CPU seconds used so far by all processes but this one and the
    children it has waited for (a timed ``subprocess.run`` is its own work)."""
    if psutil is None:
        return None
    machine, own = psutil.cpu_times(), psutil.Process().cpu_times()
    busy = sum(
        getattr(machine, name, 0.0)
        for name in ("user", "nice", "system", "irq", "softirq")
    )
    return busy - own.user - own.system - own.children_user - own.children_system


class LoadMeter:
    """Times a ``with`` block, and the CPUs other processes used meanwhile.

    Example:

    ```python
    with LoadMeter() as load:
        work()
    load.seconds, load.other_cpus  # 2.5, 0.03 (near 0: a quiet machine)
    ```
    """

    def __init__(self):
        self.seconds = 0.0
        self.other_cpus: float | None = None
        self._others = None
        self._start = 0.0

    def __enter__(self) -> LoadMeter:
        self._others = others_cpu_seconds()
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc_info) -> None:
        self.seconds = time.perf_counter() - self._start
        others = others_cpu_seconds()
        if others is not None and self._others is not None and self.seconds > 0:
            self.other_cpus = round((others - self._others) / self.seconds, 2)


# === FLOPs ===


def graph_flops(graph: tf.Graph) -> int:
    """Float operations of one run of a traced function's graph.

    Sums TensorFlow's registered per-op counts (what the profiler's
    ``float_operation`` view reports: 2 per multiply-add in convolutions and
    matrix products, about 1 per element in elementwise ops) over the ops a
    run executes: those the outputs and the stateful ops (variable updates)
    depend on. A `GradientTape` also builds gradients nobody reads, such as a
    GAN's discriminator update backpropagating into the generator; the
    function runtime prunes them, and so does this count (the profiler would
    count them).

    Convention to know when comparing with a hand count: TF counts a
    (transposed) convolution as if every output touched every kernel tap, so
    DCGAN's 1x1 -> 4x4 projection counts 16x its real work (+25 MFLOP).

    Args:
        graph: a ``FuncGraph`` (``tf.function(fn).get_concrete_function(...)
            .graph``) with static shapes; ops whose shapes are unknown count 0.
    """
    from tensorflow.python.framework import ops

    # Importing the registry registers the per-op "flops" statistics.
    from tensorflow.python.profiler.internal import flops_registry  # noqa: F401
    from tensorflow.python.util import deprecation

    roots = [tensor.op for tensor in graph.outputs]
    roots += list(getattr(graph, "control_outputs", []))
    live, pending = set(), roots
    while pending:
        op = pending.pop()
        if op not in live:
            live.add(op)
            pending.extend(tensor.op for tensor in op.inputs)
            pending.extend(op.control_inputs)
    total = 0
    # The registry reads shapes with a TF1 helper that warns it is deprecated.
    with deprecation.silence():
        for op in live:
            try:
                stats = ops.get_stats_for_node_def(graph, op.node_def, "flops")
            except ValueError:  # a shape is not fully defined
                continue
            total += stats.value or 0
    return total


def cpu_flags() -> set[str]:
    """The CPU's feature flags (``/proc/cpuinfo``; empty elsewhere)."""
    for line in _cpuinfo_lines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


def _cpuinfo_lines() -> list[str]:
    try:
        return Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines()
    except OSError:
        return []


def cpu_peak_gflops(policy: str) -> float | None:
    """This CPU's peak FLOP rate for `policy`, in GFLOP/s (`None` if unknown).

    Physical cores (at most the CPUs this process may run on) x
    `FLOAT32_FLOP_PER_CYCLE` x the clock (the highest ``cpu MHz`` in
    ``/proc/cpuinfo``); twice that for ``mixed_bfloat16`` on a CPU with
    AVX512_BF16 (its dot-product instruction does two bf16 multiply-adds per
    float32 lane). ``mixed_float16`` gets the float32 peak: without
    AVX512_FP16 there is no faster float16 arithmetic.
    """
    clocks = [
        float(line.split(":", 1)[1])
        for line in _cpuinfo_lines()
        if line.startswith("cpu MHz")
    ]
    if not clocks:
        return None
    cpus = len(os.sched_getaffinity(0))
    cores = psutil.cpu_count(logical=False) if psutil is not None else None
    cores = min(cores or cpus, cpus)
    peak = cores * FLOAT32_FLOP_PER_CYCLE * max(clocks) / 1000
    if policy == "mixed_bfloat16" and "avx512_bf16" in cpu_flags():
        peak *= 2
    return round(peak, 1)


def peak_gflops(policy: str, override: float | None, gpu: bool) -> float | None:
    """The peak to compare a measurement of `policy` with: `override` (the
    ``--peak-gflops`` of a script) for every policy when given, else this
    CPU's estimate (`cpu_peak_gflops`), or `None` on a machine with a GPU
    (the CPU's peak says nothing there)."""
    if override:
        return override
    return None if gpu else cpu_peak_gflops(policy)


def flop_fields(
    samples_per_s: float, gflop_per_sample: float | None, peak: float | None
) -> dict[str, Any]:
    """A measurement's FLOP fields: the work per sample, the rate, the peak
    it is compared with and the fraction of it reached."""
    if gflop_per_sample is None:
        return {"gflop_per_sample": None, "gflop_per_s": None}
    rate = samples_per_s * gflop_per_sample
    return {
        "gflop_per_sample": float(f"{gflop_per_sample:.4g}"),
        "gflop_per_s": float(f"{rate:.4g}"),
        "peak_gflop_per_s": peak,
        "peak_fraction": None if not peak else round(rate / peak, 4),
    }
