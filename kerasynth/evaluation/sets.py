"""Finding the real and synthetic sets: ``kerasynth evaluate --run DIR``
(the run's data, split as training split it) and ``--synthetic PATH`` (a
table or image folder made by any tool)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from kerasynth.config import GROUPED_HOLDOUT_FRACTION
from kerasynth.evaluation.images import evaluate_images
from kerasynth.evaluation.result import Evaluation
from kerasynth.evaluation.tables import evaluate_table


def _sets(load, source, holdout, fraction, seed, holdout_by=None, held_groups=None):
    """(train, holdout): an explicit holdout source, or the seeded split
    that training made (`kerasynth.data.splits.split`), by the groups of
    `holdout_by` when given. `load(source, group_by)` reads a source; the
    training side keeps its groups either way (the memorization audit names
    them)."""
    from kerasynth.data import splits

    if holdout is not None:
        return load(source, holdout_by), load(holdout, None)
    return splits.split(load(source, holdout_by), fraction, seed, held_groups)


def _holdout_share(holdout, fraction, holdout_by):
    """The fraction to split off: the given one, or with `holdout_by` alone
    (and no explicit holdout) `GROUPED_HOLDOUT_FRACTION`."""
    if fraction or holdout is not None or holdout_by is None:
        return fraction
    return GROUPED_HOLDOUT_FRACTION


def _holdout_text(holdout, fraction, holdout_by):
    """The protocol's words for the holdout."""
    if holdout is not None:
        return holdout
    if not fraction:
        return None
    by = f" by {holdout_by}" if holdout_by else ""
    return f"{fraction:.0%} seeded split{by}"


def evaluate_run(
    run_dir,
    *,
    data: str | None = None,
    holdout: str | None = None,
    holdout_fraction: float | None = None,
    holdout_by: str | None = None,
    target: str | None = None,
    num_samples: int | None = None,
    seed: int = 0,
) -> Evaluation:
    """Evaluates a run directory's model against its data.

    The run's preprocessing applies (table columns and dropna, image size
    and channels); `data` defaults to the run's training source. A run
    trained with a holdout fraction gets the same split back (from its seed
    and its ``holdout_by`` groups); otherwise `holdout` or `holdout_fraction`
    (by the groups of `holdout_by`) give one (a fraction of data the model
    *did* see measures nothing about privacy: the report says so). The
    model's task says which sets to compare (`Task.evaluation_sets`).
    """
    from kerasynth import runs, tasks

    config = runs.read_config(run_dir)
    model = runs.load_model(run_dir)
    task = tasks.task_of(model)
    recorded = config["data"]
    source = data if data is not None else recorded["source"]
    trained_by = recorded.get("holdout_by")
    if trained_by is not None and holdout_by not in (None, trained_by):
        raise ValueError(
            f"{run_dir} was trained holding out by {trained_by!r}, and evaluate "
            f"--run rebuilds that split; leave out --holdout-by {holdout_by!r}"
        )
    holdout_by = trained_by or holdout_by
    trained_without = recorded.get("holdout_fraction") or 0.0
    fraction = _holdout_share(holdout, trained_without or holdout_fraction, holdout_by)
    protocol = {
        "run": str(run_dir),
        "model": config["model"],
        "data": source if source is not None else "embedded default",
        "holdout": _holdout_text(holdout, fraction, holdout_by),
        "holdout_by": holdout_by,
        "holdout_unseen_by_model": bool(holdout or trained_without),
    }

    def load(path, group_by):
        return task.load(path, model=model, record=recorded, group_by=group_by)

    train, held = _sets(
        load, source, holdout, fraction, config["training"]["seed"], holdout_by,
        recorded.get("holdout_groups") if holdout is None else None,
    )  # fmt: skip
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
    holdout_by: str | None = None,
    target: str | None = None,
    image_size: int = 64,
    channels: int = 1,
    seed: int = 0,
) -> Evaluation:
    """Evaluates a synthetic CSV/Parquet table or image folder made by any
    tool (SDV's included) against real data (restricted to the synthetic
    table's columns), held out by `holdout`, or `holdout_fraction` of `data`
    (by the groups of `holdout_by`)."""
    path = Path(synthetic_path)
    fraction = _holdout_share(holdout, holdout_fraction, holdout_by)
    protocol = {"synthetic": str(path), "data": data or "embedded default",
                "holdout": _holdout_text(holdout, fraction, holdout_by),
                "holdout_by": holdout_by}  # fmt: skip
    if path.suffix.lower() in (".csv", ".parquet"):
        from kerasynth.data.tables import load_table

        synthetic = (
            pd.read_csv(path)
            if path.suffix.lower() == ".csv"
            else pd.read_parquet(path)
        )

        def load(source, group_by):
            return load_table(
                source, columns=list(synthetic.columns), group_by=group_by
            )

        train, held = _sets(load, data, holdout, fraction, seed, holdout_by)
        synthetic = align_dtypes(synthetic[list(train.frame.columns)], train.frame)
        return evaluate_table(
            train.frame, synthetic,
            holdout=None if held is None else held.frame, target=target, seed=seed,
            title=f"Report on {path.name}", protocol=protocol,
        )  # fmt: skip
    from kerasynth.data.images import load_images

    def load(source, group_by):
        return load_images(
            source, image_size=image_size, channels=channels, group_by=group_by
        )

    fake = load(path, None)
    train, held = _sets(load, data, holdout, fraction, seed, holdout_by)
    return evaluate_images(
        train.images, fake.images, holdout=None if held is None else held.images,
        train_groups=train.groups,
        holdout_groups=None if held is None else held.groups,
        seed=seed, title=f"Report on {path.name}", protocol=protocol,
    )  # fmt: skip
