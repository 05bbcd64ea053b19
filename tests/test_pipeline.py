"""The TFX-style pipeline: components, caching, the gate, lineage, errors."""

import json
import sqlite3

import pytest

from kerasynth.components.artifacts import Examples, Model, Schema
from kerasynth.components.component import Input, Output, component, execute
from kerasynth.components.export import ExportRefused
from kerasynth.components.lineage import CorruptLineageError, SqliteLineageStore
from kerasynth.pipelines import image_pipeline, run_pipeline, table_pipeline
from kerasynth.testing import invoke_cli

QUIET = {"status": lambda line: None}


@pytest.fixture(scope="module")
def table_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("pipeline")
    steps = table_pipeline("tvae", epochs=2, target="sex",
                           serving_dir=str(root / "serving"))  # fmt: skip
    return root, steps, run_pipeline(steps, root / "root", **QUIET)


@pytest.mark.slow
def test_table_pipeline_pushes_a_blessed_model(table_run):
    root, _, result = table_run
    assert not any(result.cached.values())
    assert result.artifact("evaluate.blessing").properties["blessed"] is True
    pushed = result.artifact("export.pushed")
    assert (root / "serving" / "tvae" / "1" / "saved_model.pb").is_file()
    assert pushed.uri == str(root / "serving" / "tvae" / "1")
    assert (root / "root" / "evaluate").is_dir()
    report = result.artifact("evaluate.evaluation").path / "report.html"
    assert report.is_file()


@pytest.mark.slow
def test_second_run_is_served_from_cache(table_run):
    root, steps, first = table_run
    lines = []
    again = run_pipeline(steps, root / "root", status=lines.append)
    assert all(again.cached.values()), lines
    assert again.artifact("export.pushed").uri == first.artifact("export.pushed").uri
    assert sorted(p.name for p in (root / "serving" / "tvae").iterdir()) == ["1"]
    assert all(" cached " in line for line in lines)


@pytest.mark.slow
def test_strict_thresholds_refuse_the_export_naming_the_metric(table_run):
    root, _, _ = table_run
    strict = table_pipeline("tvae", epochs=2, target="sex",
                            serving_dir=str(root / "serving"),
                            thresholds={"mia_auc": {"max": 0.01}})  # fmt: skip
    with pytest.raises(ExportRefused, match=r"mia_auc .* above the maximum 0.01"):
        run_pipeline(strict, root / "root", **QUIET)
    assert sorted(p.name for p in (root / "serving" / "tvae").iterdir()) == ["1"]
    forced = table_pipeline("tvae", epochs=2, target="sex", force=True,
                            serving_dir=str(root / "serving"),
                            thresholds={"mia_auc": {"max": 0.01}})  # fmt: skip
    result = run_pipeline(forced, root / "root", **QUIET)
    assert result.cached["train"]  # the same training, from cache
    assert result.artifact("export.pushed").properties["forced"] is True


@pytest.mark.slow
def test_lineage_traces_the_pushed_model_to_the_source(table_run):
    root, _, result = table_run
    source = result.artifact("ingest.examples").properties["source_fingerprint"]
    output = invoke_cli("lineage", root / "serving" / "tvae" / "1" / "saved_model.pb")
    assert output.exit_code == 0, output.output
    text = output.output
    assert text.startswith("PushedModel")
    order = [text.index(f"<- {name}") for name in ("export", "evaluate", "train",
                                                   "ingest")]  # fmt: skip
    assert order == sorted(order)
    assert source in text


def test_unknown_threshold_metric_fails_before_training(tmp_path):
    (tmp_path / "t.json").write_text(json.dumps({"qualty": {"min": 1}}))
    result = invoke_cli("pipeline", "run", "--model", "tvae", "--root", tmp_path / "r",
                        "--thresholds", tmp_path / "t.json")  # fmt: skip
    assert result.exit_code == 2
    assert "Unknown metric 'qualty'" in result.stderr
    assert not (tmp_path / "r" / "train").exists()


@component
def _broken(examples: Input[Examples], model: Output[Model]):
    (model.path / "half.txt").write_text("half")
    raise RuntimeError("disk full")


@pytest.mark.slow
def test_a_failing_component_publishes_nothing(table_run, tmp_path):
    _, _, result = table_run
    store = SqliteLineageStore(tmp_path / "lineage.sqlite")
    examples = result.artifact("ingest.examples")
    with pytest.raises(RuntimeError, match="disk full"):
        execute(_broken, {"examples": examples}, {}, tmp_path, store, {})
    assert list((tmp_path / "_broken").iterdir()) == []
    status = (
        sqlite3.connect(tmp_path / "lineage.sqlite")
        .execute("SELECT status, error FROM executions")
        .fetchone()
    )
    assert status[0] == "failed" and "disk full" in status[1]


def test_missing_input_artifact_and_corrupt_store(tmp_path):
    store = SqliteLineageStore(tmp_path / "lineage.sqlite")
    gone = Examples(str(tmp_path / "nowhere"))
    with pytest.raises(FileNotFoundError, match="nowhere"):
        execute(_broken, {"examples": gone}, {}, tmp_path, store, {})
    (tmp_path / "bad.sqlite").write_bytes(b"this is not a database" * 100)
    with pytest.raises(CorruptLineageError, match="bad.sqlite"):
        SqliteLineageStore(tmp_path / "bad.sqlite")


@pytest.mark.slow
def test_image_pipeline_refuses_grey_squares_and_pushes_them_forced(tmp_path):
    # One epoch of DCGAN makes grey squares (issue 14): the default image
    # gate refuses them for their formless share, the detector agreeing.
    steps = image_pipeline("dcgan", image_size=32, epochs=1,
                           serving_dir=str(tmp_path / "serving"))  # fmt: skip
    with pytest.raises(ExportRefused, match=r"formless_share [\d.]+ is above"):
        run_pipeline(steps, tmp_path / "root", **QUIET)
    assert not (tmp_path / "serving").exists()
    forced = image_pipeline("dcgan", image_size=32, epochs=1, force=True,
                            serving_dir=str(tmp_path / "serving"))  # fmt: skip
    result = run_pipeline(forced, tmp_path / "root", **QUIET)
    assert result.cached["train"] and result.cached["evaluate"]
    blessing = result.artifact("evaluate.blessing").properties
    assert not blessing["blessed"]
    assert any(f.startswith("image_detection_auc") for f in blessing["failures"])
    assert result.artifact("evaluate.evaluation").properties["formless_share"] > 0.1
    assert result.artifact("export.pushed").properties["forced"] is True
    assert (tmp_path / "serving" / "dcgan" / "1" / "saved_model.pb").is_file()
    assert result.artifact("ingest.examples").properties["rows"] == 130


def test_a_component_parameter_without_default_is_required(tmp_path):
    # As TFX: the train component's model_name, seed and holdout_fraction
    # have no defaults, so a step that leaves one out is refused before it runs.
    from kerasynth.components.train import train

    examples = Examples(str(tmp_path / "examples"))
    schema = Schema(str(tmp_path / "schema"))
    for artifact in (examples, schema):
        artifact.path.mkdir()
    store = SqliteLineageStore(tmp_path / "lineage.sqlite")
    with pytest.raises(ValueError, match=r"needs the parameters \['holdout_fraction'"):
        execute(train, {"examples": examples, "schema": schema},
                {"model_name": "tvae"}, tmp_path, store, {})  # fmt: skip
    store.close()
