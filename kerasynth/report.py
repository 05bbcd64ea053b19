"""The evaluation report's page: its layout, the HTML, and writing it.

`kerasynth.evaluation` computes the metrics and `kerasynth.figures` draws
the figures; `table_page` and `image_page` lay them out (the summary first:
fidelity, privacy verdict, utility, coloured by the limits of
`kerasynth.verdicts`; then the details), `render_html` makes one
self-contained page (figures embedded as base64 PNGs, so it can be mailed or
opened from anywhere), and `write_report` writes ``metrics.json``, the PNGs
and ``report.html`` atomically (a staged folder renamed into place).
"""

from __future__ import annotations

import base64
import html
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from kerasynth import atomic
from kerasynth.verdicts import level

# === Page layout ===


def table_page(
    title: str, metrics: dict, figures: dict[str, bytes], target: str | None = None
) -> str:
    """The page of `kerasynth.evaluation.evaluate_table`'s metrics.

    With `metrics["floor"]` (a floor model's headline figures), each summary
    card names the floor's figure beside the model's.
    """
    quality, related = metrics["quality"], metrics["relationships"]
    floor = metrics.get("floor")

    def beside(note: str, name: str) -> str:
        if floor is None or floor.get(name) is None:
            return note
        return f"{note}; floor {floor[name]:.3f}"

    counted = sum(p["contributes"] for p in quality["details"]["column_pair_trends"])
    pairs = len(quality["details"]["column_pair_trends"])
    summary = [
        {"label": "Quality score", "value": quality["overall"],
         "note": beside(f"sdmetrics 0.32 QualityReport, 1 is best; Column Pair "
                        f"Trends over {counted} of {pairs} pairs", "quality"),
         "level": level("quality", quality["overall"])},
        {"label": "Detection AUC", "value": metrics["detection_auc"],
         "note": beside("random forest telling training from synthetic rows, "
                        "0.5 is ideal", "detection_auc"),
         "level": level("detection_auc", metrics["detection_auc"])},
        _relationship_card(related, beside),
    ]  # fmt: skip
    if "privacy" in metrics:
        summary.append(_privacy_card(metrics["privacy"]))
        summary.append(_dcr_card(metrics["privacy"]["dcr_overfitting"], beside))
    if "differential_privacy" in metrics:
        summary.append(_budget_card(metrics["differential_privacy"]))
    if "utility" in metrics:
        summary.append(
            {"label": "Utility ratio", "value": metrics["utility"]["ratio"],
             "note": f"train on synthetic / train on real, predicting {target}",
             "level": level("utility_ratio", metrics["utility"]["ratio"])}
        )  # fmt: skip
    scores = {k: v for k, v in quality.items() if k not in ("details", "thresholds")}
    fidelity_tables = {
        "Quality (sdmetrics 0.32)": scores,
        "The study's Table I": pd.DataFrame(metrics["table_one"]),
    }
    if floor is not None:
        fidelity_tables["Model and floor"] = pd.DataFrame(
            {"model": metrics["headline"], "floor": floor}
        )
    sections = [
        {"title": "Fidelity",
         "text": "Column shapes (KS / TV complements) and column-pair trends "
                 "(correlation / contingency similarity), as sdmetrics 0.32's "
                 "QualityReport defines them: a pair counts only when its real "
                 f"|r| exceeds {quality['thresholds']['real_correlation_threshold']}"
                 " or its real Cramer's V exceeds "
                 f"{quality['thresholds']['real_association_threshold']}; "
                 "column_pair_trends_all_pairs averages every pair.",
         "tables": fidelity_tables,
         "figures": {"Per-column distributions (real vs synthetic)":
                     figures["distributions"]}},
        _relationships_section(related),
        {"title": "Structure",
         "figures": {k: v for k, v in (
             ("Correlations: real, synthetic, difference",
              figures.get("correlations")),
             ("PCA of the normalised rows", figures["pca"])) if v}},
    ]  # fmt: skip
    if "privacy" in metrics:
        sections.append(
            {"title": "Privacy", "tables": {"Privacy": metrics["privacy"]},
             "text": "Distances to the closest record in a normalised space; a "
                     "membership-inference attack scores train against holdout "
                     "rows by their distance to the synthetic set; "
                     "DCROverfittingProtection counts synthetic rows closer to "
                     "a training row than to a holdout row (sdmetrics' range-"
                     "normalised distance), against the share a fresh sample "
                     "shows, n_train / (n_train + n_holdout)."}
        )  # fmt: skip
    else:
        sections.append(
            {"title": "Privacy",
             "text": "Not computed: no holdout (give --holdout or "
                     "--holdout-fraction)."}
        )  # fmt: skip
    if "utility" in metrics:
        sections.append({"title": "Utility", "tables": {"TSTR": metrics["utility"]}})
    sections.append(_protocol_section(metrics["protocol"]))
    return render_html(title, summary, sections)


def _relationship_card(related: dict, beside) -> dict:
    worst = related["worst"]
    if worst is None:
        return {"label": "Worst relationship gap", "value": "no strong pair",
                "note": f"no pair with real |r| >= {related['correlation_threshold']}"
                        f" or Cramer's V >= {related['association_threshold']}",
                "level": "ok"}  # fmt: skip
    synthetic = worst["synthetic"]
    shown = "undefined" if synthetic is None else f"{synthetic:.3f}"
    statistic = {"pearson_r": "r", "cramers_v": "Cramer's V"}[worst["statistic"]]
    note = (
        f"{' ~ '.join(worst['columns'])}: real {statistic} {worst['real']:.3f}, "
        f"synthetic {shown}"
    )
    return {
        "label": "Worst relationship gap",
        "value": worst["gap"],
        "note": beside(note, "worst_relationship_gap"),
        "level": level("worst_relationship_gap", worst["gap"]),
    }


def _relationships_section(related: dict) -> dict:
    text = (
        "Every pair of columns whose real association is strong (Pearson's |r| "
        f">= {related['correlation_threshold']} for two numerical columns, "
        f"Cramer's V >= {related['association_threshold']} otherwise), real next "
        "to synthetic, largest gap first."
    )
    if not related["pairs"]:
        return {"title": "Relationships", "text": text + " No pair is that strong."}
    frame = pd.DataFrame(
        [
            {
                "pair": " ~ ".join(p["columns"]),
                "statistic": p["statistic"],
                "real": p["real"],
                "synthetic": p["synthetic"],
                "gap": p["gap"],
            }
            for p in related["pairs"]
        ]  # fmt: skip
    ).set_index("pair")
    return {"title": "Relationships", "text": text, "tables": {"Strong pairs": frame}}


def _dcr_card(overfitting: dict, beside) -> dict:
    shared = overfitting["dcr_excess_shared_ranges"]
    return {
        "label": "DCR excess",
        "value": shared,
        "note": beside(
            f"closer-to-training share minus {overfitting['baseline']:.3f}, the "
            "share of a fresh sample, with one set of column ranges; sdmetrics' "
            f"per-set ranges give {overfitting['closer_to_training']:.3f} - "
            f"{overfitting['baseline']:.3f} = {overfitting['dcr_excess']:.3f}",
            "dcr_excess_shared_ranges",
        ),
        "level": level("dcr_excess_shared_ranges", shared),
    }


def image_page(
    title: str, metrics: dict, figures: dict[str, bytes], copy_thresholds: dict
) -> str:
    """The page of `kerasynth.evaluation.evaluate_images`' metrics;
    `copy_thresholds` are the SSIM and NCC at which an image is a copy."""
    fidelity, audits = metrics["fidelity"], metrics["memorization"]
    ssim_copy, ncc_copy = copy_thresholds["ssim"], copy_thresholds["ncc"]
    copy_share = max(audits["ssim"]["copy_share"], audits["ncc"]["copy_share"])
    if metrics["derived_from_real"]:
        privacy_card = {
            "label": "Privacy",
            "value": "derived from real images",
            "note": "each sample translates a real training image (median "
            f"correlation {audits['ncc']['median']:.3f} with its nearest "
            "one): not new patients, do not share as synthetic data",
            "level": "bad",
        }
    else:
        privacy_card = {
            "label": "Privacy",
            "value": "copies found" if copy_share > 0 else "no copies",
            "note": f"{copy_share:.1%} of synthetic images have SSIM >= "
                    f"{ssim_copy} or correlation >= {ncc_copy} with a "
                    "training image",
            "level": level("copy_share", copy_share)}  # fmt: skip
    detection, formless = metrics["detection"], metrics["formless"]
    summary = [
        {"label": "Frechet distance", "value": fidelity["frechet_distance"],
         "note": fidelity["feature_space"], "level": "ok"},
        {"label": "Detection AUC", "value": detection["auc"],
         "note": f"CNN telling {detection['num_real']} real "
                 f"{metrics['protocol']['detection_real']} from "
                 f"{detection['num_synthetic']} synthetic, {detection['folds']}-fold"
                 " out-of-fold, 0.5 is ideal",
         "level": level("image_detection_auc", detection["auc"])},
        {"label": "Formless samples", "value": formless["share"],
         "note": f"{formless['count']} of {formless['num_synthetic']} with a mask "
                 "area or contrast far outside the real images' range",
         "level": level("formless_share", formless["share"])},
        {"label": "Coverage", "value": fidelity["coverage"],
         "note": "share of real images with a synthetic neighbour, 1 is best",
         "level": level("coverage", fidelity["coverage"])},
        privacy_card,
    ]  # fmt: skip
    if "differential_privacy" in metrics:
        summary.append(_budget_card(metrics["differential_privacy"]))
    if "utility" in metrics:
        ratio = metrics["utility"]["ratio"]
        summary.append({"label": "Utility ratio", "value": ratio,
                        "note": "CNN trained on synthetic / on real",
                        "level": level("utility_ratio", ratio)})  # fmt: skip
    sections = [
        {"title": "Fidelity",
         "text": f"Feature space: {fidelity['feature_space']}. The detector is "
                 "a small CNN trained to tell real images from synthetic ones "
                 "(a classifier two-sample test, Lopez-Paz & Oquab 2017); a "
                 "formless sample has a mask area or a pixel contrast far "
                 "outside the real images' range (the table gives the rule).",
         "tables": {"Set distances": {k: v for k, v in fidelity.items()},
                    "Detection (classifier two-sample test)": detection,
                    "Formless samples": _formless_table(formless),
                    "Per pair": {f"{k} median": v["median"]
                                 for k, v in metrics["per_pair"].items()}},
         "figures": {"Synthetic samples": figures["samples"],
                     **({"Formless samples (the first 16)": figures["formless"]}
                        if "formless" in figures else {}),
                     "PCA of raw pixels (real vs synthetic)": figures["pca"],
                     "Per-pair metric histograms": figures["per_pair_histograms"]}},
        {"title": "Memorization",
         "text": "Each synthetic image against its nearest training image, by "
                 f"SSIM (a copy: >= {ssim_copy}) and by normalized "
                 f"correlation (a copy: >= {ncc_copy}, which "
                 "also catches noisy copies); with a holdout, the share above "
                 "the 95th percentile of real held-out images says whether "
                 "synthetic images sit closer to train than real ones do.",
         "tables": {f"Audit by {name.upper()}": {
             k: v for k, v in audits[name].items()
             if not isinstance(v, list)} for name in ("ssim", "ncc")},
         "figures": ({"Closest pairs (synthetic | training)":
                      figures["nearest_pairs"]} if "nearest_pairs" in figures
                     else {})},
    ]  # fmt: skip
    if "utility" in metrics:
        sections.append({"title": "Utility", "tables": {"TSTR": metrics["utility"]}})
    sections.append(_protocol_section(metrics["protocol"]))
    return render_html(title, summary, sections)


def _formless_table(formless: dict) -> dict:
    """`formless` with its ranges as text (tables leave lists out)."""
    ranges = ("area_range", "std_range", "real_area", "real_std")
    return {
        key: f"{value[0]:.3g} to {value[1]:.3g}" if key in ranges else value
        for key, value in formless.items()
        if key != "indices"
    }


def _protocol_section(protocol: dict) -> dict:
    text = "How these figures were obtained."
    if protocol.get("holdout") and not protocol.get("holdout_unseen_by_model", True):
        text += (
            " Caution: the holdout was split from data the model was trained "
            "on, so privacy figures against it say nothing about leakage; "
            "train with --holdout-fraction to keep rows unseen."
        )
    return {"title": "Protocol", "text": text, "tables": {"Protocol": protocol}}


def _budget_card(record: dict | None) -> dict:
    """The differential privacy budget the model spent, or that it has none."""
    if record is None:
        return {"label": "Differential privacy", "value": "none",
                "note": "trained without a privacy budget: no guarantee, only "
                "the attacks above", "level": "warn"}  # fmt: skip
    return {
        "label": "Differential privacy",
        "value": f"epsilon {record['epsilon']:.3g}",
        "note": f"delta {record['delta']:g}, {record['accountant']}, "
        f"{record['neighbouring']}; preprocessing {record['preprocessing']}",
        "level": "ok",
    }


def _privacy_card(privacy_metrics: dict) -> dict:
    auc = privacy_metrics["mia_auc"]
    copies = privacy_metrics["exact_copies"]["count"]
    closer = privacy_metrics["closer_to_train_share"]
    share = privacy_metrics["exact_copies"]["share"]
    risky = "bad" in (level("exact_copy_share", share), level("mia_auc", auc),
                      level("closer_to_train_share", closer))  # fmt: skip
    verdict = "at risk" if risky else "no leak found"
    return {
        "label": "Privacy",
        "value": verdict,
        "note": f"membership AUC {auc:.3f}, closer-to-train {closer:.2f}, "
        f"{copies} exact copies",
        "level": "bad" if risky else "ok",
    }


# === HTML ===


def _format(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return html.escape(str(value))


def _flatten(rows: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat = {}
    for key, value in rows.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(_flatten(value, f"{name} "))
        elif not isinstance(value, list | tuple):
            flat[name] = value
    return flat


def _table(rows: Mapping[str, Any]) -> str:
    body = "".join(
        f"<tr><th>{html.escape(str(k))}</th><td>{_format(v)}</td></tr>"
        for k, v in _flatten(rows).items()
    )
    return f"<table>{body}</table>"


def _frame_table(frame: pd.DataFrame) -> str:
    return frame.to_html(float_format=lambda v: f"{v:.4g}", border=0)


STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1100px;
       color: #222; }
h1 { margin-bottom: 0.2rem; } .protocol { color: #555; }
.summary { display: flex; gap: 1rem; flex-wrap: wrap; margin: 1rem 0 2rem; }
.card { border: 1px solid #ddd; border-radius: 8px; padding: 0.8rem 1.2rem;
        min-width: 14rem; }
.card .value { font-size: 1.6rem; font-weight: 600; }
.ok { color: #1a7f37; } .warn { color: #b35900; } .bad { color: #c62828; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; }
th, td { border-bottom: 1px solid #eee; padding: 0.25rem 0.7rem; text-align: right; }
th { text-align: left; } figure { margin: 1rem 0 2rem; }
figure img { max-width: 100%; } figcaption { color: #555; }
"""


def _slug(text: str) -> str:
    return html.escape(text.lower().replace(" ", "-"))


def render_html(title: str, summary: list[dict], sections: list[dict]) -> str:
    """The report page.

    Args:
        title: the page title.
        summary: cards ``{"label", "value", "note", "level"}`` (level: ok,
            warn or bad).
        sections: ``{"title", "tables": {name: dict | DataFrame},
            "figures": {caption: png_bytes}, "text"}``.
    """
    cards = "".join(
        f'<div class="card" id="summary-{_slug(c["label"])}">'
        f"<div>{html.escape(c['label'])}</div>"
        f'<div class="value {c.get("level", "ok")}">{_format(c["value"])}</div>'
        f"<div>{html.escape(c.get('note', ''))}</div></div>"
        for c in summary
    )
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f'<section class="summary" id="summary">{cards}</section>',
    ]
    for section in sections:
        parts.append(f"<section><h2>{html.escape(section['title'])}</h2>")
        if section.get("text"):
            parts.append(f"<p class='protocol'>{html.escape(section['text'])}</p>")
        for name, table in section.get("tables", {}).items():
            parts.append(f"<h3>{html.escape(name)}</h3>")
            is_frame = isinstance(table, pd.DataFrame)
            parts.append(_frame_table(table) if is_frame else _table(table))
        for caption, png in section.get("figures", {}).items():
            encoded = base64.b64encode(png).decode("ascii")
            parts.append(
                f"<figure><img alt='{html.escape(caption)}' "
                f"src='data:image/png;base64,{encoded}'>"
                f"<figcaption>{html.escape(caption)}</figcaption></figure>"
            )
        parts.append("</section>")
    parts.append("</body></html>")
    return "".join(parts)


def write_report(
    output: str | Path,
    metrics: dict[str, Any],
    page: str,
    figures: Mapping[str, bytes],
    overwrite: bool = False,
) -> Path:
    """Writes ``metrics.json``, ``figures/*.png`` and ``report.html`` into
    `output`, staged and renamed into place."""
    with atomic.staged_directory(Path(output), overwrite=overwrite) as staging:
        atomic.write_json(staging / "metrics.json", metrics)
        (staging / "figures").mkdir()
        for name, png in figures.items():
            (staging / "figures" / f"{name}.png").write_bytes(png)
        (staging / "report.html").write_text(page, encoding="utf-8")
    return Path(output)
