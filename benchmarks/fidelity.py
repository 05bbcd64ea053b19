"""Every table model on OASIS-1, scored by the protocol of ``shared/FIDELITY.md``.

The protocol, step by step:

- **Tables**: ``five``, the study's columns M/F, Age, eTIV, nWBV, ASF; and
  ``nine``, the clinical columns M/F, Age, Educ, SES, MMSE, CDR, eTIV, nWBV,
  ASF with their missing values kept (no ``dropna``); and, for "tables it
  has never seen" (issue 13), ``diabetes`` and ``breast_cancer``,
  scikit-learn's embedded tables, whole (``--tables diabetes,breast_cancer``).
  Each table names its TSTR target and its relationships (`TABLES`).
- **Split**: ``train_test_split(frame, test_size=0.3, random_state=42)`` after
  the column selection: 305 training rows, 131 holdout rows. Models see the
  training rows only.
- **Models**: every model the registry lists for the task ``tables`` (a model
  registered later is run without editing this script), at its own defaults:
  ``kerasynth train --model NAME --data TRAIN.csv --seed SEED`` and nothing
  else. Its default holdout fraction is 0, so the run trains on every row it
  is given (checked against the run's ``config.json``). Beside them, where
  importable (they are never dependencies of kerasynth, and no code of theirs
  is copied): the ``ctgan`` package's ``TVAE`` (``discrete_columns``: the
  columns kerasynth's metrics read as categorical), SDV's
  ``GaussianCopulaSynthesizer`` and SDV's ``TVAESynthesizer`` (the ctgan TVAE
  behind SDV's preprocessing, which models missing values where the bare
  package does not), all at their defaults.
- **Fit time**: the wall time of the whole ``kerasynth train`` command (a
  subprocess: Python and TensorFlow start-up, the transformer, training and
  writing the run directory), beside ``keras_fit_s``, the run's own training
  time; for a peer, the wall time of its ``fit``. ``other_cpus`` is how many
  CPUs other processes kept busy meanwhile (`_common.LoadMeter`).
- **Sampling**: the run is loaded (``kerasynth.TableSynthesizer.load``) and
  samples as many rows as the training set with the seed; a subset of the
  holdout's size (131 rows), drawn with the seed, is scored against the
  training rows. The real holdout rows, scored the same way with the same
  classifier seeds, are the reference line: what a fresh real sample reaches.
- **Seeds**: 0, 1, 2 (``--seeds``); the table shows medians and [min, max].
- **Metrics**, kerasynth's own (`kerasynth.metrics`), with the column kinds
  of `column_kinds` on the training rows for every metric:
  ``quality_score`` (sdmetrics 0.32 QualityReport: overall, Column Shapes,
  Column Pair Trends over the pairs that meet sdmetrics' thresholds, and the
  all-pairs mean as a second figure); ``detection_auc`` (a random forest of
  200 trees, 5-fold out-of-fold ROC AUC, training rows against the scored
  rows); ``dcr_overfitting``'s DCR excess (the share of scored rows closer
  to a training row than to a holdout row, minus 305/436); ``tstr_table``
  for the table's target (OASIS: M/F), reported as TSTR/TRTR of the ROC AUC
  on the real holdout (a forest trained on the 131 scored rows over one
  trained on the 305 training rows); ``relationships``: Pearson's r of the
  table's named pairs (OASIS: Age~nWBV and eTIV~ASF) and the worst gap
  over every numeric pair with |r| >= 0.5 in the training rows. DCR and
  TSTR need rows apart from the holdout: the reference line has none.

    python benchmarks/fidelity.py --output fidelity.jsonl --markdown fidelity.md

``--check-sdmetrics`` also scores the reference rows and the first synthetic
set of each table with the installed sdmetrics (QualityReport and
DCROverfittingProtection) and prints both, to show they agree. ``--quick``:
seed 0, the models ``independent`` and ``tvae`` and the peers, for a smoke
run. ``--summarize FILE`` prints the table of JSON lines written before.
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from _common import LoadMeter, emit, provenance

OASIS = Path(__file__).resolve().parents[2] / "shared/data/oasis_cross-sectional.csv"
PAIRS = (("Age", "nWBV"), ("eTIV", "ASF"))  # the study's relationships


@dataclass(frozen=True)
class Table:
    """A table of the benchmark: where its rows come from, TSTR/TRTR's
    (binary) target, and the relationships named in their own columns."""

    source: str  # "oasis" (``--data``), or an embedded scikit-learn table
    columns: tuple[str, ...] | None  # None: every column of the source
    target: str
    pairs: tuple[tuple[str, str], ...] = ()


TABLES = {
    "five": Table("oasis", ("M/F", "Age", "eTIV", "nWBV", "ASF"), "M/F", PAIRS),
    "nine": Table(
        "oasis",
        ("M/F", "Age", "Educ", "SES", "MMSE", "CDR", "eTIV", "nWBV", "ASF"),
        "M/F",
        PAIRS,
    ),
    # Tables no model was tuned on ("tables it has never seen"):
    # scikit-learn's diabetes table, as kerasynth embeds it (442 rows, 11
    # columns, sex as text), and its breast cancer table (569 rows, 30
    # measurements and the diagnosis).
    "diabetes": Table("diabetes", None, "sex", (("s1", "s2"), ("s3", "s4"))),
    "breast_cancer": Table(
        "breast_cancer", None, "diagnosis", (("mean radius", "mean texture"),)
    ),
}
STRONG_R = 0.5  # FIDELITY.md: the pairs with |r| >= 0.5 in the training rows
QUICK_MODELS = ("independent", "tvae")
REFERENCE = "real holdout"
# The peers' import names, for the "not importable" check.
PEER_MODULES = {
    "ctgan_tvae": "ctgan",
    "sdv_gaussian_copula": "sdv",
    "sdv_tvae": "sdv",
}


def table_models() -> list[str]:
    """The registered table models, in the registry's order; not the
    differentially private ones, which need public bounds and a budget
    (``benchmarks/privacy.py`` runs them)."""
    from kerasynth import registry

    return [
        n
        for n, c in registry.list_models().items()
        if c.task == "tables" and not c.differentially_private
    ]


def split(data: str, table: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The table's training and holdout rows, FIDELITY.md's split."""
    from sklearn.model_selection import train_test_split

    frame = load(data, TABLES[table])
    train, holdout = train_test_split(frame, test_size=0.3, random_state=42)
    return train.reset_index(drop=True), holdout.reset_index(drop=True)


def load(data: str, table: Table) -> pd.DataFrame:
    """The rows of `table`: from the OASIS CSV `data`, or embedded."""
    if table.source == "oasis":
        frame = pd.read_csv(data)
    elif table.source == "diabetes":
        from kerasynth.data.tables import load_diabetes_frame

        frame = load_diabetes_frame()
    else:
        from sklearn.datasets import load_breast_cancer

        bunch = load_breast_cancer(as_frame=True)
        frame = bunch.frame.drop(columns="target")
        frame["diagnosis"] = bunch.target_names[bunch.target]
    if table.source != "oasis":
        # As `kerasynth train` reads it back from the training CSV (the
        # diabetes table's text `sex` "1"/"2" comes back as numbers).
        frame = pd.read_csv(io.StringIO(frame.to_csv(index=False)))
    return frame[list(table.columns)] if table.columns else frame


def holdout_sized(sample: pd.DataFrame, size: int, seed: int) -> pd.DataFrame:
    """A seeded subset of `size` rows of `sample`, in the sample's order."""
    picks = np.random.default_rng(seed).choice(len(sample), size, replace=False)
    return sample.iloc[np.sort(picks)].reset_index(drop=True)


# === Scores ===


def score(
    train, holdout, rows, kinds, seed, *, reference=False, table=TABLES["five"]
) -> dict[str, Any]:
    """FIDELITY.md's figures of `rows` against the training rows of `table`.

    With `reference` (the rows are the real holdout) DCR and TSTR are left
    out: both need real rows the scored ones are not.
    """
    from kerasynth.metrics.dcr_overfitting import dcr_overfitting
    from kerasynth.metrics.detection import detection_auc
    from kerasynth.metrics.quality import quality_score
    from kerasynth.metrics.relationships import relationships

    quality = quality_score(train, rows, metadata=kinds)
    correlations = {
        tuple(p["columns"]): p["synthetic_correlation"]
        for p in quality["details"]["column_pair_trends"]
    }
    related = relationships(train, rows, correlation_threshold=STRONG_R, metadata=kinds)
    strong = [p for p in related["pairs"] if p["statistic"] == "pearson_r"]
    figures = {
        "quality": quality["overall"],
        "column_shapes": quality["column_shapes"],
        "column_pair_trends": quality["column_pair_trends"],
        "column_pair_trends_all_pairs": quality["column_pair_trends_all_pairs"],
        "detection_auc": detection_auc(train, rows, seed, metadata=kinds),
        **{f"r {a}~{b}": correlations.get((a, b)) for a, b in table.pairs},
        # `related["pairs"]` is sorted by gap: the first strong one is the worst.
        "worst_gap": strong[0]["gap"] if strong else None,
        "worst_pair": "~".join(strong[0]["columns"]) if strong else None,
        "strong_pairs": {  # the ten worst
            "~".join(p["columns"]): {k: p[k] for k in ("real", "synthetic", "gap")}
            for p in strong[:10]
        },
        "strong_pairs_count": len(strong),
        # The same with the pairs of a categorical column whose Cramer's V is
        # >= 0.3 (relationships' default), as a second figure.
        "worst_association_gap": related["worst_gap"],
    }
    if not reference:
        dcr = dcr_overfitting(train, holdout, rows, kinds)
        figures |= {
            "dcr_excess": dcr["dcr_excess"],
            "dcr_excess_shared_ranges": dcr["dcr_excess_shared_ranges"],
            **utility(train, holdout, rows, kinds, seed, table.target),
        }
    return rounded(figures)


def utility(train, holdout, rows, kinds, seed, target) -> dict[str, Any]:
    """TSTR/TRTR for `target`: the ROC AUC ratio (and the F1 one), or a
    `tstr_undefined` reason when the scored rows hold a single class."""
    from kerasynth.metrics.utility import tstr_table

    classes = rows[target].nunique()
    if classes < 2:
        return {"tstr_undefined": f"the scored rows have {classes} {target} class"}
    result = tstr_table(
        train, rows, holdout, target, "classification", seed, metadata=kinds
    )
    real_auc, synthetic_auc = (result[s]["roc_auc"] for s in ("real", "synthetic"))
    return {
        "trtr_auc": real_auc,
        "tstr_auc": synthetic_auc,
        "tstr_trtr": synthetic_auc / real_auc if real_auc else None,
        "tstr_trtr_f1": result["ratio"],
    }


def rounded(value: Any) -> Any:
    """`value` with every float rounded to 4 decimals (for the JSON)."""
    if isinstance(value, dict):
        return {key: rounded(item) for key, item in value.items()}
    if isinstance(value, float):  # numpy's floats too
        return round(float(value), 4)
    return value


def sdmetrics_check(train, holdout, rows, kinds) -> dict[str, Any]:
    """Our quality and DCR share beside the installed sdmetrics' on one set."""
    from kerasynth.metrics.dcr_overfitting import dcr_overfitting
    from kerasynth.metrics.quality import quality_score

    metadata = {"columns": {c: {"sdtype": k} for c, k in kinds.items()}}
    ours = quality_score(train, rows, metadata=kinds)
    figures = {
        "ours": {k: ours[k] for k in ("overall", "column_shapes", "column_pair_trends")}
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # deprecation and holdout-size warnings
        from sdmetrics.reports.single_table import QualityReport
        from sdmetrics.single_table import DCROverfittingProtection

        report = QualityReport()
        report.generate(train, rows, metadata, verbose=False)
        properties = report.get_properties().set_index("Property")["Score"]
        figures["sdmetrics"] = {
            "overall": report.get_score(),
            "column_shapes": properties["Column Shapes"],
            "column_pair_trends": properties["Column Pair Trends"],
        }
        if rows is not holdout:  # the holdout is always closest to itself
            theirs = DCROverfittingProtection.compute_breakdown(
                train, rows, holdout, metadata, None
            )
            share = theirs["synthetic_data_percentages"]["closer_to_training"]
            figures["ours"]["closer_to_training"] = dcr_overfitting(
                train, holdout, rows, kinds
            )["closer_to_training"]
            figures["sdmetrics"]["closer_to_training"] = share
    figures["max_abs_difference"] = max(
        abs(float(figures["ours"][k]) - float(figures["sdmetrics"][k]))
        for k in figures["ours"]
    )
    return rounded(figures)


# === Fitting: kerasynth models and peers ===


def fit_kerasynth(
    name, train_csv, train, seed, runs, extra=(), label=None
) -> tuple[dict, pd.DataFrame]:
    """``kerasynth train`` at the model's defaults (and the `extra`
    options), timed whole; then a sample as large as the training set from
    the loaded run (kept as ``runs/LABEL-...``, `label` defaulting to the
    model's name)."""
    import keras

    import kerasynth

    run_dir = runs / f"{label or name}-{train_csv.stem}-seed{seed}"
    command = [str(Path(sys.executable).with_name("kerasynth")), "train",
               "--model", name, "--data", str(train_csv), "--seed", str(seed),
               "--output", str(run_dir), "--overwrite", "--quiet",
               *extra]  # fmt: skip
    with LoadMeter() as load:
        done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
        lines = (done.stderr or done.stdout).strip().splitlines() or ["no output"]
        raise RuntimeError(f"kerasynth train exited {done.returncode}: {lines[-1]}")
    config = json.loads((run_dir / "config.json").read_text(encoding="utf-8"))
    data, training = config["data"], config["training"]
    if data["num_examples"] != len(train) or data["columns"] != list(train.columns):
        raise RuntimeError(
            f"the run trained on {data['num_examples']} rows of {data['columns']}, "
            f"not the {len(train)} training rows of {list(train.columns)}"
        )
    keras.backend.clear_session()
    sample = kerasynth.TableSynthesizer.load(run_dir).sample(len(train), seed=seed)
    fields = {
        "impl": "kerasynth",
        "fit_s": round(load.seconds, 2),
        "other_cpus": load.other_cpus,
        "keras_fit_s": config["results"]["seconds"],
        "epochs": training["epochs"],
        "batch_size": training["batch_size"],
        "steps": training["epochs"] * training["steps_per_epoch"],
    }
    return fields, sample


def fit_ctgan_tvae(train, kinds, seed) -> tuple[dict, pd.DataFrame]:
    """The ctgan package's TVAE at its defaults (300 epochs of 500 rows)."""
    import ctgan

    synthesizer = ctgan.TVAE()
    synthesizer.set_random_state(seed)
    discrete = [column for column, kind in kinds.items() if kind == "categorical"]
    with LoadMeter() as load:
        synthesizer.fit(train, discrete_columns=discrete)
    fields = {"impl": "ctgan", "version": ctgan.__version__}
    try:
        sample = synthesizer.sample(len(train))
    except ValueError as error:
        if train.isna().to_numpy().any():  # ctgan issues 413/414: no NaN support
            raise RuntimeError(
                f"sample failed ({error}): the ctgan package does not model "
                "missing values"
            ) from error
        raise
    return _timed(fields, load), sample


def fit_sdv(kind: str) -> Callable[..., tuple[dict, pd.DataFrame]]:
    """A fit function for SDV's `GaussianCopulaSynthesizer` or `TVAESynthesizer`,
    at its defaults on the metadata SDV detects."""

    def fit(train, kinds, seed) -> tuple[dict, pd.DataFrame]:
        import sdv
        import torch
        from sdv.metadata import Metadata
        from sdv.single_table import GaussianCopulaSynthesizer, TVAESynthesizer

        cls = GaussianCopulaSynthesizer if kind == "copula" else TVAESynthesizer
        data = {"oasis": train}  # SDV 2 takes and gives {table name: frame}
        synthesizer = cls(Metadata.detect_from_dataframes(data))
        np.random.seed(seed)  # SDV's fit draws from the global generators
        torch.manual_seed(seed)
        with LoadMeter() as load:
            synthesizer.fit(data)
        # SDV samples with a fixed seed of its own unless told another.
        synthesizer._set_random_state(seed)
        sample = synthesizer.sample(len(train))
        sample = sample["oasis"] if isinstance(sample, dict) else sample
        return _timed({"impl": "sdv", "version": sdv.__version__}, load), sample

    return fit


def _timed(fields: dict, load: LoadMeter) -> dict:
    return {**fields, "fit_s": round(load.seconds, 3), "other_cpus": load.other_cpus}


PEERS = {
    "ctgan_tvae": fit_ctgan_tvae,
    "sdv_gaussian_copula": fit_sdv("copula"),
    "sdv_tvae": fit_sdv("tvae"),
}


# === The run ===


def run(args: argparse.Namespace, runs: Path) -> list[dict]:
    """Every table, seed and model; emits and returns the records."""
    from kerasynth.metrics.columns import column_kinds

    peers = [p for p in args.peers if importlib.util.find_spec(PEER_MODULES[p])]
    records, checked = [], set()  # checked: the (table, kind of set) done

    def record(fields: dict) -> None:
        emit(fields, args.output)
        records.append(fields)

    for table in args.tables:
        spec = TABLES[table]
        train, holdout = split(args.data, table)
        kinds = column_kinds(train)
        train_csv = runs / f"{spec.source}-{table}-train.csv"
        train.to_csv(train_csv, index=False)
        base = {"benchmark": "fidelity", **provenance(), "table": table,
                "rows": len(train), "holdout": len(holdout)}  # fmt: skip
        record({**base, "model": "real training rows", "impl": "real",
                **{f"r {a}~{b}": round(train[a].corr(train[b]), 4)
                   for a, b in spec.pairs}})  # fmt: skip
        for peer in sorted(set(args.peers) - set(peers)):
            reason = f"{PEER_MODULES[peer]} is not importable"
            record({**base, "model": peer, "skipped": reason})
        for seed in args.seeds:
            figures = score(
                train, holdout, holdout, kinds, seed, reference=True, table=spec
            )
            record({**base, "model": REFERENCE, "impl": "real", "seed": seed,
                    **figures})  # fmt: skip
            if args.check_sdmetrics and (table, REFERENCE) not in checked:
                checked.add((table, REFERENCE))
                check = sdmetrics_check(train, holdout, holdout, kinds)
                record({**base, "check": "sdmetrics", "model": REFERENCE, **check})
            for name in args.models + peers:
                fields = {**base, "model": name, "seed": seed}
                try:
                    if name in PEERS:
                        fit, sample = PEERS[name](train, kinds, seed)
                    else:
                        fit, sample = fit_kerasynth(name, train_csv, train, seed, runs)
                    rows = holdout_sized(sample, len(holdout), seed)
                    fields |= fit | score(train, holdout, rows, kinds, seed, table=spec)
                except Exception as error:  # one failure must not end the run
                    traceback.print_exc()
                    fields["error"] = f"{type(error).__name__}: {error}"
                record(fields)
                first = (table, "synthetic") not in checked
                if args.check_sdmetrics and first and "error" not in fields:
                    checked.add((table, "synthetic"))
                    check = sdmetrics_check(train, holdout, rows, kinds)
                    record({**base, "check": "sdmetrics", "model": name, **check})
    return records


# === The table ===

COLUMNS = {
    "fit_s": "fit s",
    "quality": "quality",
    "column_shapes": "column shapes",
    "column_pair_trends": "column pair trends",
    "detection_auc": "detection AUC (RF)",
    "dcr_excess": "DCR excess",
    "tstr_trtr": "TSTR/TRTR AUC",
    "worst_gap": "worst gap (abs r >= 0.5)",
}
DIGITS = {"fit_s": 1}


def cell(values: list, digits: int) -> str:
    """The median, and [min, max] over more than one seed."""
    values = [v for v in values if v is not None]
    if not values:
        return "-"
    median = f"{statistics.median(values):.{digits}f}"
    if len(values) == 1 or min(values) == max(values):
        return median
    return f"{median} [{min(values):.{digits}f}, {max(values):.{digits}f}]"


def summary(records: list[dict], columns: dict[str, str] | None = None) -> str:
    """A markdown table per table: the reference line, then every model,
    with `columns` (``{field: header}``, default `COLUMNS` and the table's
    named relationships before the worst gap)."""
    sections = []
    for table in dict.fromkeys(r["table"] for r in records):
        mine = [r for r in records if r["table"] == table and "check" not in r]
        real = next((r for r in mine if r["model"] == "real training rows"), {})
        spec = TABLES.get(table)
        header = dict(COLUMNS if columns is None else columns)
        if columns is None and spec:
            worst = header.pop("worst_gap")
            header |= {f"r {a}~{b}": f"{a}~{b} r" for a, b in spec.pairs}
            header["worst_gap"] = worst
        for key in [k for k in header if k.startswith("r ")]:
            if real.get(key) is not None:
                header[key] += f" (train {real[key]:.2f})"
        if spec and spec.columns:
            named = f"{table}: {', '.join(spec.columns)}"
        else:
            named = f"{table} ({spec.source}, every column)" if spec else table
        named += f"; TSTR target {spec.target}" if spec else ""
        rows = [f"### {named} "
                f"({mine[0]['rows']} training, {mine[0]['holdout']} holdout rows)", "",
                "| model | seeds | " + " | ".join(header.values()) + " | other CPUs |",
                "| --- " * (len(header) + 3) + "|"]  # fmt: skip
        notes = []
        for model in dict.fromkeys(r["model"] for r in mine):
            runs = [r for r in mine if r["model"] == model and "seed" in r]
            scored = [r for r in runs if "error" not in r]
            notes += [f"- {model}, seed {r['seed']}: {r['error']}"
                      for r in runs if "error" in r]  # fmt: skip
            notes += [f"- {model}, seed {r['seed']}: no TSTR, {r['tstr_undefined']}"
                      for r in runs if "tstr_undefined" in r]  # fmt: skip
            skipped = [r for r in mine if r["model"] == model and "skipped" in r]
            notes += [f"- {model}: skipped, {r['skipped']}" for r in skipped]
            if not scored:
                continue
            label = f"**{model}**" if model == REFERENCE else model
            cells = [
                cell(
                    [r.get(k) for r in scored],
                    2 if k.startswith("r ") else DIGITS.get(k, 3),
                )
                for k in header
            ]
            busy = cell([r.get("other_cpus") for r in scored], 2).split(" [")[0]
            rows.append(f"| {label} | {len(scored)} | " + " | ".join(cells)
                        + f" | {busy if model != REFERENCE else '-'} |")  # fmt: skip
        sections.append("\n".join(rows + ([""] + notes if notes else [])))
    return "\n\n".join(sections)


def print_checks(records: list[dict]) -> None:
    for r in (r for r in records if r.get("check") == "sdmetrics"):
        print(f"sdmetrics check, {r['table']}, {r['model']}: ours {r['ours']}")
        print(f"    sdmetrics {r['sdmetrics']}; max |difference| "
              f"{r['max_abs_difference']:.2g}")  # fmt: skip


# === Command line ===


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(OASIS), help="The OASIS-1 CSV.")
    parser.add_argument(
        "--tables",
        default="five,nine",
        help=f"Of {','.join(TABLES)} (default five,nine).",
    )
    parser.add_argument(
        "--models", help="kerasynth table models (default: all registered)."
    )
    parser.add_argument(
        "--peers",
        default=",".join(PEERS),
        help=f"Of {','.join(PEERS)} (default all; 'none' for none); one that "
        "is not importable is skipped.",
    )
    parser.add_argument("--seeds", help="Default 0,1,2 (--quick: 0).")
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"A smoke run: seed 0, the models {','.join(QUICK_MODELS)}.",
    )
    parser.add_argument(
        "--check-sdmetrics",
        action="store_true",
        help="Also score two sets per table with the installed sdmetrics.",
    )
    parser.add_argument("--output", help="Also append the JSON lines here.")
    parser.add_argument("--markdown", help="Also write the table here.")
    parser.add_argument(
        "--runs", help="Keep the run directories here (default: a temporary one)."
    )
    parser.add_argument(
        "--summarize", help="Only print the table of this file's JSON lines."
    )
    args = parser.parse_args()
    args.tables = _names(parser, "--tables", args.tables, TABLES)
    registered = table_models()
    models = args.models or (",".join(QUICK_MODELS) if args.quick else None)
    args.models = (
        _names(parser, "--models", models, registered) if models else registered
    )
    peers = "" if args.peers == "none" else args.peers
    args.peers = _names(parser, "--peers", peers, PEERS) if peers else []
    seeds = args.seeds or ("0" if args.quick else "0,1,2")
    args.seeds = [int(seed) for seed in seeds.split(",")]
    if args.check_sdmetrics and not importlib.util.find_spec("sdmetrics"):
        parser.error("--check-sdmetrics: sdmetrics is not importable")
    return args


def _names(parser, option: str, text: str, known) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in known]
    if unknown or not names:
        parser.error(f"{option}: of {', '.join(known)}. Received: {text!r}")
    return names


def main() -> None:
    args = parse_args()
    if args.summarize:
        lines = Path(args.summarize).read_text(encoding="utf-8").splitlines()
        records = [json.loads(line) for line in lines if line.startswith("{")]
        records = [r for r in records if r.get("benchmark") == "fidelity"]
    else:
        from kerasynth.cli import _import_tensorflow_quietly

        _import_tensorflow_quietly()
        if importlib.util.find_spec("torch"):
            import torch

            # The peers get the CPUs TensorFlow uses (one thread per CPU).
            torch.set_num_threads(len(os.sched_getaffinity(0)))
        with tempfile.TemporaryDirectory(prefix="fidelity-") as scratch:
            runs = Path(args.runs or scratch)
            runs.mkdir(parents=True, exist_ok=True)
            records = run(args, runs)
        print()
    print_checks(records)
    table = summary(records)
    print(table)
    if args.markdown:
        Path(args.markdown).write_text(table + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
