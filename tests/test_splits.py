import numpy as np
import pytest

from kerasynth import training
from kerasynth.config import TrainConfig
from kerasynth.data.splits import holdout_mask


def test_holdout_mask_is_seeded_and_about_the_fraction():
    first = holdout_mask(1000, 0.2, seed=3)
    assert np.array_equal(first, holdout_mask(1000, 0.2, seed=3))
    assert not np.array_equal(first, holdout_mask(1000, 0.2, seed=4))
    assert 0.17 < first.mean() < 0.23


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1])
def test_holdout_fraction_must_leave_both_sides(fraction):
    with pytest.raises(ValueError, match="holdout fraction"):
        holdout_mask(10, fraction, seed=0)


def _spy(monkeypatch, owner, name, record):
    # Wraps owner.name so that it records its first argument (after self).
    original = getattr(owner, name)

    def spy(*args, **kwargs):
        record.append(args[1] if isinstance(owner, type) else args[0])
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, spy)


def _row_keys(frame):
    return [tuple(row) for row in frame.itertuples(index=False)]


def test_training_never_sees_the_holdout(monkeypatch):
    # Every frame the run's transformer is fitted on or encodes, and the rows
    # the training dataset is made of, are recorded; the held-out rows are
    # found independently from the table and the run's seed. Training on all
    # rows (or fitting the transformer on them) puts held-out rows there.
    from kerasynth.data import pipeline
    from kerasynth.data.tables import compute_fingerprint, load_table
    from kerasynth.data.transformer import TableTransformer

    encoded, dataset_rows = [], []
    _spy(monkeypatch, TableTransformer, "fit", encoded)
    _spy(monkeypatch, TableTransformer, "transform", encoded)
    _spy(monkeypatch, pipeline, "make_row_dataset", dataset_rows)
    config = TrainConfig(model="tvae", epochs=1, batch_size=50, seed=5, verbose=0,
                         holdout_fraction=0.25,
                         model_kwargs={"latent_dim": 4, "encoder_widths": (8,),
                                       "decoder_widths": (8,)})  # fmt: skip
    fitted = training.fit(config)

    real = load_table(None).frame
    assert not real.duplicated().any()  # a held-out row is found by its values
    held = holdout_mask(len(real), 0.25, seed=5)
    train_rows, held_rows = _row_keys(real[~held]), set(_row_keys(real[held]))
    assert encoded, "training fitted and encoded no frame: spy where it reads rows"
    for frame in encoded:
        leaked = held_rows & set(_row_keys(frame))
        assert not leaked, f"the transformer saw {len(leaked)} held-out rows"
        assert sorted(_row_keys(frame)) == sorted(train_rows), "not the train rows"
    assert [len(rows) for rows in dataset_rows] == [len(train_rows)]
    record = fitted.record["data"]
    assert record["num_examples"] == len(train_rows)
    assert record["fingerprint"] == compute_fingerprint(
        real[~held].reset_index(drop=True)
    )
    assert record["holdout_fraction"] == 0.25


def test_image_training_never_sees_the_holdout(monkeypatch):
    from kerasynth.data import pipeline
    from kerasynth.data.images import load_images

    served = []
    _spy(monkeypatch, pipeline, "make_dataset", served)
    config = TrainConfig(model="dcgan", epochs=1, batch_size=32, seed=5, verbose=0,
                         holdout_fraction=0.25, mixed_precision="off",
                         model_kwargs={"image_size": 32, "generator_filters": 4,
                                       "discriminator_filters": 4})  # fmt: skip
    training.fit(config)

    images = load_images(None, image_size=32).images
    held = holdout_mask(len(images), 0.25, seed=5)
    held_keys = {image.tobytes() for image in images[held]}
    train_keys = [image.tobytes() for image in images[~held]]
    assert held_keys.isdisjoint(train_keys), "the same slice on both sides"
    [data] = served
    served_keys = [image.tobytes() for image in data.images]
    leaked = sum(key in held_keys for key in served_keys)
    assert not leaked, f"the training dataset serves {leaked} held-out images"
    assert sorted(served_keys) == sorted(train_keys), "not the training images"
