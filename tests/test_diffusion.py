"""The diffusion math of `kerasynth.models.diffusion`: the cosine schedule,
DDIM steps, and multinomial diffusion's marginal, posterior and KL."""

import numpy as np
import pytest
import tensorflow as tf

from kerasynth.models import diffusion


def test_cosine_schedule_runs_from_data_to_noise():
    abar = diffusion.cosine_alpha_bars(1000)
    assert abar.shape == (1001,) and abar[0] == 1.0
    assert np.all(np.diff(abar) < 0)
    assert abar[-1] < 1e-4 and abar[1] > 0.999
    # Nichol and Dhariwal's schedule at the middle: cos^2 of about pi/4.
    assert abar[500] == pytest.approx(0.5, abs=0.02)


def test_sampling_timesteps_are_strided_and_end_at_the_data():
    assert list(diffusion.sampling_timesteps(1000, 4)) == [1000, 750, 500, 250, 0]
    assert len(diffusion.sampling_timesteps(10, 50)) == 11  # at most T steps


def test_ddim_with_the_true_noise_recovers_the_data():
    rng = np.random.default_rng(0)
    x0 = tf.constant(rng.normal(size=(64, 3)), tf.float32)
    noise = tf.constant(rng.normal(size=(64, 3)), tf.float32)
    abar = diffusion.cosine_alpha_bars(100).astype(np.float32)
    x_t = diffusion.gaussian_q_sample(x0, noise, abar[80])
    # To s = 0 in one step: x_0 itself; to s = 40: the same x_0 re-noised.
    to_data = diffusion.ddim_step(x_t, noise, abar[80], abar[0])
    np.testing.assert_allclose(to_data, x0, atol=1e-4)
    halfway = diffusion.ddim_step(x_t, noise, abar[80], abar[40])
    np.testing.assert_allclose(
        halfway, diffusion.gaussian_q_sample(x0, noise, abar[40]), atol=1e-4
    )
    # A wrong noise estimate is clipped to the bound, not amplified by 1/sqrt(abar).
    wild = diffusion.ddim_step(x_t, -noise, abar[100], abar[0], bound=3.0)
    assert np.abs(wild.numpy()).max() <= 3.0 + 1e-5


def _blocks():
    # Two categorical spans, of 3 and 2 categories, padded to width 3.
    valid = tf.constant([[1.0, 1.0, 1.0], [1.0, 1.0, 0.0]])
    x0 = tf.constant([[[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]])
    return valid, x0


def test_multinomial_marginal_goes_from_the_category_to_the_uniform():
    valid, x0 = _blocks()
    np.testing.assert_allclose(diffusion.multinomial_marginal(x0, 1.0, valid), x0)
    uniform = diffusion.multinomial_marginal(x0, 0.0, valid)
    np.testing.assert_allclose(uniform[0, 0], [1 / 3] * 3, rtol=1e-6)
    np.testing.assert_allclose(uniform[0, 1], [0.5, 0.5, 0.0], rtol=1e-6)


def test_multinomial_posterior_is_bayes_rule():
    valid, x0 = _blocks()
    x_t = tf.constant([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]])
    abar_t, abar_s = 0.3, 0.6
    posterior = diffusion.multinomial_posterior(x_t, x0, abar_t, abar_s, valid)
    # By hand for the first span: q(x_s | x_0) * q(x_t | x_s), normalised.
    alpha, k = abar_t / abar_s, 3
    prior = abar_s * np.array([0, 0, 1.0]) + (1 - abar_s) / k
    likelihood = alpha * np.array([1.0, 0, 0]) + (1 - alpha) / k
    expected = prior * likelihood / (prior * likelihood).sum()
    np.testing.assert_allclose(posterior[0, 0], expected, rtol=1e-5)
    np.testing.assert_allclose(tf.reduce_sum(posterior, -1), 1.0, rtol=1e-6)
    assert posterior[0, 1, 2] == 0.0  # padding never gets mass
    # At s = 0 the posterior of a known x_0 is x_0.
    at_data = diffusion.multinomial_posterior(x_t, x0, abar_t, 1.0, valid)
    np.testing.assert_allclose(at_data, x0, atol=1e-6)


def test_categorical_kl_and_sampling():
    p = tf.constant([[0.5, 0.5, 0.0]])
    assert float(diffusion.categorical_kl(p, p)[0]) == pytest.approx(0.0, abs=1e-6)
    q = tf.constant([[0.25, 0.75, 0.0]])
    expected = 0.5 * np.log(0.5 / 0.25) + 0.5 * np.log(0.5 / 0.75)
    assert float(diffusion.categorical_kl(p, q)[0]) == pytest.approx(expected)
    valid, _ = _blocks()
    probabilities = tf.broadcast_to(tf.constant([[0.2, 0.8, 0.0], [0.9, 0.1, 0.0]]),
                                    [20_000, 2, 3])  # fmt: skip
    drawn = diffusion.sample_one_hot(probabilities, valid, tf.constant([1, 2]))
    np.testing.assert_array_equal(tf.reduce_sum(drawn, -1), 1.0)
    np.testing.assert_allclose(tf.reduce_mean(drawn, 0), probabilities[0], atol=0.01)


def test_timestep_embedding():
    layer = diffusion.TimestepEmbedding(8)
    features = layer(tf.constant([0.0, 10.0, 999.0]))
    assert features.shape == (3, 8)
    np.testing.assert_allclose(features[0], [1, 1, 1, 1, 0, 0, 0, 0], atol=1e-6)
    assert not np.allclose(features[1], features[2])
    with pytest.raises(ValueError, match="even"):
        diffusion.TimestepEmbedding(7)
