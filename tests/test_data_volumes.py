"""Tests for kerasynth.data.volumes: NIfTI and Analyze volumes as image sources."""

import logging

import nibabel as nib
import numpy as np
import pytest
from test_data_images import random_rgb, save_image

from kerasynth.data import load_images, volumes


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
    save_image(tmp_path / "ms/photo.png", random_rgb(0))
    save_image(tmp_path / "healthy/photo.png", random_rgb(1))
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
