"""`TableTask`: models that generate rows of a table (CTGAN, TVAE, DRAGAN,
the study's GAN and VAE, the Gaussian copula and independent columns).

The task reads the table, fits the `TableTransformer` the model reads its
span layout from, and picks the batches the model trains on: shuffled rows,
or CTGAN's training-by-sampling (conditional batches).
"""

from __future__ import annotations

from pathlib import Path

from kerasynth import registry, signatures
from kerasynth.data import splits
from kerasynth.tasks.base import Task, TrainingInput

SAMPLE_ROWS = 1000  # rows of a run directory's samples.csv
SAMPLES_FILE = "samples.csv"


class TableTask(Task):
    """Rows in, rows out, in the original schema."""

    name = "tables"
    data_kind = "table"
    fidelity_metrics = ("mean_ks", "quality")
    gated_metrics = ("quality", "mia_auc", "exact_copy_share")
    short_epochs = True  # a small table's epoch is one or a few steps

    def load(
        self, source, *, model=None, record=None, columns=None, dropna=False,
        group_by=None,
    ):  # fmt: skip
        """Reads a table with the columns and dropna of `record` (a run's
        ``data`` record) or the given ones, grouped by `group_by` (see
        `kerasynth.data.tables.load_table`)."""
        from kerasynth.data.tables import load_table

        if record is not None:
            columns, dropna = record["columns"], record["dropna"]
        return load_table(source, columns=columns, dropna=dropna, group_by=group_by)

    def prepare(self, config, batch_size, seed, data):
        import tensorflow as tf

        from kerasynth.data.conditional_sampler import ConditionalSampler
        from kerasynth.data.pipeline import make_row_dataset
        from kerasynth.data.transformer import TableTransformer

        model_class = registry.get_model_class(config.model)
        table = self.load(
            config.data if data is None else data,
            columns=config.columns,
            dropna=config.dropna,
            group_by=config.holdout_by,
        )
        train, held = splits.split(
            table, config.holdout_fraction, seed, config.holdout_groups
        )
        transformer = TableTransformer(
            encoding=model_class.encoding,
            categorical=config.categorical,
            numerical=config.numerical,
            metadata=config.metadata,
            seed=seed,
        )
        frame, public, kwargs = train.frame, None, dict(config.model_kwargs)
        kwargs.update(self.budget_kwargs(config, model_class))
        if model_class.differentially_private:
            frame, public = self._public(config, transformer, train.frame)
            kwargs.setdefault("seed", seed)
        transformer.fit(frame, public=public)
        model = registry.get_model(config.model, transformer=transformer, **kwargs)
        model.adapt(frame)  # the reference models' statistics
        rows = transformer.transform(frame)
        # Each replica packs its own share of the batch.
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        multiple = model.batch_multiple * replicas
        if batch_size % multiple:
            raise ValueError(
                f"batch_size must be a multiple of {multiple} for {config.model} "
                "(its pack size times the replicas). "
                f"Received: batch_size={batch_size}"
            )
        steps = max(len(rows) // batch_size, 1)
        if getattr(model_class, "private_training", None) == "dp_sgd":
            dataset, steps = self.private_batches(rows, batch_size, seed)
        elif model_class.input_kind == "conditional":
            dataset = ConditionalSampler(transformer, rows).dataset(
                batch_size, seed=seed
            )
        else:
            dataset = make_row_dataset(rows, batch_size, seed=seed)
        description = {
            "source": config.data,
            "description": train.source,
            "fingerprint": train.fingerprint,
            "num_examples": len(train),
            "columns": list(train.frame.columns),
            "dropped_columns": train.dropped,
            "dropna": config.dropna,
            "holdout_fraction": config.holdout_fraction,
            "holdout_by": config.holdout_by,
            "holdout_groups": config.holdout_groups,
        }
        return TrainingInput(
            model=model,
            dataset=dataset,
            steps_per_epoch=steps,
            samples_per_epoch=steps * batch_size,
            description=description,
            held_out=(table if held is None else held).frame,
            transformer=transformer,
        )

    @staticmethod
    def _public(config, transformer, frame):
        """A private model's training rows (clipped into the public bounds)
        and the public facts it may read (`kerasynth.privacy.public`)."""
        from kerasynth.data.schema import infer_schema
        from kerasynth.privacy import public

        schema = infer_schema(
            frame, transformer.categorical, transformer.numerical, config.metadata
        )
        kinds = {column.name: column.kind for column in schema.columns}
        facts = public.public_facts(config.metadata, list(frame.columns), kinds)
        return public.clip_to_facts(frame, facts), facts

    def write_samples(self, model, directory, seed, context):
        rows = model.generate(SAMPLE_ROWS, seed=seed)
        rows.to_csv(Path(directory) / SAMPLES_FILE, index=False)

    def evaluation_sets(
        self, model, train, held, *, num_samples=None, seed=0, target=None
    ):
        """The arguments of `kerasynth.evaluation.evaluate_table`, with the
        `independent` floor beside the model: each column drawn from its own
        marginal of `train`, as many rows, so the report shows what the model
        adds to shuffling the columns."""
        count = num_samples or len(train)
        floor = registry.get_model("independent", transformer=model.transformer)
        floor.adapt(train.frame)
        return {
            "real": train.frame,
            "synthetic": model.generate(count, seed=seed),
            "holdout": None if held is None else held.frame,
            "target": target,
            "transformer": model.transformer,
            "floor": floor.generate(count, seed=seed),
            "differential_privacy": model.differential_privacy,
        }

    def serving(self, model):
        return [model.generator], signatures.table_endpoints(model)

    def describe(self, model):
        # The transformer too: a client restores the original dtypes with it.
        return {
            "kind": "table",
            "columns": list(model.transformer.columns),
            "transformer": model.transformer.get_config(),
        }
