"""Differential privacy on OASIS-1: fidelity and attacks against epsilon.

The protocol of ``shared/FIDELITY.md`` (`benchmarks/fidelity.py`'s split,
sizes, seeds and scores) for the differentially private table models at
epsilon 1, 3 and 8 (delta 1e-5), beside the same models without privacy and
the independent-columns floor, on the study's five columns: the DP copula
(`dp_gaussian_copula`) and the DP-SGD models (`dp_tvae`, `dp_tab_ddpm`).
Every figure of `fidelity.score`, plus the membership-inference AUC of
`kerasynth.metrics.privacy.privacy_report` (a distance attack telling
training rows from holdout rows by their distance to the synthetic set;
0.5 is no leak), on the full synthetic sample.

The private runs read no range or category off the data: the bounds come
from `PUBLIC_BOUNDS`, ranges a data dictionary of an adult brain MRI study
would give (wider than OASIS-1's), written to a metadata file.

With ``--images``, the same for one image model on the OASIS-1 slices
split by person (`image_fidelity`'s split): `dp_beta_vae` at each epsilon
beside `beta_vae` narrowed alike (8 filters, latent 32), both 20 epochs of
32 slices, judged as `image_fidelity` judges (detection AUC against the
held-out people, FD/KID in a learned feature space, the copy audits).

    python benchmarks/privacy.py --output privacy.jsonl --markdown privacy.md
    python benchmarks/privacy.py --images --output privacy-images.jsonl
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import traceback
from pathlib import Path

import fidelity
from _common import emit, provenance

EPSILONS = (1.0, 3.0, 8.0)
PUBLIC_BOUNDS = {
    "Age": [18, 100],
    "eTIV": [1000, 2100],
    "nWBV": [0.6, 0.9],
    "ASF": [0.8, 1.8],
}
PUBLIC_CATEGORIES = {"M/F": ["F", "M"]}
# (registered model, epsilon): None runs it without a budget.
# Each DP-SGD model beside its non-private model at its defaults.
MODELS = [
    ("independent", None),
    ("gaussian_copula", None),
    *[("dp_gaussian_copula", epsilon) for epsilon in EPSILONS],
    ("tvae", None),
    *[("dp_tvae", epsilon) for epsilon in EPSILONS],
    ("tab_ddpm", None),
    *[("dp_tab_ddpm", epsilon) for epsilon in EPSILONS],
]
COLUMNS = {
    "epsilon": "epsilon",
    "quality": "quality",
    "column_pair_trends": "column pair trends",
    "detection_auc": "detection AUC (RF)",
    "mia_auc": "MIA AUC",
    "dcr_excess": "DCR excess",
    "r Age~nWBV": "Age~nWBV r",
    "r eTIV~ASF": "eTIV~ASF r",
    "fit_s": "fit s",
}


def metadata_file(directory: Path) -> Path:
    columns = {
        **{c: {"kind": "categorical", "categories": v}
           for c, v in PUBLIC_CATEGORIES.items()},
        **{c: {"kind": "numerical", "bounds": v} for c, v in PUBLIC_BOUNDS.items()},
    }  # fmt: skip
    path = directory / "public.json"
    path.write_text(json.dumps({"columns": columns}, indent=2))
    return path


def run(args, runs: Path) -> list[dict]:
    from kerasynth.metrics.columns import column_kinds
    from kerasynth.metrics.privacy import privacy_report

    records = []
    train, holdout = fidelity.split(args.data, "five")
    kinds = column_kinds(train)
    train_csv = runs / "oasis-five-train.csv"
    train.to_csv(train_csv, index=False)
    metadata = metadata_file(runs)
    base = {"benchmark": "privacy", **provenance(), "table": "five",
            "rows": len(train), "holdout": len(holdout)}  # fmt: skip

    def record(fields):
        emit(fields, args.output)
        records.append(fields)

    record({**base, "model": "real training rows", "impl": "real",
            **{f"r {a}~{b}": round(train[a].corr(train[b]), 4)
               for a, b in fidelity.PAIRS}})  # fmt: skip
    for seed in args.seeds:
        figures = fidelity.score(train, holdout, holdout, kinds, seed, reference=True)
        record({**base, "model": fidelity.REFERENCE, "seed": seed, **figures})
        for name, epsilon in MODELS:
            label = name if epsilon is None else f"{name} eps={epsilon:g}"
            extra = [] if epsilon is None else [
                "--metadata", str(metadata), "--dp-epsilon", str(epsilon)]  # fmt: skip
            fields = {**base, "model": label, "seed": seed}
            try:
                fit, sample = fidelity.fit_kerasynth(
                    name, train_csv, train, seed, runs, extra, label.replace(" ", "-")
                )
                rows = fidelity.holdout_sized(sample, len(holdout), seed)
                attack = privacy_report(
                    train, holdout, sample, metadata=kinds, seed=seed
                )
                fields |= fit | fidelity.score(train, holdout, rows, kinds, seed)
                fields |= {"epsilon": epsilon, "mia_auc": round(attack["mia_auc"], 4)}
            except Exception as error:  # one failure must not end the run
                traceback.print_exc()
                fields["error"] = f"{type(error).__name__}: {error}"
            record(fields)
    return records


IMAGE_EPOCHS, IMAGE_BATCH = 20, 32
IMAGE_MODELS = [("beta_vae", None, {"filters": 8, "latent_dim": 32})] + [
    ("dp_beta_vae", epsilon, {}) for epsilon in EPSILONS
]
IMAGE_COLUMNS = {
    "epsilon": "epsilon",
    "detection_auc": "detection AUC (CNN)",
    "fd_learned": "FD (learned)",
    "kid_learned": "KID (learned)",
    "coverage_learned": "coverage",
    "formless_share": "formless share",
    "copy_share": "copy share",
    "above_holdout_p95": "closer than 95% of held-out",
    "fit_s": "fit s",
}


def run_images(args) -> list[dict]:
    import image_fidelity

    from kerasynth import training
    from kerasynth.config import TrainConfig
    from kerasynth.evaluation import evaluate_images
    from kerasynth.metrics.features import train_feature_encoder
    from kerasynth.metrics.image import image_fidelity as learned_fidelity

    records = []
    train, held = image_fidelity._data("oasis", 64, 0)
    features = train_feature_encoder(train.images, seed=0)
    base = {"benchmark": "privacy-images", **provenance(), "table": "oasis slices",
            "rows": len(train), "holdout": len(held)}  # fmt: skip
    for seed in args.seeds:
        for name, epsilon, options in IMAGE_MODELS:
            label = name if epsilon is None else f"{name} eps={epsilon:g}"
            fields = {**base, "model": label, "seed": seed, "epsilon": epsilon}
            config = TrainConfig(model=name, epochs=IMAGE_EPOCHS,
                                 batch_size=IMAGE_BATCH, seed=seed,
                                 dp_epsilon=epsilon, verbose=0,
                                 model_kwargs=options)  # fmt: skip
            start = time.perf_counter()
            model = training.fit(config, data=train).model
            fields["fit_s"] = round(time.perf_counter() - start, 1)
            synthetic = model.generate(len(held), seed=1)
            evaluation = evaluate_images(
                train.images, synthetic, holdout=held.images, seed=seed,
                train_groups=train.groups, holdout_groups=held.groups,
            )  # fmt: skip
            learned = learned_fidelity(held.images, synthetic, features=features,
                                       seed=seed)  # fmt: skip
            headline = evaluation.metrics["headline"]
            fields |= {
                "detection_auc": headline.get("detection_auc"),
                "formless_share": headline.get("formless_share"),
                "copy_share": headline["copy_share"],
                "above_holdout_p95": evaluation.metrics["memorization"]["ncc"].get(
                    "share_above_reference_p95"
                ),
                "fd_learned": round(float(learned["frechet_distance"]), 3),
                "kid_learned": round(float(learned["kid"]), 4),
                "coverage_learned": round(float(learned["coverage"]), 3),
            }
            emit(fields, args.output)
            records.append(fields)
    return records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(fidelity.OASIS), help="The OASIS-1 CSV.")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--output", help="Also append the JSON lines here.")
    parser.add_argument("--markdown", help="Also write the table here.")
    parser.add_argument(
        "--images",
        action="store_true",
        help="The image model on the OASIS-1 slices instead.",
    )
    args = parser.parse_args()
    args.seeds = [int(s) for s in args.seeds.split(",")]
    if args.images:
        table = fidelity.summary(run_images(args), IMAGE_COLUMNS)
    else:
        with tempfile.TemporaryDirectory() as directory:
            table = fidelity.summary(run(args, Path(directory)), COLUMNS)
    print(table)
    if args.markdown:
        Path(args.markdown).write_text(table + "\n")


if __name__ == "__main__":
    main()
