"""The training runtime: seeds, determinism, precision, XLA, distribution.

Everything here is process-wide state that `training.train` sets up before it
builds a model, in one place, so that models never read globals.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import random
from collections.abc import Iterator
from typing import Any

import keras
import tensorflow as tf

logger = logging.getLogger("kerasynth")

PRECISION_CHOICES = ("auto", "off", "float32", "mixed_float16", "mixed_bfloat16")
JIT_CHOICES = ("auto", "on", "off")
STRATEGY_CHOICES = ("auto", "default", "mirrored", "multi-worker")


@functools.cache
def cpu_flags() -> frozenset[str]:
    """The CPU feature flags of this machine (Linux ``/proc/cpuinfo``)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("flags"):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def gpu_compute_capabilities() -> list[tuple[int, int]]:
    """The CUDA compute capability of every visible GPU (empty on CPU)."""
    capabilities = []
    for gpu in tf.config.list_physical_devices("GPU"):
        details = tf.config.experimental.get_device_details(gpu)
        capabilities.append(tuple(details.get("compute_capability", (0, 0))))
    return capabilities


def resolve_precision(policy: str, auto_mixed: bool = True) -> str:
    """Turns a ``--mixed-precision`` choice into a Keras dtype policy name.

    ``auto`` picks ``mixed_float16`` when every GPU has compute capability 7.0
    or newer (tensor cores), ``mixed_bfloat16`` on a CPU-only machine whose
    CPU has AVX512-BF16 or AMX (about 1.4x faster than float32 there, while
    float16 on such a CPU is about 8x slower), and ``float32`` otherwise.
    ``off`` means ``float32``. With `auto_mixed` false (models whose small
    dense layers gain nothing from it), ``auto`` means ``float32``.
    """
    if policy not in PRECISION_CHOICES:
        raise ValueError(
            f"mixed_precision must be one of {', '.join(PRECISION_CHOICES)}. "
            f"Received: mixed_precision={policy!r}"
        )
    if policy in ("off", "float32"):
        return "float32"
    if policy != "auto":
        return policy
    if not auto_mixed:
        return "float32"
    capabilities = gpu_compute_capabilities()
    if capabilities:
        return "mixed_float16" if min(capabilities) >= (7, 0) else "float32"
    if cpu_flags() & {"avx512_bf16", "amx_bf16"}:
        return "mixed_bfloat16"
    return "float32"


def resolve_jit_compile(jit: str) -> bool | str:
    """Turns a ``--jit-compile`` choice into Keras' ``jit_compile`` argument.

    ``auto`` is left to Keras, which turns XLA on with a GPU and off on a
    CPU-only machine (where XLA made DCGAN training about 25% slower).
    """
    if jit not in JIT_CHOICES:
        raise ValueError(
            f"jit_compile must be one of {', '.join(JIT_CHOICES)}. "
            f"Received: jit_compile={jit!r}"
        )
    return {"auto": "auto", "on": True, "off": False}[jit]


def new_seed() -> int:
    """A fresh random seed, for runs that were given none (it is recorded)."""
    return random.SystemRandom().randrange(2**31 - 1)


def resolve_deterministic(deterministic: bool | None, jit_compile: bool | str) -> bool:
    """Whether to make TensorFlow ops deterministic.

    `None` (auto) means yes on a CPU-only machine (bit-identical runs for a
    seed, at no cost there) and no with a GPU, where deterministic kernels
    are slower and Keras turns XLA off under determinism. XLA asked for
    explicitly (``jit_compile=True``) wins over auto determinism.
    """
    if deterministic is None:
        return jit_compile is not True and not tf.config.list_physical_devices("GPU")
    if deterministic and jit_compile is True:
        raise ValueError(
            "XLA cannot run with deterministic ops (Keras turns it off); "
            "choose one: jit_compile on with deterministic off "
            "(--no-deterministic), or jit_compile auto/off."
        )
    return deterministic


def _set_op_determinism(enabled: bool) -> None:
    from tensorflow.python.framework import config as tf_config

    if enabled:
        tf_config.enable_op_determinism()
    else:
        tf_config.disable_op_determinism()


@contextlib.contextmanager
def seeded(seed: int, deterministic: bool = True) -> Iterator[None]:
    """Seeds Python, NumPy, TensorFlow and Keras, and makes TensorFlow ops
    deterministic for the block if asked (restoring the previous setting
    after it, so a notebook or a test suite is left as it was)."""
    from tensorflow.python.framework import config as tf_config

    keras.utils.set_random_seed(seed)
    previous = tf_config.is_op_determinism_enabled()
    _set_op_determinism(deterministic)
    try:
        yield
    finally:
        _set_op_determinism(previous)


@contextlib.contextmanager
def dtype_policy(name: str) -> Iterator[None]:
    """Sets Keras' global dtype policy for the block and restores it after."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def _tf_config_error(problem: str, raw: str) -> ValueError:
    return ValueError(
        f"TF_CONFIG {problem}. A multi-worker run needs TF_CONFIG set on every "
        'worker to JSON like {"cluster": {"worker": ["host0:port", '
        '"host1:port"]}, "task": {"type": "worker", "index": 0}}: the same '
        "cluster everywhere, and each worker's own task index. "
        f"Received: TF_CONFIG={raw!r}"
    )


def cluster_config() -> dict[str, Any] | None:
    """``TF_CONFIG``, parsed and checked, or `None` when it is unset.

    Raises:
        ValueError: TF_CONFIG is not JSON, names no ``worker`` (or
            ``chief``) addresses, or its task is not one of the cluster's.
    """
    raw = os.environ.get("TF_CONFIG", "")
    if not raw.strip():
        return None
    try:
        tf_config = json.loads(raw)
    except json.JSONDecodeError as error:
        raise _tf_config_error(f"is not valid JSON ({error})", raw) from None
    if not isinstance(tf_config, dict):
        raise _tf_config_error("must be a JSON object", raw)
    cluster, task = tf_config.get("cluster"), tf_config.get("task")
    if not isinstance(cluster, dict) or not (set(cluster) & {"worker", "chief"}):
        raise _tf_config_error('has no "cluster" with a "worker" list', raw)
    for job, addresses in cluster.items():
        if not (
            isinstance(addresses, list)
            and addresses
            and all(isinstance(a, str) and ":" in a for a in addresses)
        ):
            raise _tf_config_error(
                f'cluster job "{job}" must be a list of "host:port" strings', raw
            )
    if not isinstance(task, dict) or task.get("type") not in cluster:
        raise _tf_config_error(
            f'has no "task" whose "type" is one of {sorted(cluster)}', raw
        )
    index = task.get("index")
    if isinstance(index, bool) or not isinstance(index, int):
        raise _tf_config_error('task "index" must be an integer', raw)
    if not 0 <= index < len(cluster[task["type"]]):
        raise _tf_config_error(
            f'task "index" must be below the {len(cluster[task["type"]])} '
            f'"{task["type"]}" addresses',
            raw,
        )
    return tf_config


def resolve_strategy(name: str) -> str:
    """Turns a ``--strategy`` choice into ``default``, ``mirrored`` or
    ``multi-worker``.

    ``auto`` picks ``multi-worker`` when ``TF_CONFIG`` is set (it is then
    checked, so that a malformed one fails instead of every worker training
    alone), ``mirrored`` with two or more GPUs, else ``default``.
    """
    if name not in STRATEGY_CHOICES:
        raise ValueError(
            f"strategy must be one of {', '.join(STRATEGY_CHOICES)}. "
            f"Received: strategy={name!r}"
        )
    if name != "auto":
        return name
    if cluster_config() is not None:
        return "multi-worker"
    if len(tf.config.list_physical_devices("GPU")) > 1:
        return "mirrored"
    return "default"


def distribution_strategy(name: str = "auto") -> tf.distribute.Strategy:
    """The `tf.distribute` strategy that `training.fit` builds and trains in.

    Args:
        name: ``default`` (one device: `tf.distribute.get_strategy()`),
            ``mirrored`` (`MirroredStrategy` over the local GPUs, or the CPU
            if there is none), ``multi-worker`` (`MultiWorkerMirroredStrategy`
            over the cluster in ``TF_CONFIG``) or ``auto`` (see
            `resolve_strategy`).

    The global batch size is the one given: each of the N replicas gets
    ``batch_size / N`` samples and the losses are divided by N
    (`losses.scale_for_replicas`), so a step equals one on the whole batch.
    The learning rate is not scaled: with a larger global batch, raise it
    yourself (linearly with the batch for SGD-like updates, less for Adam,
    and GANs are sensitive to it: keep the paper's batch where you can).

    A multi-worker strategy must be created before TensorFlow runs its
    first op in the process (it configures collective ops then), and every
    worker must run the same training with the same seed.

    Raises:
        ValueError: an unknown `name`, or a missing or malformed TF_CONFIG.
    """
    name = resolve_strategy(name)
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if cluster_config() is None:
        raise _tf_config_error("is not set", "")
    try:
        return tf.distribute.MultiWorkerMirroredStrategy()
    except RuntimeError as error:
        raise RuntimeError(
            "The multi-worker strategy must be created before TensorFlow runs "
            "its first op in this process: start the training before any "
            f"other TensorFlow work. ({error})"
        ) from error


def is_chief(name: str = "auto") -> bool:
    """Whether this process writes the run directory and logs: always,
    except in a multi-worker run, where only the chief does (the ``chief``
    task, or worker 0 when the cluster has no chief), as in Keras'
    multi-worker guide."""
    if resolve_strategy(name) != "multi-worker":
        return True
    tf_config = cluster_config()
    if tf_config is None:
        return True
    task = tf_config["task"]
    if "chief" in tf_config["cluster"]:
        return task["type"] == "chief"
    return task["type"] == "worker" and task["index"] == 0


def shard_by_data(dataset: tf.data.Dataset) -> tf.data.Dataset:
    """`dataset`, sharded across multi-worker replicas by element.

    Our datasets come from in-memory tensors, not files, so the default
    ``AUTO`` policy would try file sharding, fail, and fall back to ``DATA``
    with a warning. With ``DATA`` every worker runs the whole (seeded)
    pipeline, cuts each global batch into per-replica slices and keeps its
    own: the workers together train on exactly the batches one process
    would, provided they share the seed. Single-worker strategies ignore it.
    """
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = (
        tf.data.experimental.AutoShardPolicy.DATA
    )
    return dataset.with_options(options)


def average_replica_state(
    strategy: tf.distribute.Strategy, variables: list[Any]
) -> None:
    """Sets each float variable to its mean over the replicas.

    Keras 3 keeps the batch-norm moving statistics of every replica apart
    (they are updated from its own slice of the batch, and saving reads one
    replica's copy), so after multi-replica training the workers would save
    different models. Averaged, they are the statistics of the global
    batches (exactly for the means), as Keras 2 reported them. Training
    itself normalises each replica's slice with its own statistics (the
    layers' ``synchronized=False`` default).
    """
    floats = [v for v in variables if "float" in str(v.dtype)]
    if strategy.num_replicas_in_sync == 1 or not floats:
        return

    @tf.function  # strategy.run is slow (and warns) outside a graph
    def local_copies():
        return strategy.run(lambda: [tf.identity(v.value) for v in floats])

    for variable, value in zip(floats, local_copies(), strict=True):
        variable.assign(strategy.reduce(tf.distribute.ReduceOp.MEAN, value, None))


# === Multi-worker training (Keras 3 workarounds) ===


def check_multi_worker_batches(model_name: str, dataset: tf.data.Dataset) -> None:
    # Keras 3 starts `fit` under a multi-worker strategy by reducing the first
    # batch across workers, which fails on a tuple or dict of tensors.
    if not isinstance(dataset.element_spec, tf.TensorSpec):
        raise ValueError(
            f"{model_name} trains on batches of several tensors (labels, pairs "
            f"or conditions), which Keras {keras.__version__} cannot distribute "
            "over several workers (keras-team/keras#20329); train it with "
            "--strategy mirrored or default."
        )


def log_steps_as_vectors(model: keras.Model) -> None:
    """Makes `model.train_step` return its scalar logs as ``[1]`` vectors.

    Across workers Keras 3 averages a step's logs with
    ``strategy.reduce("MEAN", value, axis=0)``, which fails on the scalars
    every ``train_step`` returns ("Invalid reduction dimension 0 for input
    with 0 dimensions", tensorflow/tensorflow#72388); on ``[1]`` vectors it
    gives the scalar mean over all replicas.
    """
    train_step = model.train_step

    def vector_train_step(data):
        logs = train_step(data)
        return {
            name: value[None] if value.shape.rank == 0 else value
            for name, value in logs.items()
        }

    model.train_step = vector_train_step
