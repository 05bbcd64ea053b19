"""Shared fixtures. The study's data lives outside the repository (its
licences forbid committing it); tests that need it skip when it is absent."""

import os
from pathlib import Path

import pytest

SHARED_DATA = Path(
    os.environ.get(
        "KERASYNTH_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"
    )
)


@pytest.fixture
def tumor_folder() -> Path:
    """The study's 253 brain tumor MRI JPEGs (``yes/`` and ``no/``)."""
    folder = SHARED_DATA / "brain_tumor_dataset"
    if not folder.is_dir():
        pytest.skip(f"the study's data is not at {folder}")
    return folder
