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


def _split_back(items, fraction):
    # The run's own split, found again: the runs above train with --seed 0.
    from kerasynth.data.splits import holdout_mask

    held = holdout_mask(len(items), fraction, seed=0)
    return items[~held], items[held]


@pytest.mark.slow
def test_table_report_files_and_metrics(table_report):
    metrics = json.loads((table_report / "metrics.json").read_text())
    assert metrics["protocol"]["holdout_unseen_by_model"] is True
    figures = {p.name for p in (table_report / "figures").iterdir()}
    assert {"distributions.png", "pca.png", "correlations.png"} <= figures
    assert set(metrics["headline"]) >= {"quality", "column_pair_trends",
                                        "detection_auc", "worst_relationship_gap",
                                        "mia_auc", "dcr_excess"}  # fmt: skip
    assert "random forest" in metrics["protocol"]["detection"]
    page = (table_report / "report.html").read_text()
    for card in ("quality-score", "detection-auc", "worst-relationship-gap",
                 "privacy", "dcr-excess", "utility-ratio"):  # fmt: skip
        assert f'id="summary-{card}"' in page, card
    assert "<h2>Relationships</h2>" in page
    # The independent floor is scored beside the model, and shows on the page:
    # its columns are independent, so it loses the diabetes table's strong
    # pairs (real halves score 0.91 on trends; independent columns 0.68).
    floor = metrics["floor"]
    assert set(floor) >= {"quality", "column_pair_trends", "detection_auc"}
    assert floor["column_pair_trends"] < 0.8
    assert "floor " in page


@pytest.mark.slow
def test_table_report_figures_are_those_of_its_sets(table_report):
    # Every headline figure, computed again with the metric functions from
    # the sets the report must use: the run's training rows and its held-out
    # rows, and the model's samples for evaluate's seed (0). A report built
    # on other rows (all of them, the holdout as training rows) or other
    # samples gives other figures.
    from kerasynth import runs
    from kerasynth.data.tables import load_table
    from kerasynth.metrics import privacy, table, utility

    metrics = json.loads((table_report / "metrics.json").read_text())
    model = runs.load_model(table_report.parent / "run")
    train, holdout = _split_back(load_table(None).frame, 0.3)
    synthetic = model.generate(len(train), seed=0)
    assert metrics["protocol"]["real_rows"] == len(train)
    assert metrics["protocol"]["holdout_rows"] == len(holdout)
    quality = table.quality_score(train, synthetic)
    for key in ("overall", "column_shapes", "column_pair_trends",
                "column_pair_trends_all_pairs"):  # fmt: skip
        assert metrics["quality"][key] == pytest.approx(quality[key], rel=1e-12)
    related = table.relationships(train, synthetic)
    assert metrics["relationships"]["worst_gap"] == pytest.approx(related["worst_gap"])
    assert metrics["mean_ks"] == pytest.approx(table.mean_ks(train, synthetic))
    expected = privacy.privacy_report(
        train, holdout, synthetic, transformer=model.transformer
    )
    for key in ("mia_auc", "closer_to_train_share", "dcr_train", "exact_copies",
                "dcr_excess"):  # fmt: skip
        assert metrics["privacy"][key] == pytest.approx(expected[key]), key
    tstr = utility.tstr_table(train, synthetic, holdout, "sex", seed=0)
    assert metrics["utility"]["ratio"] == pytest.approx(tstr["ratio"])


def test_image_report_files_and_metrics(image_report):
    metrics = json.loads((image_report / "metrics.json").read_text())
    assert metrics["protocol"]["synthetic_images"] == 40
    assert "pixel PCA" in metrics["fidelity"]["feature_space"]
    figures = {p.name for p in (image_report / "figures").iterdir()}
    assert {"samples.png", "pca.png", "per_pair_histograms.png"} <= figures


def test_image_report_figures_are_those_of_its_sets(image_report):
    # As for tables: the run's training and held-out slices, 40 samples for
    # seed 0, and the VAE's reconstructions of the training slices as pairs.
    from kerasynth import evaluation, runs
    from kerasynth.data.images import load_images
    from kerasynth.metrics import image, memorization

    metrics = json.loads((image_report / "metrics.json").read_text())
    model = runs.load_model(image_report.parent / "run")
    train, holdout = _split_back(load_images(None, image_size=32).images, 0.2)
    synthetic = model.generate(40, seed=0)
    assert metrics["protocol"]["real_images"] == len(train)
    assert metrics["protocol"]["holdout_images"] == len(holdout)
    fidelity = image.image_fidelity(train, synthetic, features="pca", seed=0)
    assert metrics["fidelity"]["frechet_distance"] == pytest.approx(
        fidelity["frechet_distance"]
    )
    for name, threshold in (
        ("ssim", evaluation.IMAGE_COPY_THRESHOLD),
        ("ncc", evaluation.IMAGE_NCC_COPY_THRESHOLD),
    ):
        audit = memorization.memorization_audit(
            synthetic, train, threshold=threshold, metric=name, holdout=holdout
        )
        reported = metrics["memorization"][name]
        assert reported["indices"] == audit["indices"].tolist(), name
        np.testing.assert_allclose(reported["scores"], audit["scores"], rtol=1e-6)
        for key in ("copy_share", "share_above_reference_p95"):
            assert reported[key] == pytest.approx(audit[key]), (name, key)
    psnr = image.psnr(train, model.reconstruct(train))
    assert metrics["per_pair"]["PSNR (dB)"]["median"] == pytest.approx(
        np.nanmedian(psnr)
    )


def _diabetes_split():
    from kerasynth.data.tables import load_table

    train, holdout = _split_back(load_table(None).frame, 0.3)
    return train.reset_index(drop=True), holdout.reset_index(drop=True)


def test_known_tables_get_known_figures():
    from kerasynth.evaluation import evaluate_table

    train, holdout = _diabetes_split()
    # The training rows themselves: perfect fidelity, every row a copy, and
    # the attack tells every member (distance 0) from every non-member.
    copied = evaluate_table(train, train.copy(), holdout=holdout).metrics
    assert copied["quality"]["column_shapes"] == pytest.approx(1.0)
    assert copied["quality"]["column_pair_trends"] == pytest.approx(1.0)
    assert copied["privacy"]["exact_copies"] == {"count": len(train), "share": 1.0}
    assert copied["privacy"]["mia_auc"] == 1.0
    # Every copy is closer to a training row: the share a fresh sample shows
    # (the training rows' share of all real rows) is the excess.
    baseline = len(train) / (len(train) + len(holdout))
    assert copied["privacy"]["dcr_excess"] == pytest.approx(1 - baseline)
    assert copied["relationships"]["worst_gap"] == pytest.approx(0.0, abs=1e-12)
    # Each column of the held-out rows shuffled on its own: the same column
    # shapes, but the pairs' trends are gone. Given as the floor beside the
    # held-out rows, its headline figures are those of its own report.
    rng = np.random.default_rng(0)
    shuffled = holdout.apply(lambda column: rng.permutation(column.to_numpy()))
    # The held-out rows: no copies, and the attack calls them the members.
    result = evaluate_table(train, holdout, holdout=holdout, floor=shuffled)
    unseen = result.metrics
    assert unseen["privacy"]["exact_copies"]["count"] == 0
    assert unseen["privacy"]["mia_auc"] == 0.0
    assert unseen["privacy"]["dcr_excess"] == pytest.approx(-baseline)
    broken = evaluate_table(train, shuffled, holdout=holdout).metrics
    assert broken["quality"]["column_shapes"] == pytest.approx(
        unseen["quality"]["column_shapes"]
    )
    assert (
        broken["quality"]["column_pair_trends"]
        < unseen["quality"]["column_pair_trends"] - 0.05
    )
    assert broken["relationships"]["worst_gap"] > 0.5
    floor = {k: v for k, v in broken["headline"].items() if k != "mia_auc"}
    assert unseen["floor"] == floor
    assert f"floor {floor['quality']:.3f}" in result.page


def test_known_images_get_known_figures():
    from kerasynth.data.images import load_images
    from kerasynth.evaluation import evaluate_images

    train, holdout = _split_back(load_images(None, image_size=32).images, 0.2)
    copied = evaluate_images(train, train[:20], holdout=holdout).metrics
    rng = np.random.default_rng(0)
    noise = rng.uniform(-1, 1, (20, *train.shape[1:])).astype("float32")
    random = evaluate_images(train, noise, holdout=holdout).metrics
    for name in ("ssim", "ncc"):
        assert copied["memorization"][name]["copy_share"] == 1.0
        assert copied["memorization"][name]["indices"] == list(range(20))
        assert random["memorization"][name]["copy_share"] == 0.0


def test_evaluate_a_synthetic_csv_from_any_tool(tmp_path):
    from kerasynth.metrics import privacy

    train, holdout = _diabetes_split()
    # Another tool's "synthetic" table: 200 of the training rows, through a
    # CSV file. evaluate --holdout-fraction 0.3 splits the table as above.
    copies = train.sample(200, random_state=0)
    copies.to_csv(tmp_path / "other_tool.csv", index=False)
    result = invoke_cli("evaluate", "--synthetic", tmp_path / "other_tool.csv",
                        "--holdout-fraction", "0.3",
                        "--output", tmp_path / "r")  # fmt: skip
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert metrics["protocol"]["real_rows"] == len(train)
    assert metrics["privacy"]["exact_copies"] == {"count": 200, "share": 1.0}
    expected = privacy.privacy_report(train, holdout, copies)["mia_auc"]
    assert metrics["privacy"]["mia_auc"] == pytest.approx(expected)
    assert metrics["privacy"]["mia_auc"] > 0.75  # 200 of the members copied


def _chromium():
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("KERASYNTH_REQUIRE_BROWSER"):
            pytest.fail("chromium is required here (KERASYNTH_REQUIRE_BROWSER)")
        pytest.skip("chromium is not installed (.ci/run installs it)")
    return found


@pytest.mark.slow
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
