"""The `Task` contract: how one model family meets its data.

A task is what keras-hub calls a Task: the model's partner that owns the
preprocessing, the sampling and what serving needs, so that the code around
the models (training, callbacks, sampling, evaluation, export, the CLI and
the pipeline components) asks the task instead of branching on the family.
Each family is one subclass in its own module; a new family (a diffusion
model) is a new task module and a model module, nothing else.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, ClassVar

import keras


@dataclasses.dataclass
class TrainingInput:
    """What `Task.prepare` hands to `kerasynth.training.fit`.

    Attributes:
        model: the built, uncompiled model.
        dataset: the training batches.
        steps_per_epoch: `None` for one pass over `dataset` per epoch.
        samples_per_epoch: images or rows per epoch (for the throughput).
        description: the data facts ``config.json`` records under ``data``.
        held_out: real data the fidelity callbacks compare samples with (the
            holdout when the run has one, else the training data).
        context: what sampling needs besides the model (Pix2Pix: the real
            images it translates); `None` for models that sample from noise.
        transformer: a table model's fitted `TableTransformer`, saved beside
            the model.
    """

    model: keras.Model
    dataset: Any
    steps_per_epoch: int | None
    samples_per_epoch: int
    description: dict[str, Any]
    held_out: Any = None
    context: Any = None
    transformer: Any = None


class Task:
    """The base of every model family's task.

    Subclasses set `name` (the registry records each model's task by it),
    `data_kind` (``"images"`` or ``"table"``: what `load` reads),
    `fidelity_metrics` (what `kerasynth.callbacks.FidelityMonitor` may watch
    on held-out data), `gated_metrics` (what the evaluate component's default
    gate checks, at the limits of `kerasynth.verdicts`) and `short_epochs`
    (whether an epoch is so short that several run per compiled call:
    `kerasynth.graph_fit`), and implement the methods.
    """

    name: ClassVar[str] = ""
    data_kind: ClassVar[str] = ""
    fidelity_metrics: ClassVar[tuple[str, ...]] = ()
    gated_metrics: ClassVar[tuple[str, ...]] = ()
    short_epochs: ClassVar[bool] = False

    # === Data ===

    def load(self, source: Any, *, like: dict[str, Any]) -> Any:
        """Reads `source` preprocessed as a run recorded it.

        Args:
            source: a path, an in-memory frame or array, or `None` for the
                embedded default.
            like: the preprocessing to repeat: a run's ``config.json``
                ``data`` record and, for images, ``image_size`` and
                ``channels``.

        Subclasses also take ``group_by``, a ``NAME[:REGEX]`` group key
        (`kerasynth.data.groups`): the items come back with their groups.
        """
        raise NotImplementedError

    def prepare(self, config, batch_size: int, seed: int, data: Any) -> TrainingInput:
        """Reads the data of `config` (or the in-memory `data`), holds out
        `config.holdout_fraction` of it (whole groups of
        `config.holdout_by`, when given), builds the model and its dataset."""
        raise NotImplementedError

    # === Differential privacy ===

    @staticmethod
    def budget_kwargs(config, model_class) -> dict[str, Any]:
        """The budget of `config` as constructor arguments of a private
        `model_class` (``epsilon``, ``delta``, ``noise_multiplier``: those
        given); a budget for a model that cannot spend one is a `ValueError`
        naming the models that can."""
        from kerasynth import registry

        budget = {"epsilon": config.dp_epsilon, "delta": config.dp_delta,
                  "noise_multiplier": config.dp_noise_multiplier}  # fmt: skip
        given = {name: value for name, value in budget.items() if value is not None}
        if model_class.differentially_private:
            if "epsilon" in given and "noise_multiplier" in given:
                raise ValueError(
                    "Give the budget (dp_epsilon) or the noise "
                    "(dp_noise_multiplier), not both"
                )
            return given
        if given:
            private = [
                name
                for name in sorted(registry.list_models())
                if registry.get_model_class(name).differentially_private
            ]
            twin = f"dp_{config.model}"
            hint = f"use {twin}; " if twin in private else ""
            raise ValueError(
                f"{config.model} does not train with differential privacy: "
                f"{hint}the models that do: {', '.join(private)}"
            )
        return {}

    @staticmethod
    def private_batches(examples, batch_size: int, seed: int):
        """DP-SGD's Poisson batches of `examples` (rows or images, in
        memory) and an epoch's steps (one pass in expectation). Training
        then plans the model's noise for the run's steps (`plan_privacy`)."""
        from kerasynth.privacy import dp_sgd

        rate = dp_sgd.sampling_rate(len(examples), batch_size)
        return dp_sgd.poisson_batches(examples, rate, seed), max(round(1 / rate), 1)

    # === Sampling ===

    def sample(
        self,
        model: keras.Model,
        num_samples: int,
        seed: int | None = None,
        conditions: dict[str, Any] | None = None,
        context: Any = None,
    ) -> Any:
        """`model.generate`, given what the family needs (`context`)."""
        return model.generate(num_samples, seed=seed, conditions=conditions)

    def context_from(self, model: keras.Model, data: Any) -> Any:
        """The sampling context of `model` from real `data` (as `load` read
        it); `None` for families that sample from noise alone."""
        return None

    def run_context(self, model: keras.Model, record: dict[str, Any]) -> Any:
        """The sampling context of a run, from its ``config.json`` record."""
        return None

    def write_samples(
        self, model: keras.Model, directory: Path, seed: int, context: Any
    ) -> None:
        """Writes the run directory's samples file."""
        raise NotImplementedError

    # === Evaluation and serving ===

    def evaluation_sets(
        self,
        model: keras.Model,
        train: Any,
        held: Any,
        *,
        num_samples: int | None = None,
        seed: int = 0,
        target: str | None = None,
    ) -> dict[str, Any]:
        """The real and synthetic sets to judge `model` by: the arguments of
        `kerasynth.evaluation.evaluate_images` or `evaluate_table` (by
        `data_kind`) for `num_samples` samples (default: as many as `train`,
        what the model learned from) against `held` (unseen, or `None`);
        `target` is a table's column to predict for utility."""
        raise NotImplementedError

    def serving(self, model: keras.Model) -> tuple[list[keras.Layer], list]:
        """The networks an export saves (only those the signatures use) and
        the signatures (`kerasynth.signatures.Endpoint`)."""
        raise NotImplementedError

    def describe(self, model: keras.Model) -> dict[str, Any]:
        """What an export's ``assets.extra/kerasynth.json`` says of `model`
        beyond its signatures."""
        raise NotImplementedError
