"""Differential privacy: the accountant checked against the Gaussian
mechanism's exact epsilon, the public facts a private run may read, the DP
Gaussian copula (its noise is real, and it still keeps what the copula
keeps), the budget in the run and the report, and the gate's epsilon rule."""

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats
from table_cases import OASIS_FIVE, load_oasis

from kerasynth import registry
from kerasynth.components.evaluate import judge
from kerasynth.data.transformer import TableTransformer
from kerasynth.privacy import accounting, public
from kerasynth.testing import invoke_cli

FACTS = {
    "sex": {"categories": ["F", "M"]},
    "level": {"bounds": [0.0, 100.0]},
    "score": {"bounds": [-4.0, 4.0]},
}
KINDS = {"sex": "categorical", "level": "numerical", "score": "numerical"}
OASIS_METADATA = {
    "columns": {
        "M/F": {"kind": "categorical", "categories": ["F", "M"]},
        "Age": {"kind": "numerical", "bounds": [18, 100]},
        "eTIV": {"kind": "numerical", "bounds": [1000, 2100]},
        "nWBV": {"kind": "numerical", "bounds": [0.6, 0.9]},
        "ASF": {"kind": "numerical", "bounds": [0.8, 1.8]},
    }
}


def exact_gaussian_epsilon(sigma, delta):
    """Balle and Wang 2018, Theorem 8: the smallest epsilon of the Gaussian
    mechanism with noise multiplier `sigma` at `delta`."""

    def excess(eps):
        return (
            stats.norm.cdf(0.5 / sigma - eps * sigma)
            - math.exp(eps) * stats.norm.cdf(-0.5 / sigma - eps * sigma)
            - delta
        )

    return optimize.brentq(excess, 1e-9, 100.0)


def correlated(rows=2000, rho=0.8, seed=0):
    rng = np.random.default_rng(seed)
    x, noise = rng.normal(size=(2, rows))
    return pd.DataFrame({
        "sex": np.where(x + rng.normal(size=rows) > 0, "M", "F"),
        "level": np.clip(50 + 12 * x, 0, 100).round(1),
        "score": (rho * x + math.sqrt(1 - rho**2) * noise).round(3),
    })  # fmt: skip


def correlated_files(directory):
    """`correlated` rows as a CSV and their public facts as a metadata file."""
    data = directory / "table.csv"
    correlated(rows=300).to_csv(data, index=False)
    metadata = directory / "metadata.json"
    metadata.write_text(json.dumps({"columns": {
        name: {"kind": KINDS[name], **fact} for name, fact in FACTS.items()
    }}))  # fmt: skip
    return data, metadata


def private_copula(frame, facts=FACTS, kinds=KINDS, **kwargs):
    facts = public.public_facts({"columns": facts}, list(frame.columns), kinds)
    clipped = public.clip_to_facts(frame, facts)
    categorical = [name for name, kind in kinds.items() if kind == "categorical"]
    transformer = TableTransformer(seed=0, categorical=categorical).fit(
        clipped, public=facts
    )
    model = registry.get_model("dp_gaussian_copula", transformer=transformer, **kwargs)
    model.adapt(clipped)
    return model


# === The accountant ===


@pytest.mark.parametrize("sigma", [0.8, 2.0, 5.0])
def test_the_accountant_bounds_the_exact_gaussian_epsilon(sigma):
    # RDP is an upper bound on the exact epsilon, and not a loose one.
    delta = 1e-5
    exact = exact_gaussian_epsilon(sigma, delta)
    spent = accounting.epsilon(accounting.gaussian_event([sigma]), delta)
    assert exact <= spent <= 1.6 * exact


def test_composed_gaussians_spend_what_one_with_their_combined_noise_spends():
    # Two multipliers a, b compose to one of (a^-2 + b^-2)^-1/2 exactly.
    a, b = 2.0, 3.0
    combined = (a**-2 + b**-2) ** -0.5
    together = accounting.epsilon(accounting.gaussian_event([a, b]), 1e-5)
    single = accounting.epsilon(accounting.gaussian_event([combined]), 1e-5)
    assert together == pytest.approx(single, rel=1e-3)


def test_calibration_spends_the_target_and_no_more():
    sigma = accounting.calibrate(lambda m: accounting.gaussian_event([m]), 3.0, 1e-5)
    assert accounting.epsilon(accounting.gaussian_event([sigma]), 1e-5) <= 3.0 + 1e-6
    assert accounting.epsilon(accounting.gaussian_event([0.97 * sigma]), 1e-5) > 3.0
    assert exact_gaussian_epsilon(sigma, 1e-5) <= 3.0


@pytest.mark.parametrize("epsilon, delta", [(0, 1e-5), (-1, 1e-5), (3, 0), (3, 1)])
def test_a_budget_out_of_range_is_refused(epsilon, delta):
    with pytest.raises(ValueError, match="epsilon|delta"):
        accounting.calibrate(lambda m: accounting.gaussian_event([m]), epsilon, delta)


# === Public facts ===


def test_a_private_run_needs_every_columns_bounds_or_categories():
    facts = {"sex": FACTS["sex"], "level": FACTS["level"]}
    with pytest.raises(ValueError, match="'score'.*bounds"):
        public.public_facts({"columns": facts}, ["sex", "level", "score"], KINDS)
    facts = {"level": FACTS["level"], "score": FACTS["score"]}
    with pytest.raises(ValueError, match="'sex'.*categories"):
        public.public_facts({"columns": facts}, ["sex", "level", "score"], KINDS)


def test_values_are_clipped_into_the_bounds_and_undeclared_categories_refused():
    frame = pd.DataFrame({"sex": ["F", "M"], "level": [-5.0, 150.0], "score": [0, 9]})
    facts = public.public_facts({"columns": FACTS}, list(frame), KINDS)
    clipped = public.clip_to_facts(frame, facts)
    assert clipped["level"].tolist() == [0.0, 100.0]
    assert clipped["score"].tolist() == [0.0, 4.0]
    with pytest.raises(ValueError, match="'sex' has the value 'X'"):
        public.clip_to_facts(frame.assign(sex=["F", "X"]), facts)


def test_the_transformer_of_a_private_run_reads_nothing_off_the_rows():
    # Two different tables, the same public facts: the same encoders.
    configs = []
    for seed in (0, 1):
        frame = correlated(rows=300, seed=seed)
        facts = public.public_facts({"columns": FACTS}, list(frame), KINDS)
        transformer = TableTransformer(seed=0, categorical=["sex"])
        configs.append(transformer.fit(frame, public=facts).get_config()["columns"])
    assert configs[0] == configs[1]
    level = configs[0][1]
    assert (level["minimum"], level["maximum"]) == (0.0, 100.0)


# === The DP copula ===


def test_the_dp_copula_keeps_a_correlation_at_a_moderate_budget():
    frame = correlated()
    rhos = [
        private_copula(frame, epsilon=3.0, seed=seed)
        .generate(4000, seed=0)[["level", "score"]]
        .corr()
        .iloc[0, 1]
        for seed in range(3)
    ]
    assert abs(np.median(rhos) - frame[["level", "score"]].corr().iloc[0, 1]) < 0.1


def test_the_dp_copulas_noise_is_real():
    # At a tiny budget the correlation drowns in the noise and the seeds
    # disagree; at a large one they agree.
    frame = correlated()

    def spread(epsilon):
        values = [
            private_copula(
                frame, epsilon=epsilon, seed=seed
            ).generator.correlation.numpy()[1, 2]
            for seed in range(4)
        ]
        return np.std(values)

    assert spread(0.05) > 5 * spread(20.0)


def test_the_dp_copula_records_the_budget_it_spent():
    model = private_copula(correlated(rows=400), epsilon=2.0, delta=1e-6, seed=0)
    record = model.differential_privacy
    assert record["epsilon"] == pytest.approx(2.0, abs=1e-3)
    assert record["delta"] == 1e-6
    event = model.event(record["noise_multiplier"])
    assert accounting.epsilon(event, 1e-6) == pytest.approx(record["epsilon"], abs=1e-3)
    assert "RDP" in record["accountant"] and record["not_covered"]
    again = private_copula(correlated(rows=400), noise_multiplier=1.0, seed=0)
    assert again.differential_privacy["noise_multiplier"] == 1.0
    reloaded = type(model).from_config(model.get_config())
    assert reloaded.differential_privacy == record


def test_the_dp_copula_on_oasis_keeps_age_and_brain_volume():
    frame = load_oasis()[OASIS_FIVE]
    kinds = {c: "categorical" if c == "M/F" else "numerical" for c in OASIS_FIVE}
    facts = {c: {k: v for k, v in s.items() if k != "kind"}
             for c, s in OASIS_METADATA["columns"].items()}  # fmt: skip
    real = frame["Age"].corr(frame["nWBV"])
    kept = []
    for seed in range(3):
        rows = private_copula(
            frame, facts=facts, kinds=kinds, epsilon=3.0, seed=seed
        ).generate(len(frame), seed=seed)
        kept.append(rows["Age"].corr(rows["nWBV"]))
    assert abs(np.median(kept) - real) < 0.2


# === The run, the report and the gate ===


def test_a_private_run_from_the_command_line(tmp_path):
    data, metadata = correlated_files(tmp_path)
    run = tmp_path / "run"
    result = invoke_cli(*["train", "--model", "dp_gaussian_copula", "--data",
                         str(data), "--metadata", str(metadata), "--dp-epsilon", "2",
                         "--holdout-fraction", "0.3", "--seed", "0",
                         "--output", str(run), "--quiet"])  # fmt: skip
    assert result.exit_code == 0, result.output
    config = json.loads((run / "config.json").read_text())
    assert config["model_config"]["differential_privacy"]["epsilon"] == 2.0
    report = tmp_path / "report"
    result = invoke_cli(*["evaluate", "--run", str(run), "--output", str(report)])
    assert result.exit_code == 0, result.output
    metrics = json.loads((report / "metrics.json").read_text())
    assert metrics["headline"]["epsilon"] == 2.0
    assert "Differential privacy" in (report / "report.html").read_text()
    assert judge(metrics, {"epsilon": {"max": 3}}) == []
    assert judge(metrics, {"epsilon": {"max": 1}}) == [
        "epsilon 2 is above the maximum 1"
    ]
    without = invoke_cli(*["train", "--model", "dp_gaussian_copula", "--data",
                          str(data), "--output", str(tmp_path / "no")])  # fmt: skip
    assert without.exit_code == 2
    assert "'sex'" in without.output and "categories" in without.output


def test_a_model_without_dp_is_refused_a_budget_and_fails_an_epsilon_gate(tmp_path):
    data = tmp_path / "table.csv"
    correlated(rows=100).to_csv(data, index=False)
    result = invoke_cli(*["train", "--model", "tvae", "--data", str(data),
                          "--dp-epsilon", "3",
                          "--output", str(tmp_path / "r")])  # fmt: skip
    assert result.exit_code == 2
    assert "tvae does not train with differential privacy" in result.output
    metrics = {"differential_privacy": None, "quality": {"overall": 0.9}}
    assert judge(metrics, {"epsilon": {"max": 3}}) == [
        "epsilon: the model was trained without differential privacy"
    ]
