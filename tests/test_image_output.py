import numpy as np
import pytest
from PIL import Image

from kerasynth import image_output, runs


def test_to_uint8_maps_the_range_ends():
    values = image_output.to_uint8(np.array([-1.0, 0.0, 1.0, 2.0]))
    assert values.tolist() == [0, 128, 255, 255]


def test_grid_places_every_image(tmp_path):
    images = np.stack([np.full((4, 4, 1), v) for v in (-1.0, 1.0, -1.0)])
    path = image_output.save_images(images, tmp_path / "grid.png")
    grid = np.array(Image.open(path))
    # 2 columns x 2 rows of 4x4 tiles with 2-pixel padding.
    assert grid.shape == (2 * 6 + 2, 2 * 6 + 2)
    assert grid[2:6, 8:12].min() == 255  # the second image is white
    assert grid[2:6, 2:6].max() == 0


def test_npy_and_folder_outputs(tmp_path):
    images = np.random.default_rng(0).uniform(-1, 1, (3, 8, 8, 3)).astype("float32")
    np.testing.assert_array_equal(
        np.load(image_output.save_images(images, tmp_path / "s.npy")), images
    )
    folder = image_output.save_images(images, tmp_path / "pngs")
    assert sorted(p.name for p in folder.iterdir()) == [
        "00000.png",
        "00001.png",
        "00002.png",
    ]
    assert Image.open(folder / "00001.png").size == (8, 8)
    with pytest.raises(FileExistsError, match="pngs"):
        image_output.save_images(images, folder)


def test_staged_directory_renames_on_success(tmp_path):
    target = tmp_path / "run"
    with runs.staged_directory(target) as staging:
        (staging / "a.txt").write_text("x")
        assert not target.exists()
    assert (target / "a.txt").read_text() == "x"
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_staged_directory_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "run"
    with pytest.raises(RuntimeError), runs.staged_directory(target) as staging:
        (staging / "a.txt").write_text("x")
        raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []


def test_non_empty_output_needs_overwrite(tmp_path):
    target = tmp_path / "run"
    target.mkdir()
    (target / "old.txt").write_text("old")
    with pytest.raises(FileExistsError, match="--overwrite"):
        runs.check_output(target, overwrite=False)
    with runs.staged_directory(target, overwrite=True) as staging:
        (staging / "new.txt").write_text("new")
    assert [p.name for p in target.iterdir()] == ["new.txt"]


def test_require_run_names_the_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        runs.require_run(tmp_path / "nope")
    with pytest.raises(FileNotFoundError, match="model.keras is missing"):
        runs.require_run(tmp_path)


@pytest.mark.parametrize("name", ["grid.jpg", "out.tif", "samples.v2"])
def test_an_unknown_image_suffix_is_refused_not_made_a_folder(tmp_path, name):
    images = np.zeros((2, 8, 8, 1), np.float32)
    with pytest.raises(ValueError, match=r"\.png grid, a \.npy array or a folder"):
        image_output.save_images(images, tmp_path / name)
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_a_killed_writers_staging_folder_is_removed(tmp_path, caplog):
    # What `kill -9` during `kerasynth sample --output folder` leaves.
    leftover = tmp_path / ".pngs.partial-abc123"
    leftover.mkdir()
    (leftover / "00000.png").write_bytes(b"half")
    other = tmp_path / ".pngs.partial-1.csv"  # another target's staged file
    other.write_text("x")
    images = np.zeros((2, 8, 8, 1), np.float32)
    with caplog.at_level("WARNING", logger="kerasynth"):
        image_output.save_images(images, tmp_path / "pngs")
    assert not leftover.exists() and other.exists()
    assert "left by an interrupted write" in caplog.text
    assert sorted(p.name for p in (tmp_path / "pngs").iterdir()) == [
        "00000.png",
        "00001.png",
    ]
    assert not (tmp_path / ".pngs.lock").exists()
