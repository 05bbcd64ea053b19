"""Tests for the sources that download nothing: the embedded MNI152 template
(kerasynth.data.embedded) and prepared TFDS datasets (kerasynth.data.catalog).
Any attempt to open a network connection fails these tests."""

import socket

import numpy as np
import pytest
from test_data_images import random_rgb, save_image

from kerasynth.data import catalog, embedded, load_images


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a network connection fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


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
        save_image(manual / name, random_rgb(i, 20 + i, 30))
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
