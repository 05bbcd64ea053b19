"""Seeded holdout splits, the same for training and for evaluation.

A run trained with ``holdout_fraction`` never sees the held-out rows or
images; ``kerasynth evaluate --run`` rebuilds the same split from the run's
seed (and its ``holdout_by`` group key) and judges privacy and utility
against it.

Items that carry groups (`ImageData.groups`, `TableData.groups`: a person
each, from ``--holdout-by``) are split by group: whole groups go to the
holdout, in a seeded order, until about `fraction` of the *items* are held.
(scikit-learn's `GroupShuffleSplit` counts its `test_size` in groups; here
the fraction stays a share of the images or rows, so a split by person
holds out as much data as a split by item.)
"""

from __future__ import annotations

from typing import Any

import numpy as np


def holdout_mask(
    count: int, fraction: float, seed: int, groups: np.ndarray | None = None
) -> np.ndarray:
    """A boolean mask of the `count` items to hold out (about `fraction`).

    Args:
        count: the number of items.
        fraction: the share of items to hold out, between 0 and 1.
        seed: the split's seed; the same seed gives the same mask.
        groups: optional ``[count]`` group of each item (a person's ID): a
            group is held out whole or not at all. The groups are shuffled
            by `seed` and taken in that order while the held-out share gets
            closer to `fraction`.

    Returns:
        A boolean array ``[count]``, true for the held-out items.

    Raises:
        ValueError: `fraction` outside (0, 1), or a split that leaves a side
            empty (too few items or groups, or one group larger than the
            rest together).

    Example:

    >>> groups = np.array(["a", "a", "b", "b", "c", "d", "d", "e"])
    >>> held = holdout_mask(len(groups), 0.25, seed=0, groups=groups)
    >>> sorted(set(groups[held]).intersection(groups[~held]))
    []
    """
    if not 0.0 < fraction < 1.0:
        raise ValueError(
            f"holdout fraction must be between 0 and 1. Received: {fraction}"
        )
    rng = np.random.default_rng([seed, 7])
    if groups is None:
        held = rng.random(count) < fraction
        what = f"{count} items"
    else:
        groups = np.asarray(groups)
        if groups.shape != (count,):
            raise ValueError(
                f"groups must give one group per item ({count}). "
                f"Received: shape={groups.shape}"
            )
        held = _whole_groups(groups, fraction, rng)
        num_groups = len(np.unique(groups))
        what = f"{count} items in {num_groups} group{'s' * (num_groups != 1)}"
    if held.all() or not held.any():
        raise ValueError(
            f"A holdout fraction of {fraction} of {what} leaves one side "
            "empty; use more data or another fraction."
        )
    return held


def _whole_groups(
    groups: np.ndarray, fraction: float, rng: np.random.Generator
) -> np.ndarray:
    """Holds out whole groups, in a seeded order, to about `fraction` of the
    items: the prefix of the shuffled groups whose size is nearest."""
    # np.unique sorts, so the order does not depend on the items' order.
    names, group_of, sizes = np.unique(groups, return_inverse=True, return_counts=True)
    order = rng.permutation(len(names))
    held_so_far = np.cumsum(sizes[order])
    taken = int(np.argmin(np.abs(held_so_far - fraction * len(groups)))) + 1
    held_groups = np.zeros(len(names), bool)
    held_groups[order[:taken]] = True
    return held_groups[group_of.ravel()]


def split(
    items: Any, fraction: float | None, seed: int, held_groups=None
) -> tuple[Any, Any]:
    """`items` (an `ImageData` or `TableData`) as ``(train, held)``: the
    seeded `holdout_mask` split, by `items.groups` when they carry groups,
    or ``(items, None)`` for no fraction.

    `held_groups`, a list of groups, holds out exactly those instead: two
    sources of the same people (a table and its images) split alike.

    Training and evaluation both split here, so ``kerasynth evaluate --run``
    gets back exactly the rows or images the run never saw.
    """
    if held_groups is not None:
        if items.groups is None:
            raise ValueError("held_groups need items with groups (holdout_by)")
        held = np.isin(items.groups, np.asarray(list(held_groups), dtype=str))
        if held.all() or not held.any():
            raise ValueError(
                f"held_groups hold out {int(held.sum())} of {len(items)} items: "
                "one side would be empty"
            )
        return items.subset(~held), items.subset(held)
    if not fraction:
        return items, None
    held = holdout_mask(len(items), fraction, seed, groups=items.groups)
    return items.subset(~held), items.subset(held)
