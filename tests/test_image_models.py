"""Pix2Pix (U-Net + PatchGAN), the Beta-VAE and their pairs: the study's
parameter counts, the shared model checks of every image model, export,
learning."""

import numpy as np
import pytest
import tensorflow as tf

from kerasynth import export, registry
from kerasynth.data.images import ImageData, load_images
from kerasynth.data.pairs import PAIRINGS, degrade, make_pair_dataset, pair_by_key
from kerasynth.metrics.image import psnr
from kerasynth.models import losses
from kerasynth.models.patchgan import build_patchgan
from kerasynth.models.unet import build_unet
from kerasynth.testing import run_model_test

TINY_DCGAN = {"image_size": 32, "generator_filters": 4, "discriminator_filters": 4}
TINY_P2P = {"image_size": 32, "filters": 8}
TINY_VAE = {"image_size": 32, "filters": 8, "latent_dim": 16}
TINY_DDIM = {
    "image_size": 32,
    "widths": (8, 16),
    "embedding_dim": 16,
    "sampling_steps": 3,
}
# Every registered model that is not a table model.
IMAGE_MODELS = sorted(
    name for name, cls in registry.list_models().items() if cls.task != "tables"
)


def trainable(network):
    return sum(int(np.prod(v.shape)) for v in network.trainable_variables)


def test_study_parameter_counts():
    assert trainable(build_unet(64, 3)) == 1_318_659
    patchgan = build_patchgan(64, 3)
    assert trainable(patchgan) == 666_817
    assert patchgan.output_shape == (None, 7, 7, 1)
    assert trainable(registry.get_model("beta_vae", channels=3)) == 2_957_251


def _images(n=8, size=32, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(-1, 1, (n, size, size, 1)).astype("float32")


def _model_checks_case(name, clean):
    """A tiny model `name`, a training batch for it, its `generate` arguments."""
    if name == "dcgan":
        return TINY_DCGAN, clean, {}
    if name == "pix2pix":
        return TINY_P2P, (np.clip(clean + 0.1, -1, 1), clean), {"sources": clean}
    if name == "beta_vae":
        return {**TINY_VAE, "beta": 4.0, "kl_warmup_steps": 10}, clean, {}
    if name == "ddim":
        return TINY_DDIM, clean, {}
    if name == "dp_beta_vae":
        return {**TINY_VAE, "seed": 0}, clean, {}
    raise AssertionError(
        f"{name!r} is registered but has no tiny case here: every registered "
        "image model must run run_model_test"
    )


@pytest.mark.parametrize("name", IMAGE_MODELS)
def test_run_model_test(name, tmp_path):
    clean = _images()
    kwargs, batch, generate_kwargs = _model_checks_case(name, clean)

    def build():
        model = registry.get_model(name, **kwargs)
        if hasattr(model, "plan_privacy"):  # DP-SGD: the noise for the steps
            model.plan_privacy(num_examples=64, batch_size=8, steps=10)
        return model

    run_model_test(
        build,
        batch,
        tmp_path,
        expected_sample_shape=(32, 32, 1),
        generate_kwargs=generate_kwargs,
    )


def test_reparameterise_draws_from_the_posterior_differentiably():
    mean = tf.fill([20_000, 2], 3.0)
    log_var = tf.fill([20_000, 2], np.log(0.25).astype("float32"))
    seed = tf.constant([4, 2])
    with tf.GradientTape() as tape:
        tape.watch(mean)
        latent = losses.reparameterise(mean, log_var, seed)
    np.testing.assert_array_equal(latent, losses.reparameterise(mean, log_var, seed))
    assert np.mean(latent) == pytest.approx(3.0, abs=0.01)
    assert np.std(latent) == pytest.approx(0.5, rel=0.02)
    np.testing.assert_array_equal(tape.gradient(latent, mean), np.ones((20_000, 2)))


def test_beta_vae_encode_decode_reconstruct():
    vae = registry.get_model("beta_vae", **TINY_VAE)
    mean, log_var = vae.encode(_images(4))
    assert mean.shape == log_var.shape == (4, 16)
    assert vae.decode(mean).shape == (4, 32, 32, 1)
    assert vae.reconstruct(_images(4)).shape == (4, 32, 32, 1)


@pytest.mark.parametrize("pairing", sorted(PAIRINGS))
def test_degradations_change_images_repeatably(pairing):
    clean = tf.constant(_images(4))
    strength = PAIRINGS[pairing][0]
    first = degrade(clean, pairing, strength, tf.constant([1, 2]))
    again = degrade(clean, pairing, strength, tf.constant([1, 2]))
    assert first.shape == clean.shape
    np.testing.assert_array_equal(first, again)
    assert np.abs(first.numpy() - clean.numpy()).mean() > 0.01
    assert first.numpy().min() >= -1.0 - 1e-6 and first.numpy().max() <= 1.0 + 1e-6


def test_noise_pairing_has_the_asked_standard_deviation():
    clean = tf.zeros((16, 32, 32, 1))
    noisy = degrade(clean, "noise", 0.2, tf.constant([0, 0]))
    assert np.std(noisy.numpy()) == pytest.approx(0.2, rel=0.05)


def test_pairs_by_relative_path():
    def data(keys, values):
        images = np.stack([np.full((4, 4, 1), v, "float32") for v in values])
        return ImageData(images, None, None, "x", "f", [], keys=keys)

    sources = data(["b.png", "a.png"], [0.2, 0.1])
    targets = data(["a.png", "b.png"], [-0.1, -0.2])
    paired_sources, paired_targets = pair_by_key(sources, targets)
    np.testing.assert_allclose(paired_sources[:, 0, 0, 0], [0.2, 0.1])
    np.testing.assert_allclose(paired_targets[:, 0, 0, 0], [-0.2, -0.1])
    with pytest.raises(ValueError, match="c.png"):
        pair_by_key(data(["c.png", "a.png"], [0, 0]), targets)


def test_pair_dataset_degrades_afresh_each_epoch():
    clean = _images(8)
    dataset = make_pair_dataset(clean, 4, seed=0, pairing="noise", strength=0.3)
    first = [s.numpy() for s, _ in dataset]
    second = [s.numpy() for s, _ in dataset]
    assert first[0].shape == (4, 32, 32, 1)
    assert not np.array_equal(first[0], second[0])


def test_exports(tmp_path):
    pix2pix = registry.get_model("pix2pix", **TINY_P2P)
    loaded = tf.saved_model.load(str(export.export_model(pix2pix, tmp_path, "p")))
    images = _images(2)
    out = loaded.signatures["translate"](images=tf.constant(images))["images"]
    np.testing.assert_allclose(out, pix2pix.translate(images), atol=1e-5)
    assert "serving_default" in loaded.signatures

    vae = registry.get_model("beta_vae", **TINY_VAE)
    loaded = tf.saved_model.load(str(export.export_model(vae, tmp_path, "v")))
    assert {"serving_default", "sample", "decode", "reconstruct"} <= set(
        loaded.signatures
    )
    sampled = loaded.signatures["sample"](
        num_samples=tf.constant(2), seed=tf.constant(3)
    )
    np.testing.assert_allclose(sampled["images"], vae.generate(2, seed=3), atol=1e-5)
    rebuilt = loaded.signatures["reconstruct"](images=tf.constant(images))["images"]
    np.testing.assert_allclose(rebuilt, vae.reconstruct(images), atol=1e-5)
    decoded = loaded.signatures["decode"](latent=tf.zeros((1, 16)))["images"]
    assert decoded.shape == (1, 32, 32, 1)


def _split_embedded():
    import dataclasses

    data = load_images(None, image_size=32)
    held_out = np.arange(len(data)) % 5 == 0
    return dataclasses.replace(data, images=data.images[~held_out]), data.images[
        held_out
    ]


def _fit(model, epochs, data, dp_epsilon=None, **kwargs):
    from kerasynth import training
    from kerasynth.config import TrainConfig

    config = TrainConfig(model=model, epochs=epochs, seed=0, verbose=0,
                         mixed_precision="off", dp_epsilon=dp_epsilon,
                         model_kwargs=kwargs)  # fmt: skip
    return training.fit(config, data=data).model


@pytest.mark.slow
def test_beta_vae_reconstructs_held_out_slices():
    # Measured: median PSNR 18.0 dB against 15.2 dB for the mean image.
    train, held_out = _split_embedded()
    vae = _fit("beta_vae", 20, train, image_size=32, filters=16, latent_dim=32)
    mean_image = np.repeat(train.images.mean(0, keepdims=True), len(held_out), 0)
    reconstructed = np.median(psnr(held_out, vae.reconstruct(held_out)))
    assert reconstructed > np.median(psnr(held_out, mean_image)) + 1.5


def _nearest_distance(samples, real):
    """Each sample's mean squared distance to its nearest real image."""
    a, b = samples.reshape(len(samples), -1), real.reshape(len(real), -1)
    return (((a[:, None] - b[None]) ** 2).mean(-1)).min(1)


@pytest.mark.slow
def test_dp_beta_vae_learns_brain_slices_under_a_budget():
    # Measured: median distance to the nearest held-out slice 0.70
    # untrained, 0.24 after 30 epochs at epsilon 8 (on OASIS-1 at epsilon 3
    # after 20 epochs: 0.60 and 0.12).
    train, held_out = _split_embedded()
    vae = _fit("dp_beta_vae", 30, train, dp_epsilon=8.0, image_size=32)
    assert vae.differential_privacy["epsilon"] <= 8.0
    untrained = registry.get_model("dp_beta_vae", image_size=32, seed=0)
    trained = np.median(_nearest_distance(vae.generate(64, seed=0), held_out))
    before = np.median(_nearest_distance(untrained.generate(64, seed=0), held_out))
    assert trained < 0.5 * before


@pytest.mark.slow
def test_pix2pix_denoises_held_out_slices():
    # Measured: median PSNR 18.4 dB for the translations against 14.5 dB
    # for the noisy inputs (noise of standard deviation 0.5).
    train, held_out = _split_embedded()
    model = _fit("pix2pix", 30, train, image_size=32, filters=16,
                 pairing_strength=0.5)  # fmt: skip
    noisy = degrade(tf.constant(held_out), "noise", 0.5, tf.constant([5, 5])).numpy()
    denoised = np.median(psnr(held_out, model.translate(noisy)))
    assert denoised > np.median(psnr(held_out, noisy)) + 2.0
