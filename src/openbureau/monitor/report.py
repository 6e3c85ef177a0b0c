"""The analyst's model report: one self-contained HTML page (plots embedded as PNG), no
network needed to view it.

It reads the model folder (artifact, hold-out scores, development bins) and, when given,
a scored population (``openbureau score`` output) for the score distribution and PSI.
"""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq

from openbureau.monitor.stability import Bins, psi
from openbureau.workflow.train import DEVELOPMENT_FILE, EVALUATION_DIR, HOLDOUT_FILE, ks_statistic

BAND_WIDTH = 50
STYLE = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{margin-bottom:0}.sub{color:#666;margin-top:.2em}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(480px,1fr));gap:1.2em}
figure{margin:0;border:1px solid #ddd;border-radius:6px;padding:.6em}
figcaption{font-weight:600;margin-bottom:.4em}img{width:100%;height:auto}
table{border-collapse:collapse;margin:.6em 0}td,th{border:1px solid #ddd;padding:.3em .6em;
text-align:right}th:first-child,td:first-child{text-align:left}
.ok{color:#17653a}.warn{color:#a15c00}.bad{color:#b00020}
"""


def png_base64(fig: Any) -> str:
    """A Matplotlib figure as base64 PNG, closed after: reports embed their plots inline so
    they open offline."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def html_figure(title: str, png: str, alt: str) -> str:
    """A captioned inline image with alt text (reports are read with screen readers too)."""
    return (
        f"<figure><figcaption>{html.escape(title)}</figcaption>"
        f'<img src="data:image/png;base64,{png}" alt="{html.escape(alt)}"></figure>'
    )


def _roc(y: np.ndarray, pd_: np.ndarray) -> tuple[str, float]:
    import matplotlib.pyplot as plt
    from sklearn.metrics import roc_auc_score, roc_curve

    fpr, tpr, _ = roc_curve(y, pd_)
    auc = float(roc_auc_score(y, pd_))
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.plot(fpr, tpr, label=f"model (AUC {auc:.3f})")
    ax.plot([0, 1], [0, 1], "--", color="grey", label="chance")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate (defaulters caught)")
    ax.legend(loc="lower right")
    return png_base64(fig), auc


def _ks(y: np.ndarray, score: np.ndarray) -> tuple[str, float]:
    import matplotlib.pyplot as plt

    grid = np.linspace(350, 950, 241)
    bad = np.searchsorted(np.sort(score[y == 1]), grid, side="right") / max((y == 1).sum(), 1)
    good = np.searchsorted(np.sort(score[y == 0]), grid, side="right") / max((y == 0).sum(), 1)
    ks = ks_statistic(y, -score)
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.plot(grid, bad, label="defaulters")
    ax.plot(grid, good, label="non-defaulters")
    at = int(np.argmax(np.abs(bad - good)))
    ax.vlines(grid[at], good[at], bad[at], color="black", label=f"KS {ks:.3f}")
    ax.set_xlabel("score")
    ax.set_ylabel("cumulative share")
    ax.legend(loc="lower right")
    return png_base64(fig), ks


def _bands(score: np.ndarray) -> np.ndarray:
    return (np.floor(score / BAND_WIDTH) * BAND_WIDTH).astype(int)


def calibration_by_band(y: np.ndarray, score: np.ndarray, pd_: np.ndarray) -> list[dict[str, Any]]:
    bands = _bands(score)
    rows = []
    for b in np.unique(bands):
        m = bands == b
        rows.append(
            {
                "band": f"{b}-{b + BAND_WIDTH - 1}",
                "people": int(m.sum()),
                "predicted": float(pd_[m].mean()),
                "observed": float(y[m].mean()),
            }
        )
    return rows


def _calibration_plot(rows: list[dict[str, Any]]) -> str:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 4))
    x = np.arange(len(rows))
    ax.bar(x - 0.2, [r["predicted"] for r in rows], 0.4, label="predicted PD")
    ax.bar(x + 0.2, [r["observed"] for r in rows], 0.4, label="observed default rate")
    ax.set_xticks(x, [r["band"] for r in rows], rotation=45, ha="right")
    ax.set_ylabel("default rate")
    ax.legend()
    return png_base64(fig)


def _distribution(dev: np.ndarray, scored: np.ndarray | None) -> str:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 4))
    bins = list(range(350, 951, 20))
    ax.hist(dev, bins=bins, density=True, alpha=0.55, label="development (hold-out)")
    if scored is not None:
        ax.hist(scored, bins=bins, density=True, alpha=0.55, label="scored population")
    ax.set_xlabel("score")
    ax.set_ylabel("density")
    ax.legend()
    return png_base64(fig)


def _weights_plot(weights: dict[str, dict[str, float]]) -> str:
    import matplotlib.pyplot as plt

    segments = list(weights)
    factors = list(next(iter(weights.values())))
    fig, ax = plt.subplots(figsize=(5, 4))
    x = np.arange(len(factors))
    width = 0.8 / max(len(segments), 1)
    for i, seg in enumerate(segments):
        vals = [weights[seg][f] or 0.0 for f in factors]
        ax.bar(x + (i - (len(segments) - 1) / 2) * width, vals, width, label=seg)
    ax.set_xticks(x, factors)
    ax.set_ylabel("share of score variance")
    ax.legend(title="segment")
    return png_base64(fig)


def _psi_class(value: float) -> str:
    return "ok" if value < 0.1 else "warn" if value < 0.25 else "bad"


def build_report(model_dir: Path, scores: Path | None = None) -> tuple[str, dict[str, Any]]:
    """The HTML page and the numbers on it (for JSON and tests)."""
    import matplotlib

    matplotlib.use("Agg")
    manifest = json.loads((model_dir / "artifact.json").read_text())
    evaluation = model_dir / EVALUATION_DIR
    holdout = pq.read_table(evaluation / HOLDOUT_FILE)
    development = json.loads((evaluation / DEVELOPMENT_FILE).read_text())
    y = holdout.column("label").to_numpy().astype(int)
    score = holdout.column("score").to_numpy()
    pd_ = holdout.column("pd").to_numpy()

    roc_png, auc = _roc(y, pd_)
    ks_png, ks = _ks(y, score)
    calibration = calibration_by_band(y, score, pd_)
    scored_scores = None
    stability: dict[str, float] = {}
    if scores is not None:
        scored = pq.read_table(scores)
        scored_scores = scored.column("score").to_numpy()
        stability["score"] = psi(Bins.from_dict(development["score_bins"]), scored_scores)
        for factor, bins in development["factor_bins"].items():
            stability[factor] = psi(
                Bins.from_dict(bins), scored.column(f"points_{factor}").to_numpy()
            )
    numbers = {
        "model_id": manifest["model_id"],
        "holdout_rows": len(y),
        "auc": auc,
        "ks": ks,
        "calibration": calibration,
        "factor_weights": development["factor_weights"],
        "psi": stability,
    }
    figures = [
        html_figure("ROC on the hold-out sample", roc_png, f"ROC curve, AUC {auc:.3f}"),
        html_figure(
            "KS: score distributions of defaulters and non-defaulters", ks_png, f"KS {ks:.3f}"
        ),
        html_figure(
            "Calibration by score band",
            _calibration_plot(calibration),
            "predicted and observed default rate per score band",
        ),
        html_figure(
            "Score distribution", _distribution(score, scored_scores), "histogram of scores"
        ),
        html_figure(
            "Factor weights per segment",
            _weights_plot(development["factor_weights"]),
            "share of score variance each factor carries, per segment",
        ),
    ]
    cal_rows = "".join(
        f"<tr><td>{r['band']}</td><td>{r['people']:,}</td><td>{r['predicted']:.2%}</td>"
        f"<td>{r['observed']:.2%}</td></tr>"
        for r in calibration
    )
    weight_rows = "".join(
        f"<tr><td>{html.escape(seg)}</td>"
        + "".join(f"<td>{(w or 0):.1%}</td>" for w in ws.values())
        + "</tr>"
        for seg, ws in development["factor_weights"].items()
    )
    factors = list(next(iter(development["factor_weights"].values())))
    psi_rows = (
        "".join(
            f'<tr><td>{html.escape(k)}</td><td class="{_psi_class(v)}">{v:.4f}</td></tr>'
            for k, v in stability.items()
        )
        or '<tr><td colspan="2">no scored population given (use --scores)</td></tr>'
    )
    scaling = manifest.get("scaling", {})
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>openbureau model report {html.escape(manifest["model_id"])}</title>
<style>{STYLE}</style></head><body>
<h1>Model report</h1>
<p class="sub">model <code>{html.escape(manifest["model_id"])}</code> · feature catalog
<code>{html.escape(manifest["catalog_version"])}</code> · trained on data
<code>{html.escape(str(manifest.get("data_hash", ""))[:16])}</code> · development as of
{html.escape(development["as_of"])}, horizon {development["horizon_months"]} months</p>
<p>Hold-out: {len(y):,} people, default rate {y.mean():.2%}. <b>AUC {auc:.4f}</b>,
<b>KS {ks:.4f}</b>. Scale: {html.escape(json.dumps(scaling))}.</p>
<div class="grid">{"".join(figures)}</div>
<h2>Calibration by score band</h2>
<table><tr><th>band</th><th>people</th><th>predicted PD</th><th>observed</th></tr>
{cal_rows}</table>
<h2>Factor weights per segment</h2>
<table><tr><th>segment</th>{"".join(f"<th>{html.escape(f)}</th>" for f in factors)}</tr>
{weight_rows}</table>
<h2>Population stability (PSI, scored vs development)</h2>
<p>Below 0.1 stable, 0.1 to 0.25 watch, above 0.25 shifted.</p>
<table><tr><th>what</th><th>PSI</th></tr>{psi_rows}</table>
</body></html>
"""
    return page, numbers


def write_report(model_dir: Path, out: Path, scores: Path | None = None) -> dict[str, Any]:
    page, numbers = build_report(model_dir, scores)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    return numbers
