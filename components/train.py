"""The train component: `Examples` -> `Model` (a kerasynth run directory),
through the same `kerasynth.training.train` as ``kerasynth train``."""

from __future__ import annotations

from kerasynth.components.artifacts import Examples, Model, Schema
from kerasynth.components.component import Input, Output, component
from kerasynth.components.ingest import SCHEMA_FILE, covariates_of, data_file


# 2: trains a table with the ingested schema's kinds; 3: covariates, held people;
# 4: differential privacy
@component(version="4")
def train(
    examples: Input[Examples],
    schema: Input[Schema],
    model: Output[Model],
    *,
    model_name: str,
    seed: int,
    holdout_fraction: float,
    epochs: int | None = None,
    batch_size: int | None = None,
    mixed_precision: str | None = None,
    conditional: bool = False,
    model_kwargs: dict | None = None,
    holdout_groups: list[str] | None = None,
    dp_epsilon: float | None = None,
    dp_delta: float | None = None,
    public_metadata: str | None = None,
    public_metadata_fingerprint: str = "",
):
    """Trains `model_name` on the ingested data, keeping a seeded
    `holdout_fraction` unseen for the evaluate component's privacy checks
    (whole people, when the ingest step was given ``holdout_by``).

    A table is modelled with the column kinds of the ingested `schema` (its
    `TableSchema` file is the transformer's metadata), not with kinds
    inferred again from the training rows: the model, its report and the
    pipeline's `Schema` artifact describe the columns alike. Options left
    at `None` take `TrainConfig`'s defaults (or the model's).

    A private model (``dp_*``) trains under `dp_epsilon` and `dp_delta`
    with the metadata file `public_metadata` (each column's kind and public
    bounds or categories) in place of the ingested schema; the budget it
    spent is a property of the `Model` (and a line of its lineage).
    `public_metadata_fingerprint` is not read here: the pipeline passes the
    file's content hash so that the cache sees a changed file.

    Images ingested with covariates train a model conditioned on them;
    `holdout_groups` holds out exactly those people (a table and its images
    alike).
    """
    from kerasynth import runs, training
    from kerasynth.config import TrainConfig

    table = examples.properties.get("modality") == "table"

    given = {"mixed_precision": mixed_precision}
    result = training.train(
        TrainConfig(
            model=model_name,
            data=str(data_file(examples)),
            output=model.uri,
            epochs=epochs,
            batch_size=batch_size,
            seed=seed,
            holdout_fraction=holdout_fraction,
            holdout_by=examples.properties.get("holdout_by"),
            conditional=conditional,
            covariates=covariates_of(examples),
            holdout_groups=holdout_groups,
            metadata=public_metadata
            or (str(schema.path / SCHEMA_FILE) if table else None),
            dp_epsilon=dp_epsilon,
            dp_delta=dp_delta,
            model_kwargs=model_kwargs or {},
            verbose=0,
            **{name: value for name, value in given.items() if value is not None},
        )
    )
    model.properties.update(
        model=model_name,
        epochs=result.epochs,
        seconds=round(result.seconds, 2),
        final_metrics=result.final_metrics,
    )
    record = runs.read_config(model.uri)["model_config"].get("differential_privacy")
    if record:
        model.properties["differential_privacy"] = {
            key: record[key] for key in ("epsilon", "delta", "accountant", "mechanism")
        }
