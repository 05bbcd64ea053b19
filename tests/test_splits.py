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


def test_training_never_sees_the_holdout():
    from kerasynth.data.tables import load_table

    config = TrainConfig(model="tvae", epochs=1, batch_size=50, seed=5, verbose=0,
                         holdout_fraction=0.25,
                         model_kwargs={"latent_dim": 4, "encoder_widths": (8,),
                                       "decoder_widths": (8,)})  # fmt: skip
    fitted = training.fit(config)
    total = len(load_table(None))
    held = holdout_mask(total, 0.25, seed=5).sum()
    assert fitted.record["data"]["num_examples"] == total - held
    assert fitted.record["data"]["holdout_fraction"] == 0.25
