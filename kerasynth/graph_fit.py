"""`fit_in_graph`: many short epochs per compiled call, for the table models.

On a small table an epoch is one step (OASIS: 436 rows, batches of 500), and
Keras' ``fit`` pays, every epoch, a Python round of callbacks and logs and one
call into a `tf.function`: on a 2-core CPU that costs about as much as TVAE's
step itself. `fit_in_graph` runs up to `EPOCHS_PER_CALL` epochs in one
compiled ``tf.while_loop`` over the same `tf.data` iterator and the model's
own `train_step`, then replays the callbacks epoch by epoch with each epoch's
logs. What a user sees is Keras' ``fit``: the same steps in the same order
(so a seed gives the same weights), one `History` entry per epoch, the
progress bar, `TerminateOnNaN` and ``model.stop_training``.

What differs, and why it is only used with callbacks that read nothing but
the logs (`logs_only_callbacks`): during a replay the model already holds the
weights of the call's last epoch, and the batch hooks run once per epoch
(``on_train_batch_begin(0)``, ``on_train_batch_end(steps - 1)``, as Keras does
with ``steps_per_execution``). A callback that reads the model each epoch
(a checkpoint, a fidelity monitor, a backup) makes `kerasynth.training` use
Keras' ``fit`` instead. The first call runs one epoch alone (it traces, as
Keras' first epoch does); a call's wall time is counted in its first epoch
(`EpochTimer` sees the others take almost no time). A call ends early at an
epoch whose logs are not finite, so that `TerminateOnNaN` stops where it
would under ``fit``.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import tensorflow as tf

# Epochs per compiled call after the first: the calls' own cost is then a few
# milliseconds per fit, and the progress bar still moves.
EPOCHS_PER_CALL = 50

_LOGS_ONLY = (
    keras.callbacks.History,
    keras.callbacks.ProgbarLogger,
    keras.callbacks.TerminateOnNaN,
    keras.callbacks.CSVLogger,
)


def logs_only_callbacks(callbacks: Sequence[keras.callbacks.Callback]) -> bool:
    """Whether every callback reads only the logs (Keras' `History`,
    `ProgbarLogger`, `TerminateOnNaN`, `CSVLogger`, or a callback class with
    ``logs_only = True``), so that replaying them after a call is exact."""
    return all(
        isinstance(c, _LOGS_ONLY) or getattr(c, "logs_only", False) for c in callbacks
    )


def fits_in_graph(model: keras.Model, callbacks, strategy) -> bool:
    """Whether `fit_in_graph` can train `model` as ``fit`` would: one
    replica, a compiled (not eager), non-XLA step (an iterator cannot enter
    an XLA cluster), and callbacks that read only the logs."""
    return (
        strategy.num_replicas_in_sync == 1
        and not model.run_eagerly
        and not model.jit_compile
        and logs_only_callbacks(callbacks)
    )


def fit_in_graph(
    model: keras.Model,
    dataset: tf.data.Dataset,
    *,
    epochs: int,
    steps_per_epoch: int,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    verbose: int = 0,
    epochs_per_call: int = EPOCHS_PER_CALL,
) -> keras.callbacks.History:
    """Trains a compiled `model` like ``model.fit(dataset, epochs=...,
    steps_per_epoch=...)`` and returns its `History`.

    Args:
        model: a compiled model whose `train_step` returns
            ``{metric.name: metric.result()}`` for its `metrics`.
        dataset: an endless dataset of training batches.
        epochs: epochs to train.
        steps_per_epoch: batches per epoch.
        callbacks: callbacks that read only the logs (see
            `logs_only_callbacks`).
        verbose: Keras' verbosity (0 silent, 1 progress bar, 2 a line).
        epochs_per_call: epochs per compiled call after the first.
    """
    if not logs_only_callbacks(callbacks):
        raise ValueError(
            "fit_in_graph replays callbacks after running several epochs, so "
            "it takes only callbacks that read the logs. Received: "
            f"{[type(c).__name__ for c in callbacks]}"
        )
    for name, value in (("epochs", epochs), ("steps_per_epoch", steps_per_epoch),
                        ("epochs_per_call", epochs_per_call)):  # fmt: skip
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be >= 1. Received: {name}={value}")
    callback_list = keras.callbacks.CallbackList(
        list(callbacks),
        add_history=True,
        add_progbar=verbose != 0,
        verbose=verbose,
        epochs=epochs,
        steps=steps_per_epoch,
        model=model,
    )
    run = _epoch_loop(model, steps_per_epoch)
    iterator = iter(dataset)
    model.stop_training = False
    callback_list.on_train_begin()
    epoch, logs = 0, {}
    while epoch < epochs and not model.stop_training:
        count = 1 if epoch == 0 else min(epochs_per_call, epochs - epoch)
        callback_list.on_epoch_begin(epoch)
        callback_list.on_train_batch_begin(0)
        outputs = run(iterator, tf.constant(count, tf.int32))
        stacked = {name: value.numpy() for name, value in outputs.items()}
        for index in range(len(next(iter(stacked.values())))):
            if index:
                callback_list.on_epoch_begin(epoch)
                callback_list.on_train_batch_begin(0)
            logs = {name: float(values[index]) for name, values in stacked.items()}
            callback_list.on_train_batch_end(steps_per_epoch - 1, logs)
            callback_list.on_epoch_end(epoch, logs)
            epoch += 1
            if model.stop_training:
                break
    callback_list.on_train_end(logs)
    return model.history


def _epoch_loop(model: keras.Model, steps_per_epoch: int):
    """A `tf.function` ``(iterator, count) -> {name: [epochs run]}``: up to
    `count` epochs, each resetting the metrics then running its steps; it
    stops after an epoch whose logs are not all finite."""
    metrics = model.metrics
    names = [m.name for m in metrics]

    def epoch_logs(iterator):
        for metric in metrics:
            metric.reset_state()

        def step(index, logs):
            new = model.train_step(next(iterator))
            if sorted(new) != sorted(names):
                raise ValueError(
                    "fit_in_graph needs a train_step that returns its metrics' "
                    f"results {names}. Received: {sorted(new)}"
                )
            return index + 1, {name: tf.cast(new[name], tf.float32) for name in names}

        initial = {m.name: tf.cast(m.result(), tf.float32) for m in metrics}
        _, logs = tf.while_loop(
            lambda index, _: index < steps_per_epoch, step, (tf.constant(0), initial)
        )
        return logs

    @tf.function(reduce_retracing=True)
    def run(iterator, count):
        def body(epoch, finite, arrays):
            logs = epoch_logs(iterator)
            arrays = {n: arrays[n].write(epoch, logs[n]) for n in names}
            finite = tf.reduce_all(
                [tf.reduce_all(tf.math.is_finite(logs[n])) for n in names]
            )
            return epoch + 1, finite, arrays

        arrays = {
            n: tf.TensorArray(tf.float32, size=0, dynamic_size=True) for n in names
        }
        _, _, arrays = tf.while_loop(
            lambda epoch, finite, _: (epoch < count) & finite,
            body,
            (tf.constant(0), tf.constant(True), arrays),
        )
        return {n: arrays[n].stack() for n in names}

    return run
