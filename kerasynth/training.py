"""`train(config)`: from a `TrainConfig` to a run directory.

The CLI's ``kerasynth train``, `kerasynth.TableSynthesizer` and the
pipeline's train component all end here. The steps: seed and precision
policy; the data and the model (inside the distribution strategy's scope;
table models are built from the transformer fitted on the data); Keras'
``fit``; then the run directory, staged and renamed into place.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import math
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np

from kerasynth import callbacks as callbacks_module
from kerasynth import graph_fit, locks, registry, resume, runs, runtime, tasks
from kerasynth.config import TrainConfig
from kerasynth.versions import package_versions

logger = logging.getLogger("kerasynth")


@dataclasses.dataclass
class TrainResult:
    """What a training run produced and how fast."""

    run_dir: Path | None
    model_name: str
    epochs: int
    seconds: float
    samples_per_second: float
    final_metrics: dict[str, float]
    unit: str = "images"

    def summary(self) -> str:
        """One line: time, throughput and final losses."""
        metrics = ", ".join(f"{k} {v:.3f}" for k, v in self.final_metrics.items())
        where = f" -> {self.run_dir}" if self.run_dir else ""
        return (
            f"Trained {self.model_name} for {self.epochs} epochs in "
            f"{self.seconds:.1f} s ({self.samples_per_second:.1f} "
            f"{self.unit}/s after the first epoch); {metrics}{where}"
        )


@dataclasses.dataclass
class Fitted:
    """A trained model with everything a run directory records about it."""

    model: keras.Model
    result: TrainResult
    record: dict[str, Any]
    history: dict[str, list[float]]
    transformer: Any = None
    context: Any = None  # what sampling needs (Pix2Pix: real images)


def _verbosity(verbose):
    # Keras' progress bar redraws one line; in a log file or a pipe that is a
    # wall of carriage returns, so "auto" gives one line per epoch there.
    if verbose == "auto":
        return 1 if sys.stdout.isatty() else 2
    return verbose


def _final_metrics(history: dict[str, list[float]]) -> dict[str, float]:
    return {name: float(values[-1]) for name, values in history.items() if values}


# === Training ===


def _monitoring_callbacks(config, task, inputs, work_dir):
    """FidelityMonitor, EarlyStopping and ModelCheckpoint for the config's
    ``early_stopping`` / ``keep_best`` metrics."""
    from kerasynth.callbacks import FidelityMonitor

    found, watched = {}, [config.early_stopping, config.keep_best]
    for name in filter(None, watched):
        metric = name.removeprefix("val_")
        if metric in task.fidelity_metrics and name not in found:
            monitor = FidelityMonitor(
                _held_out_subset(inputs.held_out, config.seed),
                metric=metric,
                every=config.fidelity_every,
                name=name if name.startswith("val_") else None,
                context=inputs.context,
            )
            found[name] = (monitor.name, monitor.mode, monitor)
        elif name not in found:
            found[name] = (name, "min", None)  # a training loss or metric
    callbacks = [entry[2] for entry in found.values() if entry[2] is not None]
    if config.early_stopping:
        key, mode, _ = found[config.early_stopping]
        callbacks.append(
            keras.callbacks.EarlyStopping(key, patience=config.patience, mode=mode)
        )
    if config.keep_best:
        if work_dir is None:
            raise ValueError("keep_best needs a run directory to keep the model in.")
        key, mode, _ = found[config.keep_best]
        callbacks.append(
            keras.callbacks.ModelCheckpoint(
                str(work_dir / runs.BEST_MODEL_FILE),
                monitor=key,
                mode=mode,
                save_best_only=True,
            )
        )
    return callbacks


def _held_out_subset(held_out, seed, most=500):
    # FidelityMonitor's real reference: the holdout when the run has one,
    # else a seeded subset of the training data (said in the docs).
    if held_out is None or len(held_out) <= most:
        return held_out
    picks = np.random.default_rng(seed).choice(len(held_out), most, replace=False)
    if hasattr(held_out, "iloc"):
        return held_out.iloc[np.sort(picks)].reset_index(drop=True)
    return held_out[np.sort(picks)]


def _run_callbacks(work_dir):
    """The logs and the backup that make a run inspectable and resumable."""
    from kerasynth.callbacks import AtomicBackupAndRestore

    if work_dir is None:
        return []
    return [
        keras.callbacks.CSVLogger(str(work_dir / runs.CSV_LOG_FILE), append=True),
        keras.callbacks.TensorBoard(
            str(work_dir / runs.TENSORBOARD_DIR), write_graph=False, profile_batch=0
        ),
        AtomicBackupAndRestore(str(work_dir / "backup")),
    ]


def _batches(dataset) -> int | None:
    # The batches of a finite dataset (an image epoch), None if unknown.
    cardinality = getattr(dataset, "cardinality", None)
    count = int(cardinality()) if cardinality is not None else -1
    return count if count > 0 else None


def training_epochs(
    config: TrainConfig, model_class, steps_per_epoch: int | None
) -> int:
    """The epochs a run trains for: `config.epochs`; else `config.steps`
    optimizer steps, rounded up to whole epochs; else the model's default,
    in epochs or, for a model whose `training_defaults` give ``steps``
    (a table model: an epoch of a small table is one or two steps), in
    steps."""
    if config.epochs is not None:
        return config.epochs
    steps = config.steps or model_class.training_defaults.get("steps")
    if steps is None:
        return model_class.training_defaults["epochs"]
    if not steps_per_epoch:
        raise ValueError(
            "steps needs an epoch of a known number of batches; this "
            f"dataset's is unknown: give epochs. Received: steps={steps}"
        )
    return max(math.ceil(steps / steps_per_epoch), 1)


def fit(
    config: TrainConfig,
    data: Any = None,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    work_dir: Path | None = None,
) -> Fitted:
    """Trains `config.model` and returns it, without writing a run directory.

    Args:
        config: the run's configuration.
        data: in-memory data instead of `config.data`: a DataFrame for a
            table model, an `ImageData` or array for an image model.
        callbacks: more Keras callbacks (a notebook's `SampleGrid`, ...).
        work_dir: where the run keeps its CSV log, TensorBoard logs, backup
            (for ``resume``) and best model while it trains; `None` keeps
            nothing.
    """
    model_class = registry.get_model_class(config.model)
    task = tasks.task_of(model_class)
    batch_size = config.batch_size or model_class.training_defaults["batch_size"]
    strategy_name = runtime.resolve_strategy(config.strategy)
    if strategy_name == "multi-worker" and config.seed is None:
        raise ValueError(
            "A multi-worker run needs the same seed on every worker (they "
            "must shuffle the data alike); pass --seed. Received: seed=None"
        )
    seed = config.seed if config.seed is not None else runtime.new_seed()
    policy = runtime.resolve_precision(
        config.mixed_precision, auto_mixed=model_class.auto_mixed_precision
    )
    jit_compile = runtime.resolve_jit_compile(config.jit_compile)
    deterministic = runtime.resolve_deterministic(config.deterministic, jit_compile)

    with runtime.seeded(seed, deterministic), runtime.dtype_policy(policy):
        strategy = runtime.distribution_strategy(strategy_name)
        replicas = strategy.num_replicas_in_sync
        if batch_size % replicas:
            raise ValueError(
                f"batch_size is the global batch, split evenly over the "
                f"{replicas} replicas: it must be a multiple of {replicas}. "
                f"Received: batch_size={batch_size}"
            )
        with strategy.scope():
            inputs = task.prepare(config, batch_size, seed, data)
            model = inputs.model
            model.compile(jit_compile=jit_compile)
        per_epoch = inputs.steps_per_epoch or _batches(inputs.dataset)
        epochs = training_epochs(config, model_class, per_epoch)
        dataset = inputs.dataset
        if config.resume and work_dir is not None and inputs.steps_per_epoch:
            # The backed-up epochs' batches are not drawn again.
            dataset = dataset.skip(
                resume.consumed_batches(work_dir / "backup", per_epoch)
            )
        if hasattr(model, "plan_privacy"):  # DP-SGD: the noise for these steps
            model.plan_privacy(
                num_examples=inputs.description["num_examples"],
                batch_size=batch_size,
                steps=epochs * per_epoch,
            )
        if strategy_name == "multi-worker":
            runtime.check_multi_worker_batches(config.model, dataset)
            runtime.log_steps_as_vectors(model)
        logger.info(
            "Training %s on %s", config.model, inputs.description["description"]
        )
        timer = callbacks_module.EpochTimer()
        started = time.perf_counter()
        fit_callbacks = [
            keras.callbacks.TerminateOnNaN(),
            timer,
            # Monitors first: EarlyStopping and ModelCheckpoint read the
            # metric they add to the same logs.
            *_monitoring_callbacks(config, task, inputs, work_dir),
            *_run_callbacks(work_dir),
            *callbacks,
        ]
        if task.short_epochs and graph_fit.fits_in_graph(
            model, fit_callbacks, strategy
        ):
            # Short epochs: several per compiled call (see graph_fit).
            history = graph_fit.fit_in_graph(
                model,
                dataset,
                epochs=epochs,
                steps_per_epoch=inputs.steps_per_epoch,
                callbacks=fit_callbacks,
                verbose=_verbosity(config.verbose),
            ).history
        else:
            history = model.fit(
                runtime.shard_by_data(dataset),
                epochs=epochs,
                steps_per_epoch=inputs.steps_per_epoch,
                shuffle=False,  # the dataset shuffles, with the run's seed
                callbacks=fit_callbacks,
                verbose=_verbosity(config.verbose),
            ).history
        runtime.average_replica_state(strategy, model.non_trainable_variables)
        seconds = time.perf_counter() - started

    result = TrainResult(
        run_dir=None,
        model_name=config.model,
        epochs=len(timer.durations),
        seconds=seconds,
        samples_per_second=timer.steady_rate(inputs.samples_per_epoch),
        final_metrics=_final_metrics(history),
        unit=model_class.unit,
    )
    record = {
        "model": config.model,
        "model_config": model.get_config(),
        "compile_config": model.get_compile_config(),
        "training": {
            "epochs": epochs,
            "batch_size": batch_size,
            "steps_per_epoch": inputs.steps_per_epoch,
            "steps": epochs * per_epoch if per_epoch else None,
            "seed": seed,
            "mixed_precision": config.mixed_precision,
            "dtype_policy": policy,
            "jit_compile": config.jit_compile,
            "jit_compile_used": bool(model.jit_compile),
            "deterministic": deterministic,
            "strategy": config.strategy,
            "strategy_used": strategy_name,
            "replicas": replicas,
        },
        "data": inputs.description,
        "results": {
            "seconds": round(seconds, 3),
            f"{result.unit}_per_second": round(result.samples_per_second, 2),
            "final_metrics": result.final_metrics,
        },
        "versions": package_versions(),
        "created": datetime.datetime.now().astimezone().isoformat(),
    }
    return Fitted(model, result, record, history, inputs.transformer, inputs.context)


def _every_epoch_once(path: Path) -> dict[str, list[float]]:
    """The history of every epoch of a run, from its CSV log.

    The CSV log is appended to across a resume, so it holds every epoch,
    while Keras' `History` of a resumed ``fit`` holds only the epochs after
    the backup. A resumed run also repeats the epochs after its last backup:
    each epoch's last row is kept, and the log is rewritten so. (Keras'
    `CSVLogger` adds an empty ``val_`` column for each metric of a run
    without validation: those are left out of the history.)
    """
    import pandas as pd

    log = pd.read_csv(path)
    if "epoch" in log and log["epoch"].duplicated().any():
        log = log.drop_duplicates("epoch", keep="last").sort_values("epoch")
        log.to_csv(path, index=False)
    return {
        name: [float(value) for value in log[name]]
        for name in log.columns
        if name != "epoch" and log[name].notna().any()
    }


def write_run(
    fitted: Fitted, output: Path, overwrite: bool = False, work_dir: Path | None = None
) -> Path:
    """Writes a run directory for `fitted` (staged, then renamed), with the
    logs and best model a `work_dir` gathered during training."""
    model, seed = fitted.model, fitted.record["training"]["seed"]
    with runs.staged_directory(output, overwrite=overwrite) as staging:
        for name in (runs.CSV_LOG_FILE, runs.TENSORBOARD_DIR, runs.BEST_MODEL_FILE):
            if work_dir is not None and (work_dir / name).exists():
                shutil.move(str(work_dir / name), str(staging / name))
        if (staging / runs.CSV_LOG_FILE).exists():
            fitted.history = _every_epoch_once(staging / runs.CSV_LOG_FILE)
            fitted.result.epochs = len(next(iter(fitted.history.values()), []))
            fitted.result.final_metrics = _final_metrics(fitted.history)
        model.save(staging / runs.MODEL_FILE)
        runs.write_json(staging / runs.HISTORY_FILE, fitted.history)
        runs.write_json(staging / runs.CONFIG_FILE, fitted.record)
        if fitted.transformer is not None:
            fitted.transformer.save(staging / runs.TRANSFORMER_FILE)
        tasks.task_of(model).write_samples(model, staging, seed, fitted.context)
    return output


def train(config: TrainConfig, data: Any = None) -> TrainResult:
    """Trains `config.model` on `config.data` and writes the run directory.

    Args:
        config: the run's configuration.
        data: optional in-memory data instead of `config.data` (see `fit`).

    Returns:
        A `TrainResult` (its `summary()` is the CLI's last line).

    Raises:
        ValueError: an unknown model, an invalid hyperparameter or bad data.
        FileNotFoundError: a data path that does not exist.
        FileExistsError: a non-empty output without ``overwrite``; an
            output another live process is training into
            (`kerasynth.locks.OutputLocked`).
    """
    if config.resume and runtime.resolve_strategy(config.strategy) == "multi-worker":
        raise ValueError(
            "--resume is not supported in a multi-worker run: only the chief "
            "keeps a backup, and the workers would start from different weights."
        )
    if not runtime.is_chief(config.strategy):
        return _train_as_worker(config, data)
    output = config.output_path()
    # A live run of the same output is refused before anything is touched:
    # not told to --resume, and never overwritten.
    with locks.hold(output):
        return _train_locked(config, data, output)


def _train_locked(config: TrainConfig, data: Any, output: Path) -> TrainResult:
    runs.check_output(output, config.overwrite)
    work_dir = runs.work_dir(output)
    if work_dir.exists() and not config.resume:
        if not config.overwrite:
            raise FileExistsError(
                f"An interrupted run of {output} is in {work_dir}: pass --resume "
                "to continue it, or --overwrite to start again."
            )
        shutil.rmtree(work_dir)
    if config.resume and not work_dir.exists():
        raise FileNotFoundError(
            f"Nothing to resume: no interrupted run of {output} ({work_dir})."
        )
    work_dir.mkdir(parents=True, exist_ok=True)
    resume.check_same_run(config, work_dir / resume.RESUME_FILE)
    try:
        with resume.terminate_as_interrupt():
            fitted = fit(config, data, work_dir=work_dir)
    except BaseException as error:
        # Keep the work directory only if it holds an epoch to resume from.
        backup = work_dir / "backup"
        if not backup.exists():
            shutil.rmtree(work_dir, ignore_errors=True)
        elif isinstance(error, KeyboardInterrupt):
            raise resume.TrainingInterrupted(
                f"Interrupted after epoch {resume.backed_up_epochs(backup)}: run "
                "the same command with --resume to continue."
            ) from None
        raise
    write_run(fitted, output, overwrite=config.overwrite, work_dir=work_dir)
    shutil.rmtree(work_dir, ignore_errors=True)
    fitted.result.run_dir = output
    return fitted.result


def _train_as_worker(config: TrainConfig, data: Any) -> TrainResult:
    """A multi-worker run on a worker other than the chief: it trains and
    saves like the chief (every worker must take part in each collective
    step), but into a temporary directory that it removes; only the chief
    writes the run directory (Keras' multi-worker pattern)."""
    with tempfile.TemporaryDirectory(prefix="kerasynth-worker-") as scratch:
        fitted = fit(config, data, work_dir=Path(scratch))
        write_run(fitted, Path(scratch) / "run", work_dir=Path(scratch))
    return fitted.result
