"""Tests for kerasynth.data: images, volumes, embedded default and TFDS sources."""

import logging
import re
import shutil
import socket
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from PIL import Image

from kerasynth.data import ImageData, catalog, embedded, load_images, volumes


def _save(path: Path, array: np.ndarray, mode: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.fromarray(array)
    (image.convert(mode) if mode else image).save(path)
    return path


def _rgb(seed: int, height: int = 12, width: int = 10) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), np.uint8)


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a network connection fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def _brain_volume(shape=(20, 24, 16), first=4, last=12) -> np.ndarray:
    """An ellipsoid 'brain' in axial slices first..last-1, a bright marker in front."""
    x, y = np.meshgrid(*[np.linspace(-1, 1, n) for n in shape[:2]], indexing="ij")
    disk = x**2 + y**2 < 0.6
    tissue = np.random.default_rng(0).uniform(100.0, 300.0, shape)
    volume = np.zeros(shape, np.float32)
    for k in range(first, last):
        volume[..., k] = disk * tissue[..., k]
        volume[shape[0] // 2, -3, k] = 400.0  # anterior (high y) marker
    return volume


# === Folders of images ===


def test_folder_with_classes_reads_sorted_with_labels(tmp_path):
    for name, seed in [("yes/b.png", 0), ("no/z.jpg", 1), ("yes/a.bmp", 2)]:
        _save(tmp_path / name, _rgb(seed))
    _save(tmp_path / "no/deeper/c.png", _rgb(3))
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
    _save(tmp_path / "one.png", _rgb(0))
    _save(tmp_path / "two.png", _rgb(1))
    data = load_images(str(tmp_path), image_size=8, channels=3)
    assert data.images.shape == (2, 8, 8, 3)
    assert data.labels is None and data.class_names is None


def test_pads_to_square_with_black_instead_of_stretching(tmp_path):
    white = np.full((10, 20), 255, np.uint8)  # wide: padded above and below
    _save(tmp_path / "wide.png", white)
    image = load_images(tmp_path, image_size=8).images[0, ..., 0]
    np.testing.assert_allclose(image[0], -1.0, atol=1e-3)  # padding row
    np.testing.assert_allclose(image[-1], -1.0, atol=1e-3)
    np.testing.assert_allclose(image[4], 1.0, atol=1e-3)  # image row


def test_resize_is_anti_aliased(tmp_path):
    checker = (np.indices((64, 64)).sum(axis=0) % 2 * 255).astype(np.uint8)
    _save(tmp_path / "checker.png", checker)
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
    _save(tmp_path / f"red{suffix}", red, mode)
    image = load_images(tmp_path, image_size=8).images
    tolerance = 0.05 if mode == "CMYK" else 0.01
    np.testing.assert_allclose(image, expected, atol=tolerance)


def test_rgb_output_keeps_colour_and_repeats_grey(tmp_path):
    red = np.zeros((8, 8, 3), np.uint8)
    red[..., 0] = 255
    _save(tmp_path / "a_red.png", red)
    _save(tmp_path / "b_grey.png", np.full((8, 8), 255, np.uint8), "L")
    images = load_images(tmp_path, image_size=8, channels=3).images
    np.testing.assert_allclose(images[0, 0, 0], [1.0, -1.0, -1.0])
    np.testing.assert_allclose(images[1], 1.0)


def test_transparent_pixels_become_black(tmp_path):
    clear_white = np.full((8, 8, 4), 255, np.uint8)
    clear_white[..., 3] = 0
    _save(tmp_path / "clear.png", clear_white)
    np.testing.assert_allclose(load_images(tmp_path, image_size=8).images, -1.0)


def test_sixteen_bit_images_use_their_own_range(tmp_path):
    ramp = np.linspace(100, 1100, 64, dtype=np.uint16).reshape(8, 8)
    Image.fromarray(ramp).save(tmp_path / "ramp.png")
    with Image.open(tmp_path / "ramp.png") as saved:
        assert saved.mode.startswith("I")
    image = load_images(tmp_path, image_size=8).images
    assert image.min() == pytest.approx(-1.0) and image.max() == pytest.approx(1.0)


def test_duplicate_files_are_reported_and_kept(tmp_path, caplog):
    _save(tmp_path / "no/a.png", _rgb(0))
    (tmp_path / "yes").mkdir()
    shutil.copy(tmp_path / "no/a.png", tmp_path / "yes/a copy.png")
    shutil.copy(tmp_path / "no/a.png", tmp_path / "yes/b.png")
    _save(tmp_path / "yes/c.png", _rgb(1))
    with caplog.at_level(logging.WARNING, logger="kerasynth"):
        data = load_images(tmp_path, image_size=8)
    assert len(data) == 4
    assert data.duplicates == [["no/a.png", "yes/a copy.png", "yes/b.png"]]
    assert "1 groups of identical items" in caplog.text


def test_fingerprint_is_deterministic_and_sensitive(tmp_path):
    _save(tmp_path / "a.png", _rgb(0))
    first = load_images(tmp_path, image_size=8)
    assert load_images(tmp_path, image_size=8).fingerprint == first.fingerprint
    assert len(first.fingerprint) == 64
    changed = _rgb(0)
    changed[0, 0] = 255 - changed[0, 0]
    _save(tmp_path / "a.png", changed)
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
    _save(tmp_path / "good.png", _rgb(0))
    (tmp_path / "bad.png").write_bytes(b"definitely not a PNG")
    with pytest.raises(ValueError, match="bad.png"):
        load_images(tmp_path)


def test_truncated_jpeg_names_the_file(tmp_path):
    path = _save(tmp_path / "cut.jpg", _rgb(0, 64, 64))
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(ValueError, match="cut.jpg"):
        load_images(tmp_path)


def test_mixed_top_level_and_class_folders_is_an_error(tmp_path):
    _save(tmp_path / "loose.png", _rgb(0))
    _save(tmp_path / "cls/a.png", _rgb(1))
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
    _save(tmp_path / "a.png", _rgb(0))
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


# === NIfTI volumes ===


def test_nifti_volume_keeps_brain_slices(tmp_path):
    path = tmp_path / "brain.nii.gz"
    nib.save(nib.Nifti1Image(_brain_volume(), np.eye(4)), path)
    data = load_images(path, image_size=16)
    assert data.images.shape == (8, 16, 16, 1)
    assert data.images.min() == pytest.approx(-1.0)
    assert data.images.max() == pytest.approx(1.0)
    assert data.source == f"volume {path} (8 of 16 axial slices)"
    assert data.labels is None


def test_nifti_reoriented_to_canonical_with_anterior_on_top(tmp_path):
    volume = _brain_volume()
    nib.save(nib.Nifti1Image(volume, np.eye(4)), tmp_path / "ras.nii")
    # The same head stored left-to-right and posterior-to-anterior flipped (LPS).
    lps = np.diag([-1.0, -1.0, 1.0, 1.0])
    nib.save(nib.Nifti1Image(volume[::-1, ::-1].copy(), lps), tmp_path / "lps.nii")
    ras = volumes.load_volume_slices(tmp_path / "ras.nii")
    flipped = volumes.load_volume_slices(tmp_path / "lps.nii")
    np.testing.assert_allclose(ras.slices, flipped.slices)
    np.testing.assert_array_equal(ras.indices, np.arange(4, 12))
    # The anterior marker (high y) is in the top rows of each image.
    rows = np.argmax(ras.slices.max(axis=2), axis=1)
    assert np.all(rows < 4)


def test_four_d_nifti_uses_first_volume(tmp_path, caplog):
    stacked = np.stack([_brain_volume(), np.zeros((20, 24, 16), np.float32)], -1)
    nib.save(nib.Nifti1Image(stacked, np.eye(4)), tmp_path / "fmri.nii")
    with caplog.at_level(logging.WARNING, logger="kerasynth"):
        data = load_images(tmp_path / "fmri.nii", image_size=8)
    assert len(data) == 8
    assert "first volume" in caplog.text


def test_analyze_pair_and_volume_folder_with_images(tmp_path):
    (tmp_path / "ms").mkdir()
    nib.save(nib.AnalyzeImage(_brain_volume(), np.eye(4)), tmp_path / "ms/head.img")
    assert (tmp_path / "ms/head.hdr").exists()
    _save(tmp_path / "ms/photo.png", _rgb(0))
    _save(tmp_path / "healthy/photo.png", _rgb(1))
    assert len(load_images(tmp_path / "ms/head.img", image_size=8)) == 8
    data = load_images(tmp_path, image_size=8)
    assert len(data) == 1 + 8 + 1
    np.testing.assert_array_equal(data.labels, [0] + [1] * 9)
    assert "1 volumes" in data.source


def test_min_brain_fraction_controls_kept_slices():
    volume = _brain_volume()
    assert len(volumes.axial_slices(volume, 0.0).slices) == 8  # empty never kept
    assert len(volumes.axial_slices(volume, 0.99).slices) == 0
    with pytest.raises(ValueError, match="min_brain_fraction=1.5"):
        volumes.axial_slices(volume, 1.5)


def test_bad_volumes_name_the_file(tmp_path):
    (tmp_path / "broken.nii.gz").write_bytes(b"not gzip")
    with pytest.raises(ValueError, match="broken.nii.gz"):
        load_images(tmp_path / "broken.nii.gz")
    empty = nib.Nifti1Image(np.zeros((4, 4, 4), np.float32), np.eye(4))
    nib.save(empty, tmp_path / "empty.nii")
    with pytest.raises(ValueError, match="empty.nii"):
        load_images(tmp_path / "empty.nii")


# === Embedded default ===


def test_embedded_default_template(no_network):
    data = load_images(None)
    assert data.images.shape[1:] == (64, 64, 1)
    assert 120 <= len(data) <= 140
    assert data.images.dtype == np.float32
    assert data.images.min() == pytest.approx(-1.0)
    assert data.images.max() <= 1.0 and data.images.max() > 0.9
    assert data.labels is None and data.class_names is None
    assert data.source == "embedded MNI152 T1 template"
    assert data.duplicates == []
    # The cache hands out copies: a caller's edit does not leak into the next call.
    fingerprint = data.fingerprint
    data.images[:] = 0.0
    again = load_images(None)
    assert again.fingerprint == fingerprint
    assert again.images.min() == pytest.approx(-1.0)
    assert load_images(None, image_size=32, channels=3).images.shape[1:] == (32, 32, 3)


def test_mni152_pairs_are_aligned(no_network):
    t1, mask = embedded.load_mni152_pairs(32)
    assert t1.shape == mask.shape == (len(load_images(None, 32)), 32, 32, 1)
    # Brain tissue in the T1 lies inside the mask, background outside.
    assert np.mean(mask[t1 > -0.5] > 0.0) > 0.95
    assert np.mean(mask[t1 <= -0.999] < 0.0) > 0.9
    with pytest.raises(ValueError, match="target='skull'"):
        embedded.load_mni152_pairs(32, target="skull")


# === TFDS ===


def test_parse_tfds_source():
    assert catalog.parse_tfds_source("tfds:mnist") == ("mnist", None, None, "train")
    parsed = catalog.parse_tfds_source("tfds:brain_tumor_mri/cfg:1.0.0:train[:50%]")
    assert parsed == ("brain_tumor_mri", "cfg", "1.0.0", "train[:50%]")
    assert parsed.builder_name == "brain_tumor_mri/cfg:1.0.0"
    with pytest.raises(ValueError, match="tfds:"):
        catalog.parse_tfds_source("tfds:")


def test_tfds_brain_tumor_builder_round_trip(tmp_path, monkeypatch, no_network):
    import tensorflow_datasets as tfds

    from kerasynth.data.builders import BrainTumorMri

    manual = tmp_path / "manual" / "brain_tumor_dataset"
    names = ["no/1 no.jpg", "no/2 no.jpg", "yes/Y1.jpg", "yes/Y2.JPG"]
    for i, name in enumerate(names):
        _save(manual / name, _rgb(i, 20 + i, 30))
    data_dir = tmp_path / "tfds"
    monkeypatch.setenv("TFDS_DATA_DIR", str(data_dir))
    with pytest.raises(FileNotFoundError, match="tfds build brain_tumor_mri"):
        load_images("tfds:brain_tumor_mri")

    builder = BrainTumorMri(data_dir=str(data_dir))
    builder.download_and_prepare(
        download_dir=str(tmp_path / "downloads"),
        download_config=tfds.download.DownloadConfig(manual_dir=str(manual.parent)),
    )
    data = load_images("tfds:brain_tumor_mri", image_size=16)
    assert data.images.shape == (4, 16, 16, 1)
    assert data.class_names == ["no", "yes"]
    assert sorted(data.labels.tolist()) == [0, 0, 1, 1]
    assert data.source == "tfds:brain_tumor_mri:train"
    # Same images as reading the folder (TF and PIL JPEG decoders may differ by 1).
    folder = load_images(manual, image_size=16)

    def means_by_label(loaded):
        means = loaded.images.mean(axis=(1, 2, 3))
        return sorted(zip(loaded.labels, means, strict=True))

    np.testing.assert_allclose(means_by_label(data), means_by_label(folder), atol=0.01)
    with pytest.raises(ValueError, match="test"):
        load_images("tfds:brain_tumor_mri:test")


# === The study's data ===


@pytest.mark.real_data
def test_real_brain_tumor_folder(tumor_folder):
    data = load_images(tumor_folder)
    assert data.images.shape == (253, 64, 64, 1)
    assert data.class_names == ["no", "yes"]
    assert np.bincount(data.labels).tolist() == [98, 155]
    assert len(data.duplicates) == 22
    assert all(len(group) >= 2 for group in data.duplicates)
