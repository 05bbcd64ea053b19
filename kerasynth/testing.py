"""Test helpers shared by every model's tests.

`run_model_test` is the one check each model passes (as Keras runs every
layer through ``keras/src/testing/test_case.py``): one training step in
eager, graph and XLA modes and under the ``mixed_bfloat16`` policy,
`generate` shape and dtype, the ``.keras`` save/load round trip and the
`get_config` round trip.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from kerasynth import runtime

# bfloat16, not float16: on a CPU with AVX512-BF16 or AMX it is the mixed
# policy `runtime.resolve_precision` picks, and float16 runs ~8x slower there.
MIXED_POLICY = "mixed_bfloat16"
MODES = ("eager", "graph", "xla", MIXED_POLICY)


def _as_dataset(batch: Any) -> tf.data.Dataset:
    return tf.data.Dataset.from_tensors(batch)


def _snapshot(model: keras.Model) -> list[np.ndarray]:
    return [np.array(v) for v in model.trainable_variables]


def _equal_generated(a: Any, b: Any) -> bool:
    if hasattr(a, "equals"):  # pandas DataFrame
        return a.equals(b)
    return np.array_equal(np.asarray(a), np.asarray(b))


def _check_one_step(model: keras.Model, batch: Any, mode: str) -> None:
    # One step of `fit` gives finite losses and changes some weight; for a
    # model fitted by `adapt` (`trains_by_gradient` False), it has no
    # trainable weight and the step changes none of its statistics.
    before = _snapshot(model)
    statistics = [np.array(v) for v in model.non_trainable_variables]
    history = model.fit(_as_dataset(batch), epochs=1, shuffle=False, verbose=0)
    for name, values in history.history.items():
        assert np.isfinite(values[-1]), f"{mode}: {name} is {values[-1]}"
    if not model.trains_by_gradient:
        assert not before, f"{mode}: a model fitted by adapt has trainable weights"
        after = [np.array(v) for v in model.non_trainable_variables]
        for b, a in zip(statistics, after, strict=True):
            assert np.array_equal(b, a), f"{mode}: a training step moved a statistic"
        return
    after = _snapshot(model)
    changed = sum(not np.array_equal(b, a) for b, a in zip(before, after, strict=True))
    assert changed > 0, f"{mode}: one training step changed no weight"


def _layers(layer: keras.layers.Layer):
    # The layer and every layer nested in it (networks inside a model).
    yield layer
    for child in getattr(layer, "layers", ()):
        yield from _layers(child)


def _check_float32_samples(samples: Any, what: str, bounded=None) -> None:
    # `bounded`: which of the last axis' entries must lie in [-1, 1] (all by
    # default; a table's ``linear`` spans, TabDDPM's normal scores, are not).
    samples = np.asarray(samples)
    assert samples.dtype == np.float32, f"{what}: dtype {samples.dtype}"
    assert np.isfinite(samples).all(), f"{what}: not finite"
    if bounded is not None:
        samples = samples[..., bounded]
    assert samples.min() >= -1.0 and samples.max() <= 1.0, (
        f"{what}: values in [{samples.min()}, {samples.max()}], not [-1, 1]"
    )


def _check_mixed_precision(build_model, batch, num_samples, generate_kwargs):
    # Under the mixed policy the layers compute in bfloat16, the variables
    # stay float32, and the samples come out float32 in range.
    with runtime.dtype_policy(MIXED_POLICY):
        model = build_model()
        model.compile()
        computes = {layer.compute_dtype for layer in _layers(model)}
        assert "bfloat16" in computes, f"{MIXED_POLICY}: no layer computes in it"
        _check_one_step(model, batch, MIXED_POLICY)
        wrong = [
            f"{v.path}: {v.dtype}"
            for v in model.weights
            if "float" in str(v.dtype) and v.dtype != "float32"
        ]
        assert not wrong, f"{MIXED_POLICY}: variables not float32: {wrong}"
        samples = model.generate(num_samples, seed=1, **generate_kwargs)
        bounded = None
        if hasattr(model, "sample_matrix"):  # tables: the rows before decoding
            seed = tf.constant([1, 0], tf.int32)
            samples = model.sample_matrix(num_samples, seed)
            bounded = np.array(
                [
                    s.activation != "linear"
                    for s in model.transformer.spans
                    for _ in range(s.width)
                ]
            )
        _check_float32_samples(samples, f"{MIXED_POLICY}: generated", bounded)


def run_model_test(
    build_model: Callable[[], keras.Model],
    batch: Any,
    tmp_path: Path,
    *,
    expected_sample_shape: Sequence[int] | None = None,
    modes: Sequence[str] = MODES,
    num_samples: int = 3,
    generate_kwargs: dict[str, Any] | None = None,
) -> None:
    """Runs a generative model through the checks every model must pass.

    Each mode builds a fresh model and checks that one training step gives
    finite losses and changes some weight (a model with `trains_by_gradient`
    False: that it has no trainable weight and the step moves none). Under
    `MIXED_POLICY` it also checks that some layer computes in bfloat16, that
    every variable stays float32 and that `generate` (for tables,
    `sample_matrix`) returns finite float32 values in [-1, 1]; the global
    dtype policy is restored afterwards, also on failure. The model of the
    last float32 mode then goes through the `generate`, ``.keras`` and
    `get_config` checks.

    Args:
        build_model: returns a fresh, uncompiled model (tiny widths, please).
        batch: one training batch, as the model's `train_step` receives it.
        tmp_path: a folder for the ``.keras`` round trip.
        expected_sample_shape: the shape of one generated sample (image
            models), checked with dtype float32 and values in [-1, 1].
        modes: which of `MODES` to run one step in.
        num_samples: how many samples `generate` draws in the checks.
        generate_kwargs: more arguments of `generate` (Pix2Pix's `sources`).
    """
    generate_kwargs = generate_kwargs or {}
    model = None
    for mode in modes:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}. Received: mode={mode!r}")
        if mode == MIXED_POLICY:
            _check_mixed_precision(build_model, batch, num_samples, generate_kwargs)
            continue
        model = build_model()
        model.compile(run_eagerly=mode == "eager", jit_compile=mode == "xla")
        # Keras quietly drops XLA for layers that cannot take it and under
        # op determinism; the XLA mode must really run XLA.
        assert bool(model.jit_compile) == (mode == "xla"), f"{mode}: jit_compile"
        _check_one_step(model, batch, mode)
    if model is None:  # only the mixed mode ran: the rest checks float32
        model = build_model()
        model.compile()

    samples = model.generate(num_samples, seed=1, **generate_kwargs)
    if expected_sample_shape is not None:
        samples = np.asarray(samples)
        assert samples.shape == (num_samples, *expected_sample_shape), samples.shape
        _check_float32_samples(samples, "generated")
    assert _equal_generated(
        samples, model.generate(num_samples, seed=1, **generate_kwargs)
    ), "generate(seed=1) is not repeatable"

    path = Path(tmp_path) / "model.keras"
    model.save(path)
    reloaded = keras.saving.load_model(path)
    assert _equal_generated(
        samples, reloaded.generate(num_samples, seed=1, **generate_kwargs)
    ), "the reloaded model generates other samples for the same seed"
    for original, restored in zip(model.weights, reloaded.weights, strict=True):
        np.testing.assert_array_equal(np.array(original), np.array(restored))
    assert reloaded.compiled, "the reloaded model is not compiled"

    config = model.get_config()
    rebuilt = type(model).from_config(config)
    assert rebuilt.get_config() == config, "get_config round trip differs"


def invoke_cli(*args: Any):
    """Runs ``kerasynth ARGS`` in-process and returns click's `Result`
    (``exit_code``, ``output``, ``stderr``)."""
    from click.testing import CliRunner

    from kerasynth.cli import main

    return CliRunner().invoke(main, [str(a) for a in args])
