"""The image diffusion model: it learns real brain slices, its sampler and
its export agree, and its options are checked."""

import numpy as np
import pytest
import tensorflow as tf

from kerasynth import export, registry
from kerasynth.data.images import load_images
from kerasynth.data.pipeline import make_dataset
from kerasynth.metrics.image import image_fidelity
from kerasynth.models import ddim

TINY = {
    "image_size": 16,
    "widths": (8, 16),
    "embedding_dim": 16,
    "patch_size": 1,
    "seed": 0,
}


@pytest.fixture(scope="module")
def mni():
    # The embedded MNI152 template's 130 axial slices, at 32x32.
    return load_images(None, image_size=32, channels=1)


@pytest.mark.slow
def test_learns_the_brain_slices(mni):
    """Trained for 240 steps on the MNI152 slices, the samples come far
    closer to the slices than the untrained model's, and the in-graph KID of
    `test_step` falls (measured: FD 113 against 226, KID 2.4 against 3.6,
    loss 0.16 against 1.0)."""
    kwargs = {"image_size": 32, "widths": (16, 32, 48), "seed": 0, "kid_steps": 5}
    model = registry.get_model("ddim", **kwargs)
    model.compile()
    dataset = make_dataset(mni, 32, seed=0)
    before = model.evaluate(dataset, verbose=0, return_dict=True)
    untrained = model.generate(130, seed=1, steps=10)
    model.fit(dataset.repeat(), steps_per_epoch=60, epochs=4, verbose=0)
    after = model.evaluate(dataset, verbose=0, return_dict=True)
    trained = model.generate(130, seed=1, steps=10)

    def fd(images):
        return image_fidelity(mni.images, images, features="pca", seed=0)[
            "frechet_distance"
        ]

    assert fd(trained) < 0.6 * fd(untrained), (fd(trained), fd(untrained))
    assert after["kid"] < 0.8 * before["kid"], (after, before)
    assert after["loss"] < 0.3 * before["loss"], (after, before)


def _random_network(model, scale=0.2):
    # Random weights everywhere (the zero-initialised output included), so
    # that an untrained network depends on its noise, timestep and label.
    rng = np.random.default_rng(0)
    for weight in model.ema_denoiser.weights:
        weight.assign(rng.normal(0, scale, weight.shape).astype("float32"))
    return model


def test_the_exported_sample_is_generate(tmp_path):
    model = _random_network(
        registry.get_model("ddim", num_classes=2, class_names=["no", "yes"], **TINY)
    )
    loaded = tf.saved_model.load(str(export.export_model(model, tmp_path, "ddim")))
    sample = loaded.signatures["sample"]
    for steps, label, conditions in ((1, -1, None), (4, 1, {"label": "yes"})):
        served = sample(
            num_samples=tf.constant(3), seed=tf.constant(7), steps=tf.constant(steps),
            label=tf.constant(label),
        )["images"].numpy()  # fmt: skip
        generated = model.generate(3, seed=7, steps=steps, conditions=conditions)
        np.testing.assert_allclose(served, generated, atol=1e-5)
    noise = model.latent_noise(3, seed=7).numpy()
    denoised = loaded.signatures["serving_default"](
        noise=tf.constant(noise), steps=tf.constant(4), label=tf.constant([1, 1, 1])
    )["images"].numpy()
    np.testing.assert_allclose(denoised, generated, atol=1e-5)


def test_steps_labels_and_guidance_change_the_samples():
    # An untrained model's samples are all clipped to -1 or 1: train a tiny
    # one briefly on the template's upper and lower slices as two classes.
    slices = load_images(None, image_size=16, channels=1)
    labels = (np.arange(len(slices)) >= len(slices) // 2).astype("int32")
    model = registry.get_model("ddim", num_classes=2, **TINY)
    model.compile()
    model.fit(slices.images, labels, batch_size=26, epochs=20, verbose=0)
    base = model.generate(2, seed=0, steps=3, conditions={"label": "1"})
    for changed in (
        model.generate(2, seed=0, steps=5, conditions={"label": "1"}),
        model.generate(2, seed=0, steps=3, conditions={"label": "0"}),
        model.generate(2, seed=0, steps=3, conditions={"label": "1"}, guidance=2.0),
    ):
        assert np.abs(changed - base).mean() > 0.01
    np.testing.assert_array_equal(
        base, model.generate(2, seed=0, steps=3, conditions={"label": "1"})
    )


def test_labels_are_dropped_for_the_unconditional_score():
    model = registry.get_model("ddim", num_classes=3, label_dropout=0.5, **TINY)
    conditions = model._conditions(
        tf.zeros([4000], tf.int32), 4000, tf.constant([1, 2])
    )
    dropped = float(
        tf.reduce_mean(tf.cast(tf.reduce_sum(conditions, 1) == 0, "float32"))
    )
    assert dropped == pytest.approx(0.5, abs=0.03)
    assert model._conditions(tf.zeros([5], tf.int32), 5) is not None


def test_schedules_end_at_noise():
    for name, schedule in ddim.SCHEDULES.items():
        abar = schedule(1000)
        assert abar[0] == 1.0 and abar[-1] < 1e-4, name
        assert np.all(np.diff(abar) < 0), name
    # Fewer steps destroy the data as much as Ho et al.'s 1,000.
    assert ddim.linear_alpha_bars(250)[-1] == pytest.approx(
        ddim.linear_alpha_bars(1000)[-1], rel=0.5, abs=1e-4
    )


def test_kernel_distance_matches_the_report_kid():
    from kerasynth.metrics.feature_distances import kid

    rng = np.random.default_rng(0)
    a = rng.normal(size=(60, 8)).astype("float32")
    b = (rng.normal(size=(60, 8)) * 1.5 + 0.3).astype("float32")
    ours = float(ddim.kernel_distance(a, b))
    assert ours == pytest.approx(kid(a, b)[0], rel=1e-4)
    assert float(ddim.kernel_distance(a, a[::-1])) == pytest.approx(
        kid(a, a)[0], abs=1e-4
    )


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"image_size": 18, "widths": (8, 16, 32)}, "multiple of 4"),
        ({"image_size": 24, "patch_size": 4, "widths": (8, 16, 32)}, "multiple of 16"),
        ({"schedule": "sigmoid"}, "schedule must be one of cosine, linear"),
        ({"loss": "huber"}, "loss must be 'l1' or 'l2'"),
        ({"sampling_steps": 0}, "sampling_steps must be an integer >= 1"),
        ({"label_dropout": 1.0}, r"label_dropout must be in \[0, 1\)"),
    ],
)
def test_bad_options_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        registry.get_model("ddim", **{**TINY, **kwargs})
