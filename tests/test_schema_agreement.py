"""One schema for a table: the model, its fidelity report and the pipeline's
Schema artifact agree on every column's kind, and training reads the
artifact.

(Only APIs older than `kerasynth.data.schema` are imported at the top, so
that this file also runs against the code before the schema, and fails.)
"""

import json

from transformer_cases import cdr_frame

from kerasynth.components.artifacts import Examples, Model, Schema, Statistics
from kerasynth.components.ingest import ingest
from kerasynth.data.tables import load_table
from kerasynth.data.transformer import TableTransformer
from kerasynth.metrics.table import column_kinds, quality_score

TINY_TVAE = {"latent_dim": 4, "encoder_widths": [8], "decoder_widths": [8]}


def _kinds(transformer) -> dict[str, str]:
    categorical = set(transformer.categorical_columns)
    return {
        column: "categorical" if column in categorical else "numerical"
        for column in transformer.columns
    }


def _ingest(csv, root):
    artifacts = {
        name: cls(str(root / name))
        for name, cls in (
            ("examples", Examples),
            ("schema", Schema),
            ("statistics", Statistics),
        )
    }
    for artifact in artifacts.values():
        artifact.path.mkdir(parents=True)
    ingest(**artifacts, source=str(csv), modality="table")
    return artifacts["examples"], artifacts["schema"]


def _written_kinds(schema) -> dict[str, str]:
    written = json.loads((schema.path / "schema.json").read_text())
    return {column["name"]: column["kind"] for column in written["columns"]}


def test_model_metrics_and_ingest_agree_on_a_cdr_like_column(tmp_path):
    csv = tmp_path / "oasis_like.csv"
    cdr_frame().to_csv(csv, index=False)
    frame = load_table(csv).frame
    assert frame["CDR"].isna().any() and frame["CDR"].dtype == "float64"

    model = _kinds(TableTransformer(seed=0).fit(frame))
    assert model == {
        "M/F": "categorical",
        "Age": "numerical",
        "CDR": "categorical",  # four codes, 0 / 0.5 / 1 / 2: categories
        "nWBV": "numerical",
    }
    assert column_kinds(frame) == model
    assert quality_score(frame, frame)["details"]["kinds"] == model
    _, schema = _ingest(csv, tmp_path)
    assert _written_kinds(schema) == model


def test_training_uses_the_ingested_schema(tmp_path):
    from kerasynth.components.train import train
    from kerasynth.data.schema import TableSchema, infer_schema

    csv = tmp_path / "oasis_like.csv"
    cdr_frame().to_csv(csv, index=False)
    examples, schema = _ingest(csv, tmp_path)
    ingested = TableSchema.from_json((schema.path / "schema.json").read_text())
    assert ingested == infer_schema(load_table(csv).frame)
    # A schema declaring CDR numerical: training must follow it, not infer.
    declared = infer_schema(load_table(csv).frame, numerical=["CDR"])
    (schema.path / "schema.json").write_text(declared.to_json())
    run = Model(str(tmp_path / "model"))
    run.path.mkdir()
    train(
        examples=examples,
        schema=schema,
        model=run,
        model_name="tvae",
        seed=0,
        holdout_fraction=0.2,
        epochs=1,
        batch_size=16,
        model_kwargs=TINY_TVAE,
    )
    transformer = TableTransformer.load(run.path / "transformer.json")
    assert _kinds(transformer) == declared.kinds
    assert transformer.numerical_columns == ["Age", "CDR", "nWBV"]
