"""Resuming an interrupted run: the options it must keep, and interrupts.

`kerasynth.training.train` records a run's options beside its backup
(`check_same_run`), so ``--resume`` with other options is refused before a
model is built; Ctrl-C and SIGTERM (`terminate_as_interrupt`) stop training
with the backup in place, and `TrainingInterrupted` says how to go on.
"""

from __future__ import annotations

import contextlib
import json
import signal
import threading
from pathlib import Path

from kerasynth import runs
from kerasynth.config import TrainConfig

RESUME_FILE = "train_config.json"  # in the work directory
# Options that may differ between a run and its resume.
_RESUMABLE_CHANGES = ("resume", "overwrite", "verbose")


def check_same_run(config: TrainConfig, path: Path) -> None:
    """Records `config` beside a new run's backup; on ``--resume`` refuses,
    in one line and before any model is built, options that differ from
    the interrupted run's (another model or image size cannot load its
    backup, and other data or seeds would not continue it)."""
    options = {
        name: value
        for name, value in json.loads(config.to_json()).items()
        if name not in _RESUMABLE_CHANGES
    }
    if config.resume and path.exists():
        recorded = json.loads(path.read_text())
        changed = [
            f"{name} {options.get(name)!r} (was {recorded.get(name)!r})"
            for name in sorted(set(options) | set(recorded))
            if options.get(name) != recorded.get(name)
        ]
        if changed:
            raise ValueError(
                "--resume needs the options of the interrupted run; these "
                f"differ: {'; '.join(changed)}"
            )
        return
    runs.write_json(path, options)


class TrainingInterrupted(Exception):
    """Ctrl-C or SIGTERM stopped a run that can be resumed; the message says
    how (the CLI prints it as one line)."""


@contextlib.contextmanager
def terminate_as_interrupt():
    """SIGTERM (a scheduler's stop, `kill`) stops training as Ctrl-C does:
    the backup of the last epoch stays, and the run can be resumed."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def backed_up_epochs(backup: Path) -> int | str:
    """The epochs a backup holds (Keras' ``training_metadata.json``)."""
    try:
        return json.loads((backup / "training_metadata.json").read_text())["epoch"]
    except (OSError, ValueError, KeyError):
        return "its last backup"


def consumed_batches(backup: Path, steps_per_epoch: int) -> int:
    """The batches the backed-up epochs trained on (0 without a backup).

    A resumed run skips them in its endless stream of batches, so that its
    epochs see the batches the uninterrupted run's would (with the random
    states the backup restores, the same weights).
    """
    epochs = backed_up_epochs(backup)
    return epochs * steps_per_epoch if isinstance(epochs, int) else 0
