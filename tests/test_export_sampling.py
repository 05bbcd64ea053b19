"""Sampling an exported generator shard by shard: the plan, the in-process
engine, and the same job on Apache Beam's DirectRunner (the ``[beam]``
extra; CI installs it and sets KERASYNTH_REQUIRE_BEAM=1, so there the Beam
tests must run rather than skip)."""

import io
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kerasynth import export, export_sampling, registry
from kerasynth.data.transformer import TableTransformer
from kerasynth.export_sampling import plan
from kerasynth.models.dcgan import DCGAN
from kerasynth.testing import invoke_cli


def beam_or_skip():
    if os.environ.get("KERASYNTH_REQUIRE_BEAM") == "1":
        import apache_beam  # noqa: F401 (must be installed: fail, not skip)
    else:
        pytest.importorskip("apache_beam")


@pytest.fixture(scope="module")
def table_export(tmp_path_factory):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "sex": rng.choice(["F", "M"], 80),
            "age": rng.normal(60, 10, 80).round(),
            "cdr": rng.choice([0.0, 0.5, 1.0], 80),
        }
    )
    transformer = TableTransformer(encoding="mode_specific", seed=0).fit(frame)
    model = registry.get_model(
        "tvae", transformer=transformer, latent_dim=4, encoder_widths=(8,),
        decoder_widths=(8,),
    )  # fmt: skip
    return export.export_model(model, tmp_path_factory.mktemp("serving"), "table")


@pytest.fixture(scope="module")
def image_export(tmp_path_factory):
    model = DCGAN(image_size=32, generator_filters=4, discriminator_filters=4)
    return export.export_model(model, tmp_path_factory.mktemp("serving"), "mri")


def test_plan_splits_evenly_and_seeds_by_place():
    chunks = plan(num=10, shards=3, chunk_size=2, seed=7)
    sizes = {}
    for chunk in chunks:
        sizes[chunk.shard] = sizes.get(chunk.shard, 0) + chunk.num_samples
    assert sizes == {0: 4, 1: 3, 2: 3}
    assert max(c.num_samples for c in chunks) == 2
    # A chunk's seed depends on (seed, shard, chunk) alone.
    again = plan(num=20, shards=3, chunk_size=2, seed=7)
    assert chunks[0].seed == again[0].seed
    assert len({c.seed for c in chunks}) == len(chunks)
    assert plan(10, 3, 2, seed=8)[0].seed != chunks[0].seed


@pytest.mark.parametrize(
    "num, shards, chunk_size, message",
    [(3, 4, 1, "into 4 shards"), (0, 1, 1, "num must"), (5, 1, 0, "chunk_size")],
)
def test_plan_refuses_impossible_splits(num, shards, chunk_size, message):
    with pytest.raises(ValueError, match=message):
        plan(num, shards, chunk_size, seed=0)


def test_local_engine_writes_shards_of_decoded_rows(table_export, tmp_path):
    out = export_sampling.sample_saved_model(
        table_export.parent, num=50, output=tmp_path / "rows", shards=3, seed=1,
        chunk_size=8,
    )  # fmt: skip
    names = sorted(p.name for p in out.iterdir())
    assert names == [f"part-0000{i}-of-00003.csv" for i in range(3)]
    rows = export_sampling.read_shards(out)
    assert list(rows.columns) == ["sex", "age", "cdr"]  # the table's order
    assert len(rows) == 50 and set(rows["sex"]) <= {"F", "M"}
    # Shard 0, chunk 0 is the signature called with that chunk's seed.
    generator = export_sampling.SavedGenerator(table_export)
    first = plan(50, 3, 8, seed=1)[0]
    expected = generator.sample(first.num_samples, first.seed)
    as_read = pd.read_csv(io.BytesIO(export_sampling.encode_shard(expected, "csv")))
    pd.testing.assert_frame_equal(rows.iloc[:8], as_read)


def test_conditional_rows_and_parquet(table_export, tmp_path):
    out = export_sampling.sample_saved_model(
        table_export, num=12, output=tmp_path / "f", shards=2, seed=0,
        condition=("sex", "F"), fmt="parquet",
    )  # fmt: skip
    rows = export_sampling.read_shards(out)
    assert len(rows) == 12 and set(rows["sex"]) == {"F"}


def test_bad_requests_name_what_is_wrong(table_export, image_export, tmp_path):
    with pytest.raises(ValueError, match="Tables are written as csv or parquet"):
        export_sampling.sample_saved_model(table_export, 4, tmp_path / "a", fmt="npy")
    with pytest.raises(ValueError, match="not a class-conditional generator"):
        export_sampling.SavedGenerator(image_export, condition=("label", "yes"))
    with pytest.raises(ValueError, match="is not an exported generator"):
        export_sampling.sample_saved_model(tmp_path, 4, tmp_path / "b")
    assert not (tmp_path / "a").exists()


def test_beam_writes_the_same_shards_as_the_local_engine(
    table_export, image_export, tmp_path
):
    beam_or_skip()
    for exported, num, fmt in ((table_export, 40, "csv"), (image_export, 10, "npy")):
        local, beam = tmp_path / f"local-{fmt}", tmp_path / f"beam-{fmt}"
        common = dict(num=num, shards=4, seed=3, chunk_size=3)
        export_sampling.sample_saved_model(exported, output=local, **common)
        export_sampling.sample_saved_model(
            exported, output=beam, engine="beam",
            pipeline_args=["--direct_num_workers=2",
                           "--direct_running_mode=multi_threading"],
            **common,
        )  # fmt: skip
        names = sorted(p.name for p in beam.iterdir())
        assert names == sorted(p.name for p in local.iterdir())
        assert len(names) == 4
        for name in names:
            assert (beam / name).read_bytes() == (local / name).read_bytes(), name
    images = export_sampling.read_shards(tmp_path / "beam-npy")
    assert images.shape == (10, 32, 32, 1) and np.abs(images).max() <= 1


def test_cli_beam_engine(table_export, tmp_path):
    beam_or_skip()
    out = tmp_path / "cli"
    result = invoke_cli(
        "sample", "--saved-model", str(table_export.parent), "--engine", "beam",
        "--shards", "2", "--num", "20", "--seed", "4", "--output", str(out),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "20 samples in 2 shards" in result.output
    assert len(export_sampling.read_shards(out)) == 20


def test_cli_refuses_bad_sampling_options(table_export, tmp_path):
    result = invoke_cli("sample", "--saved-model", str(table_export), "--num", "3",
                        "--shards", "5", "--output", str(tmp_path / "x"))  # fmt: skip
    assert result.exit_code == 2 and "into 5 shards" in result.output
    result = invoke_cli("sample", "--num", "3", "--output", str(tmp_path / "y"))
    assert result.exit_code == 2 and "--run or --saved-model" in result.output
    result = invoke_cli("sample", "--saved-model", str(table_export), "--num", "3",
                        "--shard", "2", "--output", str(tmp_path / "z"))  # fmt: skip
    assert result.exit_code == 2 and "No such option '--shard'" in result.output
    result = invoke_cli(
        "sample", "--saved-model", str(table_export), "--num", "3",
        "--output", str(tmp_path / "z"), "--", "--runner=X",
    )  # fmt: skip
    assert result.exit_code == 2 and "need --engine beam" in result.output
    assert not (tmp_path / "z").exists()


def test_cli_without_beam_names_the_extra(table_export, tmp_path, monkeypatch):
    import sys

    import kerasynth

    monkeypatch.setitem(sys.modules, "apache_beam", None)  # as if not installed
    monkeypatch.delitem(sys.modules, "kerasynth.beam", raising=False)
    monkeypatch.delattr(kerasynth, "beam", raising=False)
    result = invoke_cli(
        "sample", "--saved-model", str(table_export), "--engine", "beam",
        "--num", "3", "--output", str(tmp_path / "z"),
    )  # fmt: skip
    assert result.exit_code == 2
    assert "pip install 'kerasynth[beam]'" in result.output
    assert not (tmp_path / "z").exists()


def test_unknown_condition_and_negative_seed(table_export, tmp_path):
    with pytest.raises(ValueError, match="Unknown condition sex=X"):
        export_sampling.SavedGenerator(table_export, condition=("sex", "X"))
    assert plan(4, 1, 4, seed=-5)[0].seed >= 0


def test_remote_style_paths_keep_their_scheme(table_export):
    # TensorFlow's in-memory filesystem stands in for gs://: the path must
    # reach tf.io.gfile whole ("ram://", not pathlib's "ram:/").
    from tensorflow.io import gfile

    base = "ram://serving/table"
    for source in Path(table_export).rglob("*"):
        target = f"{base}/1/{source.relative_to(table_export).as_posix()}"
        if source.is_dir():
            gfile.makedirs(target)
        else:
            gfile.makedirs(target.rsplit("/", 1)[0])
            gfile.copy(str(source), target, overwrite=True)
    assert export_sampling.resolve_saved_model(base) == f"{base}/1"
    assert export_sampling.read_metadata(f"{base}/1")["columns"] == [
        "sex",
        "age",
        "cdr",
    ]


def test_beam_refuses_local_paths_on_a_remote_runner(tmp_path):
    beam_or_skip()
    from kerasynth import beam

    args = ["--runner=DataflowRunner"]
    with pytest.raises(ValueError, match="cannot reach the local --saved-model"):
        beam.check_reachable(args, "serving/ctgan", "gs://bucket/out")
    with pytest.raises(ValueError, match="cannot reach the local --output"):
        beam.check_reachable(args, "gs://bucket/serving/ctgan", str(tmp_path))
    beam.check_reachable(["--direct_num_workers=2"], "serving/ctgan", str(tmp_path))
    (tmp_path / "part-00000-of-00002.csv").write_text("a\n1\n")
    with pytest.raises(ValueError, match="already holds 1 shards"):
        beam.clear_shards(str(tmp_path), overwrite=False)
    with pytest.raises(ValueError, match="wrote 1 of 2 shards"):
        beam.check_complete(str(tmp_path), 2, "csv")
    beam.clear_shards(str(tmp_path), overwrite=True)
    assert not list(tmp_path.iterdir())


def test_exported_rows_keep_the_original_dtypes(tmp_path):
    # The SavedModel's outputs are floats and text; its client must give
    # back the frame `generate` gives: integer ages, integer categories,
    # nullable floats, text, in the column order.
    from kerasynth.shards import SavedGenerator

    rng = np.random.default_rng(1)
    frame = pd.DataFrame(
        {
            "age": rng.integers(40, 90, 120),
            "sex": rng.choice(["F", "M"], 120),
            "ses": rng.choice([1, 2, 3], 120),
            "mmse": np.where(rng.random(120) < 0.2, np.nan, rng.normal(27, 2, 120)),
        }
    )
    transformer = TableTransformer(encoding="mode_specific", seed=0).fit(frame)
    model = registry.get_model(
        "tvae", transformer=transformer, latent_dim=4, encoder_widths=(8,),
        decoder_widths=(8,),
    )  # fmt: skip
    path = export.export_model(model, tmp_path, "dtypes")
    exported = SavedGenerator(path).sample(60, 3)
    expected = model.generate(60, seed=3)
    assert expected["age"].dtype == np.int64  # what the fix keeps
    pd.testing.assert_frame_equal(exported, expected)
