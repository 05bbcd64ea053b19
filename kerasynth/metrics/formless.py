"""Formless samples: synthetic images with no anatomy at all.

A generator early in training (or a collapsed one) makes flat grey squares,
blank frames or noise. Set-level measures average such samples away, a
detector only says the set is off; `formless_samples` counts them one by
one, by two numbers every brain slice has in a narrow range: the share of
its pixels in its "brain mask" (above its own background) and the standard
deviation of its pixels (its contrast).
"""

from __future__ import annotations

import numpy as np

# The real images' range of each number, from these percentiles (not the
# extremes: one odd real image should not open the range for everything)...
LOW_PERCENTILE, HIGH_PERCENTILE = 0.5, 99.5
# ...widened by these factors. Both numbers are positive, so the margin is a
# ratio: a sample is formless when its mask area or contrast is under half
# the lowest real one or over 1.5 times the highest.
LOW_FACTOR, HIGH_FACTOR = 0.5, 1.5
# An image's mask: its smoothed pixels above this fraction of the way from
# its dark end (2nd percentile) to its bright end (98th). Each image's own
# levels, not the real images': a generator's background is often a noisy
# grey rather than the real black, and its slices are still slices.
MASK_FRACTION = 0.2
# The smoothing (a Gaussian of side / 32 pixels: 2 at 64x64) keeps pixel
# noise out of the mask: uniform noise smoothed is a flat grey field whose
# "mask" is most of the image, where a brain slice's is under half of it.
SMOOTHING = 1 / 32


def formless_samples(real: np.ndarray, synthetic: np.ndarray) -> dict:
    """Counts the synthetic images whose mask area or contrast no real image
    comes near.

    For each image, ``area`` is the share of its pixels in its mask (after
    a Gaussian smoothing of side / 32 pixels, the pixels above 20% of the
    way from its 2nd to its 98th percentile) and ``std`` the standard
    deviation of its pixels. The allowed range of each is that of the real
    images' 0.5th to 99.5th percentiles, from half the low end to 1.5 times
    the high end; a synthetic image outside either range is formless.

    Measured on 80/20 splits of the MNI152 slices (64x64 and 32x32), the
    OASIS-1 slices (by person) and the tumor set: no held-out real image is
    formless (real slices' areas: 0.09-0.42 for MNI152, 0.34-0.48 for
    OASIS-1; contrasts 0.29-0.77); flat and blank images are (contrast 0),
    and so are a flat grey with noise of sd 0.03 and uniform noise (area
    about 0.89). A one-epoch DCGAN's samples are all formless (grey squares,
    contrast 0.025); a 30-epoch DCGAN's at 32x32, brain-shaped on a noisy
    grey background, 2 of 104. Blurred (sigma 2 pixels) or noised (sd 0.1)
    slices are not: that is fidelity, for the detector
    (`kerasynth.metrics.image_detection`) to judge. On the tumor set, whose
    photographs fill up to 0.89 of the frame, uniform noise passes the area
    range: only flat and blank images are formless there.

    Args:
        real: ``[N, H, W, C]`` real images in [-1, 1] (the generator's
            training images: the more, the better the range).
        synthetic: ``[M, H, W, C]`` synthetic images in [-1, 1].

    Returns:
        A JSON-ready dict: ``share`` and ``count`` of formless synthetic
        images, ``num_synthetic``, ``indices`` (the formless ones),
        ``area_range`` and ``std_range`` (the allowed ranges), ``real_area``
        and ``real_std`` (the real percentiles they come from),
        ``synthetic_area`` and ``synthetic_std`` (the synthetic images'
        median of each) and ``rule`` (the definition in words).

    Example:

    ```python
    result = formless_samples(train_images, model.generate(500, seed=0))
    print(result["share"], result["area_range"], result["std_range"])
    ```
    """
    from kerasynth.metrics.image_pairs import check_images, check_same_image_shape

    real = check_images(real, "real")
    synthetic = check_images(synthetic, "synthetic")
    check_same_image_shape(real, synthetic, "real and synthetic images")
    if not len(real):
        raise ValueError("Formless samples need real images. Received none")
    real_numbers, fake_numbers = _area_and_std(real), _area_and_std(synthetic)
    outside = np.zeros(len(synthetic), bool)
    result = {}
    for name in ("area", "std"):
        low, high = np.percentile(real_numbers[name], [LOW_PERCENTILE, HIGH_PERCENTILE])
        allowed = (LOW_FACTOR * low, HIGH_FACTOR * high)
        values = fake_numbers[name]
        outside |= (values < allowed[0]) | (values > allowed[1])
        result[f"{name}_range"] = [float(allowed[0]), float(allowed[1])]
        result[f"real_{name}"] = [float(low), float(high)]
        result[f"synthetic_{name}"] = float(np.median(values)) if len(values) else None
    count = int(outside.sum())
    return {
        "share": count / len(synthetic) if len(synthetic) else 0.0,
        "count": count,
        "num_synthetic": len(synthetic),
        "indices": np.flatnonzero(outside).tolist(),
        **result,
        "rule": "mask area (smoothed pixels above 20% of the image's own 2nd-98th "
        "percentile range) or pixel standard deviation outside "
        f"[{LOW_FACTOR} x p{LOW_PERCENTILE:g}, {HIGH_FACTOR} x "
        f"p{HIGH_PERCENTILE:g}] of the real images'",
    }


def _area_and_std(images: np.ndarray) -> dict[str, np.ndarray]:
    """Each image's mask area (a share of its pixels) and pixel std."""
    from scipy.ndimage import gaussian_filter

    pixels = np.asarray(images, np.float64)
    sigma = SMOOTHING * max(pixels.shape[1:3])
    smooth = gaussian_filter(pixels, (0, sigma, sigma, 0)).reshape(len(pixels), -1)
    dark, bright = np.percentile(smooth, [2, 98], axis=1, keepdims=True)
    area = (smooth > dark + MASK_FRACTION * (bright - dark)).mean(axis=1)
    return {"area": area, "std": pixels.reshape(len(pixels), -1).std(axis=1)}
