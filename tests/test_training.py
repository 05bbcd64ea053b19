"""`training.train` end to end on the embedded MNI152 slices (tiny widths)."""

import json

import keras
import numpy as np
import pytest

from kerasynth import runs, training
from kerasynth.config import TrainConfig
from kerasynth.data.images import load_images
from kerasynth.metrics.image import pixel_pca_frechet_distance
from kerasynth.registry import get_model

TINY = {"image_size": 32, "generator_filters": 16, "discriminator_filters": 16}


def train_tiny(output, **overrides):
    settings = {
        "model": "dcgan",
        "epochs": 1,
        "seed": 0,
        "mixed_precision": "off",
        "model_kwargs": TINY,
        "output": str(output),
        "verbose": 0,
        **overrides,
    }
    return training.train(TrainConfig(**settings))


def weights_of(run_dir):
    return [np.array(w) for w in runs.load_model(run_dir).weights]


def test_run_directory_contents(tmp_path):
    result = train_tiny(tmp_path / "run", seed=5)
    assert sorted(p.name for p in result.run_dir.iterdir()) == [
        "config.json",
        "history.csv",
        "history.json",
        "logs",
        "model.keras",
        "samples.png",
    ]
    assert list(result.run_dir.parent.iterdir()) == [result.run_dir]  # no work dir
    config = json.loads((result.run_dir / "config.json").read_text())
    assert config["model"] == "dcgan"
    assert config["model_config"]["image_size"] == 32
    assert config["training"]["seed"] == 5
    assert config["training"]["batch_size"] == 16  # DCGAN's default
    assert config["data"]["num_examples"] == len(load_images(None, image_size=32))
    assert len(config["data"]["fingerprint"]) == 64
    assert {"keras", "tensorflow", "kerasynth"} <= set(config["versions"])
    history = json.loads((result.run_dir / "history.json").read_text())
    assert set(history) == {"d_loss", "g_loss", "d_real", "d_fake"}
    assert "images/s" in result.summary()
    # The saved model reloads and gives the same samples for the same seed.
    model = runs.load_model(result.run_dir)
    np.testing.assert_array_equal(model.generate(4, seed=9), model.generate(4, seed=9))


def test_same_seed_gives_bit_identical_weights(tmp_path):
    first = weights_of(train_tiny(tmp_path / "a", seed=3).run_dir)
    second = weights_of(train_tiny(tmp_path / "b", seed=3).run_dir)
    other = weights_of(train_tiny(tmp_path / "c", seed=4).run_dir)
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, c) for a, c in zip(first, other, strict=True)), (
        "a different seed trained the same weights"
    )


def test_failed_run_leaves_nothing(tmp_path):
    with pytest.raises(ValueError, match="batch"):
        train_tiny(tmp_path / "run", batch_size=100_000)
    assert list(tmp_path.iterdir()) == []


def test_mixed_bfloat16_trains_with_float32_outputs(tmp_path):
    result = train_tiny(tmp_path / "run", mixed_precision="mixed_bfloat16")
    config = runs.read_config(result.run_dir)
    assert config["training"]["dtype_policy"] == "mixed_bfloat16"
    model = runs.load_model(result.run_dir)
    assert model.generator.layers[1].dtype_policy.name == "mixed_bfloat16"
    assert model.generate(2, seed=0).dtype == np.float32
    assert keras.config.dtype_policy().name == "float32"  # restored


@pytest.mark.slow
def test_dcgan_learns_the_embedded_slices(tmp_path):
    # Frechet distance in the raw-pixel PCA space fitted on the real slices:
    # after 60 short epochs (240 steps) the generator must be much closer to
    # the real slices than the same generator untrained.
    real = load_images(None, image_size=32).images
    keras.utils.set_random_seed(0)
    untrained = get_model("dcgan", **TINY).generate(128, seed=1)
    result = train_tiny(tmp_path / "run", epochs=60, batch_size=32)
    trained = runs.load_model(result.run_dir).generate(128, seed=1)
    before = pixel_pca_frechet_distance(real, untrained)
    after = pixel_pca_frechet_distance(real, trained)
    assert after < 0.7 * before, (before, after)


@pytest.mark.real_data
def test_trains_on_the_study_tumor_folder(tmp_path, tumor_folder):
    result = train_tiny(tmp_path / "run", data=str(tumor_folder))
    config = runs.read_config(result.run_dir)
    assert config["data"]["num_examples"] == 253
    assert config["data"]["class_names"] == ["no", "yes"]
    assert config["data"]["duplicate_groups"] == 22


class _CtrlCAfter(keras.callbacks.Callback):
    """Ctrl-C at the end of epoch `epoch` (after the backup's own hook)."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 == self.epoch:
            raise KeyboardInterrupt


@pytest.mark.parametrize(
    "settings, stop",
    [
        # A table model: one-step epochs, backed up every few (throttled), so
        # the resume also repeats epochs after its backup.
        ({"model": "tvae", "epochs": 12, "batch_size": 100}, 5),
        # An image model: Dropout-free, but its noise comes from the model's
        # seed generator and its batches from a reshuffled stream.
        ({"model": "dcgan", "epochs": 4, "batch_size": 16, "model_kwargs": TINY}, 2),
    ],
    ids=["tvae", "dcgan"],
)
def test_a_resumed_run_ends_bit_identical(tmp_path, monkeypatch, settings, stop):
    from kerasynth import resume

    def config(output, **more):
        return TrainConfig(**settings, seed=0, verbose=0, output=str(output),
                           mixed_precision="off", **more)  # fmt: skip

    training.train(config(tmp_path / "straight"))
    run_callbacks = training._run_callbacks
    monkeypatch.setattr(
        training,
        "_run_callbacks",
        lambda work: [*run_callbacks(work), _CtrlCAfter(stop)],
    )
    with pytest.raises(resume.TrainingInterrupted, match="--resume"):
        training.train(config(tmp_path / "resumed"))
    monkeypatch.setattr(training, "_run_callbacks", run_callbacks)
    backup = runs.work_dir(tmp_path / "resumed") / "backup"
    assert 1 <= resume.backed_up_epochs(backup) <= stop
    keras.backend.clear_session()
    training.train(config(tmp_path / "resumed", resume=True))
    straight, resumed = (
        weights_of(tmp_path / "straight"),
        weights_of(tmp_path / "resumed"),
    )
    assert len(straight) == len(resumed)
    for a, b in zip(straight, resumed, strict=True):
        np.testing.assert_array_equal(a, b)


def test_resume_with_other_options_is_refused_in_one_line(tmp_path):
    from kerasynth import resume
    from kerasynth.testing import invoke_cli

    output = tmp_path / "run"
    work = runs.work_dir(output)
    work.mkdir()
    first = TrainConfig(model="dcgan", output=str(output), seed=3,
                        model_kwargs={"image_size": 32})  # fmt: skip
    resume.check_same_run(first, work / resume.RESUME_FILE)  # records it
    (work / "backup").mkdir()
    result = invoke_cli("train", "--model", "dcgan", "--image-size", "64",
                        "--seed", "3", "--output", str(output), "--resume")  # fmt: skip
    assert result.exit_code == 2, result.output
    assert result.output.count("\n") == 1
    assert "these differ: model_kwargs {'image_size': 64} (was {'image_size': 32})" in (
        result.output
    )
    # The same options resume (the check passes; nothing is recorded anew).
    again = TrainConfig(model="dcgan", output=str(output), seed=3, resume=True,
                        model_kwargs={"image_size": 32})  # fmt: skip
    resume.check_same_run(again, work / resume.RESUME_FILE)
