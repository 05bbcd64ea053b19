"""One image from any source -> a square, `channels`-deep float32 image in [-1, 1].

Resize: an image is padded to a centred square with black (the background
of an MRI slice), then resized to `image_size` with an anti-aliasing Lanczos
filter (PIL's resampling widens the kernel when it shrinks). Padding keeps
the whole skull in view whatever the aspect ratio; a centre crop could cut
the skull or a lesion at the border. Lanczos can overshoot slightly at sharp
edges; the result is clipped to [-1, 1].

Intensity (`scale_to_signed`): `uint8` arrays map `0..255 -> -1..1`; other
arrays are read by the range of the whole array (`[0, 1] -> 2x - 1`,
`[-1, 1]` kept, anything else min/max).

Channels (`convert_channels`): one channel is the ITU-R 601-2 luminance,
three repeat a grey image, four (RGBA) are composited over black first.
"""

import numbers

import numpy as np
from PIL import Image

MIN_IMAGE_SIZE = 8

# ITU-R 601-2 luma weights, the ones PIL uses for `convert("L")`.
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


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
    image = convert_channels(np.asarray(image, dtype=np.float32), channels)
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


def convert_channels(image: np.ndarray, channels: int) -> np.ndarray:
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
