"""The reference table models, `gaussian_copula` and `independent`: what they
keep of a table (correlations, marginals, categories, missing values), exact
conditions, the exported ``sample`` equal to `generate`, and a run from the
command line."""

import json

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

from kerasynth import TableSynthesizer, export, registry, runs
from kerasynth.data.transformer import TableTransformer, category_label
from kerasynth.metrics.table import ks_statistics
from kerasynth.models import copulas
from kerasynth.testing import invoke_cli

REFERENCE = ["gaussian_copula", "independent"]
RHO = -0.86  # OASIS Age ~ nWBV


def correlated_frame(rows=600, seed=0):
    """Two numbers with r = -0.86, one with 10% missing, a sex that shifts
    the first number, a site with missing values."""
    rng = np.random.default_rng(seed)
    x, noise = rng.normal(size=(2, rows))
    sex = np.where(x + rng.normal(size=rows) > 0.3, "M", "F")
    level = np.round(50 + 10 * x, 1)
    score = np.round(RHO * x + np.sqrt(1 - RHO**2) * noise, 3)
    volume = rng.gamma(4.0, 100.0, rows).round()
    volume[rng.random(rows) < 0.1] = np.nan
    site = rng.choice(np.array(["A", "B", "C", None], object), rows,
                      p=[0.5, 0.3, 0.15, 0.05])  # fmt: skip
    return pd.DataFrame({"sex": sex, "level": level, "score": score,
                         "volume": volume, "site": site})  # fmt: skip


@pytest.fixture(scope="module")
def frame():
    return correlated_frame()


@pytest.fixture(scope="module")
def models(frame):
    transformer = TableTransformer(seed=0).fit(frame)
    fitted = {}
    for name in REFERENCE:
        fitted[name] = registry.get_model(name, transformer=transformer)
        fitted[name].adapt(frame)
    return fitted


@pytest.fixture(scope="module")
def samples(models):
    return {name: model.generate(3000, seed=0) for name, model in models.items()}


def test_the_latent_correlation_of_a_thresholded_pair():
    # z ~ N(0, [[1, 0.6], [0.6, 1]]), the first column cut at 0.3 into two
    # categories: the polyserial-corrected estimate finds 0.6 again (the
    # scores' plain Pearson correlation is about 0.47).
    rng = np.random.default_rng(0)
    z = rng.multivariate_normal([0, 0], [[1, 0.6], [0.6, 1]], size=20_000)
    codes = (z[:, 0] > 0.3).astype(int)
    probabilities = np.bincount(codes) / len(codes)
    scores = np.stack(
        [copulas.category_scores(codes, probabilities), copulas.value_scores(z[:, 1])],
        axis=1,
    )
    assert copulas.pairwise_correlation(scores)[0, 1] < 0.5
    assert abs(copulas.latent_correlation(scores, [1])[0, 1] - 0.6) < 0.02
    both = np.stack([copulas.value_scores(z[:, 0]), scores[:, 1]], axis=1)
    assert abs(copulas.latent_correlation(both, [0, 1])[0, 1] - 0.6) < 0.02


def test_the_copula_keeps_a_correlation_and_independence_loses_it(frame, samples):
    real = frame["level"].corr(frame["score"])
    assert abs(real - RHO) < 0.03
    copula = samples["gaussian_copula"]
    assert abs(copula["level"].corr(copula["score"]) - real) < 0.1
    independent = samples["independent"]
    assert abs(independent["level"].corr(independent["score"])) < 0.06


@pytest.mark.parametrize("name", REFERENCE)
def test_marginals_match(frame, samples, name):
    ks = ks_statistics(frame, samples[name])
    assert set(ks) == {"level", "score", "volume"}
    assert max(ks.values()) < 0.05, ks


@pytest.mark.parametrize("name", REFERENCE)
def test_categories_and_missing_rates_are_reproduced(frame, samples, name):
    synthetic = samples[name]
    for column in ("sex", "site"):
        real = frame[column].value_counts(normalize=True, dropna=False)
        made = synthetic[column].value_counts(normalize=True, dropna=False)
        assert set(made.index) <= set(real.index)
        gaps = (made.reindex(real.index, fill_value=0.0) - real).abs()
        assert gaps.max() < 0.03, (column, real, made)
    assert abs(synthetic["volume"].isna().mean() - frame["volume"].isna().mean()) < 0.02


@pytest.mark.parametrize("name", REFERENCE)
def test_a_condition_gives_only_its_category_and_the_conditional(frame, models,
                                                                 name):  # fmt: skip
    rows = models[name].generate(4000, seed=2, conditions={"sex": "M"})
    assert len(rows) == 4000 and set(rows["sex"]) == {"M"}
    # The copula draws the other columns from their conditional given the
    # category; independent columns keep their marginal.
    shift = rows["level"].mean() - frame["level"].mean()
    real_shift = frame.loc[frame["sex"] == "M", "level"].mean() - frame["level"].mean()
    if name == "gaussian_copula":
        assert abs(shift - real_shift) < 0.1 * real_shift, (shift, real_shift)
    else:
        assert abs(shift) < 0.1 * real_shift, (shift, real_shift)
    missing_site = models[name].generate(50, seed=3, conditions={"site": ""})
    assert missing_site["site"].isna().all()
    both = models[name].generate(60, seed=4, conditions={"sex": "F", "site": "B"})
    assert set(both["sex"]) == {"F"} and set(both["site"]) == {"B"}


def _labels(series):
    # Decoded categories as the exported signature writes them.
    return [category_label(None if pd.isna(v) else v) for v in series]


@pytest.mark.parametrize("name", REFERENCE)
def test_the_exported_sample_is_generate(models, name, tmp_path):
    model = models[name]
    loaded = tf.saved_model.load(str(export.export_model(model, tmp_path, name)))
    served = loaded.signatures["sample"](
        num_samples=tf.constant(500), seed=tf.constant(7)
    )
    expected = model.generate(500, seed=7)
    for column in model.transformer.numerical_columns:
        np.testing.assert_array_equal(served[column], expected[column].to_numpy(float))
    for column in model.transformer.categorical_columns:
        labels = [v.decode() for v in served[column].numpy()]
        assert labels == _labels(expected[column]), column
    conditional = loaded.signatures["sample_conditional"](
        num_samples=tf.constant(300), seed=tf.constant(1),
        column=tf.constant("site"), value=tf.constant("C"),
    )  # fmt: skip
    expected = model.generate(300, seed=1, conditions={"site": "C"})
    np.testing.assert_array_equal(
        conditional["level"].numpy(), expected["level"].to_numpy(float)
    )
    assert {v.decode() for v in conditional["site"].numpy()} == {"C"}


def test_training_fits_the_statistics_through_the_task(frame):
    # TableSynthesizer -> training.fit -> TableTask.prepare, which adapts.
    synthesizer = TableSynthesizer("gaussian_copula", seed=0).fit(frame)
    assert synthesizer.result.epochs == 1
    assert float(synthesizer.model.generator.rows) == len(frame)
    rows = synthesizer.sample(3000, seed=0)
    assert abs(rows["level"].corr(rows["score"]) - RHO) < 0.1


@pytest.mark.slow
def test_train_sample_evaluate_export_from_the_command_line(frame, tmp_path):
    csv = tmp_path / "table.csv"
    frame.to_csv(csv, index=False)
    run = tmp_path / "run"
    result = invoke_cli("train", "--model", "gaussian_copula", "--data", csv,
                        "--holdout-fraction", "0.3", "--seed", "0", "--quiet",
                        "--output", run)  # fmt: skip
    assert result.exit_code == 0, result.output
    record = json.loads((run / "config.json").read_text())
    assert record["training"]["epochs"] == 1
    # Fitted on the training rows only, not the holdout.
    trained = runs.load_model(run)
    assert float(trained.generator.rows) == record["data"]["num_examples"] < 600
    result = invoke_cli("sample", "--run", run, "--num", 40, "--seed", 1,
                        "--condition", "sex=F", "--output",
                        tmp_path / "s.csv")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert set(pd.read_csv(tmp_path / "s.csv")["sex"]) == {"F"}
    result = invoke_cli("evaluate", "--run", run, "--output", tmp_path / "report")
    assert result.exit_code == 0, result.output
    result = invoke_cli("export", "--run", run, "--serving-dir", tmp_path / "serving")
    assert result.exit_code == 0, result.output
    loaded = tf.saved_model.load(str(tmp_path / "serving" / "gaussian_copula" / "1"))
    served = loaded.signatures["sample"](
        num_samples=tf.constant(5), seed=tf.constant(0)
    )
    assert set(served) == set(frame.columns)
