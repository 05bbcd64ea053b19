"""Image files, and folders of image files and volumes, -> `ImageData`.

A folder is read recursively in sorted order, hidden files and folders
skipped; its first-level sub-folders are the classes. Volumes in a folder
are read by `kerasynth.data.volumes` (imported only when a folder holds one)
and contribute their axial slices with brain.

Colour: every PIL mode is converted to the requested channels; transparent
pixels are composited over black first, and one channel is PIL's `"L"`
luminance. 8-bit images map `0..255 -> -1..1`; 16-bit and float images
(PIL modes `I;16`, `I`, `F`) use their own min/max. JPEG EXIF orientation is
applied. Multi-frame GIF/TIFF files contribute their first frame.

Duplicates are files with the same SHA-256 of their bytes (an Analyze
volume's `.img` and `.hdr` together). Images can be grouped by person by
their file's name or path (`kerasynth.data.groups`).
"""

import hashlib
import io
import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from kerasynth.data.groups import GroupKey
from kerasynth.data.image_data import ImageData, build_image_data, find_duplicates
from kerasynth.data.image_preparation import (
    convert_channels,
    prepare_image,
    scale_to_signed,
)

IMAGE_EXTENSIONS = (".bmp", ".gif", ".jpeg", ".jpg", ".png", ".tif", ".tiff")
# NIfTI-1/2 and Analyze (`.img` with its `.hdr`), read by `volumes.py`.
VOLUME_EXTENSIONS = (".nii", ".nii.gz", ".img", ".hdr")
_HIGH_DEPTH_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I", "F")
_ALPHA_MODES = ("RGBA", "RGBa", "LA", "La", "PA", "P")


def file_suffix(path: str | os.PathLike) -> str:
    """Returns the lower-case suffix of `path`, keeping `.nii.gz` whole."""
    name = Path(path).name.lower()
    return ".nii.gz" if name.endswith(".nii.gz") else Path(name).suffix


def _pil_to_array(image: Image.Image, channels: int) -> np.ndarray:
    """A PIL image of any mode -> float32 [H, W, channels] in [-1, 1]."""
    image = ImageOps.exif_transpose(image)
    if image.mode in _HIGH_DEPTH_MODES:
        values = np.asarray(image, dtype=np.float64)
        low, high = values.min(), values.max()
        scaled = (values - low) / (high - low) if high > low else values * 0.0
        return convert_channels((scaled * 2.0 - 1.0).astype(np.float32), channels)
    if image.mode in _ALPHA_MODES:
        black = Image.new("RGBA", image.size, (0, 0, 0, 255))
        image = Image.alpha_composite(black, image.convert("RGBA"))
    if image.mode not in ("L", "RGB"):
        image = image.convert("RGB")
    image = image.convert("L" if channels == 1 else "RGB")
    return convert_channels(scale_to_signed(np.asarray(image)), channels)


def _decode_image_bytes(data: bytes, path: Path, channels: int) -> np.ndarray:
    """Decodes an image file's bytes, naming the file on any failure."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            return _pil_to_array(image, channels)
    except Image.UnidentifiedImageError:
        # PIL's own message names its BytesIO, not the file.
        raise ValueError(
            f"Cannot read image {path}: not an image file its suffix "
            f"({path.suffix}) promises."
        ) from None
    except Exception as err:  # PIL raises many types for corrupt files.
        raise ValueError(f"Cannot read image {path}: {err}") from err


def _scan_folder(root: Path) -> list[str]:
    """Relative posix paths of image and volume files, sorted, hidden skipped."""
    found = []
    accepted = IMAGE_EXTENSIONS + VOLUME_EXTENSIONS
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [name for name in dirnames if not name.startswith(".")]
        for name in filenames:
            suffix = file_suffix(name)
            # An Analyze pair is one volume: read through its `.img`.
            if name.startswith(".") or suffix not in accepted or suffix == ".hdr":
                continue
            found.append((Path(dirpath) / name).relative_to(root).as_posix())
    return sorted(found)


def _folder_labels(root: Path, files: list[str]) -> tuple[list[int] | None, list[str]]:
    """First-level folders -> labels; `None` when all files are at the top."""
    top = [name for name in files if "/" not in name]
    if len(top) == len(files):
        return None, []
    if top:
        raise ValueError(
            f"Folder {root} mixes top-level images ({top[0]}, ...) with class "
            "sub-folders; move them into a sub-folder or load a sub-folder"
        )
    class_names = sorted({name.split("/", 1)[0] for name in files})
    index = {name: i for i, name in enumerate(class_names)}
    return [index[name.split("/", 1)[0]] for name in files], class_names


def load_folder(
    root: Path, image_size: int, channels: int, group_by: GroupKey | None = None,
    ids_by: GroupKey | None = None,
) -> ImageData:  # fmt: skip
    """Reads a folder of images and/or volumes, labelled by sub-folder.

    Args:
        root: the folder; its first-level sub-folders, if any, are classes.
        image_size: side of the square output images.
        channels: 1 or 3.
        group_by: the group key (`kerasynth.data.groups`): ``name`` or
            ``path`` of each image's file, with an optional regular
            expression (``name:^(sub-\\d+)_``); `None` for no groups.
        ids_by: the key of each image's ID, the same way (the slices of a
            volume share its file's), for `ImageData.ids`; `None` for none.

    Returns:
        An `ImageData` whose keys are relative paths (``"scan.nii.gz:40"``
        for slice 40 of a volume).
    """
    files = _scan_folder(root)
    if not files:
        raise ValueError(
            f"No images found in folder {root}; accepted extensions: "
            f"{', '.join(IMAGE_EXTENSIONS + VOLUME_EXTENSIONS)}"
        )
    file_labels, class_names = _folder_labels(root, files)
    file_groups = None
    if group_by is not None:  # before decoding, so a bad key fails at once
        file_groups = group_by.folder_groups(files, f"folder {root}")
    file_ids = None
    if ids_by is not None:
        file_ids = ids_by.folder_groups(files, f"folder {root}", people=False)
    images, labels, digests, keys, groups, ids = [], [], [], [], [], []
    num_volumes = 0
    for i, name in enumerate(files):
        path = root / name
        data = path.read_bytes()
        if file_suffix(name) in IMAGE_EXTENSIONS:
            arrays = [_decode_image_bytes(data, path, channels)]
            keys.append(name)
        else:
            from kerasynth.data import volumes

            num_volumes += 1
            if file_suffix(name) == ".img" and path.with_suffix(".hdr").exists():
                data += path.with_suffix(".hdr").read_bytes()
            axial = volumes.load_volume_slices(path)
            arrays = list(axial.slices)
            keys.extend(f"{name}:{int(z)}" for z in axial.indices)
        images.extend(prepare_image(array, image_size, channels) for array in arrays)
        if file_groups is not None:
            groups.extend([file_groups[i]] * len(arrays))
        if file_ids is not None:
            ids.extend([file_ids[i]] * len(arrays))
        if file_labels is not None:
            labels.extend([file_labels[i]] * len(arrays))
        digests.append(hashlib.sha256(data).hexdigest())
    if not images:
        raise ValueError(f"No axial slice with brain found in the volumes of {root}")
    source = f"folder {root} ({len(files)} files)"
    if num_volumes:
        source = (
            f"folder {root} ({len(files)} files: {len(files) - num_volumes} images, "
            f"{num_volumes} volumes, {len(images)} images in total)"
        )
    return build_image_data(
        images,
        labels if file_labels is not None else None,
        class_names or None,
        source,
        find_duplicates(files, digests),
        keys,
        None if file_groups is None else np.asarray(groups, dtype=str),
        None if file_ids is None else np.asarray(ids, dtype=str),
    )
