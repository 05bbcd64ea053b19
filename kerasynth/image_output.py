"""Writing generated images: PNG grids, folders of PNGs, NumPy arrays.

Images are NHWC float arrays in [-1, 1]. Every writer goes through a temporary
path and a rename, so an interrupted write leaves nothing half-written.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
from PIL import Image

from kerasynth.atomic import staged_directory, staged_file

IMAGE_SUFFIXES = (".png", ".npy", "")


def to_uint8(images: np.ndarray) -> np.ndarray:
    """[-1, 1] floats -> 0..255 bytes (values outside the range are clipped)."""
    images = np.asarray(images, dtype=np.float32)
    return np.clip(np.round((images + 1.0) * 127.5), 0, 255).astype(np.uint8)


def make_grid(
    images: np.ndarray, columns: int | None = None, pad: int = 2
) -> np.ndarray:
    """Tiles ``[N, H, W, C]`` images into one ``[rows*H', cols*W', C]`` uint8
    image, with `pad` black pixels between tiles."""
    images = to_uint8(images)
    if images.ndim != 4:
        raise ValueError(
            f"Expected images of shape [N, H, W, C]. Received: {images.shape}"
        )
    n, h, w, c = images.shape
    columns = columns or math.ceil(math.sqrt(n))
    rows = math.ceil(n / columns)
    grid = np.zeros((rows * (h + pad) + pad, columns * (w + pad) + pad, c), np.uint8)
    for i, image in enumerate(images):
        top = pad + (i // columns) * (h + pad)
        left = pad + (i % columns) * (w + pad)
        grid[top : top + h, left : left + w] = image
    return grid


def _pil(image: np.ndarray) -> Image.Image:
    return Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image)


def save_images(
    images: np.ndarray, path: str | os.PathLike, overwrite: bool = False
) -> Path:
    """Saves images by the form of `path`.

    - ``*.png``: one grid of all the images;
    - ``*.npy``: the float32 array itself, values in [-1, 1];
    - a name without a suffix: a folder of ``00000.png``, ``00001.png``, ...

    Any other suffix (``grid.jpg``, ``out.tif``) is a `ValueError`: it would
    otherwise become a folder of that name, silently. An existing file or
    non-empty folder is refused unless `overwrite`.

    Returns:
        The path written.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in IMAGE_SUFFIXES:
        raise ValueError(
            f"Images are written as a .png grid, a .npy array or a folder (a "
            f"name without a suffix). Received: {path}"
        )
    if suffix == ".png":
        with staged_file(path, overwrite) as staging:
            _pil(make_grid(images)).save(staging, format="PNG")
    elif suffix == ".npy":
        with staged_file(path, overwrite) as staging:
            np.save(staging, np.asarray(images, np.float32))
    else:
        with staged_directory(path, overwrite) as staging:
            for i, image in enumerate(to_uint8(images)):
                _pil(image).save(staging / f"{i:05d}.png")
    return path
