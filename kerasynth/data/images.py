"""Read an image source into one float32 NHWC array in [-1, 1].

`load_images` is the single entry point for image data. It accepts a folder of
images or NIfTI volumes, a `.npy`/`.npz` file, a NIfTI/Analyze volume, a TFDS
dataset (`"tfds:NAME[/CONFIG][:SPLIT]"`) or `None` for the embedded MNI152
template, and always returns an `ImageData` with the same contract.

Resize policy: each image is padded to a square, centred, with black (the
background of an MRI slice), then resized to `image_size` with an
anti-aliasing Lanczos filter (PIL's resampling widens the kernel when it
shrinks). Padding keeps the whole skull in view whatever the aspect ratio;
a centre crop could cut the skull or a lesion at the border. Lanczos can
overshoot slightly at sharp edges; the result is clipped to [-1, 1].

Intensity policy:

- 8-bit images and `uint8` arrays: `0..255 -> -1..1` (`x / 127.5 - 1`).
- 16-bit and float images (PIL modes `I;16`, `I`, `F`): per-image min/max.
- Float or non-`uint8` arrays: detected by the range of the whole array,
  `[0, 1] -> 2x - 1`, `[-1, 1]` kept as is, anything else min/max of the whole
  dataset. A `[-1, 1]` array that happens to be non-negative is therefore read
  as `[0, 1]`; store such data as `uint8` or with its negative values.
- NIfTI volumes: per-volume robust percentiles (see `volumes.py`).

Colour: every PIL mode is converted to the requested channels; transparent
pixels are composited over black first, and one channel is the ITU-R 601-2
luminance (PIL's `"L"` conversion; the same weights for RGB arrays). JPEG EXIF
orientation is applied. Multi-frame GIF/TIFF files contribute their first
frame.

Duplicates: exact duplicates are reported, never removed. Files are compared
by the SHA-256 of their bytes, arrays item by item by the SHA-256 of their raw
values. A warning goes to the `logging.getLogger("kerasynth")` logger and the
groups are kept in `ImageData.duplicates`.

Groups: `group_by` names each image's person (an `.npz` array such as
`subject_id`, or a folder image's file `name`/`path`, each with an optional
regular expression: `kerasynth.data.groups`), carried in `ImageData.groups`
for splits by person.

This module imports neither TensorFlow nor nibabel; TFDS, NIfTI and the
embedded template are imported only when such a source is requested.

It only dispatches on the source. The sources live in `image_files`
(folders and image files), `image_arrays` (`.npy`/`.npz`), `volumes` (NIfTI
and Analyze), `catalog` (TFDS) and `embedded` (the template); each of them
builds its result with `image_data` (`ImageData`, fingerprints, duplicates)
and `image_preparation` (padding, resizing, intensities, channels), so the
dependencies point one way. The helpers are importable from here too.
"""

import os
from pathlib import Path

from kerasynth.data.groups import GroupKey, no_groups_error
from kerasynth.data.image_arrays import ARRAY_EXTENSIONS, load_array_file
from kerasynth.data.image_data import (
    ImageData,
    build_image_data,
    compute_fingerprint,
    find_duplicates,
)
from kerasynth.data.image_files import (
    IMAGE_EXTENSIONS,
    VOLUME_EXTENSIONS,
    file_suffix,
    load_folder,
)
from kerasynth.data.image_preparation import (
    MIN_IMAGE_SIZE,
    check_image_args,
    prepare_image,
    scale_to_signed,
)

__all__ = [
    "ARRAY_EXTENSIONS",
    "IMAGE_EXTENSIONS",
    "MIN_IMAGE_SIZE",
    "VOLUME_EXTENSIONS",
    "ImageData",
    "build_image_data",
    "check_image_args",
    "compute_fingerprint",
    "file_suffix",
    "find_duplicates",
    "load_images",
    "prepare_image",
    "scale_to_signed",
]


def load_images(
    source: str | os.PathLike | None,
    image_size: int = 64,
    channels: int = 1,
    group_by: str | None = None,
    ids_by: str | None = None,
) -> ImageData:
    """Read images from a folder, an array file, a volume, TFDS or the default.

    Args:
        source: `None` for the embedded MNI152 template slices; a string
            `"tfds:NAME[/CONFIG][:SPLIT]"` for a prepared TFDS dataset; a
            folder of images (`.jpg`, `.png`, `.bmp`, `.gif`, `.tif`) and/or
            NIfTI volumes, where first-level sub-folders are classes; a `.npy`
            or `.npz` file; a `.nii`, `.nii.gz` or Analyze `.img`/`.hdr` volume.
        image_size: side of the square output images, at least 8.
        channels: 1 (greyscale) or 3 (RGB).
        group_by: each image's group (its person), ``NAME[:REGEX]``: an
            `.npz` array (``subject_id``, or ``subject_id:^OAS1_\\d{4}`` to
            make ``OAS1_0061_MR1`` and ``_MR2`` one person) or, for a folder,
            ``name`` or ``path`` of the image's file
            (`kerasynth.data.groups`). `None`: no groups.
        ids_by: each image's ID, ``NAME[:REGEX]`` the same way, read as it
            is (``subject_id``: the session), for joining the images to a
            table (`ImageData.ids`). `None`: no IDs.

    Returns:
        An `ImageData` (with `groups` when `group_by` is given, `ids` when
        `ids_by` is).

    Example:

    >>> data = load_images(None, image_size=64)
    >>> data.images.shape[1:]
    (64, 64, 1)
    """
    check_image_args(image_size, channels)
    key = None if group_by is None else GroupKey.parse(group_by)
    id_key = None if ids_by is None else GroupKey.parse(ids_by)
    keyed = [(spec, option) for spec, option in
             ((group_by, "--holdout-by"), (ids_by, "--image-ids")) if spec]  # fmt: skip
    if source is None:
        for spec, option in keyed:
            raise no_groups_error(spec, "the embedded MNI152 template", option)
        from kerasynth.data import embedded

        return embedded.load_mni152_images(image_size, channels)
    if isinstance(source, str) and source.startswith("tfds:"):
        for spec, option in keyed:
            raise no_groups_error(spec, source, option)
        from kerasynth.data import catalog

        return catalog.load_tfds(source, image_size, channels)
    path = Path(source)
    if not path.exists():
        raise FileNotFoundError(f"Image source not found: {path}")
    if path.is_dir():
        return load_folder(path, image_size, channels, key, id_key)
    suffix = file_suffix(path)
    if suffix in ARRAY_EXTENSIONS:
        return load_array_file(path, image_size, channels, key, id_key)
    if suffix in VOLUME_EXTENSIONS:
        for spec, option in keyed:
            raise no_groups_error(spec, f"the single volume {path}", option)
        from kerasynth.data import volumes

        return volumes.load_volume_images(path, image_size, channels)
    accepted = ", ".join(ARRAY_EXTENSIONS + VOLUME_EXTENSIONS)
    raise ValueError(
        f"Cannot load images from {path}: expected a folder or a file ending in "
        f"{accepted}. Received suffix {suffix!r}"
    )
