"""The reference table models on the study's OASIS table: fit time and the
relationships they keep, by the protocol of ``shared/FIDELITY.md``.

For `gaussian_copula` and `independent`: the wall time of `adapt` (the whole
fit of their statistics, the median of ``--repeats``) and, for each seed, the
Pearson r of every column pair whose real |r| >= 0.5 in the training rows
(OASIS: Age~nWBV, eTIV~ASF) and the mean KS statistic of the numeric
columns, on a seeded subset the size of the holdout of a sample the size of
the training set; then the same figures of the real holdout rows.

    python benchmarks/reference_tables.py --output reference.jsonl

The split is ``train_test_split(frame, test_size=0.3, random_state=42)`` on
the five study columns.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
import pandas as pd
from _common import LoadMeter, emit, provenance

OASIS = Path(__file__).resolve().parents[2] / "shared/data/oasis_cross-sectional.csv"
COLUMNS = ["M/F", "Age", "eTIV", "nWBV", "ASF"]
MODELS = ("gaussian_copula", "independent")


def strong_pairs(frame: pd.DataFrame, threshold: float = 0.5) -> list[tuple]:
    """The numeric column pairs with |r| >= `threshold` in `frame`."""
    numbers = frame.select_dtypes("number").corr()
    names = list(numbers.columns)
    return [(a, b) for i, a in enumerate(names) for b in names[i + 1 :]
            if abs(numbers.loc[a, b]) >= threshold]  # fmt: skip


def figures(train, rows, pairs) -> dict:
    """The pairs' r and the mean KS of `rows` against the training rows."""
    from kerasynth.metrics.table import ks_statistics

    return {
        **{f"r {a}~{b}": round(rows[a].corr(rows[b]), 3) for a, b in pairs},
        "mean_ks": round(float(np.mean(list(ks_statistics(train, rows).values()))), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(OASIS))
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--output")
    args = parser.parse_args()

    from sklearn.model_selection import train_test_split

    from kerasynth import registry
    from kerasynth.data.transformer import TableTransformer

    frame = pd.read_csv(args.data)[COLUMNS]
    train, holdout = train_test_split(frame, test_size=0.3, random_state=42)
    train, holdout = train.reset_index(drop=True), holdout.reset_index(drop=True)
    pairs = strong_pairs(train)
    seeds = [int(s) for s in args.seeds.split(",")]
    base = {**provenance(), "rows": len(train), "holdout": len(holdout)}
    emit({**base, "model": "real training rows", **figures(train, train, pairs)},
         args.output)  # fmt: skip
    emit({**base, "model": "real holdout", **figures(train, holdout, pairs)},
         args.output)  # fmt: skip
    for name in MODELS:
        started = time.perf_counter()
        transformer = TableTransformer(seed=0).fit(train)
        transformer_seconds = time.perf_counter() - started
        model = registry.get_model(name, transformer=transformer)
        times, loads = [], []
        for _ in range(args.repeats):
            with LoadMeter() as load:
                model.adapt(train)
            times.append(load.seconds)
            loads.append(load.other_cpus)
        for seed in seeds:
            sample = model.generate(len(train), seed=seed)
            picks = np.random.default_rng(seed).choice(
                len(sample), len(holdout), replace=False
            )
            rows = sample.iloc[np.sort(picks)].reset_index(drop=True)
            emit(
                {
                    **base,
                    "model": name,
                    "seed": seed,
                    "adapt_s": round(statistics.median(times), 4),
                    "transformer_fit_s": round(transformer_seconds, 3),
                    "other_cpus": loads[-1],
                    **figures(train, rows, pairs),
                },
                args.output,
            )


if __name__ == "__main__":
    main()
