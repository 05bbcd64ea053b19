"""Tests for kerasynth.data.images: folders of images, array files, errors.

Volumes are tested in test_data_volumes.py, the embedded template and TFDS
in test_data_no_download.py; both import the helpers here.
"""

import logging
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from kerasynth.data import ImageData, load_images


def save_image(path: Path, array: np.ndarray, mode: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.fromarray(array)
    (image.convert(mode) if mode else image).save(path)
    return path


def random_rgb(seed: int, height: int = 12, width: int = 10) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), np.uint8)


# === Folders of images ===


def test_folder_with_classes_reads_sorted_with_labels(tmp_path):
    for name, seed in [("yes/b.png", 0), ("no/z.jpg", 1), ("yes/a.bmp", 2)]:
        save_image(tmp_path / name, random_rgb(seed))
    save_image(tmp_path / "no/deeper/c.png", random_rgb(3))
    (tmp_path / "notes.txt").write_text("ignored")

    data = load_images(tmp_path, image_size=16)

    assert isinstance(data, ImageData)
    assert len(data) == 4
    assert data.images.shape == (4, 16, 16, 1)
    assert data.images.dtype == np.float32
    assert data.images.min() >= -1.0 and data.images.max() <= 1.0
    assert data.class_names == ["no", "yes"]
    # sorted relative paths: no/deeper/c.png, no/z.jpg, yes/a.bmp, yes/b.png
    np.testing.assert_array_equal(data.labels, [0, 0, 1, 1])
    assert data.labels.dtype == np.int32
    assert data.source == f"folder {tmp_path} (4 files)"
    assert data.duplicates == []


def test_folder_without_classes_has_no_labels(tmp_path):
    save_image(tmp_path / "one.png", random_rgb(0))
    save_image(tmp_path / "two.png", random_rgb(1))
    data = load_images(str(tmp_path), image_size=8, channels=3)
    assert data.images.shape == (2, 8, 8, 3)
    assert data.labels is None and data.class_names is None


def test_pads_to_square_with_black_instead_of_stretching(tmp_path):
    white = np.full((10, 20), 255, np.uint8)  # wide: padded above and below
    save_image(tmp_path / "wide.png", white)
    image = load_images(tmp_path, image_size=8).images[0, ..., 0]
    np.testing.assert_allclose(image[0], -1.0, atol=1e-3)  # padding row
    np.testing.assert_allclose(image[-1], -1.0, atol=1e-3)
    np.testing.assert_allclose(image[4], 1.0, atol=1e-3)  # image row


def test_resize_is_anti_aliased(tmp_path):
    checker = (np.indices((64, 64)).sum(axis=0) % 2 * 255).astype(np.uint8)
    save_image(tmp_path / "checker.png", checker)
    image = load_images(tmp_path, image_size=8).images
    np.testing.assert_allclose(image, 0.0, atol=0.02)  # mean grey, no aliasing


@pytest.mark.parametrize(
    "mode, expected",
    [
        ("L", 76 / 127.5 - 1),  # PIL luminance of pure red is 76
        ("RGB", 76 / 127.5 - 1),
        ("RGBA", 76 / 127.5 - 1),
        ("P", 76 / 127.5 - 1),
        ("LA", 76 / 127.5 - 1),
        ("CMYK", 76 / 127.5 - 1),
    ],
)
def test_colour_modes_become_greyscale_luminance(tmp_path, mode, expected):
    red = np.zeros((8, 8, 3), np.uint8)
    red[..., 0] = 255
    suffix = ".jpg" if mode == "CMYK" else ".png"
    save_image(tmp_path / f"red{suffix}", red, mode)
    image = load_images(tmp_path, image_size=8).images
    tolerance = 0.05 if mode == "CMYK" else 0.01
    np.testing.assert_allclose(image, expected, atol=tolerance)


def test_rgb_output_keeps_colour_and_repeats_grey(tmp_path):
    red = np.zeros((8, 8, 3), np.uint8)
    red[..., 0] = 255
    save_image(tmp_path / "a_red.png", red)
    save_image(tmp_path / "b_grey.png", np.full((8, 8), 255, np.uint8), "L")
    images = load_images(tmp_path, image_size=8, channels=3).images
    np.testing.assert_allclose(images[0, 0, 0], [1.0, -1.0, -1.0])
    np.testing.assert_allclose(images[1], 1.0)


def test_transparent_pixels_become_black(tmp_path):
    clear_white = np.full((8, 8, 4), 255, np.uint8)
    clear_white[..., 3] = 0
    save_image(tmp_path / "clear.png", clear_white)
    np.testing.assert_allclose(load_images(tmp_path, image_size=8).images, -1.0)


def test_sixteen_bit_images_use_their_own_range(tmp_path):
    ramp = np.linspace(100, 1100, 64, dtype=np.uint16).reshape(8, 8)
    Image.fromarray(ramp).save(tmp_path / "ramp.png")
    with Image.open(tmp_path / "ramp.png") as saved:
        assert saved.mode.startswith("I")
    image = load_images(tmp_path, image_size=8).images
    assert image.min() == pytest.approx(-1.0) and image.max() == pytest.approx(1.0)


def test_duplicate_files_are_reported_and_kept(tmp_path, caplog):
    save_image(tmp_path / "no/a.png", random_rgb(0))
    (tmp_path / "yes").mkdir()
    shutil.copy(tmp_path / "no/a.png", tmp_path / "yes/a copy.png")
    shutil.copy(tmp_path / "no/a.png", tmp_path / "yes/b.png")
    save_image(tmp_path / "yes/c.png", random_rgb(1))
    with caplog.at_level(logging.WARNING, logger="kerasynth"):
        data = load_images(tmp_path, image_size=8)
    assert len(data) == 4
    assert data.duplicates == [["no/a.png", "yes/a copy.png", "yes/b.png"]]
    assert "1 groups of identical items" in caplog.text


def test_fingerprint_is_deterministic_and_sensitive(tmp_path):
    save_image(tmp_path / "a.png", random_rgb(0))
    first = load_images(tmp_path, image_size=8)
    assert load_images(tmp_path, image_size=8).fingerprint == first.fingerprint
    assert len(first.fingerprint) == 64
    changed = random_rgb(0)
    changed[0, 0] = 255 - changed[0, 0]
    save_image(tmp_path / "a.png", changed)
    assert load_images(tmp_path, image_size=8).fingerprint != first.fingerprint


# === Errors ===


def test_missing_path_names_it(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(FileNotFoundError, match="nowhere"):
        load_images(missing)


@pytest.mark.parametrize("content", [None, "readme.txt"])
def test_folder_without_images_names_folder_and_extensions(tmp_path, content):
    if content:
        (tmp_path / content).write_text("no images here")
    with pytest.raises(ValueError, match=f"{tmp_path}.*\\.png"):
        load_images(tmp_path)


def test_corrupt_image_names_the_file(tmp_path):
    save_image(tmp_path / "good.png", random_rgb(0))
    (tmp_path / "bad.png").write_bytes(b"definitely not a PNG")
    with pytest.raises(ValueError, match="bad.png") as caught:
        load_images(tmp_path)
    assert "BytesIO" not in str(caught.value)  # PIL's text names its buffer
    assert "not an image file its suffix (.png) promises" in str(caught.value)


def test_truncated_jpeg_names_the_file(tmp_path):
    path = save_image(tmp_path / "cut.jpg", random_rgb(0, 64, 64))
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(ValueError, match="cut.jpg"):
        load_images(tmp_path)


def test_mixed_top_level_and_class_folders_is_an_error(tmp_path):
    save_image(tmp_path / "loose.png", random_rgb(0))
    save_image(tmp_path / "cls/a.png", random_rgb(1))
    with pytest.raises(ValueError, match="loose.png"):
        load_images(tmp_path)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"channels": 2}, "Received: channels=2"),
        ({"channels": 4}, "Received: channels=4"),
        ({"image_size": 4}, "Received: image_size=4"),
        ({"image_size": 32.0}, "Received: image_size=32.0"),
    ],
)
def test_bad_arguments(tmp_path, kwargs, message):
    save_image(tmp_path / "a.png", random_rgb(0))
    with pytest.raises(ValueError, match=message):
        load_images(tmp_path, **kwargs)


def test_unsupported_file_suffix(tmp_path):
    path = tmp_path / "table.csv"
    path.write_text("a,b\n")
    with pytest.raises(ValueError, match="table.csv"):
        load_images(path)


# === Arrays ===


@pytest.mark.parametrize(
    "array, expected",
    [
        (np.array([[[0, 255]]], np.uint8), [-1.0, 1.0]),
        (np.array([[[0.0, 1.0]]], np.float32), [-1.0, 1.0]),
        (np.array([[[-1.0, 0.5]]], np.float64), [-1.0, 0.5]),
        (np.array([[[0.0, 4000.0]]], np.float32), [-1.0, 1.0]),
        (np.array([[[10, 30]]], np.int16), [-1.0, 1.0]),
    ],
)
def test_npy_value_ranges(tmp_path, array, expected):
    np.save(tmp_path / "x.npy", np.tile(array, (2, 8, 4)))  # [2, 8, 8]
    data = load_images(tmp_path / "x.npy", image_size=8)
    np.testing.assert_allclose(data.images[0, 0, :2, 0], expected, atol=1e-6)
    assert data.labels is None
    assert data.duplicates == [["index 0", "index 1"]]


def test_npy_rgb_to_grey_and_resize(tmp_path):
    images = np.zeros((3, 10, 10, 3), np.uint8)
    images[..., 1] = 255  # green: luminance 0.587
    np.save(tmp_path / "x.npy", images)
    data = load_images(tmp_path / "x.npy", image_size=16)
    assert data.images.shape == (3, 16, 16, 1)
    np.testing.assert_allclose(data.images[:, 8, 8, 0], 0.587 * 2 - 1, atol=0.01)


def test_npz_images_labels_and_class_names(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "set.npz"
    np.savez(
        path,
        images=rng.random((4, 8, 8)),
        labels=np.array([1, 0, 1, 1]),
        class_names=np.array(["healthy", "tumor"]),
    )
    data = load_images(path, image_size=8, channels=3)
    assert data.images.shape == (4, 8, 8, 3)
    np.testing.assert_array_equal(data.labels, [1, 0, 1, 1])
    assert data.class_names == ["healthy", "tumor"]


def test_npz_x_y_with_string_labels(tmp_path):
    path = tmp_path / "set.npz"
    np.savez(path, x=np.zeros((3, 8, 8), np.uint8), y=np.array(["b", "a", "b"]))
    data = load_images(path, image_size=8)
    np.testing.assert_array_equal(data.labels, [1, 0, 1])
    assert data.class_names == ["a", "b"]


@pytest.mark.parametrize("shape", [(8, 8), (2, 8, 8, 2), (2, 1, 8, 8, 1), (0, 8, 8)])
def test_npy_wrong_shape_shows_shape(tmp_path, shape):
    np.save(tmp_path / "bad.npy", np.zeros(shape, np.uint8))
    with pytest.raises(ValueError, match=r"bad\.npy.*" + re.escape(f"shape={shape}")):
        load_images(tmp_path / "bad.npy")


def test_npz_bad_labels_and_corrupt_file(tmp_path):
    np.savez(tmp_path / "a.npz", images=np.zeros((3, 8, 8)), labels=np.zeros(2))
    with pytest.raises(ValueError, match="a.npz.*shape"):
        load_images(tmp_path / "a.npz")
    (tmp_path / "b.npy").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="b.npy"):
        load_images(tmp_path / "b.npy")


# === The study's data ===


@pytest.mark.real_data
def test_real_brain_tumor_folder(tumor_folder):
    data = load_images(tumor_folder)
    assert data.images.shape == (253, 64, 64, 1)
    assert data.class_names == ["no", "yes"]
    assert np.bincount(data.labels).tolist() == [98, 155]
    assert len(data.duplicates) == 22
    assert all(len(group) >= 2 for group in data.duplicates)
