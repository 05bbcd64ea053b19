"""Tests for kerasynth.data.pipeline.make_dataset."""

import numpy as np
import pytest
import tensorflow as tf

from kerasynth.data import ImageData, make_dataset
from kerasynth.data.images import build_image_data

NUM_IMAGES = 12


def _data(labels: bool = True) -> ImageData:
    """Image i is filled with a value that encodes i; its label is i % 3."""
    values = np.linspace(-1.0, 1.0, NUM_IMAGES, dtype=np.float32)
    images = np.broadcast_to(values[:, None, None, None], (NUM_IMAGES, 8, 8, 1))
    # A left-right gradient on top makes horizontal flips visible.
    images = images + np.linspace(0.0, 0.01, 8, dtype=np.float32)[None, None, :, None]
    return build_image_data(
        images,
        np.arange(NUM_IMAGES) % 3 if labels else None,
        ["a", "b", "c"] if labels else None,
        "test arrays",
        [],
    )


def _order(dataset: tf.data.Dataset) -> list[int]:
    """Image indices in the order one epoch yields them."""
    values = np.linspace(-1.0, 1.0, NUM_IMAGES)
    order = []
    for batch in dataset:
        images = batch[0] if isinstance(batch, tuple) else batch
        firsts = images.numpy()[:, 0, :, 0].min(axis=1)
        order.extend(int(np.argmin(np.abs(values - v))) for v in firsts)
    return order


def test_static_batches_of_images():
    dataset = make_dataset(_data(), 4, seed=0)
    assert dataset.element_spec == tf.TensorSpec((4, 8, 8, 1), tf.float32)
    assert sorted(_order(dataset)) == list(range(NUM_IMAGES))


def test_drop_remainder_keeps_full_batches_only():
    dataset = make_dataset(_data(), 5, seed=0)
    assert [b.shape[0] for b in dataset] == [5, 5]


def test_with_labels_yields_matching_pairs():
    dataset = make_dataset(_data(), 4, seed=1, with_labels=True)
    image_spec, label_spec = dataset.element_spec
    assert image_spec.shape == (4, 8, 8, 1)
    assert label_spec == tf.TensorSpec((4,), tf.int32)
    for images, labels in dataset:
        indices = _order(tf.data.Dataset.from_tensors(images))
        np.testing.assert_array_equal(labels.numpy(), np.array(indices) % 3)


def test_same_seed_same_order_and_reshuffle_each_epoch():
    first = make_dataset(_data(), 4, seed=7)
    second = make_dataset(_data(), 4, seed=7)
    epoch_1 = _order(first)
    assert epoch_1 == _order(second)
    assert epoch_1 != list(range(NUM_IMAGES))
    assert _order(first) != epoch_1  # the second epoch is reshuffled
    assert _order(make_dataset(_data(), 4, seed=8)) != epoch_1


def test_no_shuffle_keeps_source_order():
    dataset = make_dataset(_data(), 4, shuffle=False)
    assert _order(dataset) == list(range(NUM_IMAGES))


def test_flip_augmentation_is_seeded_and_keeps_labels():
    def epoch(dataset):
        return np.concatenate([images.numpy() for images, _ in dataset])

    def slopes(images):
        return set(np.sign(images[:, 0, -1, 0] - images[:, 0, 0, 0]).tolist())

    data = _data()
    dataset = make_dataset(data, 4, seed=3, with_labels=True, augment="flip")
    assert dataset.element_spec[0].shape == (4, 8, 8, 1)
    epoch_1 = epoch(dataset)
    again = make_dataset(data, 4, seed=3, with_labels=True, augment="flip")
    np.testing.assert_array_equal(epoch(again), epoch_1)
    # Each image is the source image or its mirror, and some are mirrored.
    assert slopes(epoch_1) == {-1.0, 1.0}
    assert slopes(epoch(make_dataset(data, 4, seed=3, with_labels=True))) == {1.0}


def test_xla_function_traces_once_over_epochs():
    @tf.function(jit_compile=True)
    def step(images):
        return tf.reduce_mean(images)

    dataset = make_dataset(_data(), 4, seed=0, augment="flip")
    for _ in range(2):
        for images in dataset:
            step(images)
    assert step.experimental_get_tracing_count() == 1


def test_batch_larger_than_data_names_both_numbers():
    with pytest.raises(ValueError, match=f"batch_size.*32.*{NUM_IMAGES}"):
        make_dataset(_data(), 32)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"batch_size": 0}, "batch_size=0"),
        ({"batch_size": 4, "augment": "rotate"}, "augment='rotate'"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_dataset(_data(), **kwargs)


def test_labels_required_when_asked_for():
    with pytest.raises(ValueError, match="test arrays has no labels"):
        make_dataset(_data(labels=False), 4, with_labels=True)
