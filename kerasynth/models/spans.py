"""Operations over a `TableTransformer`'s span layout, as TensorFlow ops.

A transformed table row is a concatenation of spans (see
`kerasynth.data.transformer.Span`): a ``tanh`` value in [-1, 1], a
``softmax`` one-hot block (a numeric column's mode, a category, present or
missing) or a ``sigmoid`` number in [0, 1] (the study's plain encoding). The
generator, the conditional loss, the reconstruction loss and the sampler all
read the same layout (the idea of CTGAN's ``DataTransformer``, Xu et al.
2019). Spans are Python constants, so these loops unroll at trace time.
"""

from __future__ import annotations

from collections.abc import Sequence

import tensorflow as tf


def _slice(tensor, span):
    return tensor[:, span.start : span.start + span.width]


def split_seed(seed, index: int):
    """A new stateless seed derived from a ``[2]`` int seed and an index."""
    return tf.random.experimental.stateless_fold_in(tf.cast(seed, tf.int32), index)


def gumbel_softmax(logits, temperature: float, seed):
    """A relaxed one-hot sample (Jang et al. 2017; Maddison et al. 2017).

    Drawn with TensorFlow Probability's `RelaxedOneHotCategorical` from a
    stateless ``[2]`` seed, so it differentiates through the sample.
    """
    import tensorflow_probability as tfp

    distribution = tfp.distributions.RelaxedOneHotCategorical(
        temperature, logits=tf.cast(logits, tf.float32)
    )
    return distribution.sample(seed=seed)


def activate(raw, spans: Sequence, *, temperature: float = 0.2, seed=None):
    """Generator logits -> rows as the discriminator sees them.

    ``tanh`` and ``sigmoid`` spans get their activation; ``softmax`` spans
    get a Gumbel-softmax sample at `temperature` when a seed is given (CTGAN's
    training), else a plain softmax.
    """
    parts = []
    for index, span in enumerate(spans):
        logits = _slice(raw, span)
        if span.activation == "tanh":
            parts.append(tf.tanh(logits))
        elif span.activation == "sigmoid":
            parts.append(tf.sigmoid(logits))
        elif seed is None:
            parts.append(tf.nn.softmax(logits))
        else:
            parts.append(gumbel_softmax(logits, temperature, split_seed(seed, index)))
    return tf.concat(parts, axis=-1)


def sample_categories(rows, spans: Sequence, seed):
    """Replaces every ``softmax`` span of activated rows by a one-hot category
    drawn from it (the Gumbel-max trick: exactly a categorical sample)."""
    parts = []
    for index, span in enumerate(spans):
        block = _slice(rows, span)
        if span.activation == "softmax":
            logits = tf.math.log(tf.maximum(tf.cast(block, tf.float32), 1e-12))
            drawn = tf.random.stateless_categorical(
                logits, 1, seed=split_seed(seed, index), dtype=tf.int32
            )[:, 0]
            block = tf.one_hot(drawn, span.width, dtype=rows.dtype)
        parts.append(block)
    return tf.concat(parts, axis=-1)


def conditional_loss(raw, cond, mask, discrete_spans: Sequence):
    """CTGAN's conditional loss: the generator must produce the category its
    condition vector asked for.

    Cross-entropy between the generator's logits of each discrete span and
    the condition's one-hot, counted only for the column the condition chose
    (`mask`), summed over columns and averaged over the batch.

    Args:
        raw: generator logits ``[B, output_dim]``.
        cond: condition vectors ``[B, condition_dim]`` (discrete spans in order).
        mask: ``[B, num_discrete]`` one-hot of the chosen column.
        discrete_spans: the transformer's discrete spans.
    """
    if not discrete_spans:
        return tf.zeros((), tf.float32)
    losses, offset = [], 0
    for index, span in enumerate(discrete_spans):
        target = cond[:, offset : offset + span.width]
        entropy = tf.nn.softmax_cross_entropy_with_logits(
            labels=tf.cast(target, tf.float32),
            logits=tf.cast(_slice(raw, span), tf.float32),
        )
        losses.append(entropy * tf.cast(mask[:, index], tf.float32))
        offset += span.width
    return tf.reduce_mean(tf.add_n(losses))


def reconstruction_loss(data, raw, sigmas, spans: Sequence):
    """TVAE's per-span reconstruction loss (Xu et al. 2019), per row.

    ``tanh`` spans: a Gaussian negative log-likelihood around ``tanh(raw)``
    with a learned standard deviation per output (``sigmas``); ``softmax``
    spans: cross-entropy with the one-hot target. Summed over spans,
    averaged over the batch.
    """
    data = tf.cast(data, tf.float32)
    raw = tf.cast(raw, tf.float32)
    total = tf.zeros((), tf.float32)
    for span in spans:
        target, logits = _slice(data, span), _slice(raw, span)
        if span.activation == "tanh":
            sigma = sigmas[span.start : span.start + span.width]
            error = target - tf.tanh(logits)
            total += tf.reduce_sum(error**2 / (2.0 * sigma**2)) / tf.cast(
                tf.shape(data)[0], tf.float32
            ) + tf.reduce_sum(tf.math.log(sigma))
        else:
            total += tf.reduce_mean(
                tf.nn.softmax_cross_entropy_with_logits(labels=target, logits=logits)
            )
    return total
