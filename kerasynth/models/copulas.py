"""The Gaussian copula's math: estimation in NumPy, sampling in TensorFlow.

By Sklar's theorem a joint distribution is its marginals tied by a copula; a
Gaussian copula ties them through a correlated standard normal vector ``z``:
column ``j`` is ``F_j^-1(Phi(z_j))``. Every column is a set of ordered
intervals of the uniform (a category, or a run of tied values, is the
interval of the empirical CDF it occupies), so one rule gives the normal
score of any value: the mean of the standard normal over its interval,
``E[Z | Z in (Phi^-1(lower), Phi^-1(upper)])``. For distinct continuous
values these are close to van der Waerden's scores ``Phi^-1(rank / (n + 1))``.

The copula's correlation of two numbers is ``sin(pi tau / 2)`` of their
Kendall's tau (tau-b), the inversion DPCopula uses: it holds for any
Gaussian copula and depends on ranks only, so the synthetic pair keeps the
real pair's concordance even where the data's copula is not Gaussian (OASIS
Age~nWBV: the normal scores' correlation is -0.80, the inversion's -0.87, the
real Spearman's rho -0.87). A pair with a category or a missing flag, whose
ties bias tau, uses the normal scores: such a score is ``s = E[Z | X]``, so
for a partner ``Z'`` with correlation ``rho``, ``corr(s, Z') = rho *
sd(s)``, and the latent correlation is the scores' Pearson correlation over
their standard deviations (Olsson, Drasgow and Dorans' 1982 ad hoc polyserial
estimator; to first order in ``rho`` the polychoric one for two discrete
columns). Missing values drop out pairwise; the matrix is projected onto the
correlation matrices with a smallest eigenvalue `EIGENVALUE_FLOOR`.

References: A. Sklar, *Fonctions de repartition a n dimensions et leurs
marges*, 1959; H. Li, L. Xiong, X. Jiang, *Differentially Private Synthesization
of Multi-Dimensional Data using Copula Functions* (DPCopula), EDBT 2014;
U. Olsson, F. Drasgow, N. J. Dorans, *The polyserial correlation coefficient*,
Psychometrika 47 (1982) 337-347.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp
from scipy import special, stats

# The smallest eigenvalue of an estimated correlation matrix: keeps its
# Cholesky factor and its conditionals well defined (|r| <= 0.9999 for a pair).
EIGENVALUE_FLOOR = 1e-4
# A truncated draw's uniform keeps this far from its interval's ends, so that
# round-off never puts it in the next interval.
UNIFORM_MARGIN = 1e-9

# === Estimation (NumPy) ===


def interval_scores(lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """The mean of the standard normal over ``(Phi^-1(lower), Phi^-1(upper)]``.

    Args:
        lower, upper: probabilities, ``0 <= lower < upper <= 1``.
    """
    lower, upper = np.asarray(lower, np.float64), np.asarray(upper, np.float64)
    density_a = np.exp(-0.5 * special.ndtri(lower) ** 2)  # 0 at lower = 0
    density_b = np.exp(-0.5 * special.ndtri(upper) ** 2)
    return (density_a - density_b) / (np.sqrt(2.0 * np.pi) * (upper - lower))


def category_scores(codes: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
    """The normal score of each row's category (categories in order, each
    the interval of the uniform its probability spans)."""
    edges = np.concatenate([[0.0], np.cumsum(probabilities)])
    edges /= edges[-1]
    seen = edges[1:] > edges[:-1]
    scores = np.zeros(len(probabilities))
    scores[seen] = interval_scores(edges[:-1][seen], edges[1:][seen])
    return scores[codes]


def value_scores(values: np.ndarray) -> np.ndarray:
    """The normal score of each number (tied values share their interval of
    the empirical CDF); NaN where the value is missing."""
    scores = np.full(values.shape, np.nan)
    present = ~np.isnan(values)
    ordered = np.sort(values[present])
    below = np.searchsorted(ordered, values[present], side="left")
    up_to = np.searchsorted(ordered, values[present], side="right")
    scores[present] = interval_scores(below / ordered.size, up_to / ordered.size)
    return scores


def pairwise_correlation(scores: np.ndarray) -> np.ndarray:
    """Pearson correlations of the columns of `scores` ``[n, d]``, each pair
    over the rows where both are present (not NaN); 0 for a pair with fewer
    than two such rows or no spread."""
    present = (~np.isnan(scores)).astype(np.float64)
    x = np.nan_to_num(scores)
    pairs = present.T @ present  # rows per pair
    sums = x.T @ present  # [i, j]: sum of column i over the pair's rows
    squares = (x * x).T @ present
    products = x.T @ x
    with np.errstate(divide="ignore", invalid="ignore"):
        means = sums / pairs
        covariance = products / pairs - means * means.T
        variance = squares / pairs - means**2
        correlation = covariance / np.sqrt(variance * variance.T)
    correlation[~np.isfinite(correlation) | (pairs < 2)] = 0.0
    np.fill_diagonal(correlation, 1.0)
    return correlation


def nearest_correlation(matrix: np.ndarray, floor: float = EIGENVALUE_FLOOR):
    """`matrix` made a correlation matrix with eigenvalues of at least about
    `floor`: symmetrised, eigenvalues clipped, rescaled to a unit diagonal."""
    symmetric = 0.5 * (matrix + matrix.T)
    eigenvalues, vectors = np.linalg.eigh(symmetric)
    clipped = (vectors * np.maximum(eigenvalues, floor)) @ vectors.T
    scale = 1.0 / np.sqrt(np.diag(clipped))
    result = clipped * scale[:, None] * scale[None, :]
    np.fill_diagonal(result, 1.0)
    return result


def kendall_correlation(x: np.ndarray, y: np.ndarray) -> float:
    """``sin(pi tau / 2)`` of Kendall's tau-b over the rows where both are
    present: the correlation of a Gaussian copula with that tau (0 when
    tau is undefined)."""
    both = ~(np.isnan(x) | np.isnan(y))
    if both.sum() < 2:
        return 0.0
    tau = stats.kendalltau(x[both], y[both]).statistic
    return float(np.sin(0.5 * np.pi * tau)) if np.isfinite(tau) else 0.0


def latent_correlation(scores: np.ndarray, numbers: Sequence[int]) -> np.ndarray:
    """The copula's correlation from normal scores ``[n, d]`` (NaN: missing):
    Kendall's tau inverted for the pairs of the columns `numbers` (the
    numerical values), the polyserial-corrected Pearson correlation of the
    scores for the others (see the module docstring), projected by
    `nearest_correlation`."""
    spread = np.nanstd(scores, axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        corrected = pairwise_correlation(scores) / np.outer(spread, spread)
    corrected[~np.isfinite(corrected)] = 0.0
    for a, b in itertools.combinations(numbers, 2):
        corrected[a, b] = corrected[b, a] = kendall_correlation(
            scores[:, a], scores[:, b]
        )
    np.fill_diagonal(corrected, 1.0)
    return nearest_correlation(np.clip(corrected, -1.0, 1.0))


def quantile_knots(values: np.ndarray, count: int) -> np.ndarray:
    """The empirical quantile function of the present `values` at `count`
    evenly spaced probabilities from 0 (the minimum) to 1 (the maximum),
    interpolated linearly between order statistics."""
    present = values[~np.isnan(values)]
    return np.quantile(present, np.linspace(0.0, 1.0, count))


# === Sampling (TensorFlow, float64) ===


def standard_normal() -> tfp.distributions.Normal:
    """N(0, 1) in float64: its `cdf` is Phi, its `quantile` Phi^-1."""
    return tfp.distributions.Normal(tf.constant(0.0, tf.float64), 1.0)


def truncated_normal(noise, lower, upper):
    """Standard normal draws restricted to ``(lower, upper]``, one per entry
    of the standard normal `noise`, by the inverse CDF of ``Phi(noise)``."""
    normal = standard_normal()
    uniform = tf.clip_by_value(normal.cdf(noise), UNIFORM_MARGIN, 1 - UNIFORM_MARGIN)
    low, high = normal.cdf(lower), normal.cdf(upper)
    return normal.quantile(low + uniform * (high - low))


def conditioned_latent(noise, correlation, dim, value):
    """Draws of ``z ~ N(0, correlation)`` given ``z[dim] = value``.

    The other coordinates are ``N(sigma * value, correlation - sigma
    sigma^T)`` with ``sigma = correlation[:, dim]``, drawn from `noise`
    ``[n, d]`` (its column `dim` is not used).

    Args:
        noise: float64 standard normal ``[n, d]``.
        correlation: float64 ``[d, d]``.
        dim: a scalar int tensor.
        value: float64 ``[n]``.
    """
    size = tf.shape(correlation)[0]
    sigma = correlation[:, dim]
    unit = tf.one_hot(dim, size, dtype=tf.float64)
    # The conditional covariance is 0 in row and column `dim`; a 1 on its
    # diagonal there keeps the Cholesky factor defined and touches nothing else.
    conditional = correlation - sigma[:, None] * sigma[None, :]
    factor = tf.linalg.cholesky(conditional + unit[:, None] * unit[None, :])
    latent = value[:, None] * sigma[None, :] + tf.matmul(
        noise, factor, transpose_b=True
    )
    return tf.where(unit[None, :] > 0, value[:, None], latent)
