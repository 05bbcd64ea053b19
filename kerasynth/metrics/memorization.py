"""Memorization audit for images: is a synthetic image a copy of a training one?

For every synthetic image we find its nearest training image, by SSIM (the
default, as the study compared images) or by normalized cross-correlation
(NCC: the Pearson correlation of the flattened pixels, a single matrix
product). The share of synthetic images whose nearest score reaches a copy
threshold is the headline; the closest pairs are what a report shows side by
side. The same numbers for held-out real images against the training set
say how close images of the same population come without copying, so a
report can tell "closer to train than real images are" from "as close as
real images are".

Exact SSIM between all synthetic and all training images costs N x M pair
filterings. By default the search scores every pair by NCC first and
computes exact SSIM only on each synthetic image's `shortlist` highest-NCC
training images (all of them when the training set is no larger). A copy, or
a lightly perturbed one, has an NCC near 1 and is always on the shortlist;
what the shortlist can miss is the exact SSIM argmax among images that are
not copies, which moves the score distribution a little, never the copy
share at a high threshold. `shortlist=None` makes the search exhaustive.
"""

from __future__ import annotations

import numpy as np

from kerasynth.metrics.image_pairs import (
    check_images,
    check_same_image_shape,
    ssim_pairs,
)
from kerasynth.metrics.projection import flatten

METRICS = ("ssim", "ncc")


def _standardized(images: np.ndarray) -> np.ndarray:
    """Flattened images with zero mean and unit norm (constant images: 0)."""
    pixels = flatten(images)
    pixels -= pixels.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(pixels, axis=1, keepdims=True)
    return np.divide(pixels, norms, out=np.zeros_like(pixels), where=norms > 0)


def ncc_matrix(images_a: np.ndarray, images_b: np.ndarray) -> np.ndarray:
    """Normalized cross-correlation of every image of `images_a` with every
    image of `images_b`: the Pearson correlation of their pixels, in
    [-1, 1], 1 for an image and any positive affine change of its
    intensities. A constant image correlates 0 with everything.

    Args:
        images_a: ``[N, H, W, C]`` images.
        images_b: ``[M, H, W, C]`` images.

    Returns:
        A float64 array ``[N, M]``.
    """
    images_a = check_images(images_a, "images_a")
    images_b = check_images(images_b, "images_b")
    check_same_image_shape(images_a, images_b, "images_a and images_b")
    return _standardized(images_a) @ _standardized(images_b).T


def nearest_training_images(
    synthetic: np.ndarray,
    train: np.ndarray,
    metric: str = "ssim",
    batch_size: int = 256,
    shortlist: int | None = 64,
) -> tuple[np.ndarray, np.ndarray]:
    """For every synthetic image, its most similar training image.

    Args:
        synthetic: ``[N, H, W, C]`` synthetic images in [-1, 1].
        train: ``[M, H, W, C]`` training images in [-1, 1].
        metric: `"ssim"` (see `kerasynth.metrics.image_pairs.ssim`) or `"ncc"`
            (normalized cross-correlation).
        batch_size: synthetic images scored at once by NCC (memory:
            ``batch_size * M`` floats), and SSIM pairs filtered at once.
        shortlist: with `"ssim"`, exact SSIM is computed for each synthetic
            image's `shortlist` training images of highest NCC only;
            `None` scores all ``N x M`` pairs.

    Returns:
        ``(indices, scores)``: int64 ``[N]`` indices into `train`, and the
        float64 ``[N]`` similarity to that image (higher is closer).

    Example:

    ```python
    indices, scores = nearest_training_images(fake, real_train)
    worst = np.argmax(scores)  # show fake[worst] beside real_train[indices[worst]]
    ```
    """
    synthetic = check_images(synthetic, "synthetic")
    train = check_images(train, "train")
    check_same_image_shape(synthetic, train, "synthetic and train images")
    if metric not in METRICS:
        raise ValueError(
            f"metric must be one of {', '.join(METRICS)}. Received: metric={metric!r}"
        )
    if len(synthetic) == 0 or len(train) == 0:
        raise ValueError(
            f"Need at least one synthetic and one training image. Received: "
            f"synthetic.shape={synthetic.shape}, train.shape={train.shape}"
        )
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1. Received: batch_size={batch_size}")
    if shortlist is not None and shortlist < 1:
        raise ValueError(
            f"shortlist must be >= 1 or None. Received: shortlist={shortlist}"
        )
    num_candidates = len(train) if shortlist is None else min(shortlist, len(train))
    fake_pixels, train_pixels = _standardized(synthetic), _standardized(train)
    best = np.empty(len(synthetic), np.int64)
    scores = np.empty(len(synthetic), np.float64)
    candidates = np.empty((len(synthetic), num_candidates), np.int64)
    for start in range(0, len(synthetic), batch_size):
        rows = slice(start, start + batch_size)
        ncc = fake_pixels[rows] @ train_pixels.T  # (batch, M)
        if metric == "ncc":
            best[rows] = np.argmax(ncc, axis=1)
            scores[rows] = np.max(ncc, axis=1)
        elif num_candidates < len(train):
            candidates[rows] = np.argpartition(-ncc, num_candidates - 1, axis=1)[
                :, :num_candidates
            ]
        else:
            candidates[rows] = np.arange(len(train))
    if metric == "ncc":
        return best, scores
    pairs = np.repeat(np.arange(len(synthetic)), num_candidates)
    pair_scores = ssim_pairs(synthetic, train, pairs, candidates.ravel(), batch_size)
    pair_scores = pair_scores.reshape(len(synthetic), num_candidates)
    choice = np.argmax(pair_scores, axis=1)
    picked = np.arange(len(synthetic))
    return candidates[picked, choice], pair_scores[picked, choice]


def _score_summary(scores: np.ndarray, threshold: float) -> dict[str, float]:
    return {
        "copy_share": float(np.mean(scores >= threshold)),
        "copies": int(np.sum(scores >= threshold)),
        "median": float(np.median(scores)),
        "p95": float(np.percentile(scores, 95)),
        "max": float(np.max(scores)),
    }


def memorization_audit(
    synthetic: np.ndarray,
    train: np.ndarray,
    threshold: float = 0.95,
    metric: str = "ssim",
    top: int = 8,
    holdout: np.ndarray | None = None,
    train_groups: np.ndarray | None = None,
) -> dict[str, object]:
    """How close synthetic images come to training images, and how many are
    copies.

    Args:
        synthetic: ``[N, H, W, C]`` synthetic images in [-1, 1].
        train: ``[M, H, W, C]`` the images the generator was trained on.
        threshold: a nearest score at or above it counts as a copy. The
            default 0.95 is meant for SSIM; NCC scores run higher for the
            same pair (an NCC threshold near 0.99 is comparable).
        metric: `"ssim"` or `"ncc"` (see `nearest_training_images`, whose
            default NCC shortlist applies).
        top: the number of closest (synthetic, train) pairs listed.
        holdout: optional ``[K, H, W, C]`` real images of the same population
            that were not trained on: the reference. Their nearest training
            images are found the same way.
        train_groups: optional ``[M]`` group of each training image (its
            person, `ImageData.groups`): each top pair then names the person
            of its training image.

    Returns:
        A dict: ``metric``, ``threshold``, ``num_synthetic``, ``num_train``,
        ``copy_share`` (share of synthetic images whose nearest score is at
        least `threshold`), ``copies`` (their count), ``median``, ``p95`` and
        ``max`` of the nearest scores, ``top_pairs`` (the `top` synthetic
        images closest to a training image, most similar first, as dicts
        ``{"synthetic": i, "train": j, "score": s}``, with ``"train_group"``:
        the person of training image ``j`` when `train_groups` is given),
        ``num_nearest_groups``: `None`, or how many people the nearest
        training images belong to, ``indices`` and
        ``scores`` (the ``[N]`` arrays of `nearest_training_images`, for a
        histogram), ``reference``: `None`, or for the holdout the same
        summary (``num_holdout``, ``copy_share``, ``copies``, ``median``,
        ``p95``, ``max``, ``scores``), and ``share_above_reference_p95``:
        `None`, or the share of synthetic images closer to train than 95% of
        the holdout images are (about 0.05 when synthetic images are no
        closer to train than new real images are).

    Example:

    ```python
    audit = memorization_audit(fake, train, holdout=held_out)
    print(audit["copy_share"], audit["reference"]["copy_share"])
    ```
    """
    if top < 0:
        raise ValueError(f"top must be >= 0. Received: top={top}")
    if train_groups is not None and len(train_groups) != len(train):
        raise ValueError(
            "train_groups must give one group per training image. Received: "
            f"{len(train_groups)} groups for {len(train)} images"
        )
    indices, scores = nearest_training_images(synthetic, train, metric)
    order = np.argsort(-scores, kind="stable")[:top]
    top_pairs = [
        {"synthetic": int(i), "train": int(indices[i]), "score": float(scores[i])}
        for i in order
    ]
    num_nearest_groups = None
    if train_groups is not None:
        nearest_groups = np.asarray(train_groups)[indices]
        num_nearest_groups = len(np.unique(nearest_groups))
        for pair, i in zip(top_pairs, order, strict=True):
            pair["train_group"] = str(nearest_groups[i])
    result: dict[str, object] = {
        "metric": metric,
        "threshold": float(threshold),
        "num_synthetic": len(scores),
        "num_train": len(train),
        **_score_summary(scores, threshold),
        "top_pairs": top_pairs,
        "num_nearest_groups": num_nearest_groups,
        "indices": indices,
        "scores": scores,
        "reference": None,
        "share_above_reference_p95": None,
    }
    if holdout is not None:
        _, reference_scores = nearest_training_images(holdout, train, metric)
        reference_p95 = np.percentile(reference_scores, 95)
        result["reference"] = {
            "num_holdout": len(reference_scores),
            **_score_summary(reference_scores, threshold),
            "scores": reference_scores,
        }
        result["share_above_reference_p95"] = float(np.mean(scores > reference_p95))
    return result
