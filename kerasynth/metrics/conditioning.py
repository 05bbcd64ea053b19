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


def _numeric(values) -> np.ndarray:
    return np.asarray(values, dtype=np.float64)


def covariate_readout(
    train_images, train_values, holdout_images, holdout_values,
    synthetic_images, requested_values, *, kind="numeric", seed=0,
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

        def score(x, y):
            read = reader.predict(x)
            y = _numeric(y)
            return float(np.corrcoef(read, y)[0, 1]), float(np.abs(read - y).mean())

        (real, real_mae), (synthetic, synthetic_mae) = (
            score(x_real, y_real),
            score(x_syn, y_syn),
        )
        return {"metric": "pearson_r", "real": real, "synthetic": synthetic,
                "ratio": synthetic / real if real else float("nan"),
                "real_mae": real_mae, "synthetic_mae": synthetic_mae}  # fmt: skip
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
    return {"metric": "roc_auc", "real": real, "synthetic": synthetic,
            "ratio": ratio}  # fmt: skip


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
        return float(slope), float(np.corrcoef(ages[keep], share[keep])[0, 1])

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
