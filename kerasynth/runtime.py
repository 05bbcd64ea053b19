"""The training runtime: seeds, determinism, precision policy, XLA, devices.

Everything here is process-wide state that `training.train` sets up before it
builds a model, in one place, so that models never read globals.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import random
from collections.abc import Iterator

import keras
import tensorflow as tf

logger = logging.getLogger("kerasynth")

PRECISION_CHOICES = ("auto", "off", "float32", "mixed_float16", "mixed_bfloat16")
JIT_CHOICES = ("auto", "on", "off")


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


def distribution_strategy() -> tf.distribute.Strategy:
    """The strategy for this machine: `MultiWorkerMirroredStrategy` when
    ``TF_CONFIG`` names a cluster, `MirroredStrategy` over two or more GPUs,
    else the default (one device) strategy."""
    if os.environ.get("TF_CONFIG"):
        return tf.distribute.MultiWorkerMirroredStrategy()
    if len(tf.config.list_physical_devices("GPU")) > 1:
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()
