"""Write files and folders atomically: to a temporary path, then rename.

An interrupted or failed write leaves nothing at the target path: a reader
sees the old state or the whole new one, never half of it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

logger = logging.getLogger("kerasynth")


def check_output(path: Path, overwrite: bool) -> None:
    """Raises `FileExistsError` if `path` is a file or a non-empty folder and
    `overwrite` is false."""
    path = Path(path)
    if not path.exists() or (path.is_dir() and not any(path.iterdir())):
        return
    if not overwrite:
        kind = "folder" if path.is_dir() else "file"
        raise FileExistsError(
            f"Output {kind} {path} already exists and is not empty; choose "
            "another output or pass --overwrite to replace it."
        )


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()


def _chmod_like_mkdir(path: Path) -> None:
    # mkdtemp makes folders private (0700); the result should get the
    # permissions any new folder gets (0777 minus the umask).
    umask = os.umask(0)
    os.umask(umask)
    path.chmod(0o777 & ~umask)


def remove_leftovers(folder: Path, pattern: str) -> list[Path]:
    """Removes the staging folders a killed process left in `folder` (names
    matching `pattern`), and logs each; call it only while holding the lock
    that every writer of those folders holds (`kerasynth.locks`)."""
    removed = []
    for leftover in sorted(Path(folder).glob(pattern)):
        if not leftover.is_dir():  # a staged file of another target
            continue
        shutil.rmtree(leftover)
        logger.warning("Removed %s, left by an interrupted write.", leftover)
        removed.append(leftover)
    return removed


@contextlib.contextmanager
def staged_directory(target: Path, overwrite: bool = False) -> Iterator[Path]:
    """Yields an empty hidden folder beside `target`; renames it to `target`
    when the block succeeds and deletes it when the block raises.

    The block holds `target`'s lock (`kerasynth.locks.hold`), so another
    process writing the same target is refused, and a staging folder that a
    killed writer left (``.NAME.partial-*``) is removed first.
    """
    from kerasynth import locks

    target = Path(target)
    with locks.hold(target):
        check_output(target, overwrite)
        target.parent.mkdir(parents=True, exist_ok=True)
        remove_leftovers(target.parent, f".{target.name}.partial-*")
        staging = Path(
            tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent)
        )
        _chmod_like_mkdir(staging)
        try:
            yield staging
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        _remove(target)
        os.replace(staging, target)


@contextlib.contextmanager
def staged_file(target: Path, overwrite: bool = False) -> Iterator[Path]:
    """Yields a temporary path beside `target` (same suffix); renames it to
    `target` when the block succeeds and deletes it when the block raises."""
    target = Path(target)
    check_output(target, overwrite)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f".{target.stem}.partial-{os.getpid()}{target.suffix}")
    try:
        yield staging
    except BaseException:
        staging.unlink(missing_ok=True)
        raise
    _remove(target)
    os.replace(staging, target)


def write_json(path: Path, payload: Any, overwrite: bool = True) -> None:
    """Writes `payload` as indented, key-sorted JSON."""
    with staged_file(Path(path), overwrite=overwrite) as staging:
        staging.write_text(
            json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n"
        )
