import numpy as np
import pytest

from kerasynth.models.dcgan import DCGAN
from kerasynth.registry import get_model
from kerasynth.testing import run_model_test


def trainable_count(network):
    return sum(int(np.prod(v.shape)) for v in network.trainable_variables)


def test_parameter_counts_match_the_study():
    # The study's Figure 3 network, at 3 channels and 64x64.
    model = get_model("dcgan", image_size=64, channels=3)
    assert trainable_count(model.generator) == 3_576_704
    assert trainable_count(model.discriminator) == 2_765_568


@pytest.mark.parametrize("image_size", [32, 128])
def test_other_sizes_add_or_remove_blocks(image_size):
    model = DCGAN(image_size=image_size, generator_filters=4, discriminator_filters=4)
    assert model.generator.output_shape == (None, image_size, image_size, 1)
    assert model.discriminator.output_shape == (None, 1)


def test_run_model_test_with_the_reused_batch(tmp_path):
    # The default step ("fresh") runs in test_image_models' checks of every
    # registered model.
    rng = np.random.default_rng(0)
    batch = rng.uniform(-1, 1, (4, 32, 32, 1)).astype("float32")
    run_model_test(
        lambda: DCGAN(
            image_size=32, generator_filters=4, discriminator_filters=4, step="reuse"
        ),
        batch,
        tmp_path,
        expected_sample_shape=(32, 32, 1),
    )


def test_mixed_mode_refuses_bfloat16_variables_and_restores_the_policy(tmp_path):
    import keras

    def bfloat16_variables():
        model = DCGAN(image_size=32, generator_filters=4, discriminator_filters=4)
        model.add_weight(name="odd", shape=(1,), dtype="bfloat16", trainable=False)
        return model

    batch = np.zeros((4, 32, 32, 1), "float32")
    with pytest.raises(AssertionError, match="variables not float32"):
        run_model_test(bfloat16_variables, batch, tmp_path, modes=["mixed_bfloat16"])
    assert keras.config.dtype_policy().name == "float32"


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"image_size": 48}, "image_size=48"),
        ({"channels": 2}, "channels=2"),
        ({"latent_dim": 0}, "latent_dim=0"),
        ({"step": "twice"}, "step='twice'"),
    ],
)
def test_invalid_arguments_name_the_value(kwargs, message):
    with pytest.raises(ValueError, match=message):
        DCGAN(**kwargs)


def test_unconditional_model_refuses_conditions():
    model = DCGAN(image_size=32, generator_filters=4, discriminator_filters=4)
    with pytest.raises(ValueError, match="unconditional"):
        model.generate(2, conditions={"label": 1})


def test_generate_without_seed_draws_fresh_samples():
    model = DCGAN(image_size=32, generator_filters=4, discriminator_filters=4)
    assert not np.array_equal(model.generate(2), model.generate(2))


def test_mixed_float16_loss_scales_both_optimizers(tmp_path):
    import keras

    from kerasynth import runtime

    with runtime.dtype_policy("mixed_float16"):
        model = DCGAN(image_size=32, generator_filters=4, discriminator_filters=4)
        model.compile()
        for optimizer in (model.generator_optimizer, model.discriminator_optimizer):
            assert isinstance(optimizer, keras.optimizers.LossScaleOptimizer)
        batch = np.zeros((4, 32, 32, 1), "float32")
        history = model.fit(batch, epochs=1, batch_size=4, verbose=0)
        assert np.isfinite(history.history["g_loss"][0])
        assert model.generate(2, seed=0).dtype == np.float32
        model.save(tmp_path / "m.keras")
    # The saved compile config holds the plain optimizers: reloading wraps
    # them once, not twice.
    reloaded = keras.saving.load_model(tmp_path / "m.keras")
    assert isinstance(reloaded.generator_optimizer, keras.optimizers.LossScaleOptimizer)
    assert not isinstance(
        reloaded.generator_optimizer.inner_optimizer,
        keras.optimizers.LossScaleOptimizer,
    )
    assert reloaded.generator.layers[2].dtype_policy.name == "mixed_float16"


@pytest.mark.parametrize("step, generator_calls", [("fresh", 2), ("reuse", 1)])
def test_step_generator_and_discriminator_passes(step, generator_calls):
    # "reuse" (PyTorch's example) generates one batch per step for both
    # updates; both steps run the discriminator three times, and both train
    # both networks.
    model = DCGAN(
        image_size=32, generator_filters=4, discriminator_filters=4, step=step
    )
    model.compile(run_eagerly=True)
    calls = {"generator": 0, "discriminator": 0}
    for name in calls:
        network = getattr(model, name)

        def counted(*args, _call=network.call, _name=name, **kwargs):
            calls[_name] += 1
            return _call(*args, **kwargs)

        network.call = counted
    weights = {
        name: [v.numpy().copy() for v in getattr(model, name).trainable_weights]
        for name in calls
    }
    batch = np.random.default_rng(0).uniform(-1, 1, (4, 32, 32, 1)).astype("float32")
    history = model.fit(batch, batch_size=4, verbose=0)
    assert calls == {"generator": generator_calls, "discriminator": 3}
    assert np.isfinite(history.history["g_loss"][0])
    for name, before in weights.items():
        after = getattr(model, name).trainable_weights
        assert all(
            not np.array_equal(b, a.numpy()) for b, a in zip(before, after, strict=True)
        ), name
