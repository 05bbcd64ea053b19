"""`evaluate_images`: every image metric, the figures and the page."""

from __future__ import annotations

from typing import Any

import numpy as np

from kerasynth import figures as figures_module
from kerasynth import report
from kerasynth.evaluation.result import Evaluation, jsonable

# What makes a synthetic image a copy of a training image.
IMAGE_COPY_THRESHOLD = 0.95  # SSIM
# SSIM misses noisy copies (noise of 0.05 drags a copy's SSIM to ~0.92 on
# flat MRI background), so the audit also runs on normalized correlation.
IMAGE_NCC_COPY_THRESHOLD = 0.99
# The formless samples the report shows.
FORMLESS_SHOWN = 16


def evaluate_images(
    real: np.ndarray,
    synthetic: np.ndarray,
    *,
    holdout: np.ndarray | None = None,
    train_groups: np.ndarray | None = None,
    holdout_groups: np.ndarray | None = None,
    pairs: tuple[np.ndarray, np.ndarray] | None = None,
    labels: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    seed: int = 0,
    title: str = "Synthetic image report",
    protocol: dict[str, Any] | None = None,
    derived_from_real: bool = False,
    covariates: dict[str, Any] | None = None,
    differential_privacy: dict | None | bool = False,
) -> Evaluation:
    """Every image metric, the figures and the page.

    Args:
        real: the real images the generator learned from, in [-1, 1].
        synthetic: synthetic images, same shape per image.
        holdout: real images the generator never saw (the memorization
            reference, the detector's real side and the utility test set).
        train_groups: the group (person) of each `real` image, or `None`:
            the memorization audit names the person of each closest pair.
        holdout_groups: the group (person) of each `holdout` image, or
            `None`: the detector keeps each person's images in one fold, so
            that it cannot score by recognising people.
        pairs: (reference, output) pairs for per-pair PSNR/SSIM, when the
            model has them (a VAE's reconstructions, Pix2Pix's translations);
            otherwise each synthetic image is paired with its nearest
            training image.
        labels: (real, synthetic, holdout) labels for train-synthetic-test-
            real utility (a conditional model; needs `holdout`).
        seed: seeds every sampled metric.
        title: the page title.
        protocol: facts about the sets, stored with the metrics.
        derived_from_real: the samples are made from real images (Pix2Pix's
            noise-input synthesis): the privacy verdict says so whatever the
            copy thresholds find.
        covariates: for a model conditioned on covariates, ``{"train":
            rows of real, "synthetic": the rows asked of each synthetic
            image, "holdout": rows of holdout, "kinds": {name: "numeric" or
            "categorical"}}``: the conditioning is read back
            (`kerasynth.metrics.conditioning`; needs `holdout`).
        differential_privacy: the model's privacy record (its budget), `None`
            for a model trained without one, `False` when unknown (left out
            of the metrics), as for `evaluate_table`.
    """
    from kerasynth.metrics import image, memorization
    from kerasynth.metrics.formless import formless_samples
    from kerasynth.metrics.image_detection import image_detection_auc

    fidelity = image.image_fidelity(real, synthetic, features="pca", seed=seed)
    # The detector's fair reference is real images the generator never saw:
    # against its training images, a copying model would look perfect.
    detection_real, detection_groups, detection_reference = (
        (real, train_groups, "training images (no holdout given)")
        if holdout is None
        else (holdout, holdout_groups, "holdout images")
    )
    detection = image_detection_auc(
        detection_real, synthetic, seed=seed, groups=detection_groups
    )
    formless = formless_samples(real, synthetic)
    audit = memorization.memorization_audit(
        synthetic, real, threshold=IMAGE_COPY_THRESHOLD, holdout=holdout,
        train_groups=train_groups,
    )  # fmt: skip
    audit_ncc = memorization.memorization_audit(
        synthetic, real, threshold=IMAGE_NCC_COPY_THRESHOLD, metric="ncc",
        holdout=holdout, train_groups=train_groups,
    )  # fmt: skip
    if pairs is None:
        indices, _ = memorization.nearest_training_images(synthetic, real, metric="ncc")
        pairs, pair_kind = (real[indices], synthetic), "nearest training image (NCC)"
    else:
        pair_kind = "reconstruction/translation of the real image"
    reference, outputs = pairs
    per_pair = {
        "PSNR (dB)": image.psnr(reference, outputs),
        "SSIM": image.ssim(reference, outputs),
        "MSE": image.mse(reference, outputs),
    }
    metrics: dict[str, Any] = {
        "protocol": {
            "real_images": len(real),
            "synthetic_images": len(synthetic),
            "holdout_images": None if holdout is None else len(holdout),
            "image_shape": list(real.shape[1:]),
            "data_range": "[-1, 1] (range 2)",
            "per_pair": pair_kind,
            "detection_real": detection_reference,
            "formless_reference": "training images",
            "seed": seed,
            **(protocol or {}),
        },
        "fidelity": fidelity,
        "detection_auc": detection["auc"],
        "detection": detection,
        "formless": formless,
        "per_pair": {
            name: {
                "median": float(np.nanmedian(v)),
                "mode": _mode(v),
                "mean": _finite_mean(v),
            }
            for name, v in per_pair.items()
        },  # fmt: skip
        "memorization": {"ssim": audit, "ncc": audit_ncc},
        "derived_from_real": derived_from_real,
    }
    copy_share = max(audit["copy_share"], audit_ncc["copy_share"])
    if labels is not None and holdout is not None:
        from kerasynth.metrics import utility

        metrics["utility"] = utility.tstr_images(
            real, labels[0], synthetic, labels[1], holdout, labels[2], seed=seed
        )
    if covariates is not None and holdout is not None:
        from kerasynth.metrics.conditioning import conditioning_fidelity

        metrics["conditioning"] = conditioning_fidelity(
            real, covariates["train"], holdout, covariates["holdout"], synthetic,
            covariates["synthetic"], covariates["kinds"], seed=seed,
        )  # fmt: skip
    top = audit["top_pairs"][:8]
    figures = {
        "samples": figures_module.grid_png(synthetic[:64]),
        "pca": _image_pca(real, synthetic, seed),
        "per_pair_histograms": figures_module.histograms_figure(
            per_pair, f"Per-pair metrics ({pair_kind})"
        ),
    }
    if formless["count"]:
        shown = formless["indices"][:FORMLESS_SHOWN]
        figures["formless"] = figures_module.grid_png(synthetic[shown])
    if top:
        figures["nearest_pairs"] = figures_module.pairs_png(
            synthetic[[p["synthetic"] for p in top]], real[[p["train"] for p in top]]
        )
    metrics["headline"] = {
        "frechet_distance": round(float(fidelity["frechet_distance"]), 3),
        "coverage": round(float(fidelity["coverage"]), 3),
        "detection_auc": round(detection["auc"], 3),
        "formless_share": round(formless["share"], 4),
        "copy_share": round(float(copy_share), 4),
        "psnr_median": round(metrics["per_pair"]["PSNR (dB)"]["median"], 2),
        "ssim_median": round(metrics["per_pair"]["SSIM"]["median"], 3),
    }
    for name, result in metrics.get("conditioning", {}).items():
        # The requested covariate read back from synthetic slices, as a
        # share of what the same reader finds on real held-out ones.
        key = "atrophy_slope_ratio" if name == "atrophy" else f"readout_ratio_{name}"
        metrics["headline"][key] = round(float(result["ratio"]), 3)
    if differential_privacy is not False:
        metrics["differential_privacy"] = differential_privacy
        if differential_privacy:
            metrics["headline"]["epsilon"] = differential_privacy["epsilon"]
    metrics = jsonable(metrics)
    page = report.image_page(
        title, metrics, figures,
        copy_thresholds={"ssim": IMAGE_COPY_THRESHOLD, "ncc": IMAGE_NCC_COPY_THRESHOLD},
    )  # fmt: skip
    return Evaluation(metrics, page, figures)


def _finite_mean(values: np.ndarray) -> float:
    # PSNR of an exact copy is infinite: the mean is over the finite pairs,
    # and NaN (not a warning) when there is none.
    finite = np.asarray(values, float)
    finite = finite[np.isfinite(finite)]
    return float(finite.mean()) if finite.size else float("nan")


def _mode(values: np.ndarray, bins: int = 40) -> float:
    values = np.asarray(values, float)
    values = values[np.isfinite(values)]
    if not len(values):
        return float("nan")
    counts, edges = np.histogram(values, bins)
    top = counts.argmax()
    return float((edges[top] + edges[top + 1]) / 2)


def _image_pca(real, synthetic, seed):
    from kerasynth.metrics.projection import PixelPCA

    pca = PixelPCA(2, seed=seed).fit(real)
    title = "Raw pixels in the first two principal components"
    return figures_module.pca_figure(
        pca.transform(real), pca.transform(synthetic), title
    )
