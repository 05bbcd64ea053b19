"""Group keys: which images or rows belong to one person, for splits by person.

Slices of one brain, or two scans of one person, are far more alike than
images of two people: a holdout that shares people with the training set
says little about privacy or generalisation. A group key names, for every
item, the group it belongs to, and `kerasynth.data.splits.split` keeps each
group on one side (as scikit-learn's `GroupShuffleSplit` does with its
`groups` array).

A key is written ``NAME`` or ``NAME:REGEX`` (split at the first colon):

- ``NAME`` says where each item's value comes from: an array of an ``.npz``
  file (``subject_id``), a column of a table (``ID``), or, for a folder of
  images, ``name`` (the file's name: ``OAS1_0061_MR1_z40.png``; the slices
  of a volume share their volume's) or ``path`` (its path in the folder,
  class sub-folder included: ``yes/Y1.jpg``);
- ``REGEX``, optional, maps a value to its group: the first group of its
  first match (`re.search`), or the whole match when it has no group. Two
  sessions of one person become one group: ``subject_id:^OAS1_\\d{4}``
  turns ``OAS1_0061_MR1`` and ``OAS1_0061_MR2`` into ``OAS1_0061``. A value
  it does not match is an error, never a group of its own.

This module imports NumPy only.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from pathlib import PurePosixPath

import numpy as np

# The values a folder of images can be grouped by.
FOLDER_KEYS = {"name": "the file's name", "path": "its path in the folder"}

# A session of the OASIS releases (Marcus et al. 2007): its person, then
# the scan (MR1, MR2 for a repeat scan of the same person).
OASIS_SESSION = re.compile(r"^(OAS\d_\d{4})_MR\d+$")


@dataclasses.dataclass(frozen=True)
class GroupKey:
    """A parsed ``NAME[:REGEX]`` group key (see the module's docstring).

    Attributes:
        name: the array, column or folder key (``name``, ``path``) that
            holds each item's value.
        pattern: the regular expression mapping a value to its group, or
            `None` to use the value as it is.
    """

    name: str
    pattern: str | None = None

    @classmethod
    def parse(cls, spec: str) -> GroupKey:
        """Reads ``NAME`` or ``NAME:REGEX``.

        Args:
            spec: the key as given to ``--holdout-by``.

        Returns:
            A `GroupKey`.

        Raises:
            ValueError: no name before the colon, an empty or invalid
                regular expression.

        Example:

        >>> GroupKey.parse(r"subject_id:^OAS1_\\d{4}")
        GroupKey(name='subject_id', pattern='^OAS1_\\\\d{4}')
        """
        name, colon, pattern = str(spec).partition(":")
        if not name:
            raise ValueError(
                "--holdout-by takes NAME or NAME:REGEX, NAME an array, a column, "
                f"or a folder's 'name' or 'path'. Received: {spec!r}"
            )
        if colon and not pattern:
            raise ValueError(
                f"--holdout-by {spec!r} has an empty regular expression after "
                f"the colon; give one, or just {name!r}"
            )
        if colon:
            try:
                re.compile(pattern)
            except re.error as error:
                raise ValueError(
                    f"--holdout-by {spec!r}: {pattern!r} is not a regular "
                    f"expression ({error})"
                ) from None
        return cls(name, pattern if colon else None)

    def __str__(self) -> str:
        return self.name if self.pattern is None else f"{self.name}:{self.pattern}"

    def groups(self, values: Iterable, where: str, people: bool = True) -> np.ndarray:
        """The group of each value: the value itself, or what `pattern`
        picks from its text.

        Args:
            values: one value per item (any type; compared as text).
            where: the source, for error messages (``"file x.npz"``).
            people: read OASIS sessions as their people (without
                `pattern`); `False` keeps the values (an image's ID).

        Returns:
            A NumPy string array, one group per value: without `pattern`,
            the values, or their people when all are OASIS sessions.

        Raises:
            ValueError: `pattern` does not match a value (the message names
                the first such value).
        """
        texts = [str(value) for value in values]
        if self.pattern is None:
            persons = [OASIS_SESSION.match(text) for text in texts] if people else []
            if texts and persons and all(persons):
                return np.asarray([person.group(1) for person in persons], dtype=str)
            return np.asarray(texts, dtype=str)
        compiled = re.compile(self.pattern)
        found = []
        for text in texts:
            match = compiled.search(text)
            group = None
            if match is not None:
                group = match.group(1) if compiled.groups else match.group(0)
            if not group:
                raise ValueError(
                    f"--holdout-by {str(self)!r}: the pattern finds no group in "
                    f"{text!r} ({where}); every {self.name} value needs one"
                )
            found.append(group)
        return np.asarray(found, dtype=str)

    def folder_groups(
        self, files: list[str], where: str, people: bool = True
    ) -> np.ndarray:
        """The groups of a folder's images from the files they come from.

        Args:
            files: each image's file, as its relative posix path (a volume's
                slices repeat their volume's).
            where: the folder, for error messages.

        Returns:
            A NumPy string array, one group per image.

        Raises:
            ValueError: `name` is not a folder key (``name``, ``path``), or
                `pattern` does not match a file.
        """
        if self.name not in FOLDER_KEYS:
            known = ", ".join(f"{key!r} ({what})" for key, what in FOLDER_KEYS.items())
            raise ValueError(
                f"--holdout-by {str(self)!r}: a folder's images are grouped by "
                f"{known}, then optionally :REGEX ({where}). Received: {self.name!r}"
            )
        if self.name == "name":
            files = [PurePosixPath(file).name for file in files]
        return self.groups(files, where, people)


def no_groups_error(spec: str, what: str, option: str = "--holdout-by") -> ValueError:
    """The error for a group (or ID) key given on data that has no values
    for it."""
    return ValueError(
        f"{option} {spec!r}: {what} has nothing to group by; group an .npz "
        "by one of its arrays, a folder by its file names (name, path) or a "
        "table by a column"
    )
