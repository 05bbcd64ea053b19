"""Every notebook runs top to bottom (tiny settings through environment
variables); a failing cell fails the test."""

from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).parents[1] / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks():
    names = {p.name for p in NOTEBOOKS}
    assert {"mri_synthesis.ipynb", "tabular_synthesis.ipynb",
            "pipeline_and_serving.ipynb",
            "synthetic_patients.ipynb"} <= names  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path, tmp_path, monkeypatch):
    nbclient = pytest.importorskip("nbclient")
    nbformat = pytest.importorskip("nbformat")
    monkeypatch.setenv("KERASYNTH_NOTEBOOK_EPOCHS", "1")
    monkeypatch.setenv("KERASYNTH_NOTEBOOK_IMAGE_SIZE", "32")
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "2")
    notebook = nbformat.read(path, as_version=4)
    assert not any(c.get("outputs") for c in notebook.cells if c.cell_type == "code"), (
        "notebooks are committed with their outputs stripped"
    )
    client = nbclient.NotebookClient(
        notebook,
        timeout=900,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()  # the kernel inherits the environment set above
