"""The evaluation report end to end: `kerasynth evaluate` on a table run and
an image run, and the page rendered in headless Chromium."""

import json
import os
import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image

from kerasynth.testing import invoke_cli

FAST_TABLE = ["--epochs", "2", "--batch-size", "50", "--seed", "0", "--quiet"]
FAST_IMAGE = ["--image-size", "32", "--epochs", "1", "--seed", "0", "--quiet"]


def _train_and_evaluate(root, train_args, evaluate_args):
    result = invoke_cli("train", *train_args, "--output", root / "run")
    assert result.exit_code == 0, result.output
    result = invoke_cli("evaluate", "--run", root / "run", *evaluate_args,
                        "--output", root / "report")  # fmt: skip
    assert result.exit_code == 0, result.output
    return root / "report"


@pytest.fixture(scope="module")
def table_report(tmp_path_factory):
    return _train_and_evaluate(
        tmp_path_factory.mktemp("table-report"),
        ["--model", "tvae", *FAST_TABLE, "--holdout-fraction", "0.3"],
        ["--target", "sex"],
    )


@pytest.fixture(scope="module")
def image_report(tmp_path_factory):
    return _train_and_evaluate(
        tmp_path_factory.mktemp("image-report"),
        ["--model", "beta_vae", *FAST_IMAGE, "--holdout-fraction", "0.2"],
        ["--num", "40"],
    )


def test_table_report_files_and_metrics(table_report):
    metrics = json.loads((table_report / "metrics.json").read_text())
    quality_keys = {"overall", "column_shapes", "column_pair_trends"}
    assert set(metrics["quality"]) >= quality_keys
    assert 0.0 <= metrics["quality"]["overall"] <= 1.0
    assert metrics["protocol"]["holdout_unseen_by_model"] is True
    assert metrics["protocol"]["holdout_rows"] > 0
    assert 0.0 <= metrics["privacy"]["mia_auc"] <= 1.0
    assert "ratio" in metrics["utility"]
    figures = {p.name for p in (table_report / "figures").iterdir()}
    assert {"distributions.png", "pca.png", "correlations.png"} <= figures


def test_image_report_files_and_metrics(image_report):
    metrics = json.loads((image_report / "metrics.json").read_text())
    assert metrics["protocol"]["synthetic_images"] == 40
    assert "pixel PCA" in metrics["fidelity"]["feature_space"]
    for metric in ("ssim", "ncc"):
        assert 0.0 <= metrics["memorization"][metric]["copy_share"] <= 1.0
    assert np.isfinite(metrics["per_pair"]["PSNR (dB)"]["median"])
    figures = {p.name for p in (image_report / "figures").iterdir()}
    assert {"samples.png", "pca.png", "per_pair_histograms.png"} <= figures


def test_evaluate_a_synthetic_csv_from_any_tool(tmp_path, table_report):
    from kerasynth.data.tables import load_table

    real = load_table(None).frame
    real.sample(200, random_state=0).to_csv(tmp_path / "other_tool.csv", index=False)
    result = invoke_cli("evaluate", "--synthetic", tmp_path / "other_tool.csv",
                        "--holdout-fraction", "0.3",
                        "--output", tmp_path / "r")  # fmt: skip
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "r" / "metrics.json").read_text())
    # Real rows resampled: near-perfect shapes, and copies of real rows.
    assert metrics["quality"]["column_shapes"] > 0.85
    assert metrics["privacy"]["exact_copies"]["count"] > 0


def _chromium():
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("KERASYNTH_REQUIRE_BROWSER"):
            pytest.fail("chromium is required here (KERASYNTH_REQUIRE_BROWSER)")
        pytest.skip("chromium is not installed (.ci/run installs it)")
    return found


@pytest.mark.parametrize("which", ["table_report", "image_report"])
def test_report_renders_in_a_browser(which, request, tmp_path):
    folder = request.getfixturevalue(which)
    page = (folder / "report.html").resolve().as_uri()
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking",
             "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}"]  # fmt: skip
    dom = subprocess.run(
        [_chromium(), *flags, "--dump-dom", page],
        capture_output=True, text=True, timeout=120, check=True,
    ).stdout  # fmt: skip
    assert 'id="summary"' in dom and "Privacy" in dom
    assert dom.count("data:image/png;base64,") >= 3
    shot = tmp_path / "page.png"
    subprocess.run(
        [_chromium(), *flags, f"--screenshot={shot}", "--window-size=1200,1600",
         page], capture_output=True, timeout=120, check=True,
    )  # fmt: skip
    pixels = np.asarray(Image.open(shot).convert("L"), float)
    # Not a blank page: text and figures make the screenshot vary.
    assert pixels.std() > 10


def test_translations_of_real_images_are_never_called_private():
    from kerasynth.evaluation import evaluate_images

    rng = np.random.default_rng(0)
    real = rng.uniform(-1, 1, (24, 16, 16, 1)).astype("float32")
    # Denoised real images: below every copy threshold, yet real patients.
    outputs = np.clip(real + rng.normal(0, 0.2, real.shape), -1, 1).astype("float32")
    result = evaluate_images(real, outputs, derived_from_real=True)
    assert "derived from real images" in result.page
    assert result.metrics["derived_from_real"] is True
