"""An exclusive lock on an output, so two processes never write one run.

`hold(target)` takes an OS lock (``flock``) on a hidden sibling of `target`,
``.NAME.lock``, holding the owner's PID. A second process asking for it is
refused at once with that PID; a lock whose process died is released by
the kernel, so a stale lock never blocks the next run. The lock file is
removed on release. A process may take a lock it already holds (training
holds its output, and writing the run directory takes it again).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path


class OutputLocked(FileExistsError):
    """Another live process holds the output."""


_HELD: dict[Path, int] = {}  # this process's locks, with their depth


def lock_path(target: str | os.PathLike) -> Path:
    """The lock file of `target`: ``.NAME.lock`` beside it."""
    target = Path(target)
    return target.parent / f".{target.name}.lock"


@contextlib.contextmanager
def hold(target: str | os.PathLike) -> Iterator[Path]:
    """Holds the lock of `target` for the block.

    Raises:
        OutputLocked: another live process holds it (its PID is named).
    """
    path = lock_path(target).resolve()
    if path in _HELD:
        _HELD[path] += 1
        try:
            yield path
        finally:
            _HELD[path] -= 1
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115 (held)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            owner = handle.read().strip() or "unknown"
            handle.close()
            raise OutputLocked(
                f"{target} is being written by another kerasynth process (PID "
                f"{owner}); wait for it to finish or choose another output."
            ) from None
        # The previous owner may have removed the file between our open and
        # our lock: then we hold a lock on a file nobody else can see.
        if path.exists() and os.stat(path).st_ino == os.fstat(handle.fileno()).st_ino:
            break
        handle.close()
    try:
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        _HELD[path] = 1
        yield path
    finally:
        _HELD.pop(path, None)
        path.unlink(missing_ok=True)
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()
