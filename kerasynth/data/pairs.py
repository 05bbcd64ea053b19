"""Image pairs for Pix2Pix: (source, target) from two folders or one.

With a target source, pairs are matched by relative path (or array index).
From one source, a named degradation makes the source from the clean target,
afresh each epoch: ``noise`` (denoising; with the study's noise-input
synthesis it is also its "Pix2Pix with noise"), ``blur`` (deblurring),
``downsample`` (super-resolution) and ``mask`` (inpainting). Degradations are
stateless TensorFlow ops, so the same seed gives the same pairs, and the
exported model's inputs can be degraded the same way.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from kerasynth.data.images import ImageData
from kerasynth.data.pipeline import no_autotune

# name -> (default strength, what the strength means)
PAIRINGS = {
    "noise": (0.2, "standard deviation of Gaussian noise, images in [-1, 1]"),
    "blur": (1.5, "standard deviation of the Gaussian blur, in pixels"),
    "downsample": (4.0, "downsampling factor"),
    "mask": (0.25, "side of the masked square, as a share of the image side"),
}


def check_pairing(pairing: str, strength: float | None) -> float:
    """Validates a pairing name and returns its strength (or the default)."""
    if pairing not in PAIRINGS:
        raise ValueError(
            f"pairing must be one of {', '.join(PAIRINGS)}. "
            f"Received: pairing={pairing!r}"
        )
    strength = PAIRINGS[pairing][0] if strength is None else float(strength)
    if strength <= 0:
        raise ValueError(f"pairing strength must be > 0. Received: {strength}")
    return strength


def _gaussian_kernel(sigma: float, channels: int):
    radius = max(1, int(round(3 * sigma)))
    x = np.arange(-radius, radius + 1, dtype=np.float32)
    kernel = np.exp(-(x**2) / (2 * sigma**2))
    kernel = np.outer(kernel, kernel) / np.outer(kernel, kernel).sum()
    return np.repeat(kernel[:, :, None, None], channels, axis=2)


def degrade(images, pairing: str, strength: float, seed):
    """The degraded sources of clean `images` ([B, H, W, C] in [-1, 1]).

    Args:
        images: clean images.
        pairing: one of `PAIRINGS`.
        strength: its strength (see `PAIRINGS`).
        seed: a stateless ``[2]`` int seed (noise and mask positions).
    """
    images = tf.cast(images, tf.float32)
    if pairing == "noise":
        noise = tf.random.stateless_normal(tf.shape(images), seed) * strength
        return tf.clip_by_value(images + noise, -1.0, 1.0)
    if pairing == "blur":
        kernel = _gaussian_kernel(strength, images.shape[-1])
        padded = tf.pad(
            images + 1.0, [[0, 0]] + [[len(kernel) // 2] * 2] * 2 + [[0, 0]]
        )
        blurred = tf.nn.depthwise_conv2d(padded, kernel, [1, 1, 1, 1], "VALID")
        return blurred - 1.0
    if pairing == "downsample":
        size = tf.shape(images)[1:3]
        small = tf.cast(tf.cast(size, tf.float32) / strength, tf.int32)
        low = tf.image.resize(images, small, method="area")
        return tf.image.resize(low, size, method="bilinear")
    if pairing == "mask":
        side = images.shape[1]
        box = max(1, int(round(side * strength)))
        corner = tf.random.stateless_uniform(
            [tf.shape(images)[0], 2], seed, 0, side - box + 1, dtype=tf.int32
        )
        rows = tf.range(side)[None, :, None]
        cols = tf.range(side)[None, None, :]
        inside = (
            (rows >= corner[:, :1, None])
            & (rows < corner[:, :1, None] + box)
            & (cols >= corner[:, 1:, None])
            & (cols < corner[:, 1:, None] + box)
        )
        return tf.where(inside[..., None], -1.0, images)
    raise ValueError(f"Unknown pairing {pairing!r}.")


def pair_by_key(
    sources: ImageData, targets: ImageData
) -> tuple[np.ndarray, np.ndarray]:
    """Source and target images matched by relative path (or array index).

    Raises:
        ValueError: when the shapes differ or no key is shared; the message
            names a few unmatched keys.
    """
    if sources.keys is None or targets.keys is None:
        raise ValueError("Both sources need item keys (a folder or an array) to pair.")
    index = {key: i for i, key in enumerate(targets.keys)}
    pairs = [(i, index[key]) for i, key in enumerate(sources.keys) if key in index]
    if not pairs:
        raise ValueError(
            f"No file of {sources.source} has a match in {targets.source}: "
            f"pairs are matched by relative path (e.g. {sources.keys[:2]} vs "
            f"{targets.keys[:2]})"
        )
    unmatched = len(sources) - len(pairs)
    if unmatched:
        missing = [k for k in sources.keys if k not in index][:3]
        raise ValueError(
            f"{unmatched} files of {sources.source} have no target of the same "
            f"relative path in {targets.source} (e.g. {missing})"
        )
    source_index, target_index = map(list, zip(*pairs, strict=True))
    return sources.images[source_index], targets.images[target_index]


def make_pair_dataset(
    targets: np.ndarray,
    batch_size: int,
    *,
    seed: int,
    sources: np.ndarray | None = None,
    pairing: str = "noise",
    strength: float | None = None,
    labels: np.ndarray | None = None,
) -> tf.data.Dataset:
    """Batches of ``(source, target)`` pairs, shuffled each epoch.

    Without `sources`, each batch's sources are degraded from its targets by
    `pairing` with fresh randomness every epoch (seeded by `seed`). With
    `labels` (a conditional model), batches are ``((source, labels), target)``.
    """
    if batch_size > len(targets):
        raise ValueError(
            f"batch_size ({batch_size}) is larger than the number of image "
            f"pairs ({len(targets)}). Received: batch_size={batch_size}"
        )
    degrading = sources is None
    if degrading:
        strength = check_pairing(pairing, strength)
    conditional = labels is not None
    targets = tf.constant(targets, tf.float32)
    sources = targets if degrading else tf.constant(sources, tf.float32)
    labels = tf.zeros(len(targets), tf.int32) if labels is None else labels
    dataset = tf.data.Dataset.from_tensor_slices(
        (sources, tf.constant(labels, tf.int32), targets)
    )
    dataset = dataset.shuffle(len(targets), seed=seed)
    dataset = dataset.batch(batch_size, drop_remainder=True)
    seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)

    def to_pair(batch, pair_seed):
        source, batch_labels, target = batch
        if degrading:
            source = degrade(target, pairing, strength, pair_seed)
        return ((source, batch_labels), target) if conditional else (source, target)

    dataset = tf.data.Dataset.zip(dataset, seeds).map(
        to_pair, num_parallel_calls=tf.data.AUTOTUNE
    )
    return dataset.prefetch(tf.data.AUTOTUNE).with_options(no_autotune())
