import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasynth.models.batch_normalization import BatchNormalization


def _pair(policy):
    kwargs = {
        "momentum": 0.9,
        "epsilon": 1e-5,
        "gamma_initializer": keras.initializers.RandomNormal(1.0, 0.5, seed=1),
        "dtype": policy,
    }
    keras_layer, fused = (
        keras.layers.BatchNormalization(**kwargs),
        BatchNormalization(**kwargs),
    )
    for layer in (keras_layer, fused):
        layer.build((8, 4, 4, 3))
    fused.set_weights(keras_layer.get_weights())
    return keras_layer, fused


@pytest.mark.parametrize("policy", ["float32", "mixed_bfloat16"])
def test_fused_training_step_matches_keras(policy):
    x = tf.random.stateless_normal((8, 4, 4, 3), seed=[0, 1]) * 3.0 + 2.0
    results = []
    for layer in _pair(policy):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x, training=True)
            loss = tf.reduce_sum(tf.cast(y, tf.float32) ** 3)
        grads = tape.gradient(loss, [x, *layer.trainable_variables])
        results.append((y, grads, layer.moving_mean, layer.moving_variance))
    (y0, g0, mean0, var0), (y1, g1, mean1, var1) = results
    assert y1.dtype == y0.dtype
    tolerance = 1e-4 if policy == "float32" else 2e-2
    np.testing.assert_allclose(
        tf.cast(y1, tf.float32), tf.cast(y0, tf.float32), atol=tolerance
    )
    for a, b in zip(g1, g0, strict=True):
        a, b = np.asarray(tf.cast(a, tf.float32)), np.asarray(tf.cast(b, tf.float32))
        np.testing.assert_allclose(a, b, atol=tolerance * np.abs(b).max())
    # Keras' moving variance follows the biased batch variance.
    np.testing.assert_allclose(mean1.numpy(), mean0.numpy(), atol=1e-5)
    np.testing.assert_allclose(var1.numpy(), var0.numpy(), rtol=1e-5)


def test_inference_and_config_are_keras():
    keras_layer, fused = _pair("float32")
    x = tf.random.stateless_normal((8, 4, 4, 3), seed=[0, 2])
    np.testing.assert_array_equal(fused(x), keras_layer(x))
    config = fused.get_config()
    assert config["momentum"] == 0.9
    assert isinstance(BatchNormalization.from_config(config), BatchNormalization)
    assert keras.saving.get_registered_name(BatchNormalization) == (
        "kerasynth>BatchNormalization"
    )
