"""Independent columns: the floor every table model must clear.

Each column is drawn from its own empirical marginal, independently of the
others: what a synthesizer gives that learned the columns' shapes and
nothing of how they go together. A synthetic set that does no better than
this on column pairs has learned no relationship.
"""

from __future__ import annotations

from kerasynth.models.gaussian_copula import GaussianCopula
from kerasynth.models.registration import register_model


@register_model("independent", task="tables")
class IndependentColumns(GaussianCopula):
    """Every column from its own empirical marginal, independently.

    The `GaussianCopula` with its correlation kept at the identity: the same
    marginals (categories with their frequencies, numbers from their
    empirical quantile functions, missing numbers at their rate), the same
    `adapt`, export and save format. A condition on one categorical column
    sets it and leaves the others as they are; several conditions are
    sampled by rejection.

    Args:
        transformer: the fitted `TableTransformer` (``mode_specific``) or its
            config.
        num_quantiles: knots of each numerical column's quantile function.
        seed: seed of the model's `keras.random.SeedGenerator`.
    """

    correlated = False
