"""Finding the real and synthetic sets: ``kerasynth evaluate --run DIR``
(the run's data, split as training split it) and ``--synthetic PATH`` (a
table or image folder made by any tool)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from kerasynth.evaluation.images import evaluate_images
from kerasynth.evaluation.result import Evaluation
from kerasynth.evaluation.tables import evaluate_table


def _sets(load, source, holdout, fraction, seed):
    """(train, holdout): an explicit holdout source, or the seeded split
    that training made (`kerasynth.data.splits.split`)."""
    from kerasynth.data import splits

    if holdout is not None:
        return load(source), load(holdout)
    return splits.split(load(source), fraction, seed)


def evaluate_run(
    run_dir,
    *,
    data: str | None = None,
    holdout: str | None = None,
    holdout_fraction: float | None = None,
    target: str | None = None,
    num_samples: int | None = None,
    seed: int = 0,
) -> Evaluation:
    """Evaluates a run directory's model against its data.

    The run's preprocessing applies (table columns and dropna, image size
    and channels); `data` defaults to the run's training source. A run
    trained with a holdout fraction gets the same split back (from its seed);
    otherwise `holdout` or `holdout_fraction` give one (a fraction of data
    the model *did* see measures nothing about privacy: the report says so).
    The model's task says which sets to compare (`Task.evaluation_sets`).
    """
    from kerasynth import runs, tasks

    config = runs.read_config(run_dir)
    model = runs.load_model(run_dir)
    task = tasks.task_of(model)
    recorded = config["data"]
    source = data if data is not None else recorded["source"]
    trained_without = recorded.get("holdout_fraction") or 0.0
    fraction = trained_without or holdout_fraction
    protocol = {
        "run": str(run_dir),
        "model": config["model"],
        "data": source if source is not None else "embedded default",
        "holdout": holdout or (f"{fraction:.0%} seeded split" if fraction else None),
        "holdout_unseen_by_model": bool(holdout or trained_without),
    }

    def load(path):
        return task.load(path, model=model, record=recorded)

    train, held = _sets(load, source, holdout, fraction, config["training"]["seed"])
    sets = task.evaluation_sets(
        model, train, held, num_samples=num_samples, seed=seed, target=target
    )
    evaluate = {"table": evaluate_table, "images": evaluate_images}[task.data_kind]
    return evaluate(
        **sets, seed=seed, title=f"{config['model']} report", protocol=protocol
    )


def align_dtypes(synthetic: pd.DataFrame, real: pd.DataFrame) -> pd.DataFrame:
    """`synthetic` with each column cast to the real column's kind: a CSV
    written by another tool reads ``sex`` back as numbers where the real
    table has the text "1"/"2", and copies would go unseen."""
    aligned = synthetic.copy()
    for column in real.columns:
        target = real[column].dtype
        try:
            if pd.api.types.is_numeric_dtype(target):
                aligned[column] = pd.to_numeric(aligned[column], errors="raise")
            else:
                aligned[column] = aligned[column].map(
                    lambda v: v if pd.isna(v) else str(v)
                )
        except (TypeError, ValueError) as error:
            raise ValueError(
                f"Synthetic column {column!r} does not fit the real column's "
                f"type ({target}): {error}"
            ) from None
    return aligned


def evaluate_synthetic(
    synthetic_path,
    *,
    data: str | None,
    holdout: str | None = None,
    holdout_fraction: float | None = None,
    target: str | None = None,
    image_size: int = 64,
    channels: int = 1,
    seed: int = 0,
) -> Evaluation:
    """Evaluates a synthetic CSV/Parquet table or image folder made by any
    tool (SDV's included) against real data (restricted to the synthetic
    table's columns)."""
    path = Path(synthetic_path)
    protocol = {"synthetic": str(path), "data": data or "embedded default",
                "holdout": holdout or (f"{holdout_fraction:.0%} seeded split"
                                       if holdout_fraction else None)}  # fmt: skip
    if path.suffix.lower() in (".csv", ".parquet"):
        from kerasynth.data.tables import load_table

        synthetic = (
            pd.read_csv(path)
            if path.suffix.lower() == ".csv"
            else pd.read_parquet(path)
        )

        def load(source):
            return load_table(source, columns=list(synthetic.columns))

        train, held = _sets(load, data, holdout, holdout_fraction, seed)
        synthetic = align_dtypes(synthetic[list(train.frame.columns)], train.frame)
        return evaluate_table(
            train.frame, synthetic,
            holdout=None if held is None else held.frame, target=target, seed=seed,
            title=f"Report on {path.name}", protocol=protocol,
        )  # fmt: skip
    from kerasynth.data.images import load_images

    def load(source):
        return load_images(source, image_size=image_size, channels=channels)

    fake = load(path)
    train, held = _sets(load, data, holdout, holdout_fraction, seed)
    return evaluate_images(
        train.images, fake.images, holdout=None if held is None else held.images,
        seed=seed, title=f"Report on {path.name}", protocol=protocol,
    )  # fmt: skip
