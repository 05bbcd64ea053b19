"""`ImageData`, the one in-memory form of every image source.

Every loader (folders, array files, volumes, TFDS, the embedded template)
ends with `build_image_data`: it stacks the prepared images, fingerprints
them with their labels and class names, and reports exact duplicates.

Duplicates are reported, never removed. Each loader hashes its own source
items (file bytes, or an array item's raw values) and `find_duplicates`
groups equal digests; a warning goes to the `logging.getLogger("kerasynth")`
logger and the groups are kept in `ImageData.duplicates`.
"""

import collections
import dataclasses
import hashlib
import logging
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

logger = logging.getLogger("kerasynth")


@dataclasses.dataclass
class ImageData:
    """Images prepared for a model, with their labels and provenance.

    Attributes:
        images: float32 array `[N, image_size, image_size, channels]` in
            [-1, 1].
        labels: int32 array `[N]`, or `None` when the source has no labels.
        class_names: label `i` -> name (e.g. `["no", "yes"]`), or `None`.
        source: human readable description of what was read.
        fingerprint: SHA-256 hex digest of the prepared arrays and class
            names; identical data gives an identical fingerprint.
        duplicates: sorted groups (two or more) of identical source items:
            relative file paths, or `"index i"` for array items.
        keys: one name per image, to pair two sources (Pix2Pix): the
            relative path of a folder's image (``"yes/Y1.jpg"``, or
            ``"scan.nii.gz:40"`` for slice 40 of a volume), ``"index i"`` for
            an array item; `None` where a source has no stable names.
        groups: one group per image (a person's ID, from ``--holdout-by``:
            `kerasynth.data.groups`), kept through `subset` so a split keeps
            each group on one side and the memorization audit names the
            person of a nearest training image; `None` when not asked for.
        ids: one ID per image (its session: ``--image-ids``), to join the
            images to their people's rows; `None` when not asked for.
        covariates: the row of each image's person (a `pandas.DataFrame`
            of the covariates: `kerasynth.data.covariates`), for models
            conditioned on them; `None` otherwise.
    """

    images: np.ndarray
    labels: np.ndarray | None
    class_names: list[str] | None
    source: str
    fingerprint: str
    duplicates: list[list[str]]
    keys: list[str] | None = None
    groups: np.ndarray | None = None
    ids: np.ndarray | None = None
    covariates: Any = None

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def subset(self, mask: np.ndarray) -> "ImageData":
        """The images (and labels, keys, groups, IDs, covariates) where
        `mask` is true; the same source, a new fingerprint."""
        images = np.ascontiguousarray(self.images[mask])
        labels = None if self.labels is None else self.labels[mask]
        keys = None if self.keys is None else list(np.asarray(self.keys)[mask])
        groups = None if self.groups is None else self.groups[mask]
        ids = None if self.ids is None else self.ids[mask]
        covariates = self.covariates
        if covariates is not None:
            covariates = covariates[np.asarray(mask)].reset_index(drop=True)
        return dataclasses.replace(
            self,
            images=images,
            labels=labels,
            keys=keys,
            groups=groups,
            ids=ids,
            covariates=covariates,
            fingerprint=compute_fingerprint(images, labels, self.class_names),
        )


def find_duplicates(keys: Sequence[str], digests: Sequence[str]) -> list[list[str]]:
    """Groups keys whose digests are equal.

    Args:
        keys: item names (relative paths or `"index i"`).
        digests: one hash per key.

    Returns:
        Sorted groups of two or more keys, each group sorted.
    """
    groups = collections.defaultdict(list)
    for key, digest in zip(keys, digests, strict=True):
        groups[digest].append(key)
    return sorted(sorted(group) for group in groups.values() if len(group) > 1)


def compute_fingerprint(
    images: np.ndarray, labels: np.ndarray | None, class_names: Sequence[str] | None
) -> str:
    """Returns the SHA-256 hex digest of images, labels and class names."""
    digest = hashlib.sha256()
    digest.update(repr((images.shape, str(images.dtype))).encode())
    digest.update(np.ascontiguousarray(images).tobytes())
    if labels is not None:
        digest.update(np.ascontiguousarray(labels).tobytes())
    if class_names is not None:
        digest.update("\n".join(class_names).encode())
    return digest.hexdigest()


def build_image_data(
    images: Iterable[np.ndarray] | np.ndarray,
    labels: Sequence[int] | np.ndarray | None,
    class_names: Sequence[str] | None,
    source: str,
    duplicates: list[list[str]],
    keys: list[str] | None = None,
    groups: np.ndarray | None = None,
    ids: np.ndarray | None = None,
) -> ImageData:
    """Stacks prepared images, fingerprints them and reports duplicates.

    Args:
        images: prepared images (`prepare_image` outputs) or a stacked array.
        labels: one integer label per image, or `None`.
        class_names: label -> name, or `None`.
        source: description of the source.
        duplicates: groups from `find_duplicates`.
        keys: one name per image (see `ImageData.keys`), or `None`.
        groups: one group per image (see `ImageData.groups`), or `None`.
        ids: one ID per image (see `ImageData.ids`), or `None`.

    Returns:
        An `ImageData`.
    """
    stacked = np.ascontiguousarray(np.stack(list(images)), dtype=np.float32)
    label_array = None if labels is None else np.asarray(labels, dtype=np.int32)
    names = None if class_names is None else [str(name) for name in class_names]
    if duplicates:
        redundant = sum(len(group) - 1 for group in duplicates)
        logger.warning(
            "%s: %d groups of identical items (%d redundant copies), all kept; "
            "see ImageData.duplicates",
            source,
            len(duplicates),
            redundant,
        )
    return ImageData(
        images=stacked,
        labels=label_array,
        class_names=names,
        source=source,
        fingerprint=compute_fingerprint(stacked, label_array, names),
        duplicates=duplicates,
        keys=keys,
        groups=groups,
        ids=ids,
    )
