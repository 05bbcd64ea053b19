"""`ImageTask`: what every image family shares (reading, splitting,
describing the data, the samples grid, the evaluation sets and the export
metadata). `LatentImageTask` and `TranslationTask` differ only in how
batches are made and how a model samples."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from kerasynth import image_output, registry
from kerasynth.data import splits
from kerasynth.tasks.base import Task, TrainingInput

SAMPLE_IMAGES = 64  # images in a run directory's samples.png
SAMPLES_FILE = "samples.png"


class ImageTask(Task):
    """The shared part of the image families: NHWC float32 in [-1, 1]."""

    data_kind: ClassVar[str] = "images"
    fidelity_metrics: ClassVar[tuple[str, ...]] = ("frechet_distance", "kid")
    # Privacy (copies, translations of real images) and fidelity: formless
    # samples and a detector that never errs (`kerasynth.verdicts` says why
    # the detector's limit is so lenient), so a model that makes grey
    # squares is refused.
    gated_metrics: ClassVar[tuple[str, ...]] = (
        "copy_share",
        "derived_from_real",
        "formless_share",
        "image_detection_auc",
    )

    def load(
        self, source, *, model=None, record=None, image_size=None, channels=None,
        group_by=None, covariates=None,
    ):  # fmt: skip
        """Reads images at `model`'s size and channels (or the given ones),
        grouped by `group_by` (see `kerasynth.data.images.load_images`),
        with the rows of their people when `covariates` (a
        `kerasynth.data.covariates.CovariateSource`, or the run's
        ``config.json`` `record` of one) says where they are."""
        from kerasynth.data.covariates import CovariateSource
        from kerasynth.data.images import load_images

        if model is not None:
            image_size, channels = model.image_size, model.channels
        if covariates is None and record is not None:
            covariates = record.get("covariates")
        covariates = CovariateSource.coerce(covariates)
        data = load_images(
            source, image_size=image_size, channels=channels, group_by=group_by,
            ids_by=None if covariates is None else covariates.image_ids,
        )  # fmt: skip
        return data if covariates is None else covariates.attach(data)

    @staticmethod
    def conditions_of(model, data):
        """What `model`'s training batches carry beside `data`'s images: the
        labels, the encoded covariates of their people, or `None`."""
        if model.covariates is not None:
            if data.covariates is None:
                raise ValueError(
                    f"The model is conditioned on {', '.join(model.covariates.names)}"
                    f" and {data.source} was read without them (--covariates)"
                )
            return model.covariates.encode(data.covariates)
        return data.labels if model.uses_labels else None

    def model_kwargs(self, config) -> dict[str, Any]:
        """The constructor arguments of `config.model`, before the data."""
        return dict(config.model_kwargs)

    def batches(self, model, config, train, batch_size: int, seed: int):
        """``(dataset, context)``: the training batches and the sampling
        context (see `TrainingInput`)."""
        raise NotImplementedError

    def prepare(self, config, batch_size, seed, data):
        from kerasynth.data.covariates import Covariates, CovariateSource
        from kerasynth.data.images import ImageData

        model_class = registry.get_model_class(config.model)
        kwargs = self.model_kwargs(config)
        kwargs.update(self.budget_kwargs(config, model_class))
        private = getattr(model_class, "private_training", None) == "dp_sgd"
        if private:
            kwargs.setdefault("seed", seed)
            if config.conditional or config.covariates:
                raise ValueError(
                    f"{config.model} trains unconditioned: DP-SGD here does not "
                    "yet cover labels or covariates"
                )
        if not isinstance(data, ImageData):
            # Read at the model's image size, before the model is built: a
            # conditional model needs its classes.
            arguments = registry.model_arguments(registry.get_model_class(config.model))
            sizes = {**arguments, **kwargs}
            data = self.load(
                config.data if data is None else data,
                image_size=sizes["image_size"],
                channels=sizes["channels"],
                group_by=config.holdout_by,
                covariates=config.covariates,
            )
        elif config.holdout_by is not None and data.groups is None:
            raise ValueError(
                f"holdout_by {config.holdout_by!r} needs groups, and the "
                "in-memory ImageData has none: load it with load_images(..., "
                "group_by=...)"
            )
        train, held = splits.split(
            data, config.holdout_fraction, seed, config.holdout_groups
        )
        covariates = CovariateSource.coerce(config.covariates)
        if covariates is not None:
            if config.conditional:
                raise ValueError(
                    "--conditional (class labels) and --covariates: choose one"
                )
            if data.covariates is None:  # an in-memory ImageData
                raise ValueError(
                    "covariates need the rows of the images' people: load the "
                    "ImageData with ImageTask.load(..., covariates=...)"
                )
            kwargs["covariates"] = Covariates.fit(
                train.covariates, covariates.names, covariates.table
            ).get_config()
        if config.conditional:
            if train.labels is None:
                raise ValueError(
                    f"--conditional needs labels, and {data.source} has none: put "
                    "each class's images in its own sub-folder (yes/, no/)."
                )
            kwargs.update(
                num_classes=len(train.class_names), class_names=train.class_names
            )
        model = registry.get_model(config.model, **kwargs)
        description = {
            "source": config.data,
            "description": train.source,
            "fingerprint": train.fingerprint,
            "num_examples": len(train),
            "shape": list(train.images.shape[1:]),
            "class_names": train.class_names,
            "duplicate_groups": len(train.duplicates),
            "holdout_fraction": config.holdout_fraction,
            "holdout_by": config.holdout_by,
            "holdout_groups": config.holdout_groups,
            "covariates": None if covariates is None else covariates.to_json(),
        }
        if private:
            context = None
            dataset, steps = self.private_batches(train.images, batch_size, seed)
        else:
            dataset, context = self.batches(model, config, train, batch_size, seed)
            # One endless stream, an epoch being one pass (each reshuffled):
            # Keras keeps one iterator across epochs, so a resumed run can
            # skip what its backed-up epochs consumed (`kerasynth.training`).
            steps = int(dataset.cardinality())
            dataset = dataset.repeat()
        return TrainingInput(
            model=model,
            dataset=dataset,
            steps_per_epoch=steps,
            samples_per_epoch=(steps or len(train) // batch_size) * batch_size,
            description=description,
            held_out=(data if held is None else held).images,
            context=context,
        )

    def write_samples(self, model, directory: Path, seed: int, context) -> None:
        images = self.sample(model, SAMPLE_IMAGES, seed, context=context)
        image_output.save_images(images, Path(directory) / SAMPLES_FILE)

    def evaluation_sets(
        self, model, train, held, *, num_samples=None, seed=0, target=None
    ):
        """The arguments of `kerasynth.evaluation.evaluate_images` for
        `model`'s samples: `num_samples` (default: as many as `train`) or,
        for a class-conditional model with a labelled holdout, as many split
        evenly over the classes, with their labels (for train-synthetic-test-
        real); for a model conditioned on covariates, conditioned on the
        rows of real (held-out) people, whose covariates are then read back
        from the samples. Images have no `target`."""
        count = num_samples or len(train)
        context = self.context_from(model, train)
        labels = covariates = None
        if model.covariates is not None:
            # Conditioned on the covariates of real people, in turn: the
            # holdout's that the model accepts (a held-out person can be
            # older than anyone in training), or the training set's.
            people = train.covariates
            if held is not None and held.covariates is not None:
                accepted = held.covariates[model.covariates.accepts(held.covariates)]
                people = accepted if len(accepted) else people
            rows = people.iloc[np.arange(count) % len(people)].reset_index(drop=True)
            synthetic = self.sample(
                model, count, seed, conditions=rows, context=context
            )
            if held is not None and held.covariates is not None:
                kinds = {c.name: c.kind for c in model.covariates.columns}
                covariates = {"train": train.covariates, "synthetic": rows,
                              "holdout": held.covariates, "kinds": kinds}  # fmt: skip
        elif not (model.uses_labels and held is not None and held.labels is not None):
            synthetic = self.sample(model, count, seed, context=context)
        else:
            per_class = [
                self.sample(model, max(1, count // model.num_classes), seed + i,
                            conditions={"label": name}, context=context)
                for i, name in enumerate(model.class_names)
            ]  # fmt: skip
            sizes = [len(images) for images in per_class]
            labels = (train.labels, np.repeat(np.arange(model.num_classes), sizes),
                      held.labels)  # fmt: skip
            synthetic = np.concatenate(per_class)
        return {
            "real": train.images,
            "synthetic": synthetic,
            "holdout": None if held is None else held.images,
            "train_groups": train.groups,
            "holdout_groups": None if held is None else held.groups,
            "pairs": self.pairs(model, train, seed),
            "labels": labels,
            "derived_from_real": self.derived_from_real(model),
            "covariates": covariates,
            "differential_privacy": model.differential_privacy,
        }

    def pairs(self, model, train, seed: int):
        """(reference, output) pairs for per-pair PSNR/SSIM, or `None`."""
        return None

    def derived_from_real(self, model) -> bool:
        """Whether `model`'s samples are made from real images."""
        return False

    def describe(self, model):
        metadata = {
            "kind": "images",
            "image_shape": [model.image_size, model.image_size, model.channels],
        }
        if model.num_classes:
            metadata["class_names"] = list(model.class_names)
        if model.covariates is not None:
            metadata["covariates"] = [
                {"name": c.name, "input": c.input_name, "kind": c.kind,
                 "range": [c.low, c.high] if c.kind == "numeric" else None,
                 "categories": list(c.categories) or None, "missing": c.missing}
                for c in model.covariates.columns
            ]  # fmt: skip
        return metadata
