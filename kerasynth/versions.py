"""The package versions that decide whether a run can be reproduced,
recorded in every run's ``config.json`` and every pipeline execution."""

from __future__ import annotations

import contextlib
import importlib.metadata
import platform

PACKAGES = ("kerasynth", "keras", "tensorflow", "numpy", "pandas")


def package_versions() -> dict[str, str]:
    """The installed versions of `PACKAGES`, Python's and the platform's.

    Read from the installed distributions' metadata, so it imports none of
    them (a pipeline records them before TensorFlow is loaded).
    """
    versions = {}
    for package in PACKAGES:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            versions[package] = importlib.metadata.version(package)
    versions["python"] = platform.python_version()
    versions["platform"] = platform.platform()
    return versions
