"""The one tf.data module: `ImageData` -> batched `tf.data.Dataset`.

Every image pipeline ends the same way: shuffle over the whole set, batch with
`drop_remainder=True` so every batch has the same static shape (an XLA-compiled
`train_step` then compiles once), and prefetch. The arrays are already
prepared in memory (`ImageData`), so there is no decoding `map` to cache: a
`cache()` would only hold a second copy of them; and nothing for tf.data's
autotuning to tune, which is off (it stalled epoch starts). Augmentation runs after
shuffling, on whole batches, with stateless ops seeded from a
`tf.data.Dataset.random` stream that draws new seeds every epoch but repeats
for the same `seed`.
"""

import numpy as np
import tensorflow as tf

from kerasynth.data.images import ImageData

AUGMENTATIONS = ("flip",)


def _flip(images: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
    """Flips each image of a batch left-right with probability 1/2."""
    return tf.image.stateless_random_flip_left_right(images, seed=seed)


_AUGMENT_FNS = {"flip": _flip}


def make_dataset(
    data: ImageData,
    batch_size: int,
    *,
    seed: int | None = None,
    shuffle: bool = True,
    with_labels: bool = False,
    augment: str | None = None,
    conditions=None,
) -> tf.data.Dataset:
    """Builds the training dataset of an `ImageData`.

    Args:
        data: the images (and labels) to serve.
        batch_size: images per batch; the last partial batch is dropped.
        seed: seeds the shuffle and the augmentation; with the same seed the
            order is the same on every run (each epoch still reshuffles).
        shuffle: shuffle over the whole set, reshuffled every epoch.
        with_labels: yield `(images, labels)` instead of `images`.
        augment: `None`, or `"flip"` (random horizontal flips; brains are
            roughly left-right symmetric).
        conditions: what to yield beside the images instead of
            `data.labels`: one int label or one float32 condition vector
            (encoded covariates) per image; `None` keeps `with_labels`.

    Returns:
        A dataset of float32 `[batch_size, H, W, C]` batches, or of
        `(images, int32 [batch_size] labels)` pairs when `with_labels`.

    Example:

    >>> data = load_images(None)
    >>> dataset = make_dataset(data, 32, seed=0)
    >>> dataset.element_spec.shape
    TensorShape([32, 64, 64, 1])
    """
    is_count = isinstance(batch_size, int) and not isinstance(batch_size, bool)
    if not is_count or batch_size < 1:
        raise ValueError(f"`batch_size` must be >= 1. Received: {batch_size=}")
    if batch_size > len(data):
        raise ValueError(
            f"`batch_size` ({batch_size}) is larger than the number of images "
            f"({len(data)}) in {data.source}; with drop_remainder there would be "
            f"no batch. Received: batch_size={batch_size}"
        )
    if augment is not None and augment not in _AUGMENT_FNS:
        raise ValueError(
            f"`augment` must be None or one of {AUGMENTATIONS}. Received: {augment=}"
        )
    if with_labels and data.labels is None:
        raise ValueError(
            f"with_labels=True but {data.source} has no labels (class sub-folders "
            "or a labels array give labels)"
        )
    images = tf.convert_to_tensor(data.images, dtype=tf.float32)
    if conditions is not None:
        conditions = np.asarray(conditions)
        if len(conditions) != len(data):
            raise ValueError(
                f"{len(conditions)} conditions for the {len(data)} images of "
                f"{data.source}"
            )
        kind = tf.int32 if conditions.dtype.kind in "iu" else tf.float32
        dataset = tf.data.Dataset.from_tensor_slices(
            (images, tf.convert_to_tensor(conditions, dtype=kind))
        )
        with_labels = True
    elif with_labels:
        labels = tf.convert_to_tensor(data.labels, dtype=tf.int32)
        dataset = tf.data.Dataset.from_tensor_slices((images, labels))
    else:
        dataset = tf.data.Dataset.from_tensor_slices(images)
    if shuffle:
        dataset = dataset.shuffle(len(data), seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size, drop_remainder=True)
    if augment is not None:
        dataset = _augment(dataset, _AUGMENT_FNS[augment], seed, with_labels)
    return dataset.prefetch(tf.data.AUTOTUNE).with_options(no_autotune())


def no_autotune() -> tf.data.Options:
    """Options that turn tf.data's autotuning off.

    Keras makes a new iterator every epoch, and with autotuning on, one epoch
    start in three or four stalled for about a second (measured with DCGAN at
    batch 64, whose epochs of 130 slices take 1.5 s); in-memory arrays leave
    nothing for it to tune.
    """
    options = tf.data.Options()
    options.autotune.enabled = False
    return options


def _augment(dataset, augment_fn, seed: int | None, with_labels: bool):
    """Applies `augment_fn(images, seed)` per batch with a fresh seed per batch."""
    seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)
    seeds = seeds.batch(2, drop_remainder=True)  # stateless ops want a [2] seed
    dataset = tf.data.Dataset.zip(dataset, seeds)

    def apply(batch, op_seed):
        if with_labels:
            images, labels = batch
            return augment_fn(images, op_seed), labels
        return augment_fn(batch, op_seed)

    return dataset.map(apply, num_parallel_calls=tf.data.AUTOTUNE)


def make_row_dataset(rows, batch_size: int, *, seed: int | None = None):
    """An endless dataset of shuffled table rows (`TableTransformer` output).

    The rows repeat before they are shuffled and batched, so a batch may be
    larger than the table (TVAE's default of 500 on OASIS's 436 rows) and
    still have a static shape; the caller sets ``steps_per_epoch`` (one pass
    over the rows: ``max(len(rows) // batch_size, 1)``).

    Args:
        rows: float32 ``[N, D]`` transformed rows.
        batch_size: rows per batch.
        seed: seeds the shuffle.
    """
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"`batch_size` must be >= 1. Received: {batch_size=}")
    dataset = tf.data.Dataset.from_tensor_slices(tf.constant(rows, tf.float32))
    dataset = dataset.repeat().shuffle(len(rows), seed=seed)
    dataset = dataset.batch(batch_size, drop_remainder=True)
    return dataset.prefetch(tf.data.AUTOTUNE).with_options(no_autotune())
