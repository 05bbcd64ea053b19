"""The verdict limits: one table that the report's traffic lights and the
pipeline's gate both read.

Each metric has a green limit (`Limit.ok`) and an amber one (`Limit.fair`);
past the amber limit the report shows red, and the evaluate component's
default gate refuses exactly what the report shows red. A task names the
metrics its default gate checks (`kerasynth.tasks.Task.gated_metrics`).
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Limit:
    """How good a metric's value is.

    Args:
        better: ``"higher"`` or ``"lower"``.
        ok: the green limit (inclusive).
        fair: the amber limit (inclusive); beyond it is red.
    """

    better: str
    ok: float
    fair: float

    def level(self, value: float) -> str:
        """``"ok"``, ``"warn"`` or ``"bad"`` for `value`."""
        sign = 1.0 if self.better == "higher" else -1.0
        if sign * value >= sign * self.ok:
            return "ok"
        return "warn" if sign * value >= sign * self.fair else "bad"

    def bound(self) -> dict[str, float]:
        """The gate's threshold: ``{"min": fair}`` or ``{"max": fair}``."""
        return {"min" if self.better == "higher" else "max": self.fair}


LIMITS: dict[str, Limit] = {
    # Fidelity
    "quality": Limit("higher", ok=0.8, fair=0.7),
    "detection_auc": Limit("lower", ok=0.7, fair=0.85),
    # The largest |synthetic - real| of r or Cramer's V over the strongly
    # related pairs. Two real samples differ too: on the embedded diabetes
    # table (27 such pairs), 222 rows against 220 have a median worst gap of
    # 0.16 (0.24 at the 90th percentile); a lost r of 0.35 is red.
    "worst_relationship_gap": Limit("lower", ok=0.2, fair=0.3),
    "coverage": Limit("higher", ok=0.7, fair=0.4),
    # Images have their own detection limits: a CNN on pixels is a far
    # sharper detector than a forest on rows, and it tells every image model
    # we have from real held-out slices (issue 15, OASIS-1, 30 epochs: DCGAN
    # 0.997, the Beta-VAE 0.91-0.98), so the table's red at 0.85 would refuse
    # them all and say nothing more. Green is issue 15's target, 0.75. Red
    # is only a detector that (nearly) never errs: at 200 images a side the
    # AUC's standard error near 0.997 is about 0.003 (Hanley & McNeil), the
    # whole gap between DCGAN and samples that are not slices at all, so a
    # stricter limit would refuse on luck rather than fidelity. What refuses
    # a broken generator reliably is the formless count below; the amber
    # zone shows in the report as poor fidelity without blocking a pipeline.
    "image_detection_auc": Limit("lower", ok=0.75, fair=0.999),
    # The share of synthetic images without anatomy (flat, blank, noise:
    # `kerasynth.metrics.formless`). Held-out real slices score 0 (MNI152,
    # OASIS-1, the tumor set); on the MNI152 slices at 32x32 a one-epoch
    # DCGAN scores 1.0 (grey squares) and a 30-epoch one 0.02 (amber: 2 of
    # 104 faint blobs). Issue 15's 30-epoch Beta-VAE made about one grey
    # square in ten, the last share that is only amber: past one useless
    # sample in ten, a model is not worth shipping.
    "formless_share": Limit("lower", ok=0.01, fair=0.1),
    # Utility: train on synthetic over train on real
    "utility_ratio": Limit("higher", ok=0.9, fair=0.7),
    # Privacy: no amber zone, a leak is a leak
    "mia_auc": Limit("lower", ok=0.6, fair=0.6),
    "closer_to_train_share": Limit("lower", ok=0.6, fair=0.6),
    # The closer-to-training share over a fresh sample's (0 for a fresh
    # sample, +0.3 for copies on a 70/30 split; sd about 0.05 at 150 rows).
    "dcr_excess_shared_ranges": Limit("lower", ok=0.05, fair=0.1),
    "exact_copy_share": Limit("lower", ok=0.0, fair=0.0),
    "copy_share": Limit("lower", ok=0.0, fair=0.01),
    "derived_from_real": Limit("lower", ok=0.0, fair=0.0),
}


def level(metric: str, value: float) -> str:
    """The traffic light of `metric` at `value` (see `Limit.level`)."""
    return LIMITS[metric].level(value)


def default_thresholds(metrics) -> dict[str, dict[str, float]]:
    """The gate's thresholds for `metrics`: each one's amber limit."""
    return {name: LIMITS[name].bound() for name in metrics}
