"""`train(config)`: from a `TrainConfig` to a run directory.

The CLI's ``kerasynth train`` and the pipeline's train component both end
here. The steps: seed and precision policy, the model (inside the
distribution strategy's scope), the data and its `tf.data` pipeline, Keras'
``fit``, then the run directory, staged and renamed into place.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import platform
import time
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

import kerasynth
from kerasynth import imaging, registry, runs, runtime
from kerasynth.config import TrainConfig

logger = logging.getLogger("kerasynth")


@dataclasses.dataclass
class TrainResult:
    """What a training run produced and how fast."""

    run_dir: Path
    model_name: str
    epochs: int
    seconds: float
    samples_per_second: float
    final_metrics: dict[str, float]
    unit: str = "images"

    def summary(self) -> str:
        """One line: time, throughput and final losses."""
        metrics = ", ".join(f"{k} {v:.3f}" for k, v in self.final_metrics.items())
        return (
            f"Trained {self.model_name} for {self.epochs} epochs in "
            f"{self.seconds:.1f} s ({self.samples_per_second:.1f} "
            f"{self.unit}/s after the first epoch); {metrics} -> {self.run_dir}"
        )


class EpochTimer(keras.callbacks.Callback):
    """Records the wall time of every epoch (the first one includes tracing)."""

    def __init__(self):
        super().__init__()
        self.durations: list[float] = []
        self._start = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.durations.append(time.perf_counter() - self._start)

    def steady_rate(self, samples_per_epoch: int) -> float:
        """Samples per second over the epochs after the first (or the first,
        if it is the only one)."""
        durations = self.durations[1:] or self.durations
        return samples_per_epoch * len(durations) / max(sum(durations), 1e-9)


def package_versions() -> dict[str, str]:
    """The versions that decide whether a run can be reproduced."""
    return {
        "kerasynth": kerasynth.__version__,
        "keras": keras.__version__,
        "tensorflow": tf.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def _load_data(model, source: str | None):
    if model.modality == "image":
        from kerasynth.data.images import load_images

        return load_images(source, image_size=model.image_size, channels=model.channels)
    raise ValueError(f"No data loader for modality {model.modality!r}.")


def _make_dataset(model, data, batch_size: int, seed: int):
    from kerasynth.data.pipeline import make_dataset

    return make_dataset(
        data,
        batch_size,
        seed=seed,
        with_labels=getattr(model, "uses_labels", False),
    )


def _final_metrics(history: dict[str, list[float]]) -> dict[str, float]:
    return {name: float(values[-1]) for name, values in history.items() if values}


def train(config: TrainConfig) -> TrainResult:
    """Trains `config.model` on `config.data` and writes the run directory.

    Returns:
        A `TrainResult` (its `summary()` is the CLI's last line).

    Raises:
        ValueError: an unknown model, an invalid hyperparameter or bad data.
        FileNotFoundError: a data path that does not exist.
        FileExistsError: a non-empty output without ``overwrite``.
    """
    output = config.output_path()
    runs.check_output(output, config.overwrite)
    model_class = registry.get_model_class(config.model)
    epochs = config.epochs or model_class.training_defaults["epochs"]
    batch_size = config.batch_size or model_class.training_defaults["batch_size"]
    seed = config.seed if config.seed is not None else runtime.new_seed()
    policy = runtime.resolve_precision(config.mixed_precision)
    jit_compile = runtime.resolve_jit_compile(config.jit_compile)
    deterministic = runtime.resolve_deterministic(config.deterministic, jit_compile)

    with runtime.seeded(seed, deterministic), runtime.dtype_policy(policy):
        strategy = runtime.distribution_strategy()
        with strategy.scope():
            model = registry.get_model(config.model, **config.model_kwargs)
            model.compile(jit_compile=jit_compile)
        data = _load_data(model, config.data)
        dataset = _make_dataset(model, data, batch_size, seed)
        logger.info("Training %s on %s", config.model, data.source)

        with runs.staged_directory(output, overwrite=config.overwrite) as staging:
            timer = EpochTimer()
            started = time.perf_counter()
            history = model.fit(
                dataset,
                epochs=epochs,
                shuffle=False,  # the dataset shuffles, with the run's seed
                callbacks=[keras.callbacks.TerminateOnNaN(), timer],
                verbose=config.verbose,
            )
            seconds = time.perf_counter() - started
            steps = len(data) // batch_size
            result = TrainResult(
                run_dir=output,
                model_name=config.model,
                epochs=len(timer.durations),
                seconds=seconds,
                samples_per_second=timer.steady_rate(steps * batch_size),
                final_metrics=_final_metrics(history.history),
                unit="images" if model.modality == "image" else "rows",
            )
            model.save(staging / runs.MODEL_FILE)
            runs.write_json(staging / runs.HISTORY_FILE, history.history)
            runs.write_json(
                staging / runs.CONFIG_FILE,
                {
                    "model": config.model,
                    "model_config": model.get_config(),
                    "compile_config": model.get_compile_config(),
                    "training": {
                        "epochs": epochs,
                        "batch_size": batch_size,
                        "seed": seed,
                        "mixed_precision": config.mixed_precision,
                        "dtype_policy": policy,
                        "jit_compile": config.jit_compile,
                        "jit_compile_used": bool(model.jit_compile),
                        "deterministic": deterministic,
                        "replicas": strategy.num_replicas_in_sync,
                    },
                    "data": _describe_data(data, config.data),
                    "results": {
                        "seconds": round(seconds, 3),
                        f"{result.unit}_per_second": round(
                            result.samples_per_second, 2
                        ),
                        "final_metrics": result.final_metrics,
                    },
                    "versions": package_versions(),
                    "created": datetime.datetime.now().astimezone().isoformat(),
                },
            )
            if model.modality == "image":
                samples = model.generate(64, seed=seed)
                imaging.save_images(samples, staging / runs.SAMPLES_FILE)
    return result


def _describe_data(data, source: str | None) -> dict[str, Any]:
    return {
        "source": source,
        "description": data.source,
        "fingerprint": data.fingerprint,
        "num_examples": len(data),
        "shape": list(data.images.shape[1:]),
        "class_names": data.class_names,
        "duplicate_groups": len(data.duplicates),
    }
