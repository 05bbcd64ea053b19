"""Test helpers shared by every model's tests.

`run_model_test` is the one check each model passes (as Keras runs every
layer through ``keras/src/testing/test_case.py``): one training step in
eager, graph and XLA modes, `generate` shape and dtype, the ``.keras``
save/load round trip and the `get_config` round trip.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

MODES = ("eager", "graph", "xla")


def _as_dataset(batch: Any) -> tf.data.Dataset:
    return tf.data.Dataset.from_tensors(batch)


def _snapshot(model: keras.Model) -> list[np.ndarray]:
    return [np.array(v) for v in model.trainable_variables]


def _equal_generated(a: Any, b: Any) -> bool:
    if hasattr(a, "equals"):  # pandas DataFrame
        return a.equals(b)
    return np.array_equal(np.asarray(a), np.asarray(b))


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

    Args:
        build_model: returns a fresh, uncompiled model (tiny widths, please).
        batch: one training batch, as the model's `train_step` receives it.
        tmp_path: a folder for the ``.keras`` round trip.
        expected_sample_shape: the shape of one generated sample (image
            models), checked with dtype float32 and values in [-1, 1].
        modes: which of eager, graph and XLA to run one step in.
        num_samples: how many samples `generate` draws in the checks.
        generate_kwargs: more arguments of `generate` (Pix2Pix's `sources`).
    """
    generate_kwargs = generate_kwargs or {}
    for mode in modes:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}. Received: mode={mode!r}")
        model = build_model()
        model.compile(run_eagerly=mode == "eager", jit_compile=mode == "xla")
        # Keras quietly drops XLA for layers that cannot take it and under
        # op determinism; the XLA mode must really run XLA.
        assert bool(model.jit_compile) == (mode == "xla"), f"{mode}: jit_compile"
        before = _snapshot(model)
        history = model.fit(_as_dataset(batch), epochs=1, shuffle=False, verbose=0)
        for name, values in history.history.items():
            assert np.isfinite(values[-1]), f"{mode}: {name} is {values[-1]}"
        after = _snapshot(model)
        changed = sum(
            not np.array_equal(b, a) for b, a in zip(before, after, strict=True)
        )
        assert changed > 0, f"{mode}: one training step changed no weight"

    samples = model.generate(num_samples, seed=1, **generate_kwargs)
    if expected_sample_shape is not None:
        samples = np.asarray(samples)
        assert samples.shape == (num_samples, *expected_sample_shape), samples.shape
        assert samples.dtype == np.float32, samples.dtype
        assert samples.min() >= -1.0 and samples.max() <= 1.0
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
