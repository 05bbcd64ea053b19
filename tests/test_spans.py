"""The span math the table models share (kerasynth.models.spans)."""

import numpy as np
import tensorflow as tf

from kerasynth.data.layout import Span
from kerasynth.models import spans

SPANS = [
    Span("age", "value", "tanh", 0, 1),
    Span("age", "mode", "softmax", 1, 3),
    Span("sex", "category", "softmax", 4, 2),
]


def _rows(count):
    # Mode probabilities 0.5 / 0.3 / 0.2, categories 0.6 / 0.4.
    row = [0.1, 0.5, 0.3, 0.2, 0.6, 0.4]
    return tf.constant([row] * count, tf.float32)


def test_categories_and_modes_are_drawn_with_their_probabilities():
    drawn = spans.sample_categories(_rows(4000), SPANS, tf.constant([3, 0])).numpy()
    np.testing.assert_allclose(drawn[:, 1:4].mean(0), [0.5, 0.3, 0.2], atol=0.03)
    np.testing.assert_allclose(drawn[:, 4:6].mean(0), [0.6, 0.4], atol=0.03)
    assert (drawn[:, 0] == np.float32(0.1)).all()  # values pass through
