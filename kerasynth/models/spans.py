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

import numpy as np
import tensorflow as tf

# Imported here, not inside the traced train_step: imported while a
# tf.function traces, TensorFlow Probability made CTGAN's first epoch about
# 6 s slower (measured: 13.7 s -> 7.1 s for a 300-epoch fit on OASIS).
import tensorflow_probability as tfp


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
    distribution = tfp.distributions.RelaxedOneHotCategorical(
        temperature, logits=tf.cast(logits, tf.float32)
    )
    return distribution.sample(seed=seed)


class SoftmaxBlocks:
    """Index tables that gather the ``softmax`` spans of a row into one padded
    ``[B, spans, widest]`` block and scatter them back, so that a row with
    many categorical or mode spans costs a handful of ops, not a few per
    span. Padding cells read column 0 and add `padding` (-1e9: a logit
    that never wins); `valid` is 1 on the real cells, 0 on the padding."""

    def __init__(self, spans: Sequence):
        softmax = [s for s in spans if s.activation == "softmax"]
        width = sum(s.width for s in spans)
        self.count = len(softmax)
        self.widest = max((s.width for s in softmax), default=1)
        # Position in the row of cell (span i, slot j); padding reads column 0.
        gather = [[s.start + j if j < s.width else 0 for j in range(self.widest)]
                  for s in softmax]  # fmt: skip
        # NumPy, not tensors: one layout serves several graphs.
        self.gather = np.array(gather or [[0]], np.int32)
        self.padding = np.array(
            [[0.0 if j < s.width else -1e9 for j in range(self.widest)]
             for s in softmax] or [[0.0]], np.float32)  # fmt: skip
        self.valid = (self.padding == 0.0).astype(np.float32)
        # For every output column: where its value comes from in
        # concat([elementwise, flat_blocks]).
        source = list(range(width))
        for i, span in enumerate(softmax):
            for j in range(span.width):
                source[span.start + j] = width + i * self.widest + j
        self.scatter = np.array(source, np.int32)
        self.is_tanh = np.array(
            [s.activation == "tanh" for s in spans for _ in range(s.width)]
        )
        self.is_linear = np.array(
            [s.activation == "linear" for s in spans for _ in range(s.width)]
        )

    def take(self, rows):
        """``[B, D]`` -> the padded softmax blocks ``[B, spans, widest]``."""
        return tf.gather(rows, self.gather, axis=1) + self.padding

    def put(self, elementwise, blocks):
        """Rows from elementwise values ``[B, D]`` and blocks ``[B, S, W]``."""
        flat = tf.reshape(blocks, [tf.shape(blocks)[0], -1])
        return tf.gather(tf.concat([elementwise, flat], axis=1), self.scatter, axis=1)


_BLOCKS: dict[tuple, SoftmaxBlocks] = {}


def softmax_blocks(spans: Sequence) -> SoftmaxBlocks:
    """The (cached) index tables of the softmax spans of a layout."""
    key = tuple((s.start, s.width, s.activation) for s in spans)
    if key not in _BLOCKS:
        _BLOCKS[key] = SoftmaxBlocks(spans)
    return _BLOCKS[key]


def activate(raw, spans: Sequence, *, temperature: float = 0.2, seed=None):
    """Generator logits -> rows as the discriminator sees them.

    ``tanh`` and ``sigmoid`` spans get their activation, ``linear`` ones
    (TabDDPM's normal scores) none; ``softmax`` spans
    get a Gumbel-softmax sample at `temperature` when a seed is given (CTGAN's
    training), else a plain softmax. All softmax spans are handled as one
    padded block.
    """
    blocks = softmax_blocks(spans)
    raw = tf.cast(raw, tf.float32)
    elementwise = tf.where(blocks.is_tanh, tf.tanh(raw), tf.sigmoid(raw))
    elementwise = tf.where(blocks.is_linear, raw, elementwise)
    if not blocks.count:
        return elementwise
    logits = blocks.take(raw)
    if seed is None:
        probabilities = tf.nn.softmax(logits)
    else:
        probabilities = gumbel_softmax(logits, temperature, seed)
    return blocks.put(elementwise, probabilities)


def sample_categories(rows, spans: Sequence, seed):
    """Replaces every ``softmax`` span of activated rows by a one-hot category
    drawn from it (the Gumbel-max trick: exactly a categorical sample)."""
    blocks = softmax_blocks(spans)
    if not blocks.count:
        return rows
    rows = tf.cast(rows, tf.float32)
    logits = tf.math.log(tf.maximum(blocks.take(rows), 1e-30))
    uniform = tf.random.stateless_uniform(
        tf.shape(logits), tf.cast(seed, tf.int32), minval=1e-20, maxval=1.0
    )
    drawn = tf.argmax(logits - tf.math.log(-tf.math.log(uniform)), axis=-1)
    return blocks.put(rows, tf.one_hot(drawn, blocks.widest, dtype=tf.float32))


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
