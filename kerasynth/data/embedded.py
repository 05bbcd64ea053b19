"""The default images: axial slices of the MNI152 T1 template shipped by nilearn.

A fresh install trains with no download: `nilearn` ships the skull-stripped
1 mm ICBM 2009a nonlinear symmetric MNI152 template (197 x 233 x 189 voxels)
inside its wheel, with its brain mask and grey/white-matter probability maps
on the same grid. The slices go through the same path as any NIfTI file
(`volumes.axial_slices`): 130 of the 189 axial slices have enough brain.

Citation: Fonov V, Evans AC, Botteron K, Almli CR, McKinstry RC, Collins DL and
BDCG (2011). Unbiased average age-appropriate atlases for pediatric studies.
NeuroImage 54(1):313-327. Fonov V, Evans A, McKinstry R, Almli C, Collins D
(2009). Unbiased nonlinear average age-appropriate brain templates from birth
to adulthood. NeuroImage 47(S1):S102.
"""

import dataclasses
import functools
import hashlib

import nibabel as nib
import numpy as np

from kerasynth.data import volumes
from kerasynth.data.image_data import ImageData, build_image_data, find_duplicates
from kerasynth.data.image_preparation import check_image_args, prepare_image

SOURCE = "embedded MNI152 T1 template"
PAIR_TARGETS = ("mask", "gm", "wm")


def load_mni152_images(image_size: int = 64, channels: int = 1) -> ImageData:
    """Axial slices of the MNI152 T1 template, as `load_images(None)` returns.

    Nothing is downloaded: the template is part of the `nilearn` package.
    Results are cached per `(image_size, channels)`; each call returns copies.

    Args:
        image_size: side of the square output images, at least 8.
        channels: 1 (greyscale) or 3 (the slice repeated).

    Returns:
        An unlabelled `ImageData` of about 130 slices in [-1, 1].
    """
    check_image_args(image_size, channels)
    cached = _mni152_images(image_size, channels)
    return dataclasses.replace(
        cached,
        images=cached.images.copy(),
        duplicates=[list(group) for group in cached.duplicates],
    )


def load_mni152_pairs(
    image_size: int = 64, target: str = "mask"
) -> tuple[np.ndarray, np.ndarray]:
    """Aligned (T1 slice, target slice) pairs for image-to-image translation.

    The slices are the ones `load_mni152_images` keeps, in the same order.

    Args:
        image_size: side of the square output images, at least 8.
        target: `"mask"` (binary brain mask), `"gm"` or `"wm"` (grey/white
            matter probability maps).

    Returns:
        `(t1, target)`, two float32 arrays `[S, image_size, image_size, 1]`
        in [-1, 1] (the mask is -1 outside the brain, 1 inside).

    Example:

    >>> t1, mask = load_mni152_pairs(64)
    >>> t1.shape == mask.shape
    True
    """
    check_image_args(image_size, 1)
    if target not in PAIR_TARGETS:
        raise ValueError(f"`target` must be one of {PAIR_TARGETS}. Received: {target=}")
    t1 = _template_volume("t1")
    axial = volumes.axial_slices(t1)
    # Mask and tissue maps are already in [0, 1]: map linearly, no percentiles.
    target_volume = _template_volume(target) * 2.0 - 1.0
    pairs = []
    for volume in (axial.slices, volumes.to_axial_images(target_volume, axial.indices)):
        pairs.append(np.stack([prepare_image(s, image_size, 1) for s in volume]))
    return pairs[0], pairs[1]


def _template_volume(kind: str) -> np.ndarray:
    """One nilearn MNI152 image as a canonical float32 array."""
    from nilearn import datasets

    loaders = {
        "t1": datasets.load_mni152_template,
        "mask": datasets.load_mni152_brain_mask,
        "gm": datasets.load_mni152_gm_template,
        "wm": datasets.load_mni152_wm_template,
    }
    image = nib.as_closest_canonical(loaders[kind](resolution=1))
    return np.asarray(image.get_fdata(dtype=np.float32))


@functools.lru_cache(maxsize=8)
def _mni152_images(image_size: int, channels: int) -> ImageData:
    """Builds the template slices once per size; arrays are made read-only."""
    axial = volumes.axial_slices(_template_volume("t1"))
    keys = [f"index {i}" for i in range(len(axial.slices))]
    digests = [hashlib.sha256(s.tobytes()).hexdigest() for s in axial.slices]
    data = build_image_data(
        [prepare_image(s, image_size, channels) for s in axial.slices],
        None,
        None,
        SOURCE,
        find_duplicates(keys, digests),
    )
    data.images.setflags(write=False)
    return data
