"""Writing generated images: PNG grids, folders of PNGs, NumPy arrays.

Images are NHWC float arrays in [-1, 1]. Every writer goes through a temporary
path and a rename, so an interrupted write leaves nothing half-written.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image


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


def save_images(images: np.ndarray, path: str | os.PathLike) -> Path:
    """Saves images by the form of `path`.

    - ``*.png``: one grid of all the images;
    - ``*.npy``: the float32 array itself, values in [-1, 1];
    - anything else: a folder of ``00000.png``, ``00001.png``, ...

    Returns:
        The path written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = path.suffix.lower()
    if suffix in (".png", ".npy"):
        tmp = path.with_name(f".{path.name}.tmp{suffix}")
        if suffix == ".png":
            _pil(make_grid(images)).save(tmp)
        else:
            np.save(tmp, np.asarray(images, np.float32))
        os.replace(tmp, path)
        return path
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise FileExistsError(f"Output {path} already exists and is not empty.")
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.partial-", dir=path.parent))
    try:
        for i, image in enumerate(to_uint8(images)):
            _pil(image).save(staging / f"{i:05d}.png")
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if path.exists():
        path.rmdir()
    os.replace(staging, path)
    return path
