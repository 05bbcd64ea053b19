"""`.npy` and `.npz` array files -> `ImageData`.

A `.npy` file holds the images alone. A `.npz` file holds them as `images`
(or `x`, or its only array), with optional `labels` (or `y`: integers, or
strings that become sorted class names) and `class_names`. Images are
`[N, H, W]` or `[N, H, W, C]` with C in 1, 3, 4, scaled by their dtype and
the range of the whole array (`image_preparation.scale_to_signed`).
Duplicates are items with the same SHA-256 of their raw values. Any other
array of one value per image (``subject_id``) can group the images by
person (`kerasynth.data.groups`).
"""

import hashlib
import zipfile
from pathlib import Path

import numpy as np

from kerasynth.data.groups import GroupKey
from kerasynth.data.image_data import ImageData, build_image_data, find_duplicates
from kerasynth.data.image_files import file_suffix
from kerasynth.data.image_preparation import prepare_image, scale_to_signed

ARRAY_EXTENSIONS = (".npy", ".npz")


def _read_array_file(
    path: Path,
) -> tuple[np.ndarray, np.ndarray | None, list | None, dict[str, np.ndarray]]:
    """Reads images, labels and class names from a `.npy` or `.npz` file,
    and every array of a `.npz` (none for a `.npy`)."""
    try:
        if file_suffix(path) == ".npy":
            return np.load(path, allow_pickle=False), None, None, {}
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive}
    except (OSError, EOFError, ValueError, zipfile.BadZipFile) as err:
        raise ValueError(f"Cannot read array file {path}: {err}") from err
    image_key = next((key for key in ("images", "x") if key in arrays), None)
    if image_key is None and len(arrays) == 1:
        image_key = next(iter(arrays))
    if image_key is None:
        raise ValueError(
            f"{path} has no array named 'images' or 'x'. Received keys: {list(arrays)}"
        )
    label_key = next((key for key in ("labels", "y") if key in arrays), None)
    names = arrays["class_names"].tolist() if "class_names" in arrays else None
    return arrays[image_key], arrays.get(label_key), names, arrays


def _check_labels(
    path: Path, labels: np.ndarray | None, names: list | None, num_images: int
) -> tuple[np.ndarray | None, list[str] | None]:
    """Validates labels; string labels become sorted class names."""
    if labels is None:
        return None, names
    if labels.shape != (num_images,):
        raise ValueError(
            f"Labels in {path} must have shape ({num_images},). "
            f"Received: shape={labels.shape}"
        )
    if labels.dtype.kind in "US":
        names, labels = np.unique(labels, return_inverse=True)
        return labels.astype(np.int32), [str(name) for name in names]
    if labels.dtype.kind not in "iub":
        raise ValueError(
            f"Labels in {path} must be integers or strings. "
            f"Received: dtype={labels.dtype}"
        )
    if names is not None and labels.size and labels.max() >= len(names):
        raise ValueError(
            f"Labels in {path} go up to {labels.max()} but only {len(names)} "
            "class_names are given"
        )
    return labels.astype(np.int32), names


def _group_array(
    path: Path, arrays: dict[str, np.ndarray], key: GroupKey, num_images: int,
    option: str = "--holdout-by", people: bool = True,
) -> np.ndarray:  # fmt: skip
    """The groups (or, with ``people=False``, the IDs) of a file's images,
    from the array `key` names; `option` names the flag in errors."""
    if file_suffix(path) == ".npy":
        raise ValueError(
            f"{option} {str(key)!r}: {path} is a .npy file, the images "
            "alone; save them in an .npz beside an array of one value per image"
        )
    if key.name not in arrays:
        raise ValueError(
            f"{option} {str(key)!r}: {path} has no array {key.name!r}. "
            f"Its arrays: {', '.join(arrays)}"
        )
    values = arrays[key.name]
    if values.shape != (num_images,):
        raise ValueError(
            f"{option} {str(key)!r}: array {key.name!r} of {path} must hold "
            f"one value per image, shape ({num_images},). "
            f"Received: shape={values.shape}"
        )
    return key.groups(values.tolist(), f"file {path}", people)


def load_array_file(
    path: Path, image_size: int, channels: int, group_by: GroupKey | None = None,
    ids_by: GroupKey | None = None,
) -> ImageData:  # fmt: skip
    """Reads the images (and labels) of a `.npy` or `.npz` file.

    Args:
        path: the file.
        image_size: side of the square output images.
        channels: 1 or 3.
        group_by: the group key (`kerasynth.data.groups`): a `.npz` array of
            each image's group (``subject_id``), with an optional regular
            expression; `None` for no groups.
        ids_by: the key of each image's ID (``subject_id``: the session,
            as it is), for `ImageData.ids`; `None` for none.

    Returns:
        An `ImageData` whose keys are ``"index i"``.
    """
    raw, labels, names, arrays = _read_array_file(path)
    valid_rank = raw.ndim == 3 or (raw.ndim == 4 and raw.shape[-1] in (1, 3, 4))
    if not valid_rank or raw.shape[0] == 0 or raw.dtype.kind not in "uifb":
        raise ValueError(
            f"Images in {path} must be a non-empty numeric array [N, H, W] or "
            f"[N, H, W, C] with C in (1, 3, 4). "
            f"Received: shape={raw.shape}, dtype={raw.dtype}"
        )
    labels, names = _check_labels(path, labels, names, raw.shape[0])
    groups = None
    if group_by is not None:
        groups = _group_array(path, arrays, group_by, raw.shape[0])
    ids = None
    if ids_by is not None:
        ids = _group_array(path, arrays, ids_by, raw.shape[0], "--image-ids", False)
    try:
        scaled = scale_to_signed(raw)
    except ValueError as err:
        raise ValueError(f"Cannot use images in {path}: {err}") from err
    images = [prepare_image(image, image_size, channels) for image in scaled]
    keys = [f"index {i}" for i in range(len(raw))]
    digests = [hashlib.sha256(item.tobytes()).hexdigest() for item in raw]
    return build_image_data(
        images, labels, names, f"file {path}", find_duplicates(keys, digests), keys,
        groups, ids,
    )  # fmt: skip
