"""Table fidelity metrics: real and synthetic DataFrames column by column.

What each function compares, and how it treats missing values:

- `table_one`: the study's Table I, mean, standard deviation, skewness and
  kurtosis of every numerical column, real next to synthetic (missing values
  left out).
- `ks_tests`: the two-sample Kolmogorov-Smirnov statistic and p-value per
  numerical column (missing values left out).
- `categorical_tests`: Pearson's chi-square test of homogeneity and the
  total-variation distance per categorical column (missing is a category).
- `correlations`: Pearson correlation matrices and their difference
  (pairwise-complete rows).
- `quality_score`: the SDMetrics quality score, written from its definition
  (Column Shapes, Column Pair Trends, their mean); see its docstring.
- `detection_auc`: how well a classifier tells real rows from synthetic ones.

`column_kinds`, `prepare_features` and `feature_encoder` (one-hot and
standardised features for scikit-learn) are shared with
`kerasynth.metrics.privacy` and `kerasynth.metrics.utility`.

Column kinds are those of the real table's `TableSchema`, the rule the
`TableTransformer` models the table by (`kerasynth.data.schema.infer_schema`:
bool, text and `category` columns are categorical, and so is a numeric column
of at most 10 distinct values each seen twice on average, such as OASIS
`CDR`; other numeric columns are numerical; date/time columns are rejected).
A `metadata` mapping `{"column": "categorical" | "numerical"}` overrides
some; `schema=` (a run's `transformer.schema`) gives them all, so that a
run's report judges every column as its model was trained on it. The columns
compared are those of the real table; the synthetic table must have them all
(extra columns are ignored).

Every function returns plain Python types (or a DataFrame for `table_one`)
that `json.dumps` accepts; an undefined value (a correlation of a constant
column, a test on an empty column) is `None` rather than NaN.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy import stats
from scipy.stats.contingency import association

from kerasynth.data.schema import KINDS, TableSchema, infer_schema

# Equal-width bins for a numerical column paired with a categorical one in
# the contingency similarity: numpy's default, which SDMetrics' report uses.
CONTINGENCY_BINS = 10
MISSING_LABEL = "<missing>"  # the missing category, in one-hot features
_DETECTION_CLASSIFIERS = ("boosting", "logistic")
_DETECTION_FOLDS = 5


def numeric_columns(frame: pd.DataFrame) -> list[str]:
    """The columns of `frame` with a numeric (not boolean) dtype."""
    return [
        c
        for c in frame.columns
        if pd.api.types.is_numeric_dtype(frame[c])
        and not pd.api.types.is_bool_dtype(frame[c])
    ]


def column_kinds(
    frame: pd.DataFrame, metadata: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Each column's kind, `"categorical"` or `"numerical"`.

    The kinds of `infer_schema(frame)`, the `TableTransformer`'s rule (see
    the module docstring), unless `metadata` names them.

    Args:
        frame: the (real) table.
        metadata: optional `{column: "categorical" | "numerical"}` overrides.

    Returns:
        `{column: kind}` in the frame's column order.

    Raises:
        ValueError: `metadata` names an unknown column or kind; a column has
            a date/time or other dtype that is neither kind, or is a text
            column of numbers with a typo.
    """
    _check_frame(frame, "real")
    metadata = dict(metadata or {})
    available = [str(c) for c in frame.columns]
    for name, kind in metadata.items():
        if name not in frame.columns:
            raise ValueError(
                f"`metadata` names unknown column {name!r}. Available columns: "
                f"{available}"
            )
        if kind not in KINDS:
            raise ValueError(
                f"`metadata` gives column {name!r} the kind {kind!r}; expected "
                f"one of {KINDS}"
            )
    declared = {kind: [n for n, k in metadata.items() if k == kind] for kind in KINDS}
    return infer_schema(frame, **declared).kinds


# === Per-column statistics ===


def ks_statistics(
    real: pd.DataFrame, synthetic: pd.DataFrame, columns: list[str] | None = None
) -> dict[str, float]:
    """The two-sample Kolmogorov-Smirnov statistic per numeric column.

    0 means the two empirical distributions are identical, 1 that they do
    not overlap. Missing values are left out of both samples.

    Args:
        real: the real table.
        synthetic: the synthetic table (same columns).
        columns: the columns to compare (default: the numeric ones of `real`).
    """
    columns = columns or numeric_columns(real)
    missing = [c for c in columns if c not in synthetic.columns]
    if missing:
        raise ValueError(f"Synthetic table lacks columns {missing}.")
    result = {}
    for column in columns:
        a = pd.to_numeric(real[column], errors="coerce").dropna().to_numpy()
        b = pd.to_numeric(synthetic[column], errors="coerce").dropna().to_numpy()
        if len(a) == 0 or len(b) == 0:
            result[column] = 1.0
            continue
        result[column] = float(stats.ks_2samp(a, b).statistic)
    return result


def mean_ks(real: pd.DataFrame, synthetic: pd.DataFrame, columns=None) -> float:
    """The mean of `ks_statistics` over the columns."""
    return float(np.mean(list(ks_statistics(real, synthetic, columns).values())))


def table_one(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    *,
    metadata: Mapping[str, str] | None = None,
    schema: TableSchema | None = None,
) -> pd.DataFrame:
    """The study's Table I: moments of every numerical column, real and synthetic.

    For each numerical column: the mean, the standard deviation (sample,
    `ddof=1`), the skewness and the kurtosis, real next to synthetic.
    Skewness is the adjusted Fisher-Pearson coefficient `G1`
    (`scipy.stats.skew(bias=False)`) and kurtosis is Fisher's *excess*
    kurtosis, bias-corrected (`scipy.stats.kurtosis(fisher=True, bias=False)`,
    0 for a normal distribution): the same numbers as pandas' `skew()` and
    `kurt()`. Missing values are left out; a statistic the sample is too small
    for (skewness needs 3 values, kurtosis 4) is NaN.

    Args:
        real: the real table.
        synthetic: the synthetic table (it must have the real columns).
        metadata: optional `{column: "categorical" | "numerical"}` overrides of
            the inferred kinds.
        schema: the kinds of every column, as a `TableSchema` (a run's
            `transformer.schema`), instead of inferring them; not with
            `metadata`.

    Returns:
        A DataFrame indexed by column name, with the columns `real_mean`,
        `synthetic_mean`, `real_std`, `synthetic_std`, `real_skewness`,
        `synthetic_skewness`, `real_kurtosis`, `synthetic_kurtosis`.
        `frame.to_dict(orient="index")` makes it JSON-ready.

    Example:

    >>> table = table_one(train, tvae_rows)  # OASIS, 305 training rows
    >>> table.loc["Age", ["real_mean", "synthetic_mean"]].round(2).tolist()
    [51.14, 54.57]
    """
    kinds = _checked_kinds(real, synthetic, metadata, schema)
    rows = {}
    for column in _of_kind(kinds, "numerical"):
        row = {}
        sides = {
            "real": _numbers(real, column, "real"),
            "synthetic": _numbers(synthetic, column, "synthetic"),
        }
        for statistic in ("mean", "std", "skewness", "kurtosis"):
            for side, values in sides.items():
                row[f"{side}_{statistic}"] = _moment(values, statistic)
        rows[column] = row
    columns = [
        f"{side}_{statistic}"
        for statistic in ("mean", "std", "skewness", "kurtosis")
        for side in ("real", "synthetic")
    ]
    result = pd.DataFrame.from_dict(rows, orient="index", columns=columns)
    result.index.name = "column"
    return result.astype("float64")


def ks_tests(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    *,
    metadata: Mapping[str, str] | None = None,
    schema: TableSchema | None = None,
) -> dict[str, dict[str, float | None]]:
    """Two-sample Kolmogorov-Smirnov test per numerical column.

    The statistic is the largest gap between the two empirical CDFs (0: same
    distribution, 1: no overlap); the p-value is scipy's two-sided one
    (`ks_2samp`, exact for small samples). Missing values are left out. A
    column with no value on one side gets statistic 1 and p-value `None`.

    Args:
        real: the real table.
        synthetic: the synthetic table (it must have the real columns).
        metadata: optional `{column: "categorical" | "numerical"}` overrides.
        schema: the kinds of every column, as a `TableSchema` (a run's
            `transformer.schema`), instead of inferring them; not with
            `metadata`.

    Returns:
        `{column: {"statistic": float, "p_value": float | None}}`.
    """
    kinds = _checked_kinds(real, synthetic, metadata, schema)
    result = {}
    for column in _of_kind(kinds, "numerical"):
        a = _present(_numbers(real, column, "real"))
        b = _present(_numbers(synthetic, column, "synthetic"))
        if a.size == 0 or b.size == 0:
            result[column] = {"statistic": 1.0, "p_value": None}
            continue
        test = stats.ks_2samp(a, b)
        result[column] = {
            "statistic": float(test.statistic),
            "p_value": float(test.pvalue),
        }
    return result


def categorical_tests(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    *,
    metadata: Mapping[str, str] | None = None,
    schema: TableSchema | None = None,
) -> dict[str, dict[str, float]]:
    """Chi-square test and total-variation distance per categorical column.

    The counts of each category in the real and the synthetic table form a
    2 x K contingency table over the union of their categories (a category
    absent on one side counts 0 there); `chi2` is Pearson's chi-square
    statistic of homogeneity on it, without Yates' continuity correction
    (`scipy.stats.chi2_contingency(correction=False)`), and `p_value` its
    p-value with K - 1 degrees of freedom (1 when both tables hold a single,
    shared category). `tvd` is the total-variation distance of the two
    frequency vectors, `0.5 * sum |p_real - p_synthetic|` (0: same
    frequencies, 1: disjoint categories). Missing values are one more
    category, as the `TableTransformer` models them. (The `quality_score`'s
    TVComplement leaves them out instead, as SDMetrics does.)

    Args:
        real: the real table.
        synthetic: the synthetic table (it must have the real columns).
        metadata: optional `{column: "categorical" | "numerical"}` overrides.
        schema: the kinds of every column, as a `TableSchema` (a run's
            `transformer.schema`), instead of inferring them; not with
            `metadata`.

    Returns:
        `{column: {"chi2": float, "p_value": float, "tvd": float}}`.

    Raises:
        ValueError: a column has no rows on one side.
    """
    kinds = _checked_kinds(real, synthetic, metadata, schema)
    result = {}
    for column in _of_kind(kinds, "categorical"):
        for frame, side in ((real, "real"), (synthetic, "synthetic")):
            if len(frame) == 0:
                raise ValueError(
                    f"Cannot test column {column!r}: the {side} table has no rows"
                )
        real_codes, synthetic_codes = _joint_codes(real, synthetic, [column], {})
        size = int(max(real_codes.max(), synthetic_codes.max())) + 1
        counts = np.stack(
            [
                np.bincount(real_codes, minlength=size),
                np.bincount(synthetic_codes, minlength=size),
            ]
        )
        if size == 1:
            chi2, p_value = 0.0, 1.0
        else:
            test = stats.chi2_contingency(counts, correction=False)
            chi2, p_value = float(test.statistic), float(test.pvalue)
        result[column] = {
            "chi2": chi2,
            "p_value": p_value,
            "tvd": _total_variation(counts[0], counts[1]),
        }
    return result


def correlations(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    *,
    metadata: Mapping[str, str] | None = None,
    schema: TableSchema | None = None,
) -> dict:
    """Pearson correlation matrices of the numerical columns and their difference.

    Each coefficient uses the rows where both columns have a value (pandas'
    pairwise-complete `DataFrame.corr`). The matrices are nested dicts, JSON
    ready; `pd.DataFrame(result["real"])` rebuilds a matrix for a heatmap. A
    coefficient involving a constant column is undefined (`None`).

    Args:
        real: the real table.
        synthetic: the synthetic table (it must have the real columns).
        metadata: optional `{column: "categorical" | "numerical"}` overrides.
        schema: the kinds of every column, as a `TableSchema` (a run's
            `transformer.schema`), instead of inferring them; not with
            `metadata`.

    Returns:
        `{"real": {col: {col: r}}, "synthetic": ..., "difference": ...
        (synthetic minus real), "mean_abs_difference": float | None}`, the
        last the mean of `|difference|` over the column pairs above the
        diagonal where both coefficients are defined (`None` if none is).
    """
    kinds = _checked_kinds(real, synthetic, metadata, schema)
    columns = _of_kind(kinds, "numerical")
    matrices = {}
    for frame, side in ((real, "real"), (synthetic, "synthetic")):
        numbers = pd.DataFrame(
            {c: _numbers(frame, c, side) for c in columns}, columns=columns
        )
        matrices[side] = numbers.corr(method="pearson")
    difference = matrices["synthetic"] - matrices["real"]
    upper = np.triu(np.ones((len(columns), len(columns)), dtype=bool), k=1)
    gaps = np.abs(difference.to_numpy())[upper]
    gaps = gaps[~np.isnan(gaps)]
    return {
        "real": _nested(matrices["real"]),
        "synthetic": _nested(matrices["synthetic"]),
        "difference": _nested(difference),
        "mean_abs_difference": float(gaps.mean()) if gaps.size else None,
    }


# === Quality score ===


def quality_score(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    metadata: Mapping[str, str] | None = None,
    *,
    real_correlation_threshold: float = 0.0,
    real_association_threshold: float = 0.0,
    schema: TableSchema | None = None,
) -> dict:
    """The SDMetrics quality score: column shapes, column-pair trends, overall.

    Written in the project from the definitions of SDMetrics' single-table
    `QualityReport` (https://docs.sdv.dev/sdmetrics, "Quality Report: What's
    included?"); a test checks it against the `sdmetrics` package.

    - **Column Shapes**: the mean over columns of KSComplement, `1 - KS
      statistic`, for numerical columns and TVComplement, `1 - TVD` of the
      category frequencies, for categorical ones. Both leave missing values
      out, as SDMetrics does.
    - **Column Pair Trends**: the mean over column pairs of
      CorrelationSimilarity, `1 - |r_real - r_synthetic| / 2` with Pearson's
      `r` on the rows where both values are present, for two numerical
      columns, and ContingencySimilarity, `1 - TVD` of the two normalised
      joint contingency tables (missing values are one more category), for a
      pair with a categorical column. In a mixed pair the numerical column is
      cut into 10 equal-width bins spanning *its own table's* range
      (`numpy.histogram_bin_edges`), as SDMetrics' report does (so a
      shifted column is judged by KSComplement and the correlations, not
      here); the top bin is closed as in `numpy.histogram` and missing values
      stay a bin of their own (SDMetrics' `np.digitize` puts a table's
      maximum in an extra bin, together with the missing values: a
      difference of about 1 / rows per mixed pair).
    - **Overall**: the mean of the two.

    A score that is undefined (a column entirely missing on one side, a
    correlation with a constant column) is `None` in the details and left
    out of the means, as in SDMetrics. With a single column there are no
    pairs: `column_pair_trends` is `None` and `overall` equals
    `column_shapes`.

    Since version 0.2x, SDMetrics' report counts only pairs whose real
    association is strong (`|r_real| > 0.5`, Cramer's V > 0.3); the two
    thresholds reproduce that, and their default 0 is the classic definition
    in which every pair counts. Excluded pairs keep their score in the
    details with `"contributes": False`.

    Args:
        real: the real table; its columns are scored.
        synthetic: the synthetic table (it must have the real columns).
        metadata: optional `{column: "categorical" | "numerical"}` overrides of
            the inferred kinds.
        schema: the kinds of every column, as a `TableSchema` (a run's
            `transformer.schema`), instead of inferring them; not with
            `metadata`.
        real_correlation_threshold: a numerical pair counts only when
            `|r_real|` exceeds it (0: every pair counts).
        real_association_threshold: a pair with a categorical column counts
            only when Cramer's V of its real contingency table exceeds it.

    Returns:
        `{"overall", "column_shapes", "column_pair_trends", "details":
        {"kinds": {col: kind}, "column_shapes": {col: {"metric", "score"}},
        "column_pair_trends": [{"columns": [a, b], "metric", "score",
        "real_correlation", "synthetic_correlation", "real_association",
        "contributes"}]}}`; the scores are in [0, 1], 1 the best.

    Example:

    >>> score = quality_score(train, tvae_rows)  # OASIS five columns
    >>> round(score["overall"], 3), round(score["column_shapes"], 3)
    (0.874, 0.93)
    """
    for name, value in (
        ("real_correlation_threshold", real_correlation_threshold),
        ("real_association_threshold", real_association_threshold),
    ):
        if not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
            raise ValueError(f"`{name}` must be a number in [0, 1]. Received: {value}")
    kinds = _checked_kinds(real, synthetic, metadata, schema)
    shapes = {}
    for column, kind in kinds.items():
        if kind == "numerical":
            a = _present(_numbers(real, column, "real"))
            b = _present(_numbers(synthetic, column, "synthetic"))
            score = None
            if a.size and b.size:
                score = 1.0 - float(stats.ks_2samp(a, b).statistic)
            shapes[column] = {"metric": "KSComplement", "score": score}
        else:
            # TVComplement compares the present values only.
            present = real[column].dropna(), synthetic[column].dropna()
            score = None
            if len(present[0]) and len(present[1]):
                codes, size = _category_codes(np.concatenate(present))
                tvd = _total_variation(
                    np.bincount(codes[: len(present[0])], minlength=size),
                    np.bincount(codes[len(present[0]) :], minlength=size),
                )
                score = 1.0 - tvd
            shapes[column] = {"metric": "TVComplement", "score": score}

    bins = {
        side: {
            column: _bin_codes(_numbers(frame, column, side))
            for column in _of_kind(kinds, "numerical")
        }
        for frame, side in ((real, "real"), (synthetic, "synthetic"))
    }
    pairs = []
    for first, second in itertools.combinations(kinds, 2):
        if kinds[first] == kinds[second] == "numerical":
            pairs.append(
                _correlation_similarity(
                    real, synthetic, first, second, real_correlation_threshold
                )
            )
        else:
            pairs.append(
                _contingency_similarity(
                    real, synthetic, (first, second), bins, real_association_threshold
                )
            )

    column_shapes = _mean(entry["score"] for entry in shapes.values())
    column_pair_trends = _mean(
        entry["score"] for entry in pairs if entry["contributes"]
    )
    overall = _mean([column_shapes, column_pair_trends])
    return {
        "overall": overall,
        "column_shapes": column_shapes,
        "column_pair_trends": column_pair_trends,
        "details": {
            "kinds": kinds,
            "column_shapes": shapes,
            "column_pair_trends": pairs,
        },
    }


def _correlation_similarity(real, synthetic, first, second, threshold) -> dict:
    coefficients = []
    for frame, side in ((real, "real"), (synthetic, "synthetic")):
        a, b = _numbers(frame, first, side), _numbers(frame, second, side)
        both = ~(np.isnan(a) | np.isnan(b))
        coefficients.append(_pearson(a[both], b[both]))
    r_real, r_synthetic = coefficients
    score = None
    if r_real is not None and r_synthetic is not None:
        score = 1.0 - abs(r_real - r_synthetic) / 2.0
    contributes = score is not None and (
        threshold <= 0 or (r_real is not None and abs(r_real) > threshold)
    )
    return {
        "columns": [first, second],
        "metric": "CorrelationSimilarity",
        "score": score,
        "real_correlation": r_real,
        "synthetic_correlation": r_synthetic,
        "real_association": None,
        "contributes": contributes,
    }


def _contingency_similarity(real, synthetic, pair, bins, threshold) -> dict:
    first, second = pair
    binned = {
        "real": {c: bins["real"][c] for c in (first, second) if c in bins["real"]},
        "synthetic": {
            c: bins["synthetic"][c] for c in (first, second) if c in bins["synthetic"]
        },
    }
    real_codes, synthetic_codes = _joint_codes(real, synthetic, [first, second], binned)
    size = int(max(real_codes.max(initial=0), synthetic_codes.max(initial=0))) + 1
    real_counts = np.bincount(real_codes, minlength=size)
    synthetic_counts = np.bincount(synthetic_codes, minlength=size)
    score = None
    if real_counts.sum() and synthetic_counts.sum():
        score = 1.0 - _total_variation(real_counts, synthetic_counts)
    strength = None
    if threshold > 0 and real_counts.sum():
        strength = _cramers_v(real, first, second, binned["real"])
    contributes = score is not None and (
        threshold <= 0 or (strength is not None and strength > threshold)
    )
    return {
        "columns": [first, second],
        "metric": "ContingencySimilarity",
        "score": score,
        "real_correlation": None,
        "synthetic_correlation": None,
        "real_association": strength,
        "contributes": contributes,
    }


def _cramers_v(real, first, second, binned) -> float | None:
    """Cramer's V (no bias correction) of the real contingency table."""
    codes = [
        _category_codes(binned[c] if c in binned else real[c])[0]
        for c in (first, second)
    ]
    table = pd.crosstab(codes[0], codes[1]).to_numpy()
    if min(table.shape) < 2:
        return None
    return float(association(table, method="cramer"))


def _bin_codes(values: np.ndarray, bins: int = CONTINGENCY_BINS) -> np.ndarray:
    """Equal-width bin index (0..bins-1) of each value over its own range.

    Missing values stay NaN. The top bin includes the maximum, like
    `numpy.histogram`.
    """
    present = _present(values)
    if present.size == 0:
        return values.copy()
    edges = np.histogram_bin_edges(present, bins=bins)
    codes = np.digitize(values, edges[1:-1]).astype(np.float64)
    codes[np.isnan(values)] = np.nan
    return codes


# === Detection ===


def detection_auc(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    seed: int = 0,
    *,
    classifier: str = "boosting",
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
    are those of `feature_encoder`: numerical columns standardised (missing
    values imputed with the median, plus a 0/1 missing flag), categorical
    columns one-hot (missing is a category), fitted on each training fold
    only.

    Args:
        real: the real table.
        synthetic: the synthetic table (it must have the real columns).
        seed: seeds the folds and the classifier.
        classifier: `"boosting"` (default), scikit-learn's
            `HistGradientBoostingClassifier` (100 trees, no early stopping),
            which also sees differences in spread, shape and interactions;
            or `"logistic"`, a `LogisticRegression` as SDMetrics'
            LogisticDetection, which sees only differences a linear boundary
            can separate (mostly in the means).
        metadata: optional `{column: "categorical" | "numerical"}` overrides.
        schema: the kinds of every column, as a `TableSchema` (a run's
            `transformer.schema`), instead of inferring them; not with
            `metadata`.

    Returns:
        The out-of-fold ROC AUC, a float in [0, 1].

    Raises:
        ValueError: an unknown `classifier`; fewer than 2 rows on a side.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from threadpoolctl import threadpool_limits

    if classifier not in _DETECTION_CLASSIFIERS:
        raise ValueError(
            f"`classifier` must be one of {_DETECTION_CLASSIFIERS}. "
            f"Received: classifier={classifier!r}"
        )
    kinds = _checked_kinds(real, synthetic, metadata, schema)
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
    if classifier == "boosting":
        model = HistGradientBoostingClassifier(
            max_iter=100, early_stopping=False, random_state=seed
        )
    else:
        model = LogisticRegression(max_iter=1000)
    folds = StratifiedKFold(
        n_splits=min(_DETECTION_FOLDS, len(real), len(synthetic)),
        shuffle=True,
        random_state=seed,
    )
    # One OpenMP thread: on small tables and a busy 2-core machine, the
    # boosting's threads spin-wait and a run took 10x longer (same result).
    with threadpool_limits(limits=1, user_api="openmp"):
        probabilities = cross_val_predict(
            make_pipeline(feature_encoder(kinds), model),
            features,
            labels,
            cv=folds,
            method="predict_proba",
        )[:, 1]
    return float(roc_auc_score(labels, probabilities))


# === Features shared with privacy and utility ===


def prepare_features(
    frame: pd.DataFrame, kinds: Mapping[str, str], side: str = "input"
) -> pd.DataFrame:
    """The columns of `kinds`, typed for `feature_encoder`.

    Numerical columns become float64 (missing: NaN); categorical ones become
    text, with `MISSING_LABEL` for missing values, so mixed or
    unorderable category values one-hot encode the same way on every side.

    Args:
        frame: a table with the columns of `kinds`.
        kinds: `{column: "categorical" | "numerical"}` (see `column_kinds`).
        side: the table's name in error messages (`"real"`, `"synthetic"`).

    Raises:
        ValueError: a column is absent, or a numerical column holds text
            that is not a number.
    """
    _check_frame(frame, side)
    absent = [c for c in kinds if c not in frame.columns]
    if absent:
        raise ValueError(
            f"Column {absent[0]!r} is missing from the {side} table (it has "
            f"{[str(c) for c in frame.columns]})"
        )
    columns = {}
    for column, kind in kinds.items():
        if kind == "numerical":
            columns[column] = _numbers(frame, column, side)
        else:
            values = frame[column].astype(object)
            text = values.map(str).where(values.notna(), MISSING_LABEL)
            columns[column] = text.to_numpy(dtype=object)
    return pd.DataFrame(columns, columns=list(kinds))


def feature_encoder(kinds: Mapping[str, str]):
    """An unfitted scikit-learn transformer: one-hot and standardised features.

    For the output of `prepare_features`: numerical columns are imputed with
    their median and standardised to z-scores, with a 0/1 missing flag for
    every column that had missing values when fitted; categorical columns are
    one-hot (0/1, unscaled; a category unseen when fitted encodes as all
    zeros). Fit it on the training side only.

    Args:
        kinds: `{column: "categorical" | "numerical"}`.

    Returns:
        A `sklearn.compose.ColumnTransformer`.
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import MissingIndicator, SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numerical = _of_kind(kinds, "numerical")
    categorical = _of_kind(kinds, "categorical")
    parts = []
    if numerical:
        parts.append(
            (
                "numerical",
                make_pipeline(SimpleImputer(strategy="median"), StandardScaler()),
                numerical,
            )
        )
        parts.append(
            (
                "missing",
                MissingIndicator(features="missing-only", error_on_new=False),
                numerical,
            )
        )
    if categorical:
        parts.append(
            (
                "categorical",
                OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                categorical,
            )
        )
    return ColumnTransformer(parts, sparse_threshold=0.0)


# === Helpers ===


def _check_frame(frame, side: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise ValueError(
            f"The {side} table must be a pandas DataFrame. Received: "
            f"{type(frame).__name__}"
        )


def _checked_kinds(real, synthetic, metadata, schema) -> dict[str, str]:
    """The real columns' kinds, after checking the synthetic table has them."""
    if schema is None:
        kinds = column_kinds(real, metadata)
    elif metadata is not None:
        raise ValueError(
            "Pass the column kinds either as `schema` or as `metadata`, not both"
        )
    elif not isinstance(schema, TableSchema):
        raise ValueError(
            f"`schema` must be a TableSchema. Received: {type(schema).__name__}"
        )
    else:
        _check_frame(real, "real")
        absent = [c for c in real.columns if c not in schema.names]
        if absent:
            raise ValueError(
                f"Column {absent[0]!r} of the real table is not in `schema` "
                f"(it has {schema.names})"
            )
        kinds = {column: schema.column(column).kind for column in real.columns}
    _check_frame(synthetic, "synthetic")
    for column in kinds:
        if column not in synthetic.columns:
            raise ValueError(
                f"Column {column!r} of the real table is missing from the "
                f"synthetic table (it has {[str(c) for c in synthetic.columns]})"
            )
    return kinds


def _of_kind(kinds: Mapping[str, str], kind: str) -> list[str]:
    return [column for column, k in kinds.items() if k == kind]


def _numbers(frame: pd.DataFrame, column: str, side: str) -> np.ndarray:
    """A column as float64 (missing: NaN); text that is no number is an error."""
    values = frame[column]
    if isinstance(values.dtype, pd.CategoricalDtype):
        values = values.astype(object)
    if pd.api.types.is_bool_dtype(values.dtype):
        values = values.astype("float64")
    converted = pd.to_numeric(values, errors="coerce")
    bad = converted.isna() & values.notna()
    if bad.any():
        raise ValueError(
            f"Column {column!r} of the {side} table is numerical but holds "
            f"non-numeric values such as {values[bad].iloc[0]!r}"
        )
    return converted.to_numpy(dtype=np.float64, na_value=np.nan)


def _present(values: np.ndarray) -> np.ndarray:
    return values[~np.isnan(values)]


def _moment(values: np.ndarray, statistic: str) -> float:
    values = _present(values)
    needed = {"mean": 1, "std": 2, "skewness": 3, "kurtosis": 4}[statistic]
    if values.size < needed:
        return float("nan")
    if statistic == "mean":
        return float(values.mean())
    if statistic == "std":
        return float(values.std(ddof=1))
    if np.ptp(values) == 0:
        return float("nan")  # undefined for a constant sample
    if statistic == "skewness":
        return float(stats.skew(values, bias=False))
    return float(stats.kurtosis(values, fisher=True, bias=False))


def _pearson(a: np.ndarray, b: np.ndarray) -> float | None:
    if a.size < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return None
    return float(np.corrcoef(a, b)[0, 1])


def _category_codes(values) -> tuple[np.ndarray, int]:
    """Integer codes of values (missing: 0, others 1..) and their count."""
    codes, uniques = pd.factorize(pd.Series(values).astype(object))
    return codes + 1, len(uniques) + 1


def _joint_codes(real, synthetic, columns, binned) -> tuple[np.ndarray, np.ndarray]:
    """One integer per row for the joint value of `columns`, shared by both tables.

    Values are matched across the tables by equality; missing values share
    code 0 in each column. `binned[side][column]`, when given, replaces a
    column's values by its bin codes.
    """
    n_real = len(real)
    joint_real = np.zeros(n_real, np.int64)
    joint_synthetic = np.zeros(len(synthetic), np.int64)
    for column in columns:
        sides = []
        for frame, side in ((real, "real"), (synthetic, "synthetic")):
            sides.append(
                binned[side][column]
                if column in binned.get(side, {})
                else frame[column].astype(object).to_numpy()
            )
        codes, count = _category_codes(np.concatenate(sides))
        joint_real = joint_real * count + codes[:n_real]
        joint_synthetic = joint_synthetic * count + codes[n_real:]
    # Re-number so bincount stays small whatever the number of columns.
    _, dense = np.unique(np.r_[joint_real, joint_synthetic], return_inverse=True)
    return dense[:n_real], dense[n_real:]


def _total_variation(a: np.ndarray, b: np.ndarray) -> float:
    p = a / a.sum()
    q = b / b.sum()
    return float(0.5 * np.abs(p - q).sum())


def _mean(values) -> float | None:
    values = [v for v in values if v is not None]
    return float(np.mean(values)) if values else None


def _nested(matrix: pd.DataFrame) -> dict[str, dict[str, float | None]]:
    return {
        str(row): {
            str(column): None if pd.isna(value) else float(value)
            for column, value in values.items()
        }
        for row, values in matrix.iterrows()
    }
