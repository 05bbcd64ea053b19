"""Keras callbacks for generative training.

- `SampleGrid`: every N epochs, a grid of images from a *fixed* seed (so the
  frames are comparable), as a PNG and as a TensorBoard image summary.
- `SampleRows`: the same for tables: a CSV of rows and per-column histograms.
- `FidelityMonitor`: every N epochs, a fidelity metric of fresh samples
  against held-out real data, written into ``logs`` so that
  `keras.callbacks.EarlyStopping` and `ModelCheckpoint(save_best_only=True)`
  can watch the data's quality instead of losses that "look fine while the
  data is bad". Put it *before* them in the callback list: Keras calls
  callbacks in order, and they read the metric from the same ``logs``.

```python
monitor = FidelityMonitor(held_out_images, every=5)
model.fit(dataset, epochs=200, callbacks=[
    monitor,
    keras.callbacks.EarlyStopping(monitor.name, patience=4, mode="min"),
    SampleGrid("frames/", every=10),
])
```
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from kerasynth import atomic, image_output, tasks
from kerasynth.tasks.images import ImageTask
from kerasynth.tasks.tables import TableTask


def _sample(model, num_samples, seed, context=None):
    # The model's task knows what its sampling needs (Pix2Pix: real images).
    return tasks.task_of(model).sample(model, num_samples, seed, context=context)


class SampleGrid(keras.callbacks.Callback):
    """Saves a grid of samples every `every` epochs, from a fixed seed.

    Args:
        directory: where ``epoch_0005.png`` ... are written.
        every: epochs between grids.
        num_samples: images per grid.
        seed: the seed of every grid (the same noise each time).
        log_dir: also write a TensorBoard image summary there.
        context: what the model's sampling needs besides the model (a
            translation model's real images; see `kerasynth.tasks`).
    """

    def __init__(self, directory, every=1, num_samples=16, seed=0, log_dir=None,
                 context=None):  # fmt: skip
        super().__init__()
        if every < 1:
            raise ValueError(f"every must be >= 1. Received: every={every}")
        self.directory = Path(directory)
        self.every = every
        self.num_samples = num_samples
        self.seed = seed
        self.log_dir = log_dir
        self.context = context
        self._writer = None

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        images = _sample(self.model, self.num_samples, self.seed, self.context)
        self.directory.mkdir(parents=True, exist_ok=True)
        image_output.save_images(
            images, self.directory / f"epoch_{epoch + 1:04d}.png", overwrite=True
        )
        if self.log_dir is not None:
            if self._writer is None:
                self._writer = tf.summary.create_file_writer(str(self.log_dir))
            grid = image_output.make_grid(images).astype("float32") / 255.0
            with self._writer.as_default():
                tf.summary.image("samples", grid[None], step=epoch + 1)
            self._writer.flush()


class SampleRows(keras.callbacks.Callback):
    """Saves synthetic rows (CSV) and their per-column histograms (PNG,
    against `real` when given) every `every` epochs, from a fixed seed."""

    def __init__(self, directory, every=1, num_rows=500, seed=0, real=None):
        super().__init__()
        if every < 1:
            raise ValueError(f"every must be >= 1. Received: every={every}")
        self.directory = Path(directory)
        self.every = every
        self.num_rows = num_rows
        self.seed = seed
        self.real = real

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        from kerasynth import figures

        rows = self.model.generate(self.num_rows, seed=self.seed)
        self.directory.mkdir(parents=True, exist_ok=True)
        stem = self.directory / f"epoch_{epoch + 1:04d}"
        with atomic.staged_file(stem.with_suffix(".csv"), overwrite=True) as path:
            rows.to_csv(path, index=False)
        reference = self.real if self.real is not None else rows
        png = figures.distribution_figure(reference, rows)
        with atomic.staged_file(stem.with_suffix(".png"), overwrite=True) as path:
            path.write_bytes(png)


class FidelityMonitor(keras.callbacks.Callback):
    """Adds a fidelity metric of fresh samples to ``logs``.

    Images: ``frechet_distance`` (pixel-PCA features fitted on `real`) or
    ``kid``; tables: ``mean_ks`` or ``quality`` (the SDMetrics-style score).
    Lower is better for all but ``quality``; `mode` says which way, for
    `EarlyStopping`/`ModelCheckpoint`.

    Args:
        real: held-out real images (array) or rows (DataFrame).
        metric: one of the above (default: ``frechet_distance`` for images,
            ``mean_ks`` for tables).
        every: epochs between computations; in between, ``logs`` keeps the
            last value (so callbacks reading it every epoch always find it).
        num_samples: samples drawn each time (default: as many as `real`).
        seed: the samples' seed (fixed: the metric changes with the model,
            not with the noise).
        name: the ``logs`` key (default ``val_<metric>``).
        context: what the model's sampling needs besides the model (a
            translation model's real images; see `kerasynth.tasks`).
    """

    def __init__(self, real, metric=None, every=1, num_samples=None, seed=0,
                 name=None, context=None):  # fmt: skip
        super().__init__()
        tabular = isinstance(real, pd.DataFrame)
        allowed = (TableTask if tabular else ImageTask).fidelity_metrics
        metric = metric or allowed[0]
        if metric not in allowed:
            raise ValueError(
                f"metric must be one of {', '.join(allowed)} for "
                f"{'tables' if tabular else 'images'}. Received: metric={metric!r}"
            )
        if every < 1:
            raise ValueError(f"every must be >= 1. Received: every={every}")
        self.real = real
        self.metric = metric
        self.every = every
        self.num_samples = num_samples or len(real)
        self.seed = seed
        self.name = name or f"val_{metric}"
        self.mode = "max" if metric == "quality" else "min"
        self.value = None
        self.context = context
        self._pca = None

    def compute(self) -> float:
        """The metric of the current model's samples."""
        samples = _sample(self.model, self.num_samples, self.seed, self.context)
        if self.metric == "mean_ks":
            from kerasynth.metrics.table import mean_ks

            return mean_ks(self.real, samples)
        if self.metric == "quality":
            from kerasynth.metrics.table import quality_score

            # The model's own schema: the monitor judges columns as it sees them.
            schema = self.model.transformer.schema
            return quality_score(self.real, samples, schema=schema)["overall"]
        from kerasynth.metrics import image
        from kerasynth.metrics.projection import PixelPCA

        if self._pca is None:
            self._pca = PixelPCA(16, seed=self.seed).fit(self.real)
        real, fake = self._pca.transform(self.real), self._pca.transform(samples)
        if self.metric == "kid":
            return image.kid(real, fake, seed=self.seed)[0]
        return image.frechet_distance(real, fake)

    def on_epoch_end(self, epoch, logs=None):
        if self.value is None or epoch % self.every == 0:
            self.value = float(self.compute())
        if logs is not None:
            logs[self.name] = self.value


class AtomicBackupAndRestore(keras.callbacks.BackupAndRestore):
    """`keras.callbacks.BackupAndRestore` whose backup survives a kill.

    Keras writes the backup weights in place, so a process killed while it
    writes them leaves a corrupt file, and the resumed run fails to open it
    (seen in kerasynth's kill-and-resume test: "bad object header version
    number"). This writes the weights and the epoch to temporary files and
    renames them into place: a kill leaves the previous epoch's backup
    (`_save_model` says how).

    It backs up after every epoch unless that would cost more than a tenth
    of the training: an epoch ends with a backup when at least
    `cost_ratio` times the last backup's duration has passed since it (and
    always after the first epoch). An image epoch of seconds is backed up
    every time; a table model's epoch can be a single 5 ms step, and
    writing the weights after each of 300 such epochs took longer than the
    training, so those are backed up every few dozen epochs (a killed run
    repeats them).

    The backup also holds the state of every `keras.random.SeedGenerator`
    in the model (its own noise, its `Dropout` layers'): Keras' weights file
    leaves them out, and without them a resumed run draws again the noise
    of its first epochs. With the data order restored too (`kerasynth.
    training` skips the batches the backed-up epochs consumed), a seeded
    run resumed from a backup ends with the weights of the same run never
    interrupted.
    """

    def __init__(self, backup_dir, cost_ratio: float = 10.0, **kwargs):
        if kwargs.get("double_checkpoint"):
            raise ValueError(
                "AtomicBackupAndRestore never leaves a broken backup, so it "
                "keeps no second copy: double_checkpoint is not supported."
            )
        super().__init__(backup_dir, **kwargs)
        self.cost_ratio = cost_ratio
        self._last_saved = None
        self._save_seconds = 0.0

    def on_epoch_end(self, epoch, logs=None):
        self._current_epoch = epoch + 1
        self._last_batch_seen = 0
        now = time.monotonic()
        due = (
            self._last_saved is None
            or now - self._last_saved >= self.cost_ratio * self._save_seconds
        )
        if self.save_freq == "epoch" and due:
            self._save_model()
            self._last_saved = time.monotonic()
            self._save_seconds = self._last_saved - now

    def _save_model(self):
        # Each epoch's weights go to a file of their own; the metadata file,
        # renamed into place last, is the commit point: it names the weights
        # file and holds the epoch and the random states. A kill at any
        # moment leaves the previous commit whole (weights, epoch and random
        # states of one epoch), and a resume from it is exact.
        os.makedirs(self.backup_dir, exist_ok=True)
        name = f"epoch-{self._current_epoch}.weights.h5"
        partial_weights = os.path.join(self.backup_dir, "partial.weights.h5")
        partial_metadata = f"{self._training_metadata_path}.partial"
        self.model.save_weights(partial_weights, overwrite=True)
        os.replace(partial_weights, os.path.join(self.backup_dir, name))
        metadata = {
            "epoch": self._current_epoch,
            "batch": self._last_batch_seen,
            "weights": name,
            "random_states": [
                g.state.numpy().tolist() for g in seed_generators(self.model)
            ],
        }
        with open(partial_metadata, "w", encoding="utf-8") as file:
            json.dump(metadata, file)
        os.replace(partial_metadata, self._training_metadata_path)
        for other in Path(self.backup_dir).glob("epoch-*.weights.h5"):
            if other.name != name:
                other.unlink(missing_ok=True)

    def _load_model(self):
        if not os.path.exists(self._training_metadata_path):
            return  # nothing committed yet: a fresh run
        with open(self._training_metadata_path, encoding="utf-8") as file:
            metadata = json.load(file)
        if self.model.optimizer is not None and not self.model.optimizer.built:
            self.model.optimizer.build(self.model.trainable_variables)
        if "weights" not in metadata:  # a backup of an earlier kerasynth
            super()._load_model()
            return
        self.model.load_weights(os.path.join(self.backup_dir, metadata["weights"]))
        generators = seed_generators(self.model)
        states = metadata["random_states"]
        if len(states) != len(generators):
            raise ValueError(
                f"The backup in {self.backup_dir} holds {len(states)} random "
                f"states, and the model has {len(generators)} seed generators: "
                "it was written by another model."
            )
        for generator, state in zip(generators, states, strict=True):
            generator.state.assign(np.asarray(state, generator.state.dtype))
        self.model._initial_epoch = metadata["epoch"]


def seed_generators(model: keras.Model) -> list[keras.random.SeedGenerator]:
    """Every `keras.random.SeedGenerator` of `model` and its layers, in the
    order Keras tracks them (construction order: the same for the same
    model configuration). Keras keeps a layer's generators in the private
    ``_seed_generators`` list and has no public way to reach them."""
    found, seen = [], set()
    for layer in model._flatten_layers(include_self=True, recursive=True):
        for generator in getattr(layer, "_seed_generators", ()):
            if id(generator) not in seen:
                seen.add(id(generator))
                found.append(generator)
    return found


class EpochTimer(keras.callbacks.Callback):
    """Records the wall time of every epoch (the first one includes tracing).

    Under `graph_fit.fit_in_graph` a compiled call's time is counted in the
    first of its epochs.
    """

    logs_only = True  # reads no weights: `graph_fit` may replay it

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
