"""`graph_fit.fit_in_graph`: several epochs per compiled call, and what a
caller sees is still Keras' ``fit``."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from test_table_models import TINY, oasis_like

from kerasynth import TableSynthesizer, graph_fit
from kerasynth.callbacks import EpochTimer


class NaNAfter(keras.Model):
    """A model whose loss turns NaN at its `bad_step`-th step."""

    def __init__(self, bad_step):
        super().__init__()
        self.bad_step = bad_step
        self.steps = self.add_weight(shape=(), initializer="zeros", trainable=False)
        self.loss_tracker = keras.metrics.Mean(name="loss")

    @property
    def metrics(self):
        return [self.loss_tracker]

    def train_step(self, data):
        self.steps.assign_add(1.0)
        loss = tf.where(self.steps >= self.bad_step, np.nan, tf.reduce_mean(data))
        self.loss_tracker.update_state(loss)
        return {m.name: m.result() for m in self.metrics}


def rows_dataset():
    return tf.data.Dataset.from_tensor_slices(tf.ones((8, 2))).repeat().batch(4)


@pytest.mark.parametrize("epochs_per_call", [1, 3])
def test_one_history_entry_per_epoch(epochs_per_call):
    model = NaNAfter(bad_step=10**6)
    model.compile()
    timer = EpochTimer()
    history = graph_fit.fit_in_graph(
        model,
        rows_dataset(),
        epochs=7,
        steps_per_epoch=2,
        callbacks=[timer],
        epochs_per_call=epochs_per_call,
    )
    assert history.history == {"loss": [1.0] * 7}
    assert len(timer.durations) == 7
    assert float(model.steps) == 14.0  # 7 epochs of 2 steps


def test_terminate_on_nan_stops_where_fit_does():
    stopped = {}
    for name in ("fit", "fit_in_graph"):
        model = NaNAfter(bad_step=4)
        model.compile()
        callbacks = [keras.callbacks.TerminateOnNaN()]
        if name == "fit":
            history = model.fit(
                rows_dataset(), epochs=10, steps_per_epoch=1, callbacks=callbacks,
                shuffle=False,
                verbose=0,
            )  # fmt: skip
        else:
            history = graph_fit.fit_in_graph(
                model, rows_dataset(), epochs=10, steps_per_epoch=1,
                callbacks=callbacks, epochs_per_call=5,
            )  # fmt: skip
        stopped[name] = (len(history.history["loss"]), float(model.steps))
    assert stopped["fit_in_graph"] == stopped["fit"] == (4, 4.0)


def test_refuses_callbacks_that_read_the_model():
    model = NaNAfter(bad_step=10)
    model.compile()
    with pytest.raises(ValueError, match="read the logs"):
        graph_fit.fit_in_graph(
            model, rows_dataset(), epochs=2, steps_per_epoch=1,
            callbacks=[keras.callbacks.Callback()],
        )  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("name", ["tvae", "ctgan"])
def test_same_training_as_keras_fit(name):
    # A callback that may read the model sends `training.fit` through Keras'
    # `fit`; without it the table models train in graph, on the same batches
    # with the same noise. TVAE's weights come out bit-identical; CTGAN's
    # differ in the last float bits (the kernels of its penalty run in another
    # order inside the loop), so its histories are compared with a tolerance.
    frame = oasis_like()
    kwargs = {"epochs": 8, "batch_size": 40, "seed": 3, **TINY[name]}
    runs = {}
    for path, callbacks in (("fit", [keras.callbacks.Callback()]), ("graph", [])):
        synthesizer = TableSynthesizer(name, **kwargs).fit(frame, callbacks)
        runs[path] = synthesizer._fitted.history
    assert runs["graph"].keys() == runs["fit"].keys()
    for key, values in runs["fit"].items():
        assert len(values) == len(runs["graph"][key]) == 8
        np.testing.assert_allclose(runs["graph"][key], values, rtol=1e-4, atol=1e-5)
