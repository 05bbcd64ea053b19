"""Detection: how well a classifier tells real rows from synthetic ones.

The project's protocol (`shared/FIDELITY.md`, "Detection"): a random forest
of 200 trees telling the training rows from the synthetic rows, 5-fold
out-of-fold ROC AUC, on one-hot categoricals and median-imputed numbers.
A logistic regression (sdmetrics' LogisticDetection) sees only what a linear
boundary separates, and on these tables it stays near 0.5 for samples a tree
ensemble tells apart: it is kept as an option, not the default.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from kerasynth.data.schema import TableSchema
from kerasynth.metrics.columns import checked_kinds
from kerasynth.metrics.table_features import feature_encoder, prepare_features

DETECTION_CLASSIFIERS = ("forest", "boosting", "logistic")
DETECTION_FOLDS = 5
FOREST_TREES = 200


def detection_auc(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    seed: int = 0,
    *,
    classifier: str = "forest",
    metadata: Mapping[str, str] | None = None,
    schema: TableSchema | None = None,
) -> float:
    """ROC AUC of a classifier that tells real rows from synthetic ones.

    Real rows are labelled 1 and synthetic rows 0; a classifier is
    cross-validated over 5 stratified, shuffled folds (seeded), and the AUC of
    its out-of-fold probabilities is returned. 0.5 means the classifier cannot
    tell them apart (ideal), 1 that it always can; values a little under 0.5
    are chance. Values well under 0.5 flag synthetic rows that (nearly) copy
    real ones: a held-out row's twin sits in the training folds with the
    other label (a noisy bootstrap of OASIS gives about 0.4). The features
    are those of `feature_encoder`: numerical columns median-imputed and
    standardised, with a 0/1 missing flag for every column that has missing
    values (a generator that gets missingness wrong is seen), categorical
    columns one-hot (missing is a category), fitted on each training fold
    only.

    Args:
        real: the real table (the generator's training rows).
        synthetic: the synthetic table (it must have the real columns).
        seed: seeds the folds and the classifier.
        classifier: `"forest"` (default), scikit-learn's
            `RandomForestClassifier` with 200 trees, FIDELITY.md's
            detector; `"boosting"`, a `HistGradientBoostingClassifier` (100
            trees, no early stopping); or `"logistic"`, a
            `LogisticRegression` as sdmetrics' LogisticDetection, which sees
            only differences a linear boundary can separate (mostly in the
            means).
        metadata: optional `{column: "categorical" | "numerical"}` overrides.
        schema: the kinds of every column, as a `TableSchema` (a run's
            `transformer.schema`), instead of inferring them; not with
            `metadata`.

    Returns:
        The out-of-fold ROC AUC, a float in [0, 1].

    Raises:
        ValueError: an unknown `classifier`; fewer than 2 rows on a side.
    """
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from threadpoolctl import threadpool_limits

    if classifier not in DETECTION_CLASSIFIERS:
        raise ValueError(
            f"`classifier` must be one of {DETECTION_CLASSIFIERS}. "
            f"Received: classifier={classifier!r}"
        )
    kinds = checked_kinds(real, synthetic, metadata, schema)
    for frame, side in ((real, "real"), (synthetic, "synthetic")):
        if len(frame) < 2:
            raise ValueError(
                f"Detection needs at least 2 {side} rows. Received: {len(frame)}"
            )
    features = pd.concat(
        [
            prepare_features(real, kinds, "real"),
            prepare_features(synthetic, kinds, "synthetic"),
        ],
        ignore_index=True,
    )
    labels = np.r_[np.ones(len(real), int), np.zeros(len(synthetic), int)]
    folds = StratifiedKFold(
        n_splits=min(DETECTION_FOLDS, len(real), len(synthetic)),
        shuffle=True,
        random_state=seed,
    )
    # One OpenMP thread: on small tables and a busy 2-core machine, the
    # boosting's threads spin-wait and a run took 10x longer (same result).
    with threadpool_limits(limits=1, user_api="openmp"):
        probabilities = cross_val_predict(
            make_pipeline(feature_encoder(kinds), _classifier(classifier, seed)),
            features,
            labels,
            cv=folds,
            method="predict_proba",
        )[:, 1]
    return float(roc_auc_score(labels, probabilities))


def _classifier(name: str, seed: int):
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression

    if name == "forest":
        return RandomForestClassifier(n_estimators=FOREST_TREES, random_state=seed)
    if name == "boosting":
        return HistGradientBoostingClassifier(
            max_iter=100, early_stopping=False, random_state=seed
        )
    return LogisticRegression(max_iter=1000)
