"""Public facts about a table: what a private model may read without budget.

A differentially private model must not read a column's range, its
categories or their frequencies off the data: one patient's age can be the
maximum. The user states them instead, in the metadata file
(``--metadata``), as a data dictionary would::

    {"columns": {
        "M/F": {"kind": "categorical", "categories": ["F", "M"]},
        "Age": {"kind": "numerical", "bounds": [18, 100]},
        "MMSE": {"kind": "numerical", "bounds": [0, 30], "missing": true}}}

Values outside the bounds are clipped into them (the usual DP practice: a
clipped value still counts once), a category that is not declared is an
error. `missing` says whether a column may be missing; left out, it is
read from the data (one bit per column, listed as not covered).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kerasynth.data.column_values import python_value
from kerasynth.data.encoders.base import category_label


def public_facts(metadata: str | Path | Mapping | None, columns, kinds) -> dict:
    """``{column: {"bounds": (low, high)} | {"categories": [...]}, ...}`` for
    every column of `columns`, from the metadata; a column without them is
    a `ValueError` naming it (a private run is refused).

    Args:
        metadata: the metadata file or its content.
        columns: the modelled columns, in order.
        kinds: ``{column: "categorical" | "numerical"}`` (the schema's).
    """
    from kerasynth.data.schema import read_metadata

    if isinstance(metadata, str | Path):
        metadata = read_metadata(Path(metadata))
    declared = (metadata or {}).get("columns", {})
    if isinstance(declared, list):
        declared = {spec.get("name"): spec for spec in declared}
    facts = {}
    for name in columns:
        spec = declared.get(name) or {}
        if kinds[name] == "numerical":
            bounds = spec.get("bounds")
            if not (
                isinstance(bounds, list | tuple)
                and len(bounds) == 2
                and all(_is_number(b) for b in bounds)
                and bounds[0] < bounds[1]
            ):
                raise ValueError(
                    f"A differentially private run reads no range off the data: "
                    f'give column {name!r} "bounds": [low, high] in --metadata. '
                    f"Received: {spec or 'nothing'}"
                )
            facts[name] = {"bounds": (float(bounds[0]), float(bounds[1]))}
        else:
            categories = spec.get("categories")
            if not isinstance(categories, list) or not categories:
                raise ValueError(
                    f"A differentially private run reads no categories off the "
                    f'data: give column {name!r} "categories": [...] in '
                    f"--metadata. Received: {spec or 'nothing'}"
                )
            facts[name] = {"categories": [python_value(c, name) for c in categories]}
        if "missing" in spec:
            if not isinstance(spec["missing"], bool):
                raise ValueError(
                    f"Metadata column {name!r}: missing must be true or false. "
                    f"Received: {spec['missing']!r}"
                )
            facts[name]["missing"] = spec["missing"]
    return facts


def public_frame(frame: pd.DataFrame, facts: Mapping[str, Any], rows=1000):
    """A table made of the public facts only, for fitting a transformer
    without reading the data: each number on an even grid over its bounds,
    each declared category, a missing value where the column may miss.
    Column dtypes follow `frame` (the schema is public)."""
    columns = {}
    for name, fact in facts.items():
        if "bounds" in fact:
            values = np.linspace(*fact["bounds"], rows)
            missing = fact.get("missing", bool(frame[name].isna().any()))
            if missing:
                values[-1] = np.nan
            columns[name] = values
        else:
            values = list(fact["categories"])
            values = (values * (rows // len(values) + 1))[:rows]
            if fact.get("missing", bool(frame[name].isna().any())):
                values[-1] = None
            series = pd.Series(values, dtype=object)
            if pd.api.types.is_numeric_dtype(frame[name].dtype):
                series = pd.to_numeric(series).astype(float)
            columns[name] = series
    return pd.DataFrame(columns)


def clip_to_facts(frame: pd.DataFrame, facts: Mapping[str, Any]) -> pd.DataFrame:
    """`frame` with numbers clipped into their public bounds and every
    category checked against the declared ones (a `ValueError` names the
    first undeclared value)."""
    clipped = frame.copy()
    for name, fact in facts.items():
        if "bounds" in fact:
            values = pd.to_numeric(clipped[name], errors="raise")
            clipped[name] = values.clip(*fact["bounds"])
            continue
        known = {category_label(c) for c in fact["categories"]}
        for value in clipped[name].dropna().unique():
            if category_label(python_value(value, name)) not in known:
                raise ValueError(
                    f"Column {name!r} has the value {value!r}, not among the "
                    f"categories the metadata declares: {fact['categories']}"
                )
    return clipped


def _is_number(value) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float)
