"""Every image generator on real MRI, trained for the same wall time, judged
by a detector.

The protocol:

- **Data**: ``oasis``, the 1,070 OASIS-1 axial slices of 208 people
  (``shared/data/oasis1_slices/oasis1_axial64.npz``), split by person with
  ``--holdout-by 'subject_id:^OAS1_\\d{4}'`` (a person's two sessions on one
  side) at a holdout fraction of 0.2; or ``tumor``, the study's 253 tumor
  JPEGs (no person IDs: a seeded split of the images). 64x64 greyscale.
- **Models**: every registered image model that samples from noise (the
  tasks ``latent_images`` and ``diffusion_images``: DCGAN, the Beta-VAE,
  DDIM; Pix2Pix translates real images and is left out), at its own defaults
  (batch size, optimizer), trained for ``--minutes`` of wall time (a Keras
  callback stops it after the batch that passes the budget) on the training
  side only.
- **Sampling**: as many images as the holdout, with seed 1 (DDIM at its
  default 20 steps), timed after one warm-up call of 8 images.
- **Metrics** (`kerasynth.evaluation.evaluate_images`, the same as
  ``kerasynth evaluate``): the CNN detection AUC against the held-out people
  (`kerasynth.metrics.image_detection`), the formless share, the copy share
  (SSIM and NCC audits against the training images) and the share of
  samples closer to a training image than 95% of the held-out images are;
  FD, KID and coverage in a learned feature space: the small autoencoder of
  `kerasynth.metrics.features.train_feature_encoder`, trained once on the
  training images (seed 0) and shared by every model; training and sampling
  images/s. ``other_cpus`` says how busy the machine was meanwhile.

    python benchmarks/image_fidelity.py --data oasis --minutes 30 \\
        --output image_fidelity.jsonl --markdown image_fidelity.md

``--summarize FILE`` prints the table of JSON lines written before.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from _common import LoadMeter, emit, provenance

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
DATASETS = {
    "oasis": (
        SHARED / "oasis1_slices" / "oasis1_axial64.npz",
        r"subject_id:^OAS1_\d{4}",
    ),
    "tumor": (SHARED / "brain_tumor_dataset", None),
}
COLUMNS = ("model", "minutes", "steps", "train_img_s", "sample_img_s",
           "detection_auc", "formless_share", "copy_share", "above_holdout_p95",
           "fd_learned", "kid_learned", "coverage_learned")  # fmt: skip


def _data(name, image_size, seed):
    from kerasynth.data import splits
    from kerasynth.data.images import load_images

    path, group_by = DATASETS[name]
    if not path.exists():
        raise SystemExit(f"{path} is absent: the {name} set lives in shared/data.")
    data = load_images(str(path), image_size=image_size, channels=1, group_by=group_by)
    return splits.split(data, 0.2, seed)


def wall_time_budget(seconds):
    """A Keras callback that stops `fit` after `seconds` of training; its
    ``start`` is when training began."""
    import keras

    class Budget(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.start = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            if time.perf_counter() - self.start > seconds:
                self.model.stop_training = True

    return Budget()


def train_for(model, train, minutes, seed):
    """Compiles `model` and trains it on `train` (its task's batches at its
    default batch size) for `minutes` of wall time.

    Returns:
        ``(seconds trained, optimizer steps, batch size)``.
    """
    from kerasynth import tasks

    model.compile()
    batch = model.training_defaults["batch_size"]
    dataset, _ = tasks.task_of(model).batches(model, None, train, batch, seed)
    budget = wall_time_budget(minutes * 60)
    model.fit(dataset.repeat(), steps_per_epoch=50, epochs=10**6, verbose=0,
              callbacks=[budget])  # fmt: skip
    trained_s = time.perf_counter() - budget.start
    # A GAN counts its steps in its generator's optimizer.
    optimizer = getattr(model, "generator_optimizer", None) or model.optimizer
    return trained_s, int(optimizer.iterations.numpy()), batch


def run_model(name, train, held, minutes, seed, features, model=None, options=None):
    """Trains `model` (a registered name; `name` labels the record) with
    `options` for `minutes` and scores its samples."""
    import keras

    from kerasynth import registry
    from kerasynth.evaluation import evaluate_images
    from kerasynth.metrics.image import image_fidelity

    keras.utils.set_random_seed(seed)
    options = dict(options or {})
    model = registry.get_model(
        model or name, image_size=train.images.shape[1], seed=seed, **options
    )
    meter = LoadMeter()
    with meter:
        trained_s, steps, batch = train_for(model, train, minutes, seed)
        model.generate(8, seed=0)  # warm-up: tracing
        start = time.perf_counter()
        synthetic = model.generate(len(held), seed=1)
        sample_s = time.perf_counter() - start
    evaluation = evaluate_images(
        train.images, synthetic, holdout=held.images, seed=seed,
        train_groups=train.groups, holdout_groups=held.groups,
    )  # fmt: skip
    learned = image_fidelity(held.images, synthetic, features=features, seed=seed)
    headline = evaluation.metrics["headline"]
    audit = evaluation.metrics["memorization"]["ncc"]
    return {
        "model": name,
        "options": options,
        "minutes": round(trained_s / 60, 1),
        "steps": steps,
        "train_img_s": round(steps * batch / trained_s, 1),
        "sample_img_s": round(len(held) / sample_s, 1),
        "detection_auc": headline.get("detection_auc"),
        "formless_share": headline.get("formless_share"),
        "copy_share": headline["copy_share"],
        "above_holdout_p95": audit.get("share_above_reference_p95"),
        "fd_learned": round(float(learned["frechet_distance"]), 3),
        "kid_learned": round(float(learned["kid"]), 4),
        "coverage_learned": round(float(learned["coverage"]), 3),
        "other_cpus": meter.other_cpus,
        "train_images": len(train),
        "holdout_images": len(held),
        "batch_size": batch,
    }


def markdown(records) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + " --- |" * len(COLUMNS)]
    for record in records:
        lines.append("| " + " | ".join(str(record.get(c)) for c in COLUMNS) + " |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", choices=sorted(DATASETS), default="oasis")
    parser.add_argument("--models", default="", help="Comma-separated; default all.")
    parser.add_argument(
        "--variants", default="{}",
        help='JSON: labels for --models, e.g. {"ddim_p4": ["ddim", {"patch_size": 4}]}',
    )  # fmt: skip
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output")
    parser.add_argument("--markdown")
    parser.add_argument("--summarize")
    args = parser.parse_args()
    if args.summarize:
        lines = Path(args.summarize).read_text().splitlines()
        print(markdown([json.loads(line) for line in lines if line.strip()]))
        return
    from kerasynth import registry
    from kerasynth.metrics.features import train_feature_encoder

    # Not the differentially private ones: a budget, not wall time, sets
    # their length (benchmarks/privacy.py --images runs them).
    names = [n for n in args.models.split(",") if n] or sorted(
        n for n, cls in registry.list_models().items()
        if cls.task in ("latent_images", "diffusion_images")
        and not cls.differentially_private
    )  # fmt: skip
    train, held = _data(args.data, args.image_size, args.seed)
    features = train_feature_encoder(train.images, seed=0)
    variants = json.loads(args.variants)
    records = []
    for name in names:
        model, options = variants.get(name, (name, {}))
        result = run_model(name, train, held, args.minutes, args.seed, features,
                           model=model, options=options)  # fmt: skip
        record = {**result, "data": args.data, **provenance()}
        emit(record, args.output)
        records.append(record)
    table = markdown(records)
    print(table)
    if args.markdown:
        Path(args.markdown).write_text(table + "\n")


if __name__ == "__main__":
    main()
