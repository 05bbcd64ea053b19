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

This module imports neither TensorFlow nor nibabel; TFDS, NIfTI and the
embedded template are imported only when such a source is requested.
"""

import collections
import dataclasses
import hashlib
import io
import logging
import numbers
import os
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

logger = logging.getLogger("kerasynth")

IMAGE_EXTENSIONS = (".bmp", ".gif", ".jpeg", ".jpg", ".png", ".tif", ".tiff")
ARRAY_EXTENSIONS = (".npy", ".npz")
# NIfTI-1/2 and Analyze (`.img` with its `.hdr`), read by `volumes.py`.
VOLUME_EXTENSIONS = (".nii", ".nii.gz", ".img", ".hdr")
MIN_IMAGE_SIZE = 8

# ITU-R 601-2 luma weights, the ones PIL uses for `convert("L")`.
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)
_HIGH_DEPTH_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I", "F")
_ALPHA_MODES = ("RGBA", "RGBa", "LA", "La", "PA", "P")


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
    """

    images: np.ndarray
    labels: np.ndarray | None
    class_names: list[str] | None
    source: str
    fingerprint: str
    duplicates: list[list[str]]
    keys: list[str] | None = None

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def subset(self, mask: np.ndarray) -> "ImageData":
        """The images (and labels, keys) where `mask` is true; the same
        source, a new fingerprint."""
        images = np.ascontiguousarray(self.images[mask])
        labels = None if self.labels is None else self.labels[mask]
        keys = None if self.keys is None else list(np.asarray(self.keys)[mask])
        return dataclasses.replace(
            self,
            images=images,
            labels=labels,
            keys=keys,
            fingerprint=compute_fingerprint(images, labels, self.class_names),
        )


def load_images(
    source: str | os.PathLike | None, image_size: int = 64, channels: int = 1
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

    Returns:
        An `ImageData`.

    Example:

    >>> data = load_images(None, image_size=64)
    >>> data.images.shape[1:]
    (64, 64, 1)
    """
    check_image_args(image_size, channels)
    if source is None:
        from kerasynth.data import embedded

        return embedded.load_mni152_images(image_size, channels)
    if isinstance(source, str) and source.startswith("tfds:"):
        from kerasynth.data import catalog

        return catalog.load_tfds(source, image_size, channels)
    path = Path(source)
    if not path.exists():
        raise FileNotFoundError(f"Image source not found: {path}")
    if path.is_dir():
        return _load_folder(path, image_size, channels)
    suffix = file_suffix(path)
    if suffix in ARRAY_EXTENSIONS:
        return _load_array_file(path, image_size, channels)
    if suffix in VOLUME_EXTENSIONS:
        return _load_volume_file(path, image_size, channels)
    accepted = ", ".join(ARRAY_EXTENSIONS + VOLUME_EXTENSIONS)
    raise ValueError(
        f"Cannot load images from {path}: expected a folder or a file ending in "
        f"{accepted}. Received suffix {suffix!r}"
    )


def check_image_args(image_size: int, channels: int) -> None:
    """Raises a `ValueError` unless `image_size >= 8` and `channels` is 1 or 3."""
    if isinstance(channels, bool) or channels not in (1, 3):
        raise ValueError(f"`channels` must be 1 or 3. Received: channels={channels}")
    if (
        isinstance(image_size, bool)
        or not isinstance(image_size, numbers.Integral)
        or image_size < MIN_IMAGE_SIZE
    ):
        raise ValueError(
            f"`image_size` must be an integer >= {MIN_IMAGE_SIZE}. "
            f"Received: image_size={image_size}"
        )


def file_suffix(path: str | os.PathLike) -> str:
    """Returns the lower-case suffix of `path`, keeping `.nii.gz` whole."""
    name = Path(path).name.lower()
    return ".nii.gz" if name.endswith(".nii.gz") else Path(name).suffix


def prepare_image(image: np.ndarray, image_size: int, channels: int) -> np.ndarray:
    """Converts one image in [-1, 1] to `[image_size, image_size, channels]`.

    Converts the channels (1 -> 3 repeats, 3 -> 1 luminance, 4 is RGBA and is
    composited over black), pads to a centred square with black (-1) and
    resizes with anti-aliasing.

    Args:
        image: float array `[H, W]` or `[H, W, C]` with C in 1, 3, 4, values in
            [-1, 1].
        image_size: side of the output.
        channels: 1 or 3.

    Returns:
        float32 array `[image_size, image_size, channels]` in [-1, 1].
    """
    image = _convert_channels(np.asarray(image, dtype=np.float32), channels)
    height, width = image.shape[:2]
    if height == width == image_size:
        return np.clip(image, -1.0, 1.0)
    side = max(height, width)
    canvas = np.full((side, side, channels), -1.0, dtype=np.float32)
    top, left = (side - height) // 2, (side - width) // 2
    canvas[top : top + height, left : left + width] = image
    resized = np.empty((image_size, image_size, channels), dtype=np.float32)
    for c in range(channels):
        plane = Image.fromarray(np.ascontiguousarray(canvas[..., c]))
        resized[..., c] = np.asarray(
            plane.resize((image_size, image_size), Image.Resampling.LANCZOS)
        )
    return np.clip(resized, -1.0, 1.0)


def scale_to_signed(array: np.ndarray) -> np.ndarray:
    """Scales an array to [-1, 1] by its dtype and range (see module docstring).

    Args:
        array: `uint8` (0..255) or any numeric array.

    Returns:
        float32 array of the same shape in [-1, 1].
    """
    if array.dtype == np.uint8:
        return array.astype(np.float32) / 127.5 - 1.0
    values = array.astype(np.float64)
    if values.size == 0:
        return values.astype(np.float32)
    if not np.all(np.isfinite(values)):
        raise ValueError("array contains NaN or infinite values")
    low, high = float(values.min()), float(values.max())
    if low >= 0.0 and high <= 1.0:
        values = values * 2.0 - 1.0
    elif low < -1.0 or high > 1.0:
        span = high - low
        values = (values - low) / span * 2.0 - 1.0 if span else values * 0.0 - 1.0
    return values.astype(np.float32)


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
) -> ImageData:
    """Stacks prepared images, fingerprints them and reports duplicates.

    Args:
        images: prepared images (`prepare_image` outputs) or a stacked array.
        labels: one integer label per image, or `None`.
        class_names: label -> name, or `None`.
        source: description of the source.
        duplicates: groups from `find_duplicates`.
        keys: one name per image (see `ImageData.keys`), or `None`.

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
    )


def _convert_channels(image: np.ndarray, channels: int) -> np.ndarray:
    """[H, W] or [H, W, C] in [-1, 1] -> [H, W, channels]."""
    if image.ndim == 2:
        image = image[..., None]
    if image.shape[-1] == 4:
        # Composite over black in 0..1 space, then back to [-1, 1].
        unit = (image + 1.0) / 2.0
        image = unit[..., :3] * unit[..., 3:] * 2.0 - 1.0
    if image.shape[-1] == channels:
        return image
    if channels == 1:
        return (image @ _LUMA)[..., None]
    return np.repeat(image, 3, axis=-1)


def _pil_to_array(image: Image.Image, channels: int) -> np.ndarray:
    """A PIL image of any mode -> float32 [H, W, channels] in [-1, 1]."""
    image = ImageOps.exif_transpose(image)
    if image.mode in _HIGH_DEPTH_MODES:
        values = np.asarray(image, dtype=np.float64)
        low, high = values.min(), values.max()
        scaled = (values - low) / (high - low) if high > low else values * 0.0
        return _convert_channels((scaled * 2.0 - 1.0).astype(np.float32), channels)
    if image.mode in _ALPHA_MODES:
        black = Image.new("RGBA", image.size, (0, 0, 0, 255))
        image = Image.alpha_composite(black, image.convert("RGBA"))
    if image.mode not in ("L", "RGB"):
        image = image.convert("RGB")
    image = image.convert("L" if channels == 1 else "RGB")
    return _convert_channels(scale_to_signed(np.asarray(image)), channels)


def _decode_image_bytes(data: bytes, path: Path, channels: int) -> np.ndarray:
    """Decodes an image file's bytes, naming the file on any failure."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            return _pil_to_array(image, channels)
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


def _load_folder(root: Path, image_size: int, channels: int) -> ImageData:
    files = _scan_folder(root)
    if not files:
        raise ValueError(
            f"No images found in folder {root}; accepted extensions: "
            f"{', '.join(IMAGE_EXTENSIONS + VOLUME_EXTENSIONS)}"
        )
    file_labels, class_names = _folder_labels(root, files)
    images, labels, digests, keys = [], [], [], []
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
    )


def _read_array_file(path: Path) -> tuple[np.ndarray, np.ndarray | None, list | None]:
    """Reads images, labels and class names from a `.npy` or `.npz` file."""
    try:
        if file_suffix(path) == ".npy":
            return np.load(path, allow_pickle=False), None, None
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
    return arrays[image_key], arrays.get(label_key), names


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


def _load_array_file(path: Path, image_size: int, channels: int) -> ImageData:
    raw, labels, names = _read_array_file(path)
    valid_rank = raw.ndim == 3 or (raw.ndim == 4 and raw.shape[-1] in (1, 3, 4))
    if not valid_rank or raw.shape[0] == 0 or raw.dtype.kind not in "uifb":
        raise ValueError(
            f"Images in {path} must be a non-empty numeric array [N, H, W] or "
            f"[N, H, W, C] with C in (1, 3, 4). "
            f"Received: shape={raw.shape}, dtype={raw.dtype}"
        )
    labels, names = _check_labels(path, labels, names, raw.shape[0])
    try:
        scaled = scale_to_signed(raw)
    except ValueError as err:
        raise ValueError(f"Cannot use images in {path}: {err}") from err
    images = [prepare_image(image, image_size, channels) for image in scaled]
    keys = [f"index {i}" for i in range(len(raw))]
    digests = [hashlib.sha256(item.tobytes()).hexdigest() for item in raw]
    return build_image_data(
        images, labels, names, f"file {path}", find_duplicates(keys, digests), keys
    )


def _load_volume_file(path: Path, image_size: int, channels: int) -> ImageData:
    from kerasynth.data import volumes

    axial = volumes.load_volume_slices(path)
    if not len(axial.slices):
        raise ValueError(
            f"No axial slice of {path} has a brain fraction >= "
            f"{volumes.DEFAULT_MIN_BRAIN_FRACTION}"
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
