"""Table fidelity metrics: real and synthetic DataFrames column by column.

This module gathers the table metrics under one name; each lives in a
module of its own:

- `kerasynth.metrics.column_statistics`: `table_one` (the study's Table I),
  `ks_tests`, `ks_statistics`, `mean_ks`, `categorical_tests`,
  `correlations`.
- `kerasynth.metrics.quality`: `quality_score`, sdmetrics 0.32's
  `QualityReport` (Column Shapes, Column Pair Trends over the pairs whose
  real association meets its threshold, overall), and the all-pairs trends.
- `kerasynth.metrics.relationships`: `relationships`, every strongly
  associated pair of columns, real next to synthetic, and the worst gap.
- `kerasynth.metrics.detection`: `detection_auc`, a random forest telling
  real rows from synthetic ones.
- `kerasynth.metrics.table_features`: `prepare_features` and
  `feature_encoder`, the one-hot and standardised features shared with
  `kerasynth.metrics.privacy` and `kerasynth.metrics.utility`.
- `kerasynth.metrics.columns`: `column_kinds`, `numeric_columns` and the
  column helpers.

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

from kerasynth.metrics.column_statistics import (
    categorical_tests,
    correlations,
    ks_statistics,
    ks_tests,
    mean_ks,
    table_one,
)
from kerasynth.metrics.columns import column_kinds, numeric_columns
from kerasynth.metrics.detection import detection_auc
from kerasynth.metrics.quality import CONTINGENCY_BINS, quality_score
from kerasynth.metrics.relationships import relationships
from kerasynth.metrics.table_features import (
    MISSING_LABEL,
    feature_encoder,
    prepare_features,
)

__all__ = [
    "CONTINGENCY_BINS",
    "MISSING_LABEL",
    "categorical_tests",
    "column_kinds",
    "correlations",
    "detection_auc",
    "feature_encoder",
    "ks_statistics",
    "ks_tests",
    "mean_ks",
    "numeric_columns",
    "prepare_features",
    "quality_score",
    "relationships",
    "table_one",
]
