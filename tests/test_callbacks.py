"""Callbacks for generative training, and interrupted runs resumed."""

import json
import os
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pandas as pd
import pytest

from kerasynth import registry
from kerasynth.callbacks import FidelityMonitor, SampleGrid, SampleRows
from kerasynth.data.images import load_images

TINY = {"image_size": 32, "generator_filters": 4, "discriminator_filters": 4}


@pytest.fixture(scope="module")
def slices():
    return load_images(None, image_size=32).images


def _dcgan(learning_rate=2e-4):
    model = registry.get_model("dcgan", **TINY)
    if not learning_rate:
        # A frozen generator: no updates, and BatchNorm in inference mode so
        # its moving statistics stay put too.
        for layer in model.generator.layers:
            if isinstance(layer, keras.layers.BatchNormalization):
                layer.trainable = False
    model.compile(
        keras.optimizers.Adam(learning_rate, beta_1=0.5),
        keras.optimizers.Adam(learning_rate, beta_1=0.5),
    )
    return model


@pytest.mark.slow
def test_sample_grid_writes_frames_and_tensorboard_images(tmp_path, slices):
    keras.utils.set_random_seed(0)
    grid = SampleGrid(tmp_path / "frames", every=2, num_samples=4, seed=1,
                      log_dir=tmp_path / "tb")  # fmt: skip
    _dcgan().fit(slices[:64], batch_size=32, epochs=4, callbacks=[grid], verbose=0)
    assert sorted(p.name for p in (tmp_path / "frames").iterdir()) == [
        "epoch_0002.png",
        "epoch_0004.png",
    ]
    assert list((tmp_path / "tb").glob("events.out.tfevents.*"))


@pytest.mark.slow
def test_sample_grid_frames_come_from_a_fixed_seed(tmp_path, slices):
    # With a frozen generator the frames of two epochs are identical.
    keras.utils.set_random_seed(0)
    grid = SampleGrid(tmp_path, every=1, num_samples=4, seed=3)
    _dcgan(learning_rate=0.0).fit(
        slices[:32], batch_size=32, epochs=2, callbacks=[grid], verbose=0
    )
    first, second = sorted(tmp_path.glob("*.png"))
    assert first.read_bytes() == second.read_bytes()


@pytest.mark.slow
def test_fidelity_monitor_adds_its_metric_to_logs(slices):
    keras.utils.set_random_seed(0)
    monitor = FidelityMonitor(slices[:64], every=2, num_samples=32)
    history = _dcgan().fit(
        slices[:64], batch_size=32, epochs=3, callbacks=[monitor], verbose=0
    )
    values = history.history["val_frechet_distance"]
    assert len(values) == 3 and all(v > 0 for v in values)
    assert values[0] == values[1]  # every=2: epoch 1 repeats epoch 0's value


@pytest.mark.slow
def test_fidelity_monitor_drives_early_stopping(slices):
    # A frozen generator never improves: EarlyStopping(patience=2) must stop
    # after 3 of the 20 epochs, reading the monitor's metric.
    keras.utils.set_random_seed(0)
    monitor = FidelityMonitor(slices[:64], num_samples=32)
    stop = keras.callbacks.EarlyStopping(monitor.name, patience=2, mode=monitor.mode)
    history = _dcgan(learning_rate=0.0).fit(
        slices[:32], batch_size=32, epochs=20, callbacks=[monitor, stop], verbose=0
    )
    assert len(history.history["g_loss"]) == 3


def test_sample_rows_and_table_monitor(tmp_path):
    from kerasynth import TableSynthesizer

    rng = np.random.default_rng(0)
    real = pd.DataFrame({"a": rng.normal(0, 1, 200), "b": rng.choice(["x", "y"], 200)})
    synthesizer = TableSynthesizer("tvae", epochs=1, batch_size=50, seed=0,
                                   latent_dim=4, encoder_widths=(8,),
                                   decoder_widths=(8,)).fit(real)  # fmt: skip
    rows = SampleRows(tmp_path, every=1, num_rows=20, seed=0, real=real)
    monitor = FidelityMonitor(real, metric="quality")
    assert monitor.mode == "max"
    rows.set_model(synthesizer.model)
    monitor.set_model(synthesizer.model)
    logs = {}
    rows.on_epoch_end(0, logs)
    monitor.on_epoch_end(0, logs)
    assert {p.name for p in tmp_path.iterdir()} == {"epoch_0001.csv", "epoch_0001.png"}
    assert len(pd.read_csv(tmp_path / "epoch_0001.csv")) == 20
    assert 0.0 < logs["val_quality"] <= 1.0


def test_bad_monitor_metric_is_named():
    with pytest.raises(ValueError, match="metric='psnr'"):
        FidelityMonitor(np.zeros((4, 8, 8, 1)), metric="psnr")


@pytest.mark.slow
def test_killed_run_resumes_to_the_end(tmp_path):
    output = tmp_path / "run"
    command = [sys.executable, "-c", "from kerasynth.cli import main; main()",
               "train", "--model", "dcgan", "--image-size", "32", "--epochs", "30",
               "--batch-size", "32", "--seed", "0", "--quiet",
               "--output", str(output)]  # fmt: skip
    log = tmp_path / ".run.work" / "history.csv"
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.time() + 240
    while time.time() < deadline:
        if log.exists() and len(log.read_text().splitlines()) >= 6:  # 5 epochs
            break
        time.sleep(0.2)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert not output.exists()  # no half-written run directory
    assert (tmp_path / ".run.work" / "backup").is_dir()

    again = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert again.returncode == 2 and "--resume" in again.stderr
    resumed = subprocess.run([*command, "--resume"], capture_output=True,
                             text=True, timeout=600)  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    log = pd.read_csv(output / "history.csv")
    assert list(log["epoch"]) == list(range(30))  # every epoch ran, each row once
    # history.json holds every epoch too, not only those after the resume,
    # with the CSV's values, and the summary counts them all.
    history = json.loads((output / "history.json").read_text())
    assert set(history) == {"d_loss", "g_loss", "d_real", "d_fake"}
    np.testing.assert_allclose(history["g_loss"], log["g_loss"])
    assert "for 30 epochs" in resumed.stdout
    assert not (tmp_path / ".run.work").exists()


def test_fidelity_monitor_on_a_translation_model():
    # Pix2Pix samples by translating real images; the monitor must get them
    # from its task (it failed at the first epoch's end when it did not).
    from kerasynth import training
    from kerasynth.config import TrainConfig

    config = TrainConfig(
        model="pix2pix", epochs=2, batch_size=8, seed=0, verbose=0,
        early_stopping="val_frechet_distance", patience=5, holdout_fraction=0.2,
        model_kwargs={"image_size": 32, "channels": 1, "filters": 8},
    )  # fmt: skip
    fitted = training.fit(config)
    values = fitted.history["val_frechet_distance"]
    assert len(values) == 2 and all(np.isfinite(values))


@pytest.mark.slow
def test_sigterm_leaves_a_resumable_run_and_says_so(tmp_path):
    output = tmp_path / "run"
    command = [sys.executable, "-c", "from kerasynth.cli import main; main()",
               "train", "--model", "dcgan", "--image-size", "32", "--epochs", "40",
               "--batch-size", "32", "--seed", "0", "--quiet",
               "--output", str(output)]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)  # fmt: skip
    metadata = tmp_path / ".run.work" / "backup" / "training_metadata.json"
    deadline = time.time() + 240
    while time.time() < deadline and not (
        metadata.exists() and json.loads(metadata.read_text())["epoch"] >= 3
    ):
        time.sleep(0.2)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130
    lines = [line for line in stderr.splitlines() if line.startswith("Interrupted")]
    assert len(lines) == 1 and "--resume" in lines[0], stderr[-2000:]
    # Every epoch is backed up (image epochs are long next to a backup), so
    # the hint names the epoch the resume starts from.
    assert f"after epoch {json.loads(metadata.read_text())['epoch']}" in lines[0]
    assert not output.exists()
