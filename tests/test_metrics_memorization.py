import numpy as np
import pytest
from test_metrics_image import brain_like

from kerasynth.metrics.memorization import (
    memorization_audit,
    ncc_matrix,
    nearest_training_images,
)


@pytest.fixture(scope="module")
def train():
    return brain_like(60, seed=0)


def test_ncc_is_invariant_to_positive_affine_intensity_changes(train):
    a = train[:3]
    blank = np.full_like(a[:1], -1.0)
    scores = ncc_matrix(a, np.concatenate([0.5 * a - 0.2, -a, blank]))
    np.testing.assert_allclose(np.diag(scores[:, :3]), 1.0, atol=1e-9)
    np.testing.assert_allclose(np.diag(scores[:, 3:6]), -1.0, atol=1e-9)
    np.testing.assert_array_equal(scores[:, 6], 0.0)


@pytest.mark.parametrize("metric", ["ssim", "ncc"])
def test_exact_copies_are_found(train, metric):
    order = np.random.default_rng(0).permutation(len(train))[:25]
    indices, scores = nearest_training_images(train[order], train, metric)
    np.testing.assert_array_equal(indices, order)
    np.testing.assert_allclose(scores, 1.0, atol=1e-6)
    audit = memorization_audit(train[order], train, metric=metric, top=3)
    assert audit["copy_share"] == 1.0 and audit["copies"] == 25
    assert len(audit["top_pairs"]) == 3
    assert all(pair["train"] == order[pair["synthetic"]] for pair in audit["top_pairs"])


def test_noise_is_no_copy(train):
    noise = np.random.default_rng(1).uniform(-1, 1, (20, 32, 32, 1))
    audit = memorization_audit(noise, train)
    assert audit["copy_share"] == 0.0 and audit["max"] < 0.2
    assert memorization_audit(noise, train, metric="ncc")["copy_share"] == 0.0


def test_new_images_are_no_copies_but_noisy_copies_are(train):
    """The study's Pix2Pix noise-input mode: outputs that are training images
    plus a little noise must be caught, new images of the population not."""
    rng = np.random.default_rng(2)
    holdout = brain_like(30, seed=1)
    noisy = np.clip(train[:30] + rng.normal(0, 0.01, train[:30].shape), -1, 1)
    audit = memorization_audit(noisy, train, holdout=holdout)
    np.testing.assert_array_equal(audit["indices"], np.arange(30))
    assert audit["copy_share"] == 1.0 and audit["median"] > 0.97
    reference = audit["reference"]
    assert reference["num_holdout"] == 30 and reference["copy_share"] == 0.0
    assert reference["p95"] < 0.9
    assert audit["share_above_reference_p95"] == 1.0
    fresh = memorization_audit(brain_like(30, seed=3), train, holdout=holdout)
    assert fresh["copy_share"] == 0.0
    assert fresh["share_above_reference_p95"] < 0.3


def test_audit_lists_the_closest_pairs_first(train):
    synthetic = np.concatenate([brain_like(10, seed=5), train[7:8], train[3:4] * 0.9])
    audit = memorization_audit(synthetic, train, top=2)
    pairs = [(pair["synthetic"], pair["train"]) for pair in audit["top_pairs"]]
    assert pairs == [(10, 7), (11, 3)]
    assert audit["top_pairs"][0]["score"] >= audit["top_pairs"][1]["score"]
    assert audit["max"] == pytest.approx(1.0)
    assert audit["scores"].shape == (12,) and audit["reference"] is None
    assert audit["copies"] == int(np.sum(audit["scores"] >= 0.95))


def test_the_ncc_shortlist_finds_the_exhaustive_ssim_neighbour(train):
    synthetic = brain_like(20, seed=6)
    exhaustive = nearest_training_images(synthetic, train, shortlist=None)
    shortlisted = nearest_training_images(synthetic, train, shortlist=8, batch_size=7)
    np.testing.assert_array_equal(shortlisted[0], exhaustive[0])
    np.testing.assert_allclose(shortlisted[1], exhaustive[1])


def test_nearest_training_images_validates_its_input(train):
    with pytest.raises(ValueError, match=r"\(4, 16, 16, 1\)"):
        nearest_training_images(np.zeros((4, 16, 16, 1)), train)
    with pytest.raises(ValueError, match="metric=.*'l2'"):
        nearest_training_images(train, train, metric="l2")
    with pytest.raises(ValueError, match="shortlist=0"):
        nearest_training_images(train, train, shortlist=0)
