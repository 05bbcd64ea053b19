"""Diffusion processes as TensorFlow ops: Gaussian and multinomial.

- Gaussian diffusion (Ho, Jain and Abbeel, "Denoising Diffusion Probabilistic
  Models", NeurIPS 2020), trained by predicting the noise, sampled with DDIM
  (Song, Meng and Ermon, "Denoising Diffusion Implicit Models", ICLR 2021)
  on a strided subsequence of the timesteps.
- Multinomial diffusion (Hoogeboom, Nielsen, Jaini, Forre and Welling,
  "Argmax Flows and Multinomial Diffusion", NeurIPS 2021) on categories:
  ``q(x_t | x_0) = Cat(abar_t x_0 + (1 - abar_t) / K)``, the model predicting
  ``x_0`` and the reverse step being the posterior ``q(x_s | x_t, x_0)`` at the
  predicted ``x_0``; the same posterior between any two timesteps ``s < t``
  gives few-step sampling.
- The cosine schedule of Nichol and Dhariwal, "Improved Denoising Diffusion
  Probabilistic Models", ICML 2021.

Timesteps are integers ``1..T``; ``abar_0 = 1`` is the data itself. Categories
are padded blocks ``[B, spans, widest]`` with a 0/1 `valid` mask ``[spans,
widest]`` (`kerasynth.models.spans` gathers them from a row).
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

_TINY = 1e-30


def cosine_alpha_bars(timesteps: int, offset: float = 0.008) -> np.ndarray:
    """``abar_t`` for ``t = 0..T`` (float64 ``[T + 1]``, ``abar_0 = 1``): the
    cosine schedule, each step's ``beta_t`` clipped to 0.999."""
    t = np.arange(timesteps + 1, dtype=np.float64) / timesteps
    f = np.cos((t + offset) / (1.0 + offset) * np.pi / 2.0) ** 2
    betas = np.clip(1.0 - f[1:] / f[:-1], 0.0, 0.999)
    return np.concatenate([[1.0], np.cumprod(1.0 - betas)])


def sampling_timesteps(timesteps: int, steps: int) -> np.ndarray:
    """The descending timesteps ``T = tau_0 > ... > tau_n = 0`` of an ``n``-step
    sampler (``n = min(steps, T)``), evenly spaced."""
    steps = int(min(max(steps, 1), timesteps))
    return np.unique(np.round(np.linspace(0, timesteps, steps + 1)).astype(np.int32))[
        ::-1
    ].copy()


def gaussian_q_sample(x0, noise, abar):
    """``x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) noise`` (`abar` broadcasts)."""
    return tf.sqrt(abar) * x0 + tf.sqrt(1.0 - abar) * noise


def ddim_step(x_t, predicted_noise, abar_t, abar_s, eta=0.0, noise=None, bound=None):
    """One DDIM step from ``t`` to ``s < t`` (Song et al. 2021, eq. 12).

    ``eta = 0`` is the deterministic sampler; ``eta = 1`` draws as much fresh
    noise as DDPM's ancestral step. `noise` (the shape of `x_t`) is needed
    when ``eta > 0``. With a `bound`, the predicted ``x_0`` is clipped to
    ``[-bound, bound]`` and the noise re-derived from it (Ho et al. 2020's
    clipping of the denoised data): near ``t = T``, ``sqrt(abar_t)`` is
    about 1e-5 and an unclipped ``x_0`` carries the noise's error times 1e5.
    """
    x0 = (x_t - tf.sqrt(1.0 - abar_t) * predicted_noise) / tf.sqrt(abar_t)
    if bound is not None:
        x0 = tf.clip_by_value(x0, -bound, bound)
        predicted_noise = (x_t - tf.sqrt(abar_t) * x0) / tf.sqrt(1.0 - abar_t)
    sigma = eta * tf.sqrt(
        tf.maximum((1.0 - abar_s) / (1.0 - abar_t) * (1.0 - abar_t / abar_s), 0.0)
    )
    direction = tf.sqrt(tf.maximum(1.0 - abar_s - sigma**2, 0.0)) * predicted_noise
    x_s = tf.sqrt(abar_s) * x0 + direction
    if noise is not None:
        x_s += sigma * noise
    return x_s


def category_counts(valid):
    """``K`` of every span, ``[spans, 1]`` float32, from the `valid` mask."""
    return tf.reduce_sum(valid, axis=-1, keepdims=True)


def multinomial_marginal(x0, abar, valid):
    """``q(x_t | x_0)``: ``abar x_0 + (1 - abar) / K`` on the valid cells."""
    return (abar * x0 + (1.0 - abar) / category_counts(valid)) * valid


def multinomial_posterior(x_t, x0, abar_t, abar_s, valid):
    """``q(x_s | x_t, x_0)`` for ``s < t`` (Hoogeboom et al. 2021, eq. 13 with
    the step ``t | s``), normalised over each span's categories. `x0` may be
    a one-hot or the model's probabilities; at ``abar_s = 1`` (``s = 0``) and
    a one-hot `x0` it is that one-hot."""
    alpha = abar_t / abar_s
    k = category_counts(valid)
    likelihood = alpha * x_t + (1.0 - alpha) / k
    prior = abar_s * x0 + (1.0 - abar_s) / k
    weights = likelihood * prior * valid
    return weights / tf.maximum(tf.reduce_sum(weights, axis=-1, keepdims=True), _TINY)


def sample_one_hot(probabilities, valid, seed):
    """One category of every span drawn from `probabilities` (the Gumbel-max
    trick), as a one-hot block."""
    logits = tf.math.log(tf.maximum(probabilities, _TINY)) + (valid - 1.0) * 1e9
    uniform = tf.random.stateless_uniform(
        tf.shape(logits), seed, minval=1e-20, maxval=1.0
    )
    drawn = tf.argmax(logits - tf.math.log(-tf.math.log(uniform)), axis=-1)
    return tf.one_hot(drawn, tf.shape(valid)[-1], dtype=probabilities.dtype) * valid


def categorical_kl(p, q):
    """``KL(p || q)`` over the last axis (``0 log 0 = 0``)."""
    return tf.reduce_sum(
        tf.math.xlogy(p, tf.maximum(p, _TINY)) - tf.math.xlogy(p, tf.maximum(q, _TINY)),
        axis=-1,
    )


def copy_weights(target: keras.Model, source: keras.Model) -> None:
    """Sets every weight of `target` to `source`'s (same architecture)."""
    for into, weight in zip(target.weights, source.weights, strict=True):
        into.assign(weight)


def update_moving_average(average, model, updates, decay):
    """One step of the exponential moving average of `model`'s weights kept
    in `average` (same architecture), after `updates` optimizer updates: the
    decay is warmed up as ``min(decay, (1 + n) / (10 + n))`` so the average
    forgets its random start (as TensorFlow's ``ExponentialMovingAverage``
    with ``num_updates``)."""
    updates = tf.cast(updates, tf.float32)
    decay = tf.minimum(decay, (1.0 + updates) / (10.0 + updates))
    for into, weight in zip(average.weights, model.weights, strict=True):
        into.assign(decay * into + (1.0 - decay) * tf.cast(weight, into.dtype))


@keras.saving.register_keras_serializable(package="kerasynth")
class TimestepEmbedding(keras.layers.Layer):
    """Sinusoidal features of a timestep (Vaswani et al. 2017, as in Ho et al.
    2020): ``[cos(t w_i), sin(t w_i)]`` with ``w_i = 10000^(-i / half)``.

    Args:
        dim: the embedding's size (even).
    """

    def __init__(self, dim, **kwargs):
        super().__init__(**kwargs)
        if dim % 2:
            raise ValueError(f"dim must be even. Received: dim={dim}")
        self.dim = int(dim)

    def call(self, timesteps):
        half = self.dim // 2
        frequencies = keras.ops.exp(
            -np.log(10_000.0) * keras.ops.arange(half, dtype="float32") / half
        )
        angles = keras.ops.cast(timesteps, "float32")[:, None] * frequencies[None, :]
        return keras.ops.concatenate(
            [keras.ops.cos(angles), keras.ops.sin(angles)], axis=-1
        )

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.dim)

    def get_config(self):
        return {**super().get_config(), "dim": self.dim}
