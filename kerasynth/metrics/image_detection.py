"""Image detection: how well a small CNN tells real images from synthetic ones.

The image counterpart of `kerasynth.metrics.detection`: a classifier two-
sample test (Lopez-Paz & Oquab, "Revisiting Classifier Two-Sample Tests",
ICLR 2017). If a classifier trained to tell the two sets apart does no
better than chance on images it did not train on, nothing it can learn
separates them; its out-of-fold ROC AUC says how far from that the
synthetic images are, in pixels, not in a feature space of our own.
"""

from __future__ import annotations

import numpy as np

DETECTION_FOLDS = 5
DETECTION_EPOCHS = 10
BATCH_SIZE = 64
LEARNING_RATE = 2e-3
# Larger images are resized (antialiased) to this side first: the cost of a
# pass grows with the pixels, and 64 px keeps a brain slice's anatomy.
MAX_SIDE = 64
# At most this many images a side: 500 against 500 is the "thousand images"
# measured below, and the AUC's standard error is then about 0.02 at chance.
MAX_PER_SIDE = 500
NETWORK = "3 strided 3x3 convolutions (16, 32, 64 filters, ReLU), flatten, dense logit"


def image_detection_auc(
    real: np.ndarray,
    synthetic: np.ndarray,
    seed: int = 0,
    folds: int = DETECTION_FOLDS,
    *,
    epochs: int = DETECTION_EPOCHS,
    max_per_side: int = MAX_PER_SIDE,
    groups: np.ndarray | None = None,
) -> dict:
    """ROC AUC of a small CNN that tells real images from synthetic ones.

    Real images are labelled 1 and synthetic ones 0. The larger set is
    subsampled (seeded) to the size of the smaller one, and both to
    `max_per_side`, so that the classes are balanced; images larger than 64
    pixels a side are resized down. A CNN (`kerasynth.metrics.features.
    conv_encoder` with one output: three strided 3x3 convolutions of 16, 32
    and 64 filters, flatten, a dense logit; 27,393 parameters at 64x64x1) is
    trained on each of `folds` stratified, shuffled folds' training part
    (Adam, learning rate 2e-3, batches of 64, binary cross-entropy) from the
    same seeded initial weights, and the ROC AUC of its out-of-fold scores
    is returned with the protocol. 0.5 means the CNN cannot tell the sets
    apart (ideal), 1 that it always can. Seeded end to end, and
    deterministic on a CPU (TensorFlow's op determinism is on while it
    trains).

    Measured on the OASIS-1 slices (64x64x1, two halves by person) on this
    project's 2-core machine while other jobs kept a load of 4-6 on it:

    | real against                 | 500 a side | 214 a side |
    | ---------------------------- | ---------- | ---------- |
    | the other half               | 0.48-0.50  | 0.46       |
    | it made flat grey            | 1.0        | 1.0        |
    | it blurred, sigma 1 pixel    | 1.0        |            |
    | it blurred, sigma 0.5 pixel  | 0.90-0.93  | 0.60-0.65  |
    | it noised, sd 0.1 (5%)       | 0.99       | 0.59       |
    | it noised, sd 0.03           | 0.48-0.50  |            |
    | time of a call               | 25-49 s    | 13-19 s    |

    (The first call in a process takes up to 20 s more: TensorFlow starts.)
    The same call gives the same AUC, in one process or two. The issue's
    "a few seconds for a thousand images" is out of reach here at 64x64
    without a weaker detector (at 32x32 an epoch is 2.4 times faster), and
    the detector needs images: subtle differences seen at 500 a side go
    unseen at 200. The settings were chosen on one fold's AUC epoch by
    epoch: with batches of 64 and a learning rate of 2e-3 the noised and
    lightly blurred slices' AUC rises until about epoch 9 and then
    flattens, while the halves stay at chance (batches of 32 or 128,
    learning rates of 1e-3 or 4e-3, global pooling instead of flatten, and
    a cheaper 4x4 stride-4 first layer all learned more slowly). On the
    MNI152 slices at 32x32 (26 held-out slices against 26 samples), a
    one-epoch DCGAN scores 1.0 and a 30-epoch one 0.82.

    Several slices of one person are alike, so a CNN can learn a person:
    with a person's slices on both sides of a fold split, real images score
    higher than their distribution alone would make them, even against a
    perfect generator's independent samples. Give `groups` (the person of
    each real image) to keep each person in one fold: on 150 slices of 30
    OASIS-1 people against 150 of 30 others, the AUC is 0.61 without groups
    and 0.52 with them (at 500 slices of about 100 people a side, 0.48-0.50
    without).

    Args:
        real: ``[N, H, W, C]`` real images in [-1, 1] (for a generator, real
            images it did not learn from are the fair reference).
        synthetic: ``[M, H, W, C]`` synthetic images in [-1, 1].
        seed: seeds the subsampling, the folds, the weights and the
            shuffling.
        folds: cross-validation folds (at most the images a side).
        epochs: training epochs of each fold's CNN.
        max_per_side: the most images used from each set.
        groups: optional ``[N]`` group of each real image (its person):
            the folds keep each group's images together (scikit-learn's
            `StratifiedGroupKFold`), and each synthetic image is a group of
            its own.

    Returns:
        A JSON-ready dict: ``auc``; the protocol: ``folds``, ``grouped``,
        ``num_real`` and ``num_synthetic`` (the images used a side),
        ``real_available`` and ``synthetic_available``, ``image_shape`` (as
        the CNN saw them),
        ``epochs``, ``batch_size``, ``learning_rate``, ``parameters``,
        ``network``, ``test`` and ``seed``.

    Raises:
        ValueError: images that are not NHWC of one shape, fewer than 2 a
            side, `folds`, `epochs` or `max_per_side` out of range, or
            `groups` not one per real image or of a single group.

    Example:

    ```python
    result = image_detection_auc(holdout, model.generate(len(holdout), seed=0))
    print(result["auc"], result["num_real"], result["epochs"])
    ```
    """
    from sklearn.metrics import roc_auc_score

    from kerasynth.metrics.image_pairs import check_images, check_same_image_shape

    real = check_images(real, "real")
    synthetic = check_images(synthetic, "synthetic")
    check_same_image_shape(real, synthetic, "real and synthetic images")
    for name, value, least in (("folds", folds, 2), ("epochs", epochs, 1),
                               ("max_per_side", max_per_side, 2)):  # fmt: skip
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise ValueError(
                f"`{name}` must be an integer >= {least}. Received: {name}={value!r}"
            )
    count = min(len(real), len(synthetic), max_per_side)
    if count < 2:
        raise ValueError(
            "Image detection needs at least 2 real and 2 synthetic images. "
            f"Received: {len(real)} real and {len(synthetic)} synthetic"
        )
    rng = np.random.default_rng(seed)
    chosen = [np.sort(rng.choice(len(side), count, replace=False))
              for side in (real, synthetic)]  # fmt: skip
    images = np.concatenate([real[chosen[0]], synthetic[chosen[1]]]).astype(np.float32)
    images = _downsample(images, MAX_SIDE)
    labels = np.r_[np.ones(count), np.zeros(count)].astype(np.float32)
    if groups is not None:
        groups = np.asarray(groups)
        if groups.shape != (len(real),):
            raise ValueError(
                "`groups` must name the group of each real image. Received: "
                f"groups.shape={groups.shape} for {len(real)} real images"
            )
        groups = groups[chosen[0]]
    splits = _fold_splits(labels, groups, min(folds, count), seed)
    scores, parameters = _out_of_fold_scores(images, labels, splits, epochs, seed)
    return {
        "auc": float(roc_auc_score(labels, scores)),
        "folds": len(splits),
        "grouped": groups is not None,
        "num_real": count,
        "num_synthetic": count,
        "real_available": len(real),
        "synthetic_available": len(synthetic),
        "image_shape": list(images.shape[1:]),
        "epochs": epochs,
        "batch_size": BATCH_SIZE,
        "learning_rate": LEARNING_RATE,
        "parameters": parameters,
        "network": NETWORK,
        "test": "classifier two-sample test (Lopez-Paz & Oquab 2017): "
        "out-of-fold ROC AUC, real = 1",
        "seed": seed,
    }


def _fold_splits(labels, real_groups, folds, seed):
    """The folds' (train, test) indices: stratified and shuffled; with
    `real_groups` (the group of each real image, the real images first),
    each group in one fold, each synthetic image a group of its own."""
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    if real_groups is None:
        splitter = StratifiedKFold(folds, shuffle=True, random_state=seed)
        return list(splitter.split(labels, labels))
    codes = np.unique(real_groups, return_inverse=True)[1]
    if codes.max() < 1:
        raise ValueError("`groups` must hold at least 2 groups of real images")
    groups = np.r_[codes, codes.max() + 1 + np.arange(len(labels) - len(codes))]
    splitter = StratifiedGroupKFold(
        min(folds, codes.max() + 1), shuffle=True, random_state=seed
    )
    return list(splitter.split(labels, labels, groups))


def _out_of_fold_scores(images, labels, splits, epochs, seed):
    """Every image's logit from the fold that did not train on it, and the
    CNN's parameter count."""
    import keras
    import tensorflow as tf

    from kerasynth import runtime
    from kerasynth.metrics.features import conv_encoder

    scores = np.zeros(len(labels))
    with runtime.seeded(seed), runtime.dtype_policy("float32"):
        model = conv_encoder(images.shape[1:], 1, name="image_detector")
        # Several steps per compiled call: on a CPU, a step of this small
        # network costs little more than Keras' round trip to it.
        model.compile(
            keras.optimizers.Adam(LEARNING_RATE),
            loss=keras.losses.BinaryCrossentropy(from_logits=True),
            steps_per_execution=16,
        )
        model.optimizer.build(model.trainable_variables)
        # One model for every fold, reset to the same start: the training
        # step is traced once, not once a fold.
        state = model.weights + model.optimizer.variables
        start = [variable.numpy() for variable in state]
        for fold, (train, test) in enumerate(splits):
            for variable, value in zip(state, start, strict=True):
                variable.assign(value)
            # Every epoch in one pass over one iterator (Keras makes an
            # iterator an epoch, which costs as much as a small epoch's
            # steps), reshuffled each epoch from the fold's seed.
            batches = (
                tf.data.Dataset.from_tensor_slices((images[train], labels[train]))
                .shuffle(len(train), seed=seed + fold, reshuffle_each_iteration=True)
                .batch(BATCH_SIZE)
                .repeat(epochs)
            )
            model.fit(batches, epochs=1, shuffle=False, verbose=0)
            scores[test] = model.predict_on_batch(images[test])[:, 0]
        parameters = model.count_params()
    return scores, parameters


def _downsample(images: np.ndarray, max_side: int) -> np.ndarray:
    """`images` resized (antialiased) so that no side exceeds `max_side`."""
    height, width = images.shape[1:3]
    if max(height, width) <= max_side:
        return images
    import keras

    scale = max_side / max(height, width)
    size = (max(1, round(height * scale)), max(1, round(width * scale)))
    resized = keras.ops.image.resize(images, size, antialias=True)
    return np.asarray(keras.ops.convert_to_numpy(resized), np.float32)
