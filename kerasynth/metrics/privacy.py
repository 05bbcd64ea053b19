"""Privacy metrics for synthetic tables: closest records, copies, membership.

A generator that memorised its training rows puts synthetic rows closer to
the training rows than to real rows it never saw. These metrics compare the
synthetic table with the training table and with a holdout (real rows kept
out of training, drawn from the same population):

- **DCR** (distance to the closest record): for every synthetic row, the
  Euclidean distance to its nearest real row.
- **Closer-to-train share**: the share of synthetic rows whose nearest
  training row is closer than their nearest holdout row. Both sides hold the
  same number of rows (the larger one is subsampled, seeded), so a generator
  that learned the population and not its training rows scores about 0.5, and
  a copying one about 1.
- **DCR excess** (`shared/FIDELITY.md`): sdmetrics' DCROverfittingProtection
  share of synthetic rows closer to a training row than to a holdout row,
  over all rows and in its own range-normalised distance, minus the share a
  fresh sample shows, `n_train / (n_train + n_holdout)`
  (`kerasynth.metrics.dcr_overfitting`).
- **Exact copies**: synthetic rows equal to a training row on every column.
- **Membership inference**: an attacker who holds the synthetic table and a
  real record guesses "it was in the training set" when the record has a
  synthetic row close by (score: minus its DCR to the synthetic table). The
  ROC AUC of that guess over the training rows (members) against the holdout
  rows (non-members) is 0.5 when the synthetic data leaks nothing about
  membership and 1 when it gives every member away.

**The distance space.** Rows are compared as numerical columns standardised
with the training rows' mean and standard deviation (missing values imputed
with the training median, plus a 0/1 missing flag per column that had
missing values) and categorical columns one-hot (0/1; a category the training
rows lack encodes as all zeros): `kerasynth.metrics.table_features.feature_encoder`,
fitted on the training rows. Two rows that differ in one category are
`sqrt(2)` apart, about as far as 1.4 standard deviations in one number. A
`TableTransformer` passed in supplies the column kinds (its categorical and
numerical columns), not its encoding: its mode-specific encoding draws each
value's mode at random per row, so an exact copy of a training row can sit a
mode switch away from it, and its plain encoding puts categories on a line.

Membership inference by distance to the closest synthetic record follows
the DCR-based attacks evaluated in, for example, Stadler, Oprisanu and
Troncoso 2022, "Synthetic Data: Anonymisation Groundhog Day" (USENIX
Security); the code is written in the project.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from kerasynth.metrics.columns import column_kinds
from kerasynth.metrics.dcr_overfitting import dcr_overfitting
from kerasynth.metrics.table_features import feature_encoder, prepare_features

SPACE_DESCRIPTION = (
    "Euclidean, numerical columns standardised on the training rows "
    "(median-imputed, with 0/1 missing flags), categorical columns one-hot"
)


class RowSpace:
    """The distance space of the privacy metrics, fitted on the training rows.

    Args:
        kinds: `{column: "categorical" | "numerical"}`, the columns compared.

    Example:

    >>> space = RowSpace(column_kinds(train)).fit(train)  # OASIS five columns
    >>> space.encode(synthetic, "synthetic").shape  # 4 z-scores, M/F one-hot
    (305, 6)
    """

    def __init__(self, kinds: Mapping[str, str]):
        if not kinds:
            raise ValueError("`kinds` is empty: there is no column to compare")
        self.kinds = dict(kinds)
        self._encoder = feature_encoder(self.kinds)
        self._fitted = False

    def fit(self, frame: pd.DataFrame) -> RowSpace:
        """Fits the standardisation and the one-hot categories on `frame`."""
        if len(frame) == 0:
            raise ValueError("Cannot fit the distance space on a table with no rows")
        self._encoder.fit(prepare_features(frame, self.kinds, "training"))
        self._fitted = True
        return self

    def encode(self, frame: pd.DataFrame, side: str = "input") -> np.ndarray:
        """The rows of `frame` as float64 points `[N, D]`."""
        if not self._fitted:
            raise ValueError("This RowSpace is not fitted; call fit(frame) first")
        features = prepare_features(frame, self.kinds, side)
        return np.asarray(self._encoder.transform(features), dtype=np.float64)


def distance_to_closest_record(
    synthetic: pd.DataFrame | np.ndarray,
    reference: pd.DataFrame | np.ndarray,
    transformer=None,
    *,
    metadata: Mapping[str, str] | None = None,
) -> np.ndarray:
    """The distance from every synthetic row to its nearest reference row.

    Tables are compared in the module's distance space (see the module
    docstring) fitted on `reference`; 2-D arrays are taken as points already
    in a common space. The nearest row is found with scikit-learn's
    `NearestNeighbors` and its distance recomputed exactly, so a copied row is
    at distance 0.

    Args:
        synthetic: the synthetic table, or an `[N, D]` array.
        reference: the real table (e.g. the training rows), or an `[M, D]`
            array.
        transformer: optional fitted `TableTransformer` giving the column
            kinds (not the encoding).
        metadata: optional `{column: "categorical" | "numerical"}` kinds,
            instead of a transformer.

    Returns:
        float64 `[N]` distances.

    Example:

    >>> dcr = distance_to_closest_record(tvae_rows, train)  # OASIS
    >>> round(float(np.median(dcr)), 2)
    0.95
    """
    if isinstance(synthetic, np.ndarray) and isinstance(reference, np.ndarray):
        return _nearest_distances(
            _points(synthetic, "synthetic"), _points(reference, "reference")
        )
    for frame, side in ((synthetic, "synthetic"), (reference, "reference")):
        if not isinstance(frame, pd.DataFrame):
            raise ValueError(
                "`synthetic` and `reference` must both be DataFrames or both "
                f"2-D arrays. Received: {side} of type {type(frame).__name__}"
            )
    space = RowSpace(_kinds(reference, transformer, metadata)).fit(reference)
    return _nearest_distances(
        space.encode(synthetic, "synthetic"), space.encode(reference, "reference")
    )


def privacy_report(
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    transformer=None,
    *,
    metadata: Mapping[str, str] | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Distances to the closest record, copies and a membership attack.

    The distance space is fitted on `train` (see the module docstring). For
    the DCR statistics and the closer-to-train share, the larger of `train`
    and `holdout` is subsampled (seeded) to the size of the smaller, so that
    both reference sets hold `n_reference` rows and the share expected from
    a generator that did not memorise is 0.5 (`closer_to_train_reference`).
    With the full sets it would be `len(train) / (len(train) +
    len(holdout))`; the subsample trades some power for a fixed reference:
    a synthetic copy of a training row left out of the subsample counts as
    an ordinary row. A synthetic row exactly as far from both sets counts
    one half. Exact copies and the membership attack use every training and
    holdout row.

    Args:
        train: the real rows the generator was trained on.
        holdout: real rows from the same population it never saw.
        synthetic: the generated rows.
        transformer: optional fitted `TableTransformer` giving the column
            kinds; its columns are the ones compared.
        metadata: optional `{column: "categorical" | "numerical"}` kinds,
            instead of a transformer. Without either, kinds come from the
            training dtypes (`kerasynth.metrics.columns.column_kinds`) and all
            training columns are compared.
        seed: seeds the subsample.

    Returns:
        A JSON-ready dict: `space`, `columns`, `n_train`, `n_holdout`,
        `n_synthetic`, `n_reference`, `seed`; `dcr_train` and `dcr_holdout`
        (`{"median", "p05"}` of the synthetic rows' DCR to each set);
        `closer_to_train_share` and `closer_to_train_reference` (0.5);
        `exact_copies` (`{"count", "share"}` of synthetic rows); `mia_auc`;
        `dcr_overfitting` (sdmetrics' DCROverfittingProtection on every row,
        in its range-normalised distance, with the baseline `n_train /
        (n_train + n_holdout)`: `kerasynth.metrics.dcr_overfitting`) and its
        `dcr_excess`, the share of synthetic rows closer to a training row
        minus that baseline (`shared/FIDELITY.md`).

    Raises:
        ValueError: a table without rows or without a compared column, both
            `transformer` and `metadata` given.

    Example:

    >>> report = privacy_report(train, holdout, tvae_rows, seed=0)  # OASIS
    >>> round(report["closer_to_train_share"], 2), round(report["mia_auc"], 2)
    (0.46, 0.5)
    """
    from sklearn.metrics import roc_auc_score

    for frame, side in (
        (train, "train"),
        (holdout, "holdout"),
        (synthetic, "synthetic"),
    ):
        if not isinstance(frame, pd.DataFrame):
            raise ValueError(
                f"`{side}` must be a pandas DataFrame. Received: {type(frame).__name__}"
            )
        if len(frame) == 0:
            raise ValueError(f"The {side} table has no rows")
    kinds = _kinds(train, transformer, metadata)
    space = RowSpace(kinds).fit(train)
    points = {
        "train": space.encode(train, "train"),
        "holdout": space.encode(holdout, "holdout"),
        "synthetic": space.encode(synthetic, "synthetic"),
    }

    size = min(len(train), len(holdout))
    rng = np.random.default_rng(seed)
    reference = {
        side: points[side][np.sort(rng.choice(len(points[side]), size, replace=False))]
        for side in ("train", "holdout")
    }
    to_train = _nearest_distances(points["synthetic"], reference["train"])
    to_holdout = _nearest_distances(points["synthetic"], reference["holdout"])
    closer = float(
        np.mean(to_train < to_holdout) + 0.5 * np.mean(to_train == to_holdout)
    )

    # Membership: a record with a synthetic row close by was probably trained on.
    member = _nearest_distances(points["train"], points["synthetic"])
    non_member = _nearest_distances(points["holdout"], points["synthetic"])
    labels = np.r_[np.ones(member.size), np.zeros(non_member.size)]
    mia_auc = float(roc_auc_score(labels, -np.r_[member, non_member]))

    copies = exact_copies(synthetic, train, list(kinds))
    overfitting = dcr_overfitting(train, holdout, synthetic, kinds)
    return {
        "space": SPACE_DESCRIPTION,
        "columns": list(kinds),
        "n_train": len(train),
        "n_holdout": len(holdout),
        "n_synthetic": len(synthetic),
        "n_reference": size,
        "seed": seed,
        "dcr_train": _summary(to_train),
        "dcr_holdout": _summary(to_holdout),
        "closer_to_train_share": closer,
        "closer_to_train_reference": 0.5,
        "exact_copies": {"count": copies, "share": copies / len(synthetic)},
        "mia_auc": mia_auc,
        "dcr_overfitting": overfitting,
        "dcr_excess": overfitting["dcr_excess"],
    }


def exact_copies(
    synthetic: pd.DataFrame, train: pd.DataFrame, columns: list[str] | None = None
) -> int:
    """The number of synthetic rows equal to some training row on every column.

    Values are compared as numbers in numerical columns (`1` equals `1.0`)
    and as values in the others; missing equals missing.

    Args:
        synthetic: the generated rows.
        train: the real training rows.
        columns: the columns compared (default: all training columns).

    Returns:
        A count of synthetic rows (duplicates among them each count).
    """
    columns = list(train.columns) if columns is None else columns
    absent = [c for c in columns if c not in synthetic.columns]
    if absent:
        raise ValueError(
            f"Column {absent[0]!r} is missing from the synthetic table (it has "
            f"{[str(c) for c in synthetic.columns]})"
        )
    known = set(_row_keys(train, columns))
    return sum(key in known for key in _row_keys(synthetic, columns))


# === Helpers ===


def _kinds(frame: pd.DataFrame, transformer, metadata) -> dict[str, str]:
    if transformer is None:
        return column_kinds(frame, metadata)
    if metadata is not None:
        raise ValueError(
            "Pass the column kinds either as `transformer` or as `metadata`, not both"
        )
    if not getattr(transformer, "is_fitted", False):
        raise ValueError(
            "`transformer` must be a fitted TableTransformer. Received: "
            f"{type(transformer).__name__}"
        )
    categorical = set(transformer.categorical_columns)
    return {
        column: "categorical" if column in categorical else "numerical"
        for column in transformer.columns
    }


def _points(array: np.ndarray, side: str) -> np.ndarray:
    array = np.asarray(array, dtype=np.float64)
    if array.ndim != 2 or len(array) == 0:
        raise ValueError(
            f"The {side} points must be a non-empty [N, D] array. Received "
            f"shape {array.shape}"
        )
    return array


def _nearest_distances(query: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Exact Euclidean distance from each query point to its nearest reference."""
    from sklearn.neighbors import NearestNeighbors

    if query.shape[1] != reference.shape[1]:
        raise ValueError(
            "Points must have the same width. Received: "
            f"{query.shape[1]} and {reference.shape[1]}"
        )
    index = NearestNeighbors(n_neighbors=1).fit(reference)
    nearest = index.kneighbors(query, return_distance=False)[:, 0]
    # The neighbour search may compute |x|^2 + |y|^2 - 2xy, which leaves a
    # copy ~1e-8 away; measuring again keeps copies at exactly 0.
    return np.linalg.norm(query - reference[nearest], axis=1)


def _summary(distances: np.ndarray) -> dict[str, float]:
    return {
        "median": float(np.median(distances)),
        "p05": float(np.percentile(distances, 5)),
    }


def _row_keys(frame: pd.DataFrame, columns: list[str]) -> list[tuple]:
    values = []
    for column in columns:
        series = frame[column]
        numeric = pd.api.types.is_numeric_dtype(series) and not (
            pd.api.types.is_bool_dtype(series)
        )
        if numeric:
            series = series.astype("float64")
        values.append([None if pd.isna(v) else v for v in series.astype(object)])
    return list(zip(*values, strict=True)) if values else []
