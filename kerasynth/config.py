"""The training configuration: one dataclass, the single home of its defaults.

This module imports nothing heavy, so the CLI can read these defaults for its
``--help`` without loading TensorFlow. Model hyperparameters (image size,
channels, latent size, ...) are not here: they are the model constructor's
arguments, and their defaults live in the constructor.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
from pathlib import Path
from typing import Any

# The holdout share of a split by group when no fraction is given: the
# 80/20 split the pipelines use.
GROUPED_HOLDOUT_FRACTION = 0.2


@dataclasses.dataclass
class TrainConfig:
    """Everything `kerasynth.training.train` needs to produce a run directory.

    Args:
        model: a registered model name (``kerasynth list-models``).
        data: a data source (folder, file, ``tfds:NAME``); `None` uses the
            embedded default of the model's modality.
        target: Pix2Pix's target images, paired with `data` by relative
            path; `None` degrades `data` by the model's pairing instead.
        conditional: condition an image model on the data's labels (class
            sub-folders).
        covariates: condition an image model on the rows of its images'
            people instead: a `kerasynth.data.covariates.CovariateSource`
            as a dict (``names``, ``table``, ``id_column``, ``image_ids``).
        output: the run directory to create; `None` makes a new
            ``runs/<model>-<timestamp>``.
        epochs: passes over the data; `None` uses `steps` or the model's
            default.
        steps: optimizer steps, rounded up to whole epochs (give `epochs` or
            `steps`, not both); `None` uses the model's default.
        batch_size: samples per step; `None` uses the model's default.
        seed: seeds every random number; `None` draws one (and records it).
        mixed_precision: ``auto``, ``off`` or a Keras policy name (see
            `kerasynth.runtime.resolve_precision`).
        jit_compile: XLA: ``auto`` (Keras decides: on for GPU), ``on``, ``off``.
        deterministic: make TensorFlow ops deterministic: bit-identical
            runs for a seed. `None`: yes on CPU, no with a GPU (slower
            kernels there, and Keras turns XLA off under determinism).
        strategy: ``auto``, ``default``, ``mirrored`` or ``multi-worker``
            (see `kerasynth.runtime.distribution_strategy`).
        overwrite: replace an existing non-empty `output`.
        columns: table columns to model (default: all but constant and
            identifier columns).
        categorical: table columns to treat as categorical.
        numerical: table columns to treat as numerical.
        metadata: a JSON file of column kinds for tables.
        dropna: drop table rows with missing values (the study did);
            otherwise missing values are modelled.
        holdout_fraction: a seeded share of the rows or images the model
            never sees, for ``kerasynth evaluate --run`` to judge privacy and
            utility against (0: train on everything; with `holdout_by`,
            `GROUPED_HOLDOUT_FRACTION`).
        holdout_by: hold out whole groups (people) instead of single items:
            ``NAME`` or ``NAME:REGEX``, NAME an ``.npz`` array, a table
            column or a folder image's file ``name``/``path``, REGEX mapping
            each value to its group (``subject_id:^OAS1_\\d{4}``: the person
            of an OASIS session); see `kerasynth.data.groups`.
        holdout_groups: with `holdout_by`, exactly these groups (people)
            are held out, not a seeded fraction: a table and its images
            split alike (the synthetic-patients pipeline).
        early_stopping: stop when this metric stops improving: a training
            metric (``g_loss``) or a fidelity metric computed on held-out
            real data by `kerasynth.callbacks.FidelityMonitor`
            (``val_frechet_distance``, ``val_kid``, ``val_mean_ks``,
            ``val_quality``).
        patience: epochs without improvement before early stopping.
        keep_best: also keep the model that was best by this metric, as
            ``best.keras`` in the run directory.
        fidelity_every: epochs between fidelity computations.
        dp_epsilon: train under this differential privacy budget (a model
            with ``differentially_private``; the noise is calibrated to it).
        dp_delta: the budget's delta (`None`: the model's default, 1e-5).
        dp_noise_multiplier: instead of `dp_epsilon`, the noise (the epsilon
            it spends is computed).
        resume: continue an interrupted run of the same output from its
            last completed epoch.
        model_kwargs: constructor arguments of the model.
        verbose: Keras' ``fit`` verbosity (``"auto"``, 0, 1 or 2).
    """

    model: str
    data: str | None = None
    target: str | None = None
    conditional: bool = False
    covariates: dict[str, Any] | None = None
    output: str | None = None
    epochs: int | None = None
    steps: int | None = None
    batch_size: int | None = None
    seed: int | None = None
    mixed_precision: str = "auto"
    jit_compile: str = "auto"
    deterministic: bool | None = None
    strategy: str = "auto"
    overwrite: bool = False
    columns: list[str] | None = None
    categorical: list[str] | None = None
    numerical: list[str] | None = None
    metadata: str | None = None
    dropna: bool = False
    holdout_fraction: float = 0.0
    holdout_by: str | None = None
    holdout_groups: list[str] | None = None
    early_stopping: str | None = None
    patience: int = 10
    keep_best: str | None = None
    fidelity_every: int = 1
    dp_epsilon: float | None = None
    dp_delta: float | None = None
    dp_noise_multiplier: float | None = None
    resume: bool = False
    model_kwargs: dict[str, Any] = dataclasses.field(default_factory=dict)
    verbose: int | str = "auto"

    def __post_init__(self):
        if self.holdout_groups is not None and self.holdout_by is None:
            raise ValueError("holdout_groups need holdout_by, the key of the groups")
        if self.holdout_by is not None and not self.holdout_fraction:
            self.holdout_fraction = GROUPED_HOLDOUT_FRACTION
        if self.epochs is not None and self.steps is not None:
            raise ValueError(
                "Give epochs or steps, not both. "
                f"Received: epochs={self.epochs}, steps={self.steps}"
            )
        for name in ("epochs", "steps", "batch_size"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ValueError(
                    f"{name} must be a positive integer. Received: {name}={value}"
                )

    def output_path(self, now: datetime.datetime | None = None) -> Path:
        """The run directory: `output`, or a new ``runs/<model>-<timestamp>``
        (with a ``-2``, ``-3``, ... suffix if that one exists already)."""
        if self.output is not None:
            return Path(self.output)
        now = now or datetime.datetime.now()
        stem = Path("runs") / f"{self.model}-{now:%Y%m%d-%H%M%S}"
        path, counter = stem, 1
        while path.exists():
            counter += 1
            path = stem.with_name(f"{stem.name}-{counter}")
        return path

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True)


def default(field_name: str) -> Any:
    """The default of a `TrainConfig` field (for the CLI's help texts)."""
    for field in dataclasses.fields(TrainConfig):
        if field.name == field_name:
            return field.default
    raise KeyError(field_name)
