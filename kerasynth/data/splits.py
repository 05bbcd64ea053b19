"""Seeded holdout splits, the same for training and for evaluation.

A run trained with ``holdout_fraction`` never sees the held-out rows or
images; ``kerasynth evaluate --run`` rebuilds the same split from the run's
seed and judges privacy and utility against it.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def holdout_mask(count: int, fraction: float, seed: int) -> np.ndarray:
    """A boolean mask of the `count` items to hold out (about `fraction`)."""
    if not 0.0 < fraction < 1.0:
        raise ValueError(
            f"holdout fraction must be between 0 and 1. Received: {fraction}"
        )
    held = np.random.default_rng([seed, 7]).random(count) < fraction
    if held.all() or not held.any():
        raise ValueError(
            f"A holdout fraction of {fraction} of {count} items leaves one side "
            "empty; use more data or another fraction."
        )
    return held


def split(items: Any, fraction: float | None, seed: int) -> tuple[Any, Any]:
    """`items` (an `ImageData` or `TableData`) as ``(train, held)``: the
    seeded `holdout_mask` split, or ``(items, None)`` for no fraction.

    Training and evaluation both split here, so ``kerasynth evaluate --run``
    gets back exactly the rows or images the run never saw.
    """
    if not fraction:
        return items, None
    held = holdout_mask(len(items), fraction, seed)
    return items.subset(~held), items.subset(held)
