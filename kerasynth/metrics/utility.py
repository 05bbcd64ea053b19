"""Utility: does a model trained on synthetic data work on real data?

Train-synthetic-test-real (TSTR, Esteban, Hyland and Ratsch 2017, "Real-valued
(Medical) Time Series Generation with Recurrent Conditional GANs") trains the
same model once on real training data and once on synthetic data, and scores
both on the same real test set. `ratio` = synthetic score / real score: about
1 means the synthetic data can stand in for the real data for that task.

- `tstr_table`: a scikit-learn random forest on one-hot and standardised
  features (`kerasynth.metrics.table_features.feature_encoder`, fitted on each
  training side), predicting a target column of a table.
- `tstr_images`: a small Keras CNN classifying labelled images.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from kerasynth.data.transformer import MAX_INFERRED_CATEGORIES
from kerasynth.metrics.columns import column_kinds
from kerasynth.metrics.table_features import feature_encoder, prepare_features

TASKS = ("auto", "classification", "regression")
HEADLINE = {"classification": "f1_macro", "regression": "r2"}
_TREES = 100


def tstr_table(
    train_real: pd.DataFrame,
    synthetic: pd.DataFrame,
    test_real: pd.DataFrame,
    target: str,
    task: str = "auto",
    seed: int = 0,
    *,
    metadata: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Train-synthetic-test-real against train-real-test-real for one column.

    The features are every other column of `train_real`, encoded by
    `feature_encoder` (numerical columns median-imputed and standardised,
    with missing flags; categorical ones one-hot) fitted on the side the
    model trains on. The model is a scikit-learn random forest (100 trees,
    seeded) classifier or regressor. Rows whose target is missing are left
    out of every set.

    Scores on `test_real`: for classification, accuracy, macro-averaged F1
    over the test set's classes (the headline: it weighs a rare class such as
    OASIS `CDR` 2 like a common one) and, for a binary target, ROC AUC with
    the second class in sorted order as positive; for regression, R^2 (the
    headline) and mean absolute error. `ratio` = headline of the synthetic
    model / headline of the real one (`None` when the real headline is not
    positive, where a ratio means nothing).

    Args:
        train_real: real training rows.
        synthetic: synthetic rows (they must have the training columns).
        test_real: real rows neither model trained on.
        target: the column to predict, e.g. `"CDR"` or `"M/F"`.
        task: `"classification"`, `"regression"` or `"auto"`: classification
            when the target is categorical (bool, text, `category`, or named so
            in `metadata`) or numeric with at most 10 distinct values each seen
            twice on average (the `TableTransformer`'s rule: OASIS `CDR`),
            regression otherwise.
        seed: seeds the forests.
        metadata: optional `{column: "categorical" | "numerical"}` kinds.

    Returns:
        A JSON-ready dict: `task`, `target`, `model`, `headline`, `real` and
        `synthetic` (metric -> score), `ratio`, `classes` (the sorted class
        labels, `None` for regression), `n_train_real`, `n_synthetic`,
        `n_test`, `seed`.

    Raises:
        ValueError: unknown `target` or `task`, no feature column, a set left
            without rows, a classification training set with a single class.

    Example:

    >>> result = tstr_table(train, tvae_rows, holdout, "M/F", seed=0)  # OASIS
    >>> result["headline"], round(result["ratio"], 2)
    ('f1_macro', 0.77)
    """
    if task not in TASKS:
        raise ValueError(f"`task` must be one of {TASKS}. Received: task={task!r}")
    if not isinstance(train_real, pd.DataFrame) or target not in train_real.columns:
        available = list(getattr(train_real, "columns", []))
        raise ValueError(
            f"Unknown target column {target!r}. Available columns: {available}"
        )
    kinds = column_kinds(train_real, metadata)
    if task == "auto":
        task = _infer_task(train_real[target], kinds[target])
    features = {c: k for c, k in kinds.items() if c != target}
    if not features:
        raise ValueError(f"No feature column besides the target {target!r}")
    sets = {}
    for frame, side in (
        (train_real, "real training"),
        (synthetic, "synthetic"),
        (test_real, "real test"),
    ):
        sets[side] = _split(frame, features, target, task, side)
    classes = None
    if task == "classification":
        # Integer codes over the union of the labels: sklearn reads float
        # labels such as CDR 0.5 as a regression target, and 1 == 1.0.
        classes = _classes(y for _, y in sets.values())
        sets = {side: (x, _codes(y, classes)) for side, (x, y) in sets.items()}
    x_test, y_test = sets["real test"]
    scores = {}
    for side, name in (("real training", "real"), ("synthetic", "synthetic")):
        x_train, y_train = sets[side]
        model = _table_model(features, task, seed).fit(x_train, y_train)
        scores[name] = _score(model, x_test, y_test, task)
    headline = HEADLINE[task]
    real_score = scores["real"][headline]
    ratio = None
    if real_score is not None and real_score > 0:
        ratio = scores["synthetic"][headline] / real_score
    return {
        "task": task,
        "target": target,
        "model": _model_name(task),
        "headline": headline,
        "real": scores["real"],
        "synthetic": scores["synthetic"],
        "ratio": ratio,
        "classes": classes,
        "n_train_real": len(sets["real training"][1]),
        "n_synthetic": len(sets["synthetic"][1]),
        "n_test": len(y_test),
        "seed": seed,
    }


def tstr_images(
    train_real: np.ndarray,
    train_labels: Sequence,
    synthetic: np.ndarray,
    synthetic_labels: Sequence,
    test_real: np.ndarray,
    test_labels: Sequence,
    epochs: int = 10,
    seed: int = 0,
    *,
    batch_size: int = 32,
) -> dict[str, Any]:
    """Train-synthetic-test-real for labelled images, with a small Keras CNN.

    The classifier (`image_classifier`): two strided 3x3 convolutions (16 and
    32 filters, ReLU), global average pooling and a dense softmax layer,
    trained with Adam (learning rate 1e-3) on sparse categorical
    cross-entropy. It is built and trained twice from the same seed
    (`keras.utils.set_random_seed`), once on the real training images and once
    on the synthetic ones, and both are scored by accuracy on the real test
    images. Classes are the sorted union of the three label sets.

    Args:
        train_real: real training images `[N, H, W, C]` (or `[N, H, W]`), in
            [-1, 1] like every kerasynth image.
        train_labels: their labels (any hashable values).
        synthetic: synthetic images of the same `H, W, C`.
        synthetic_labels: their labels (a conditional model's conditions).
        test_real: real test images.
        test_labels: their labels.
        epochs: training epochs for each model.
        seed: seeds the weights and the shuffling.
        batch_size: training batch size.

    Returns:
        A JSON-ready dict: `real_accuracy`, `synthetic_accuracy`, `ratio`
        (`None` when the real accuracy is 0), `chance_accuracy` (the test
        share of its most common class), `classes`, `model`, `epochs`,
        `n_train_real`, `n_synthetic`, `n_test`, `seed`.

    Example:

    >>> result = tstr_images(x, y, fake, fake_y, x_test, y_test, epochs=5)
    >>> result["real_accuracy"], result["synthetic_accuracy"], result["ratio"]
    """
    import keras

    if not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"`epochs` must be an integer >= 1. Received: {epochs=}")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(
            f"`batch_size` must be an integer >= 1. Received: {batch_size=}"
        )
    sets = {
        "real training": _image_set(train_real, train_labels, "real training"),
        "synthetic": _image_set(synthetic, synthetic_labels, "synthetic"),
        "real test": _image_set(test_real, test_labels, "real test"),
    }
    shapes = {side: images.shape[1:] for side, (images, _) in sets.items()}
    if len(set(shapes.values())) != 1:
        raise ValueError(f"All images must share one [H, W, C]. Received: {shapes}")
    classes = _classes(labels for _, labels in sets.values())
    if len(classes) < 2:
        raise ValueError(f"Need at least 2 classes. Received labels: {classes}")
    codes = {side: _codes(labels, classes) for side, (_, labels) in sets.items()}
    test_images = sets["real test"][0]
    accuracy = {}
    for side, name in (("real training", "real"), ("synthetic", "synthetic")):
        keras.utils.set_random_seed(seed)
        model = image_classifier(shapes[side], len(classes))
        model.fit(
            sets[side][0],
            codes[side],
            epochs=epochs,
            batch_size=batch_size,
            shuffle=True,
            verbose=0,
        )
        predictions = model.predict(test_images, batch_size=256, verbose=0)
        accuracy[name] = float(
            np.mean(np.argmax(predictions, axis=1) == codes["real test"])
        )
    keras.backend.clear_session()
    chance = np.bincount(codes["real test"], minlength=len(classes)).max()
    return {
        "real_accuracy": accuracy["real"],
        "synthetic_accuracy": accuracy["synthetic"],
        "ratio": accuracy["synthetic"] / accuracy["real"] if accuracy["real"] else None,
        "chance_accuracy": float(chance / len(codes["real test"])),
        "classes": classes,
        "model": "CNN: 2 strided conv (16, 32) + global average pooling + dense",
        "epochs": epochs,
        "n_train_real": len(codes["real training"]),
        "n_synthetic": len(codes["synthetic"]),
        "n_test": len(codes["real test"]),
        "seed": seed,
    }


def image_classifier(input_shape: Sequence[int], num_classes: int):
    """The small CNN of `tstr_images`, compiled.

    Args:
        input_shape: `(H, W, C)`.
        num_classes: number of output classes.

    Returns:
        A compiled `keras.Model` giving class probabilities.
    """
    import keras
    from keras import layers

    inputs = keras.Input(tuple(input_shape))  # (bs, H, W, C)
    x = layers.Conv2D(16, 3, strides=2, padding="same", activation="relu")(inputs)
    x = layers.Conv2D(32, 3, strides=2, padding="same", activation="relu")(x)
    x = layers.GlobalAveragePooling2D()(x)  # (bs, 32)
    outputs = layers.Dense(num_classes, activation="softmax")(x)
    model = keras.Model(inputs, outputs, name="tstr_classifier")
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


# === Helpers ===


def _infer_task(values: pd.Series, kind: str) -> str:
    if kind == "categorical":
        return "classification"
    present = values.dropna()
    distinct = present.nunique()
    if distinct <= MAX_INFERRED_CATEGORIES and 2 * distinct <= len(present):
        return "classification"
    return "regression"


def _split(frame, features, target, task, side):
    """Features and target of one set, rows with a missing target left out."""
    if not isinstance(frame, pd.DataFrame):
        raise ValueError(
            f"The {side} table must be a pandas DataFrame. Received: "
            f"{type(frame).__name__}"
        )
    if target not in frame.columns:
        raise ValueError(
            f"Target column {target!r} is missing from the {side} table (it has "
            f"{[str(c) for c in frame.columns]})"
        )
    kept = frame[frame[target].notna()]
    if len(kept) == 0:
        raise ValueError(f"The {side} table has no row with a {target!r} value")
    x = prepare_features(kept, features, side)
    y = kept[target].to_numpy()
    if task == "regression":
        y = pd.to_numeric(kept[target], errors="coerce").to_numpy(np.float64)
        if np.isnan(y).any():
            raise ValueError(
                f"Target column {target!r} of the {side} table is not numeric: "
                "use task='classification'"
            )
    elif side != "real test" and len(pd.unique(y)) < 2:
        raise ValueError(
            f"The {side} table has a single {target!r} class ({y[0]!r}); a "
            "classifier needs two"
        )
    return x, y


def _model_name(task: str) -> str:
    kind = "Classifier" if task == "classification" else "Regressor"
    return (
        f"RandomForest{kind}(n_estimators={_TREES}) on one-hot + standardised features"
    )


def _table_model(features, task, seed):
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
    from sklearn.pipeline import make_pipeline

    forest = (
        RandomForestClassifier if task == "classification" else RandomForestRegressor
    )
    return make_pipeline(
        feature_encoder(features), forest(n_estimators=_TREES, random_state=seed)
    )


def _score(model, x, y, task) -> dict[str, float | None]:
    from sklearn import metrics

    predictions = model.predict(x)
    if task == "regression":
        return {
            "r2": float(metrics.r2_score(y, predictions)),
            "mae": float(metrics.mean_absolute_error(y, predictions)),
        }
    labels = np.unique(y)  # codes, in the classes' sorted order
    scores = {
        "accuracy": float(metrics.accuracy_score(y, predictions)),
        "f1_macro": float(
            metrics.f1_score(
                y, predictions, labels=labels, average="macro", zero_division=0
            )
        ),
        "roc_auc": None,
    }
    if len(labels) == 2:
        positive = labels[1]
        classes = list(model.classes_)
        if positive in classes:
            probability = model.predict_proba(x)[:, classes.index(positive)]
        else:
            probability = np.zeros(len(y))  # the model never saw the class
        scores["roc_auc"] = float(metrics.roc_auc_score(y == positive, probability))
    return scores


def _image_set(images, labels, side):
    images = np.asarray(images, dtype=np.float32)
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4 or len(images) == 0:
        raise ValueError(
            f"The {side} images must be a non-empty [N, H, W, C] array. "
            f"Received shape {images.shape}"
        )
    labels = list(np.asarray(labels).tolist())
    if len(labels) != len(images):
        raise ValueError(
            f"The {side} set has {len(images)} images but {len(labels)} labels"
        )
    return images, labels


def _classes(label_sets) -> list:
    """The sorted union of label collections, as plain Python values."""
    return sorted({_plain(v) for labels in label_sets for v in labels}, key=_sort_key)


def _codes(labels, classes: list) -> np.ndarray:
    index = {label: code for code, label in enumerate(classes)}
    return np.array([index[_plain(v)] for v in labels], np.int64)


def _sort_key(value):
    """Numbers in numeric order, then anything else by its text."""
    if isinstance(value, (int, float, np.number)) and not isinstance(value, bool):
        return (0, float(value), "")
    return (1, 0.0, str(value))


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value
