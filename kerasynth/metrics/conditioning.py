"""Does a conditioned image agree with its row? Read the covariate back.

An image model conditioned on age must draw older-looking brains when asked
for an older patient. Two checks, each scored on synthetic slices and, for
scale, on real held-out slices the same way:

- **Read-back** (`covariate_readout`): a model trained on real training
  slices only reads the covariate from a slice (a ridge regression on the
  pixels' principal components for a number, a logistic regression for a
  category). On real held-out people it reaches some correlation between
  the true and the read age (about 0.88 on the OASIS-1 slices); on
  synthetic slices, the correlation between the *requested* and the read
  age should come near it. The ratio of the two is the figure the
  synthetic-patients benchmark holds to at least 0.8. For a category, the
  ROC AUC of the read class against the requested one.
- **Atrophy** (`atrophy_slope`): an image-derived measure that falls with
  age in real brains: the brain's share of tissue, one minus the share of
  its mask (the filled head outline) darker than a CSF threshold (-0.4 on
  the [-1, 1] scale, where it correlates best with age on the OASIS-1
  slices: r = -0.65). Its slope per decade of age in synthetic patients
  should be close to the real one (the benchmark: within 25 %).

The read-back follows the "conditioning accuracy" of conditional generative
models evaluated with a classifier trained on real data (e.g. Ravuri and
Vinyals 2019, classification accuracy score) and the brain-age regressors
of neuroimaging (Cole and Franke 2017). This module imports NumPy, SciPy
and scikit-learn only.
"""

from __future__ import annotations

import numpy as np

# Pixel-space principal components of the read-back regression.
COMPONENTS = 50
# Below this intensity (on [-1, 1]) a pixel of the brain mask is CSF.
CSF_THRESHOLD = -0.4
# Above this intensity a pixel belongs to the head's outline.
BACKGROUND = -0.9


def _flat(images) -> np.ndarray:
    images = np.asarray(images, np.float32)
    return images.reshape(len(images), -1)


def _pearson(a, b) -> float:
    """Pearson's r; NaN when either side is constant (a model that draws
    the same slice for every request)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    if len(a) < 2 or a.std() == 0 or b.std() == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def _numeric(values) -> np.ndarray:
    return np.asarray(values, dtype=np.float64)


def covariate_readout(
    train_images, train_values, holdout_images, holdout_values,
    synthetic_images, requested_values, *, kind="numeric", seed=0,
    return_reads=False,
):  # fmt: skip
    """Reads a covariate back from real held-out and synthetic slices.

    Args:
        train_images: real slices the reader learns from, ``[N, H, W, C]``.
        train_values: their covariate (numbers, or category names).
        holdout_images: real slices of other people.
        holdout_values: their true covariate.
        synthetic_images: synthetic slices.
        requested_values: the covariate each was generated for.
        kind: ``"numeric"`` (Pearson r of read against given) or
            ``"categorical"`` (ROC AUC of the read probability of the first
            category, two categories).
        seed: the PCA's seed.
        return_reads: also return what was read (``read_real``,
            ``read_synthetic``: the values, or the probability of the
            second category) beside the given values (``given_real``,
            ``given_synthetic``), for a plot. Rows with a missing value are
            left out of all four.

    Returns:
        ``{"real": ..., "synthetic": ..., "ratio": synthetic / real (for an
        AUC, above chance: (synthetic - 0.5) / (real - 0.5)),
        "metric": "pearson_r" or "roc_auc"}``, plus each side's mean
        absolute error for a number (``real_mae``, ``synthetic_mae``).
        Rows with a missing value are left out.
    """
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LogisticRegression, RidgeCV
    from sklearn.metrics import roc_auc_score
    from sklearn.pipeline import make_pipeline

    def present(images, values):
        values = np.asarray(values, dtype=object)
        keep = np.array([v is not None and v == v and v != "" for v in values])
        return _flat(images)[keep], values[keep]

    x_train, y_train = present(train_images, train_values)
    x_real, y_real = present(holdout_images, holdout_values)
    x_syn, y_syn = present(synthetic_images, requested_values)
    components = min(COMPONENTS, len(x_train) - 1, x_train.shape[1])
    if kind == "numeric":
        reader = make_pipeline(
            PCA(components, random_state=seed),
            RidgeCV(alphas=np.logspace(-2, 4, 13)),
        ).fit(x_train, _numeric(y_train))

        read_real, read_syn = reader.predict(x_real), reader.predict(x_syn)

        def score(read, y):
            y = _numeric(y)
            return _pearson(read, y), float(np.abs(read - y).mean())

        real, real_mae = score(read_real, y_real)
        synthetic, synthetic_mae = score(read_syn, y_syn)
        result = {"metric": "pearson_r", "real": real, "synthetic": synthetic,
                  "ratio": synthetic / real if real else float("nan"),
                  "real_mae": real_mae, "synthetic_mae": synthetic_mae}  # fmt: skip
        if return_reads:
            result.update(read_real=read_real, read_synthetic=read_syn,
                          given_real=_numeric(y_real),
                          given_synthetic=_numeric(y_syn))  # fmt: skip
        return result
    categories = sorted({str(v) for v in y_train})
    if len(categories) != 2:
        raise ValueError(
            f"A categorical read-back needs two categories. Received: {categories}"
        )
    reader = make_pipeline(
        PCA(components, random_state=seed), LogisticRegression(max_iter=2000)
    ).fit(x_train, [str(v) == categories[1] for v in y_train])

    def auc(x, y):
        truth = [str(v) == categories[1] for v in y]
        if len(set(truth)) < 2:
            return float("nan")
        return float(roc_auc_score(truth, reader.predict_proba(x)[:, 1]))

    real, synthetic = auc(x_real, y_real), auc(x_syn, y_syn)
    # An AUC's ratio is above chance: (synthetic - 0.5) / (real - 0.5).
    ratio = (synthetic - 0.5) / (real - 0.5) if real != 0.5 else float("nan")
    result = {"metric": "roc_auc", "real": real, "synthetic": synthetic,
              "ratio": ratio}  # fmt: skip
    if return_reads:
        result.update(read_real=reader.predict_proba(x_real)[:, 1],
                      read_synthetic=reader.predict_proba(x_syn)[:, 1],
                      given_real=y_real, given_synthetic=y_syn)  # fmt: skip
    return result


def tissue_fraction(images, threshold: float = CSF_THRESHOLD) -> np.ndarray:
    """Each slice's brain tissue share: one minus the share of its head mask
    (pixels above `BACKGROUND`, holes filled) darker than `threshold`.
    A slice with no mask gets NaN."""
    from scipy import ndimage

    shares = []
    for image in np.asarray(images, np.float32)[..., 0]:
        mask = ndimage.binary_fill_holes(image > BACKGROUND)
        size = mask.sum()
        shares.append(
            1.0 - ((image < threshold) & mask).sum() / size if size else np.nan
        )
    return np.asarray(shares)


def atrophy_slope(real_images, real_ages, synthetic_images, requested_ages):
    """The tissue share's slope per decade of age, in real and in
    synthetic slices (least squares; NaNs left out).

    Returns:
        ``{"real": slope, "synthetic": slope, "ratio": synthetic / real,
        "real_r": ..., "synthetic_r": ...}`` (the r: tissue share against
        age).
    """

    def fit(images, ages):
        share, ages = tissue_fraction(images), _numeric(ages)
        keep = ~(np.isnan(share) | np.isnan(ages))
        slope = np.polyfit(ages[keep], share[keep], 1)[0] * 10
        return float(slope), _pearson(ages[keep], share[keep])

    (real, real_r), (synthetic, synthetic_r) = (
        fit(real_images, real_ages),
        fit(synthetic_images, requested_ages),
    )
    return {"real": real, "synthetic": synthetic,
            "ratio": synthetic / real if real else float("nan"),
            "real_r": real_r, "synthetic_r": synthetic_r}  # fmt: skip


def conditioning_fidelity(
    train_images, train_rows, holdout_images, holdout_rows, synthetic_images,
    requested_rows, kinds, *, seed=0,
):  # fmt: skip
    """`covariate_readout` for every covariate a reader can read (numbers,
    and categories of two), and `atrophy_slope` against an ``Age``.

    Args:
        train_images, holdout_images, synthetic_images: the slices.
        train_rows, holdout_rows, requested_rows: their rows (DataFrames with
            the covariates as columns; for synthetic slices, what was asked).
        kinds: each covariate's ``"numeric"`` or ``"categorical"``.
        seed: the readers' seed.

    Returns:
        ``{covariate: readout, ..., "atrophy": slopes}`` (``atrophy`` when a
        numeric covariate is called Age, in any case).
    """
    results = {}
    for name, kind in kinds.items():
        values = train_rows[name]
        if kind == "categorical" and values.dropna().astype(str).nunique() != 2:
            continue
        results[name] = covariate_readout(
            train_images, values, holdout_images, holdout_rows[name],
            synthetic_images, requested_rows[name], kind=kind, seed=seed,
        )  # fmt: skip
    ages = [n for n, kind in kinds.items() if kind == "numeric" and n.lower() == "age"]
    if ages:
        results["atrophy"] = atrophy_slope(
            holdout_images, holdout_rows[ages[0]], synthetic_images,
            requested_rows[ages[0]],
        )  # fmt: skip
    return results


# === Privacy of the pair ===

# The reference percentiles of the pair rule: a synthetic patient is a copy
# of a training person when its row is nearer that person than all but 1 %
# of held-out people are to their nearest training person, and one of its
# slices is more like one of that person's than all but 1 % of held-out
# people's slices are like any training slice.
PAIR_PERCENTILE = 1.0


def _row_matrix(rows, reference):
    """Rows as numbers for distances: numeric columns standardised by
    `reference` (a missing value: the column's mean plus a flag), other
    columns one-hot over `reference`'s categories (Gower-like)."""
    import pandas as pd

    parts = []
    for name in reference.columns:
        ref = reference[name]
        if pd.api.types.is_numeric_dtype(ref):
            values = pd.to_numeric(rows[name], errors="coerce").to_numpy(float)
            mean, std = float(np.nanmean(ref)), float(np.nanstd(ref)) or 1.0
            gone = np.isnan(values)
            parts += [
                np.where(gone, 0.0, (values - mean) / std)[:, None],
                gone[:, None],
            ]
        else:
            categories = sorted(ref.dropna().astype(str).unique())
            text = rows[name].astype(str).to_numpy()
            parts.append(text[:, None] == np.asarray(categories)[None, :])
    return np.concatenate(parts, axis=1).astype(float)


def _person_similarity(images_a, people_a, images_b, people_b):
    """``[persons a, persons b]``: the highest NCC between any slice of a
    person of `a` and any slice of a person of `b`."""
    from kerasynth.metrics.memorization import ncc_matrix

    scores = ncc_matrix(images_a, images_b)
    names_a, index_a = np.unique(people_a, return_inverse=True)
    names_b, index_b = np.unique(people_b, return_inverse=True)
    best = np.full((len(names_a), len(names_b)), -np.inf)
    np.maximum.at(best, (index_a[:, None], index_b[None, :]), scores)
    return names_a, names_b, best


def patient_copies(
    synthetic_rows, synthetic_images, synthetic_ids, train_rows, train_images,
    train_ids, holdout_rows, holdout_images, holdout_ids,
):  # fmt: skip
    """Synthetic patients that copy one real person, row and slices at once.

    A synthetic patient is a copy of a training person when its row is
    nearer to that person's row than all but `PAIR_PERCENTILE` % of held-out
    people are to their nearest training person, *and* one of its slices is
    more like one of that person's slices (NCC) than all but
    `PAIR_PERCENTILE` % of held-out people's best matches are. A row near
    someone's (a common age and sex) or a slice like someone's (brains are
    alike) is no copy alone; both for the same person is.

    Args:
        synthetic_rows: a DataFrame, one row per synthetic patient, its
            ``ID`` and the compared columns.
        synthetic_images: ``[M, H, W, C]`` slices in [-1, 1].
        synthetic_ids: the patient ``ID`` of each slice.
        train_rows, train_images, train_ids: the same for the training
            people (one row per person; the compared columns are the
            columns of `train_rows` but ``ID``).
        holdout_rows, holdout_images, holdout_ids: the same for held-out
            people: the reference a fresh person reaches.

    Returns:
        ``{"copies", "share", "holdout_copies", "holdout_share",
        "row_threshold", "image_threshold", "percentile", "pairs"}``: the
        synthetic patients (and, for scale, the held-out people) within
        both thresholds of a training person; `pairs`, the first ten
        (patient, person, row distance, slice similarity).
    """
    columns = [c for c in train_rows.columns if c != "ID"]
    reference = train_rows[columns]

    def side(rows, images, ids):
        rows = rows.drop_duplicates("ID").set_index("ID")
        names, person_index = np.unique(np.asarray(ids, str), return_inverse=True)
        matrix = _row_matrix(rows.loc[names, columns], reference)
        return names, matrix, images, names[person_index]

    train = side(train_rows, train_images, train_ids)
    held = side(holdout_rows, holdout_images, holdout_ids)
    synth = side(synthetic_rows, synthetic_images, synthetic_ids)

    def against_train(other):
        distance = np.sqrt(((other[1][:, None, :] - train[1][None, :, :]) ** 2).sum(-1))
        _, _, similarity = _person_similarity(other[2], other[3], train[2], train[3])
        return distance, similarity

    held_distance, held_similarity = against_train(held)
    row_threshold = float(np.percentile(held_distance.min(axis=1), PAIR_PERCENTILE))
    image_threshold = float(
        np.percentile(held_similarity.max(axis=1), 100 - PAIR_PERCENTILE)
    )

    def copies(distance, similarity):
        return (distance <= row_threshold) & (similarity >= image_threshold)

    synth_distance, synth_similarity = against_train(synth)
    found = copies(synth_distance, synth_similarity)
    pairs = [
        {"patient": str(synth[0][i]), "person": str(train[0][j]),
         "row_distance": float(synth_distance[i, j]),
         "slice_similarity": float(synth_similarity[i, j])}
        for i, j in zip(*np.nonzero(found), strict=True)
    ][:10]  # fmt: skip
    held_found = copies(held_distance, held_similarity).any(axis=1)
    return {
        "copies": int(found.any(axis=1).sum()),
        "share": float(found.any(axis=1).mean()),
        "holdout_copies": int(held_found.sum()),
        "holdout_share": float(held_found.mean()),
        "row_threshold": row_threshold,
        "image_threshold": image_threshold,
        "percentile": PAIR_PERCENTILE,
        "pairs": pairs,
    }
