"""NIfTI and Analyze volumes -> axial slices in [-1, 1].

A volume is reoriented to the closest canonical (RAS+) orientation, so the last
axis runs inferior -> superior and each `volume[:, :, k]` is an axial slice.
Slices are laid out as images with anterior at the top and the patient's left
on the image's left (neurological convention: canonical x runs to the
patient's right).

Intensities are normalised per volume by robust percentiles of the non-zero
voxels (0.5th -> -1, 99.5th -> 1, clipped), which ignores the zero padding
outside the head and a few very bright voxels. A slice is kept when its brain
fraction (the share of its pixels brighter than 10% of that robust range) is
at least `min_brain_fraction`; the default 0.07 keeps 130 of the 189 slices of
the 1 mm MNI152 template. A 4-D volume (e.g. fMRI, DWI) contributes its first
volume only, with a warning. `load_volume_images` turns a volume file's kept
slices into an `ImageData`, as `load_images` returns for a volume.
"""

import hashlib
import logging
import os
from typing import NamedTuple

import nibabel as nib
import numpy as np

from kerasynth.data.image_data import ImageData, build_image_data, find_duplicates
from kerasynth.data.image_preparation import prepare_image

logger = logging.getLogger("kerasynth")

DEFAULT_MIN_BRAIN_FRACTION = 0.07
# Voxels brighter than this share of the robust intensity range are "brain".
FOREGROUND_LEVEL = 0.1
PERCENTILES = (0.5, 99.5)


class AxialSlices(NamedTuple):
    """Axial slices kept from one volume.

    Attributes:
        slices: float32 `[S, H, W]` in [-1, 1], inferior to superior.
        indices: int `[S]`, the axial index of each slice in the canonical
            volume.
        depth: number of axial slices in the volume.
    """

    slices: np.ndarray
    indices: np.ndarray
    depth: int


def read_volume(path: str | os.PathLike) -> np.ndarray:
    """Reads a NIfTI/Analyze file as a canonical (RAS+) 3-D float32 array.

    Args:
        path: a `.nii`, `.nii.gz`, or Analyze `.img`/`.hdr` file.

    Returns:
        float32 array `[X, Y, Z]`, Z the axial (inferior -> superior) axis.
    """
    try:
        image = nib.load(os.fspath(path))
        shape = image.shape
        if len(shape) == 4:
            if shape[3] > 1:
                logger.warning("%s is 4-D %s; using its first volume only", path, shape)
            image = image.slicer[..., 0]
        if len(image.shape) != 3:
            raise ValueError(f"expected a 3-D or 4-D volume, got shape {shape}")
        image = nib.as_closest_canonical(image)
        volume = image.get_fdata(dtype=np.float32)
    except Exception as err:  # nibabel raises many types for bad files.
        raise ValueError(f"Cannot read volume {path}: {err}") from err
    return np.nan_to_num(volume, nan=0.0, posinf=0.0, neginf=0.0)


def normalize_volume(volume: np.ndarray) -> np.ndarray:
    """Maps robust percentiles of the non-zero voxels to [-1, 1], clipped.

    Args:
        volume: array of any shape.

    Returns:
        float32 array of the same shape in [-1, 1]; all -1 when the volume is
        zero or constant.
    """
    nonzero = volume[volume != 0]
    if nonzero.size == 0:
        return np.full(volume.shape, -1.0, dtype=np.float32)
    low, high = np.percentile(nonzero, PERCENTILES)
    if high <= low:
        return np.where(volume > low, 1.0, -1.0).astype(np.float32)
    unit = np.clip((volume - low) / (high - low), 0.0, 1.0)
    return (unit * 2.0 - 1.0).astype(np.float32)


def to_axial_images(volume: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """Takes axial slices of a canonical volume as images, anterior at the top.

    Args:
        volume: canonical array `[X, Y, Z]`.
        indices: axial indices to take.

    Returns:
        array `[S, Y, X]`: rows posterior <- anterior, columns left -> right.
    """
    slices = np.moveaxis(volume[:, :, indices], -1, 0)  # (S, X, Y)
    return np.ascontiguousarray(np.swapaxes(slices, 1, 2)[:, ::-1, :])


def axial_slices(
    volume: np.ndarray, min_brain_fraction: float = DEFAULT_MIN_BRAIN_FRACTION
) -> AxialSlices:
    """Normalises a canonical volume and keeps its axial slices with brain.

    Args:
        volume: canonical array `[X, Y, Z]` (see `read_volume`).
        min_brain_fraction: smallest share of a slice's pixels that must be
            brain (brighter than 10% of the robust range) to keep it.

    Returns:
        An `AxialSlices`.
    """
    if not 0.0 <= min_brain_fraction < 1.0:
        raise ValueError(
            "`min_brain_fraction` must be in [0, 1). "
            f"Received: min_brain_fraction={min_brain_fraction}"
        )
    normalized = normalize_volume(volume)
    foreground = normalized > -1.0 + 2.0 * FOREGROUND_LEVEL
    fractions = foreground.mean(axis=(0, 1))
    # A slice with no brain at all is never kept, even at a threshold of 0.
    keep = np.flatnonzero((fractions >= min_brain_fraction) & (fractions > 0))
    return AxialSlices(to_axial_images(normalized, keep), keep, volume.shape[2])


def load_volume_slices(
    path: str | os.PathLike, min_brain_fraction: float = DEFAULT_MIN_BRAIN_FRACTION
) -> AxialSlices:
    """Reads a volume file and returns its axial slices with brain, in [-1, 1].

    Args:
        path: a `.nii`, `.nii.gz`, or Analyze `.img`/`.hdr` file.
        min_brain_fraction: see `axial_slices`.

    Returns:
        An `AxialSlices`.

    Example:

    >>> axial = load_volume_slices("sub-01_T1w.nii.gz")
    >>> axial.slices.shape
    (130, 233, 197)
    """
    return axial_slices(read_volume(path), min_brain_fraction)


def load_volume_images(
    path: str | os.PathLike, image_size: int, channels: int
) -> ImageData:
    """Reads a volume file's axial slices with brain as an `ImageData`.

    Args:
        path: a `.nii`, `.nii.gz`, or Analyze `.img`/`.hdr` file.
        image_size: side of the square output images.
        channels: 1 or 3.

    Returns:
        An unlabelled `ImageData`, one image per kept slice, inferior first.
    """
    axial = load_volume_slices(path)
    if not len(axial.slices):
        raise ValueError(
            f"No axial slice of {path} has a brain fraction >= "
            f"{DEFAULT_MIN_BRAIN_FRACTION}"
        )
    images = [prepare_image(image, image_size, channels) for image in axial.slices]
    keys = [f"index {i}" for i in range(len(images))]
    digests = [hashlib.sha256(item.tobytes()).hexdigest() for item in axial.slices]
    return build_image_data(
        images,
        None,
        None,
        f"volume {path} ({len(images)} of {axial.depth} axial slices)",
        find_duplicates(keys, digests),
    )
