"""Synthetic patients on OASIS-1: do conditioned slices agree with their rows?

The protocol:

- **Data**: the 1,070 OASIS-1 axial slices (64x64) joined by session to
  ``oasis_cross-sectional.csv``; split by person (a person's MR1 and MR2 on
  one side) at 0.2, seed 0.
- **Models**: each image model conditioned on ``--covariates`` (default
  ``Age,M/F,CDR``; `kerasynth.data.covariates`) at its own defaults,
  trained for ``--minutes`` of wall time on the training people.
- **Samples**: one synthetic slice per held-out slice, conditioned on its
  person's row (rows outside the training range left out), seed 1.
- **Metrics** (`kerasynth.metrics.conditioning`): the age read back by a
  ridge regression on real training slices (Pearson r of read against
  requested age, against the same r on the real held-out slices: the
  target ratio is >= 0.8); the sex read back (ROC AUC); the tissue share's
  slope per decade of age (target: within 25 % of the real slope); the CNN
  detection AUC against the held-out slices; the joint sampler's speed:
  patients (a row of a Gaussian copula fitted to the training people's rows
  and five slices) per second, in this process, after a warm-up; and, on
  those 40 patients, the pair rule's copies
  (`kerasynth.metrics.conditioning.patient_copies`, target: none).

    python benchmarks/synthetic_patients.py --minutes 10 \\
        --output patients.jsonl --markdown patients.md
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from _common import LoadMeter, emit, provenance
from image_fidelity import train_for

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
SLICES = SHARED / "oasis1_slices" / "oasis1_axial64.npz"
TABLE = SHARED / "oasis_cross-sectional.csv"
COLUMNS = ("model", "minutes", "steps", "age_r_real", "age_r_synthetic", "age_ratio",
           "sex_auc_real", "sex_auc_synthetic", "slope_real", "slope_synthetic",
           "slope_ratio", "detection_auc", "patients_per_s",
           "patient_copies")  # fmt: skip


def _data(names, seed):
    from kerasynth.data import splits
    from kerasynth.tasks.images import ImageTask

    covariates = {"names": names, "table": str(TABLE)}
    data = ImageTask().load(str(SLICES), image_size=64, channels=1,
                            group_by="subject_id", covariates=covariates)  # fmt: skip
    return splits.split(data, 0.2, seed)


def run_model(name, train, held, names, minutes, seed):
    import keras
    import numpy as np

    from kerasynth import patients, registry
    from kerasynth.data.covariates import Covariates
    from kerasynth.metrics.conditioning import (
        atrophy_slope,
        covariate_readout,
        patient_copies,
    )
    from kerasynth.metrics.image_detection import image_detection_auc

    keras.utils.set_random_seed(seed)
    covariates = Covariates.fit(train.covariates, names, "the training people")
    model = registry.get_model(name, image_size=64, seed=seed,
                               covariates=covariates.get_config())  # fmt: skip
    meter = LoadMeter()
    with meter:
        trained_s, steps, _ = train_for(model, train, minutes, seed)
    accepted = covariates.accepts(held.covariates)
    rows = held.covariates[accepted].reset_index(drop=True)
    real = held.images[accepted]
    synthetic = model.generate(len(rows), seed=1, conditions=rows)
    age = covariate_readout(train.images, train.covariates["Age"], real, rows["Age"],
                            synthetic, rows["Age"], seed=seed)  # fmt: skip
    sex = covariate_readout(train.images, train.covariates["M/F"], real, rows["M/F"],
                            synthetic, rows["M/F"], kind="categorical",
                            seed=seed)  # fmt: skip
    slope = atrophy_slope(real, rows["Age"], synthetic, rows["Age"])
    detection = image_detection_auc(real, synthetic, seed=seed,
                                    groups=held.groups[accepted])  # fmt: skip
    # The joint sampler: a copula's rows (the training people's), five
    # slices each.
    people = train.covariates.assign(ID=train.ids).drop_duplicates("ID")
    table_model, table_task = _fit_table(people.drop(columns="ID"))
    patients.sample_patients(table_model, model, 2, seed=0, table_task=table_task)
    start = time.perf_counter()
    rows_drawn, slices, _ = patients.sample_patients(
        table_model, model, 40, seed=2, table_task=table_task
    )
    per_s = 40 / (time.perf_counter() - start)
    # The pair rule: no synthetic patient is a training person's row and
    # slices at once (held-out people, scored the same way, for scale).
    copies = patient_copies(
        rows_drawn[["ID", *names]], slices, np.repeat(rows_drawn["ID"], 5),
        train.covariates.assign(ID=train.ids), train.images, train.ids,
        held.covariates.assign(ID=held.ids), held.images, held.ids,
    )  # fmt: skip
    return {
        "model": name,
        "minutes": round(trained_s / 60, 1),
        "steps": steps,
        "age_r_real": round(age["real"], 3),
        "age_r_synthetic": round(age["synthetic"], 3),
        "age_ratio": round(age["ratio"], 3),
        "age_mae_synthetic": round(age["synthetic_mae"], 1),
        "sex_auc_real": round(sex["real"], 3),
        "sex_auc_synthetic": round(sex["synthetic"], 3),
        "sex_ratio": round(sex["ratio"], 3),
        "slope_real": round(slope["real"], 4),
        "slope_synthetic": round(slope["synthetic"], 4),
        "slope_ratio": round(slope["ratio"], 3),
        "detection_auc": round(detection["auc"], 3),
        "patients_per_s": round(per_s, 1),
        "patient_copies": copies["copies"],
        "holdout_people_copies": copies["holdout_copies"],
        "other_cpus": meter.other_cpus,
        "holdout_images": int(len(rows)),
        "held_out_of_range": int((~accepted).sum()),
        "covariates": names,
        "sample_mean": float(np.mean(synthetic)),
    }


def _fit_table(rows):
    """A Gaussian copula fitted on `rows`, and its task."""
    from kerasynth import tasks, training
    from kerasynth.config import TrainConfig

    config = TrainConfig(model="gaussian_copula", seed=0, verbose=0)
    fitted = training.fit(config, data=rows)
    return fitted.model, tasks.task_of(fitted.model)


def markdown(records) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + " --- |" * len(COLUMNS)]
    for record in records:
        lines.append("| " + " | ".join(str(record.get(c)) for c in COLUMNS) + " |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="beta_vae,dcgan,ddim")
    parser.add_argument("--covariates", default="Age,M/F,CDR")
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output")
    parser.add_argument("--markdown")
    parser.add_argument("--summarize")
    args = parser.parse_args()
    if args.summarize:
        lines = Path(args.summarize).read_text().splitlines()
        print(markdown([json.loads(line) for line in lines if line.strip()]))
        return
    if not SLICES.exists():
        raise SystemExit(f"{SLICES} is absent: the OASIS-1 slices live in shared/data.")
    names = args.covariates.split(",")
    train, held = _data(names, args.seed)
    records = []
    for name in args.models.split(","):
        result = run_model(name, train, held, names, args.minutes, args.seed)
        record = {**result, **provenance()}
        emit(record, args.output)
        records.append(record)
    table = markdown(records)
    print(table)
    if args.markdown:
        Path(args.markdown).write_text(table + "\n")


if __name__ == "__main__":
    main()
