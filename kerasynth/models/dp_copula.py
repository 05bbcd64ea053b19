"""The differentially private Gaussian copula: the cheap strong private floor.

DPCopula's idea (Li, Xiong and Jiang 2014): release the marginals and the
copula's correlation with noise, then sample the copula as usual. Here both
releases are Gaussian mechanisms, accounted together with the RDP
accountant (`kerasynth.privacy.accounting`):

1. **Marginals.** Each column's histogram over its *public* bins (the
   declared categories; ``bins`` even bins over a number's declared bounds;
   one more bin for a missing value). A row adds one count to each column's
   histogram, so all of them together have L2 sensitivity ``sqrt(columns)``.
   Counts below zero are set to zero; a number is uniform within its bin.
2. **Correlation.** Each row's normal scores are computed under the
   *released* marginals (so a row's scores depend on that row alone), its
   score vector is clipped to norm ``C = sqrt(score_norm * dims)``, and the
   sum of the outer products ``sum z z^T`` is released with Gaussian noise
   of sensitivity ``C^2`` (Dwork, Talwar, Thakurta and Zhang 2014, "Analyze
   Gauss"). The correlation is that matrix normalised, corrected for the
   discreteness of categories and missing flags (the polyserial correction
   of `kerasynth.models.copulas`, with the spreads the released marginals
   give), and projected onto the correlation matrices.

A share `marginal_share` of the budget (in zero-concentrated terms: the
inverse square noise multipliers add up) goes to the marginals. Nothing is
read off the data beyond these two releases: the transformer is fitted on
the public facts (`kerasynth.privacy.public`).

References: H. Li, L. Xiong, X. Jiang, *Differentially Private
Synthesization of Multi-Dimensional Data using Copula Functions*, EDBT
2014; C. Dwork, K. Talwar, A. Thakurta, L. Zhang, *Analyze Gauss: Optimal
Bounds for Privacy-Preserving Principal Component Analysis*, STOC 2014.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special

from kerasynth.data.column_values import numeric_values
from kerasynth.models import copulas
from kerasynth.models.gaussian_copula import GaussianCopula
from kerasynth.models.registration import register_model
from kerasynth.privacy import accounting

COVERED = [
    "every row's values, categories and missing values (the marginals and "
    "the correlation are the only releases read off the rows)",
]
NOT_COVERED = [
    "the schema read off the data and treated as public: column kinds and "
    "dtypes, whole numbers, decimal places, and whether a column has missing "
    "values where --metadata does not say",
    "the bounds and categories themselves (public, from --metadata)",
    "the noise is drawn from the run's seed, which config.json records: "
    "share the synthetic rows or the export, not the run directory",
]


@register_model("dp_gaussian_copula", task="tables")
class DPGaussianCopula(GaussianCopula):
    """A Gaussian copula with differentially private marginals and
    correlation (Li et al. 2014; see the module docstring).

    Args:
        transformer: a `TableTransformer` fitted on public facts only
            (``fit(frame, public=...)``).
        epsilon, delta: the budget; the noise is calibrated to spend it.
        noise_multiplier: instead of `epsilon`, the noise (its standard
            deviation over the sensitivity, for the whole release): epsilon
            is then computed.
        bins: even bins of a number's histogram over its bounds.
        marginal_share: the share of the budget spent on the marginals.
        score_norm: the squared clip norm of a row's scores, per dimension.
        num_quantiles, seed: as `GaussianCopula` (`seed` also draws the
            privacy noise; `None`: fresh from the OS).
        differential_privacy: the record `adapt` wrote (on loading).
    """

    differentially_private = True

    def __init__(
        self,
        transformer,
        epsilon=3.0,
        delta=accounting.DEFAULT_DELTA,
        noise_multiplier=None,
        bins=16,
        marginal_share=0.5,
        score_norm=2.0,
        num_quantiles=1000,
        seed=None,
        differential_privacy=None,
        **kwargs,
    ):
        super().__init__(transformer, num_quantiles=num_quantiles, seed=seed, **kwargs)
        if noise_multiplier is None:
            accounting.check_epsilon(epsilon)
        elif not noise_multiplier > 0:
            raise ValueError(
                f"noise_multiplier must be > 0. Received: {noise_multiplier!r}"
            )
        accounting.check_delta(delta)
        if not 0 < marginal_share < 1:
            raise ValueError(
                f"marginal_share must be in (0, 1). Received: {marginal_share!r}"
            )
        if not isinstance(bins, int) or bins < 2:
            raise ValueError(f"bins must be an integer >= 2. Received: {bins!r}")
        self.epsilon, self.delta = epsilon, delta
        self.noise_multiplier = noise_multiplier
        self.bins, self.marginal_share = bins, float(marginal_share)
        self.score_norm = float(score_norm)
        self.differential_privacy = differential_privacy

    def noise_multipliers(self, noise_multiplier):
        """The marginals' and the correlation's multipliers for a total one."""
        share = self.marginal_share
        return noise_multiplier / math.sqrt(share), noise_multiplier / math.sqrt(
            1 - share
        )

    def event(self, noise_multiplier):
        return accounting.gaussian_event(self.noise_multipliers(noise_multiplier))

    def adapt(self, frame):
        """Releases the marginals and the correlation of `frame` with noise
        and records the budget spent (`differential_privacy`)."""
        multiplier = self.noise_multiplier
        if multiplier is None:
            multiplier = accounting.calibrate(self.event, self.epsilon, self.delta)
        spent = accounting.epsilon(self.event(multiplier), self.delta)
        rng = np.random.default_rng(self.seed)
        marginal_noise, correlation_noise = self.noise_multipliers(multiplier)
        generator = self.generator
        histograms = self._histograms(frame)
        sensitivity = math.sqrt(len(histograms))
        noisy = [
            np.maximum(h + rng.normal(0.0, marginal_noise * sensitivity, h.shape), 0.0)
            for h in histograms
        ]
        probabilities, quantiles, rates, scores, spreads = self._marginals(frame, noisy)
        correlation = self._correlation(scores, spreads, correlation_noise, rng)
        generator.probabilities.assign(probabilities)
        generator.quantiles.assign(quantiles)
        generator.missing_rates.assign(rates)
        generator.correlation.assign(correlation)
        generator.rows.assign(float(noisy[0].sum()))
        self.differential_privacy = {
            "mechanism": "DP Gaussian copula: Gaussian mechanisms on the "
            "histograms and on the normal scores' second moments",
            "epsilon": round(spent, 4),
            "delta": self.delta,
            "accountant": accounting.accountant_name(),
            "neighbouring": accounting.NEIGHBOURING,
            "noise_multiplier": round(multiplier, 6),
            "noise_multipliers": {
                "marginals": round(marginal_noise, 6),
                "correlation": round(correlation_noise, 6),
            },
            "preprocessing": "public: bounds and categories from --metadata",
            "covered": COVERED,
            "not_covered": NOT_COVERED,
        }

    # === The two releases ===

    def _encoder(self, name):
        return self.transformer.get_config()["columns"][
            self.transformer.columns.index(name)
        ]

    def _histograms(self, frame):
        """Each column's counts over its public bins (a last bin: missing)."""
        histograms = []
        for name in self.transformer.columns:
            state = self._encoder(name)
            values = frame[name]
            if "categories" in state:
                codes = self.transformer.category_codes(name, values)
                histograms.append(
                    np.bincount(codes, minlength=len(state["categories"])).astype(float)
                )
                continue
            numbers = numeric_values(name, values)
            present = numbers[~np.isnan(numbers)]
            edges = np.linspace(state["minimum"], state["maximum"], self.bins + 1)
            counts, _ = np.histogram(np.clip(present, edges[0], edges[-1]), bins=edges)
            counts = counts.astype(float)
            if self.transformer.schema.column(name).missing:
                counts = np.append(counts, float(numbers.size - present.size))
            histograms.append(counts)
        return histograms

    def _marginals(self, frame, noisy):
        """The copula's weights from the noisy histograms, and every row's
        normal scores under them (NaN nowhere: a missing number scores 0)."""
        generator = self.generator
        probabilities = np.zeros(generator.probabilities.shape)
        quantiles = np.zeros(generator.quantiles.shape)
        rates = np.zeros(generator.missing_rates.shape)
        scores = np.zeros((len(frame), generator.latent_dim))
        spreads = np.ones(generator.latent_dim)
        position = {name: i for i, name in enumerate(self.transformer.columns)}
        for index, (dim, name, count) in enumerate(generator.categorical):
            p = _normalised(noisy[position[name]])
            probabilities[index, :count] = p
            codes = self.transformer.category_codes(name, frame[name])
            scores[:, dim] = copulas.category_scores(codes, p)
            spreads[dim] = _score_spread(p)
        levels = np.linspace(0.0, 1.0, generator.num_quantiles)
        columns = len(self.transformer.columns)
        for index, (dim, name, state) in enumerate(generator.numerical):
            counts = noisy[position[name]]
            edges = np.linspace(state["minimum"], state["maximum"], self.bins + 1)
            present_counts = counts[: self.bins]
            cdf = np.concatenate([[0.0], np.cumsum(_normalised(present_counts))])
            quantiles[index] = _inverse_cdf(levels, cdf, edges)
            numbers = numeric_values(name, frame[name])
            missing = np.isnan(numbers)
            uniform = np.interp(
                np.clip(numbers[~missing], edges[0], edges[-1]), edges, cdf
            )
            scores[~missing, dim] = special.ndtri(np.clip(uniform, 1e-3, 1 - 1e-3))
            if name in generator.missing_dims:
                flag = generator.missing_dims[name]
                rate = counts[-1] / max(counts.sum(), 1e-12)
                rates[flag - columns] = rate
                flag_p = np.array([1.0 - rate, rate])
                scores[:, flag] = copulas.category_scores(missing.astype(int), flag_p)
                spreads[flag] = _score_spread(flag_p)
                spreads[dim] = math.sqrt(max(1.0 - rate, 1e-6))
        return probabilities, quantiles, rates, scores, spreads

    def _correlation(self, scores, spreads, noise_multiplier, rng):
        """Analyze Gauss on the clipped scores, then the polyserial
        correction and the projection."""
        dims = scores.shape[1]
        bound = self.score_norm * dims  # C^2: the sum's sensitivity
        norms = np.sqrt((scores**2).sum(axis=1, keepdims=True))
        clipped = scores * np.minimum(1.0, math.sqrt(bound) / np.maximum(norms, 1e-12))
        moments = clipped.T @ clipped
        noise = np.triu(rng.normal(0.0, noise_multiplier * bound, (dims, dims)))
        moments = moments + noise + np.triu(noise, 1).T
        diagonal = np.maximum(np.diag(moments), 1e-6)
        pearson = moments / np.sqrt(np.outer(diagonal, diagonal))
        corrected = np.clip(pearson / np.outer(spreads, spreads), -1.0, 1.0)
        np.fill_diagonal(corrected, 1.0)
        return copulas.nearest_correlation(corrected)

    def get_config(self):
        return {
            **super().get_config(),
            "epsilon": self.epsilon,
            "delta": self.delta,
            "noise_multiplier": self.noise_multiplier,
            "bins": self.bins,
            "marginal_share": self.marginal_share,
            "score_norm": self.score_norm,
            "differential_privacy": self.differential_privacy,
        }


def _normalised(counts):
    counts = np.maximum(np.asarray(counts, float), 0.0)
    total = counts.sum()
    return counts / total if total > 0 else np.full(counts.shape, 1.0 / counts.size)


def _score_spread(probabilities):
    """The standard deviation of a discrete column's normal scores."""
    p = np.asarray(probabilities, float)
    scores = copulas.category_scores(np.arange(p.size), p)
    return math.sqrt(max(float((p * scores**2).sum()), 1e-6))


def _inverse_cdf(levels, cdf, edges):
    """The quantile function of a histogram (uniform within each bin)."""
    keep = np.concatenate([[True], np.diff(cdf) > 0])
    return np.interp(levels, cdf[keep], edges[keep])
