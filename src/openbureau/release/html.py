"""The release report a risk analyst reads: one self-contained HTML page (charts embedded as
PNG, no network needed), in the style of the analyst's model report (monitor/report.py).

Top to bottom: the verdict, the checks (failed first, marked), ROC of both models on the
out-of-time sample, score distributions of both on the population, calibration by band,
the fairness audit and the champion-challenger swaps.
"""

from __future__ import annotations

import html
from typing import Any

import numpy as np

from openbureau.monitor.report import STYLE, html_figure, png_base64

EXTRA_STYLE = """
.verdict{font-size:1.3em;padding:.6em 1em;border-radius:6px;margin:1em 0}
.verdict.ok{background:#e7f4ec}.verdict.bad{background:#fbe9ec}
td.why{text-align:left;max-width:560px}tr.fail td{background:#fdf1f3}
.mark{font-weight:700}
"""
MARKS = {"fail": ("FAIL", "bad"), "warn": ("WARN", "warn"), "pass": ("pass", "ok")}
ORDER = {"fail": 0, "warn": 1, "pass": 2, "not_applicable": 3}


def _e(value: object) -> str:
    return html.escape(str(value))


def _roc_png(y: np.ndarray, curves: dict[str, np.ndarray]) -> str:
    import matplotlib.pyplot as plt
    from sklearn.metrics import roc_auc_score, roc_curve

    fig, ax = plt.subplots(figsize=(5, 4))
    for name, pd_ in curves.items():
        fpr, tpr, _ = roc_curve(y, pd_)
        ax.plot(fpr, tpr, label=f"{name} (AUC {roc_auc_score(y, pd_):.3f})")
    ax.plot([0, 1], [0, 1], "--", color="grey", label="chance")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate (defaulters caught)")
    ax.legend(loc="lower right")
    return png_base64(fig)


def _distribution_png(scores: dict[str, np.ndarray], thresholds: list[float]) -> str:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 4))
    bins = list(range(350, 951, 20))
    for name, s in scores.items():
        ax.hist(s, bins=bins, density=True, alpha=0.5, label=name)
    for t in thresholds:
        ax.axvline(t, color="grey", lw=0.8, ls=":")
    ax.set_xlabel("score")
    ax.set_ylabel("density")
    ax.legend()
    return png_base64(fig)


def _calibration_png(rows: list[dict[str, Any]]) -> str:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 4))
    x = np.arange(len(rows))
    pred = np.array([r["predicted"] for r in rows])
    tol = np.array([r["tolerance"] for r in rows])
    ax.bar(x - 0.2, pred, 0.4, label="predicted PD")
    ax.errorbar(x - 0.2, pred, yerr=tol, fmt="none", ecolor="black", capsize=3, label="tolerance")
    ax.bar(x + 0.2, [r["observed"] for r in rows], 0.4, label="observed default rate")
    ax.set_xticks(x, [r["band"] for r in rows], rotation=45, ha="right")
    ax.set_ylabel("default rate")
    ax.legend()
    return png_base64(fig)


def _checks_table(checks: list[dict[str, Any]]) -> str:
    rows = []
    for c in sorted(checks, key=lambda c: ORDER[c["status"]]):
        mark, cls = MARKS.get(c["status"], ("n/a", ""))
        rows.append(
            f'<tr class="{"fail" if c["status"] == "fail" else ""}">'
            f'<td class="mark {cls}">{mark}</td><td>{_e(c["name"])}</td>'
            f'<td class="why">{_e(c["why"])}</td></tr>'
        )
    return "<table><tr><th>result</th><th>check</th><th>why</th></tr>" + "".join(rows) + "</table>"


def _rows_table(rows: list[dict[str, Any]], columns: list[tuple[str, str, str]]) -> str:
    """A table of ``rows``; ``columns`` are (key, header, format spec or '')."""
    if not rows:
        return "<p>none</p>"
    head = "".join(f"<th>{_e(h)}</th>" for _, h, _ in columns)
    body = []
    for r in rows:
        cells = []
        for key, _, spec in columns:
            v = r.get(key)
            text = "" if v is None else format(v, spec) if spec else str(v)
            cls = ""
            if key == "status":
                cls = {"fail": "bad", "warn": "warn", "pass": "ok"}.get(str(v), "")
            cells.append(f'<td class="{cls}">{_e(text)}</td>')
        body.append(
            f'<tr class="{"fail" if r.get("status") == "fail" else ""}">{"".join(cells)}</tr>'
        )
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _fairness_section(fairness: dict[str, Any]) -> str:
    rep = fairness.get("candidate")
    if not rep:
        return f"<p>{_e(fairness.get('why', 'no audit table'))}</p>"
    parts = [
        f"<p>Audit table <code>{_e(fairness.get('audit_table', ''))}</code>: {rep['people']:,} "
        f"people of the out-of-time sample matched ({rep['unmatched']:,} without a row). "
        f"Groups below {rep['rules']['min_group']} people are not tested.</p>",
        "<h3>Groups</h3>",
        _rows_table(
            rep["groups"],
            [
                ("column", "column", ""),
                ("group", "group", ""),
                ("people", "people", ","),
                ("tested", "tested", ""),
                ("mean_score", "mean score", ".1f"),
                ("sd_score", "sd", ".1f"),
            ],
        ),
        "<h3>Adverse impact ratio of approvals</h3>",
        _rows_table(
            rep["air"],
            [
                ("status", "result", ""),
                ("column", "column", ""),
                ("group", "group", ""),
                ("threshold", "threshold", "g"),
                ("rate", "approved", ".1%"),
                ("reference", "reference", ""),
                ("reference_rate", "reference approved", ".1%"),
                ("ratio", "ratio", ".3f"),
                ("z", "z", ".2f"),
            ],
        ),
        "<h3>Standardised mean score difference</h3>",
        _rows_table(
            rep["smd"],
            [
                ("status", "result", ""),
                ("column", "column", ""),
                ("group", "group", ""),
                ("reference", "reference", ""),
                ("mean", "mean", ".1f"),
                ("reference_mean", "reference mean", ".1f"),
                ("d", "d", "+.2f"),
            ],
        ),
        "<h3>Calibration within groups</h3>",
        _rows_table(
            rep["calibration"],
            [
                ("status", "result", ""),
                ("column", "column", ""),
                ("group", "group", ""),
                ("people", "people", ","),
                ("observed", "observed", ".2%"),
                ("predicted", "predicted", ".2%"),
                ("tolerance", "tolerance", ".2%"),
            ],
        ),
    ]
    return "".join(parts)


def _challenger_section(ch: dict[str, Any]) -> str:
    if not ch.get("applicable"):
        return f"<p>{_e(ch.get('why', 'not applicable'))}</p>"
    parts = [
        f"<p>{ch['people']:,} people scored by both. Share whose decision changes at any "
        f"threshold: <b>{ch['any_change_rate']:.1%}</b>.</p>",
        _rows_table(
            ch["decisions"],
            [
                ("threshold", "threshold", "g"),
                ("champion_approved", "champion approves", ","),
                ("candidate_approved", "candidate approves", ","),
                ("swap_in", "swap-in", ","),
                ("swap_out", "swap-out", ","),
                ("change_rate", "decisions changed", ".1%"),
            ],
        ),
    ]
    for d in ch["decisions"]:
        if not (d["swap_in"] or d["swap_out"]):
            continue
        parts.append(f"<h3>At {d['threshold']:g}: by the champion's score band</h3>")
        parts.append(
            _rows_table(
                d["by_band"],
                [("band", "band", ""), ("swap_in", "swap-in", ","), ("swap_out", "swap-out", ",")],
            )
        )
        cols = [("reason", "reason", ""), ("text", "text", ""), ("count", "people", ",")]
        parts.append("<p>Swap-ins, by the champion's top reason:</p>")
        parts.append(_rows_table(d["swap_in_reasons"][:8], cols))
        parts.append("<p>Swap-outs, by the candidate's top reason:</p>")
        parts.append(_rows_table(d["swap_out_reasons"][:8], cols))
    return "".join(parts)


def render(
    report: dict[str, Any],
    label: np.ndarray,
    oot_pd: dict[str, np.ndarray],
    population: dict[str, np.ndarray],
) -> str:
    """The page for ``report`` (release.json's content) with its two charts' data."""
    import matplotlib

    matplotlib.use("Agg")
    ok = report["passed"]
    cand = report["candidate"]
    champ = report["champion"]
    calib = next(c for c in report["checks"] if c["name"] == "calibration")
    figures = [
        html_figure(
            "ROC on the out-of-time sample", _roc_png(label, oot_pd), "ROC curves of both models"
        ),
        html_figure(
            "Score distribution of the population",
            _distribution_png(population, report["thresholds"]),
            "histograms of both models' scores",
        ),
        html_figure(
            "Calibration by score band (candidate, out of time)",
            _calibration_png(calib["details"]),
            "predicted and observed default rate per band",
        ),
    ]
    sample = report["sample"]
    notes = "".join(f"<li>{_e(n)}</li>" for n in report["notes"])
    champ_line = (
        f"champion <code>{_e(champ['model_id'])}</code> "
        f"(trained as of {_e(champ['trained_as_of'])})"
        if champ
        else "no champion: first release"
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>openbureau release report {_e(cand["model_id"])}</title>
<style>{STYLE}{EXTRA_STYLE}</style></head><body>
<h1>Release report</h1>
<p class="sub">candidate <code>{_e(cand["model_id"])}</code> (trained as of
{_e(cand["trained_as_of"])}) · {champ_line} · out of time as of {_e(report["as_of"])},
horizon {report["horizon_months"]} months</p>
<p class="verdict {"ok" if ok else "bad"}"><b>{_e(report["verdict"])}</b></p>
<p>Out-of-time sample: {sample["people"]:,} people eligible at {_e(report["as_of"])},
{sample["defaults"]:,} defaulted within {report["horizon_months"]} months
({sample["default_rate"]:.2%}).</p>
{f"<ul>{notes}</ul>" if notes else ""}
<h2>Checks</h2>
{_checks_table(report["checks"])}
<div class="grid">{"".join(figures)}</div>
<h2>Calibration by score band</h2>
{
        _rows_table(
            calib["details"],
            [
                ("band", "band", ""),
                ("people", "people", ","),
                ("predicted", "predicted", ".2%"),
                ("observed", "observed", ".2%"),
                ("tolerance", "tolerance", ".2%"),
                ("passed", "within", ""),
            ],
        )
    }
<h2>Fairness audit (candidate)</h2>
{_fairness_section(report["fairness"])}
<h2>Champion-challenger</h2>
{_challenger_section(report["challenger"])}
</body></html>
"""
