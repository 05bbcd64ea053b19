"""The synthetic-patients gate: a table `Model` and an image `Model`
conditioned on its covariates -> an `Evaluation` of the pair and one
`ModelBlessing` for both.

The pair is judged as `kerasynth.patients` draws it: rows from the table
model, each row's slices from the image model. The gate holds when both
models passed their own evaluation and no synthetic patient is a copy of a
training person by the pair rule (`kerasynth.metrics.conditioning.
patient_copies`), plus any `thresholds` on the pair's metrics.
"""

from __future__ import annotations

import json
import time

import numpy as np

from kerasynth.components.artifacts import Evaluation, Examples, Model, ModelBlessing
from kerasynth.components.component import Input, Output, component
from kerasynth.components.evaluate import check_thresholds, judge
from kerasynth.components.ingest import data_file

# The pair's metrics a thresholds file may bound.
PAIR_METRICS = {
    "patient_copy_share": lambda m: m["patient_copies"]["share"],
    "readout_ratio_age": lambda m: m["readout"]["ratio"],
    "patients_per_second": lambda m: m["patients_per_second"],
}
DEFAULT_PAIR_THRESHOLDS = {"patient_copy_share": {"max": 0.0}}


def _split_images(image_run, images_path):
    """The image run's training and held-out images, as it split them."""
    from kerasynth import runs, tasks
    from kerasynth.data import splits

    config = runs.read_config(image_run)
    model = runs.load_model(image_run)
    recorded = config["data"]
    data = tasks.task_of(model).load(
        images_path, model=model, record=recorded, group_by=recorded["holdout_by"]
    )
    train, held = splits.split(data, recorded["holdout_fraction"],
                               config["training"]["seed"],
                               recorded.get("holdout_groups"))  # fmt: skip
    return model, train, held


@component
def evaluate_patients(
    table_model: Input[Model],
    image_model: Input[Model],
    image_examples: Input[Examples],
    table_blessing: Input[ModelBlessing],
    image_blessing: Input[ModelBlessing],
    evaluation: Output[Evaluation],
    blessing: Output[ModelBlessing],
    *,
    num_patients: int = 40,
    slices: int = 5,
    thresholds: dict | None = None,
    seed: int = 0,
):
    """Draws `num_patients` patients of `slices` slices and judges the pair:
    copies by the pair rule against the image run's training and held-out
    people, the age asked of the slices read back (when the image model is
    conditioned on an ``Age``), and the joint sampler's speed."""
    from kerasynth import patients, runs
    from kerasynth.metrics.conditioning import covariate_readout, patient_copies

    limits = DEFAULT_PAIR_THRESHOLDS if thresholds is None else thresholds
    check_thresholds(limits, PAIR_METRICS)
    model, train, held = _split_images(image_model.uri, str(data_file(image_examples)))
    table = runs.load_model(table_model.uri)
    names = model.covariates.names
    patients.sample_patients(table, model, 2, seed=seed)  # warm-up
    start = time.perf_counter()
    rows, images, clipped = patients.sample_patients(
        table, model, num_patients, seed=seed, slices=slices
    )
    per_second = num_patients / (time.perf_counter() - start)
    ids = np.repeat(rows["ID"].to_numpy(str), slices)
    copies = patient_copies(
        rows[["ID", *names]], images, ids,
        train.covariates.assign(ID=train.ids), train.images, train.ids,
        held.covariates.assign(ID=held.ids), held.images, held.ids,
    )  # fmt: skip
    metrics = {
        "patients": num_patients,
        "slices_per_patient": slices,
        "rows_with_a_clipped_covariate": clipped,
        "patients_per_second": per_second,
        "patient_copies": copies,
        "covariates": names,
    }
    ages = [name for name in names if name.lower() == "age"]
    if ages:
        age = ages[0]
        metrics["readout"] = covariate_readout(
            train.images, train.covariates[age], held.images, held.covariates[age],
            images, np.repeat(rows[age].to_numpy(float), slices), seed=seed,
        )  # fmt: skip
    failures = []
    for which, upstream in (("table", table_blessing), ("image", image_blessing)):
        if not upstream.properties.get("blessed"):
            reasons = "; ".join(upstream.properties.get("failures", []))
            failures.append(f"the {which} model is not blessed ({reasons})")
    failures += judge(metrics, limits, PAIR_METRICS)
    (evaluation.path / "metrics.json").write_text(
        json.dumps(metrics, indent=2, default=float)
    )
    evaluation.properties.update(
        patient_copies=copies["copies"], patients_per_second=round(per_second, 1),
        readout_ratio_age=round(metrics["readout"]["ratio"], 3) if ages else None,
    )  # fmt: skip
    blessing.properties.update(blessed=not failures, failures=failures)
    verdict = {"blessed": not failures, "failures": failures, "thresholds": limits}
    (blessing.path / "verdict.json").write_text(json.dumps(verdict, indent=2))
    (blessing.path / ("BLESSED" if not failures else "NOT_BLESSED")).touch()
