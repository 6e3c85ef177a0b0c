"""The drift page: one self-contained HTML page (charts inline as PNG, no CDN) built from
the monitor's findings alone, so the CLI and the service's analyst view draw the same page.

Charts are drawn on ``matplotlib.figure.Figure`` objects, not pyplot, so threads of the
service can draw at the same time without sharing pyplot's global state.
"""

from __future__ import annotations

import base64
import html
import io
import itertools
from typing import Any

from openbureau.monitor.report import STYLE, html_figure

EXTRA_STYLE = """
.status{font-size:1.15em;font-weight:600;padding:.5em .8em;border-radius:6px;border:1px solid}
.status.ok{background:#eaf6ee}.status.warn{background:#fff4e0}.status.bad{background:#fde8ec}
#flags td,#flags th{text-align:left}td.msg{max-width:40em}.muted{color:#666}
"""
LEVEL_CLASS = {"ok": "ok", "warn": "warn", "alert": "bad"}
TOP_CSI = 15


def png_base64(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _new_figure(width: float = 5, height: float = 3.2) -> tuple[Any, Any]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    return fig, fig.add_subplot()


def _bin_labels(edges: list[float], right_closed: bool = False) -> list[str]:
    if not edges:
        return ["all"]
    lo, hi = ("≤", ">") if right_closed else ("<", "≥")
    inner = [f"{a:.3g} to {b:.3g}" for a, b in itertools.pairwise(edges)]
    return [f"{lo}{edges[0]:.3g}", *inner, f"{hi}{edges[-1]:.3g}"]


def _bars(labels: list[str], expected: list[float], observed: list[float], xlabel: str) -> str:
    import numpy as np

    fig, ax = _new_figure()
    x = np.arange(len(labels))
    ax.bar(x - 0.2, expected, 0.4, label="development")
    ax.bar(x + 0.2, observed, 0.4, label="now")
    ax.set_xticks(x, labels, rotation=45, ha="right", fontsize=7)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("share of people")
    ax.legend()
    return png_base64(fig)


def _csi_chart(rows: list[dict[str, Any]], warn: float, alert: float) -> str:
    top = rows[:TOP_CSI][::-1]
    fig, ax = _new_figure(6, 0.3 * len(top) + 1)
    colours = [
        "#b00020" if r["csi"] >= alert else "#a15c00" if r["csi"] >= warn else "#4c72b0"
        for r in top
    ]
    ax.barh([r["name"] for r in top], [r["csi"] for r in top], color=colours)
    ax.axvline(warn, color="#a15c00", linestyle="--", linewidth=1)
    ax.axvline(alert, color="#b00020", linestyle="--", linewidth=1)
    ax.set_xlabel("CSI (development vs now)")
    ax.tick_params(axis="y", labelsize=7)
    return png_base64(fig)


def _bands_chart(bands: list[dict[str, Any]]) -> str:
    import numpy as np

    fig, ax = _new_figure()
    x = np.arange(len(bands))
    ax.bar(x - 0.2, [b["expected_rate"] for b in bands], 0.4, label="expected (model PD)")
    ax.bar(x + 0.2, [b["observed_rate"] for b in bands], 0.4, label="observed")
    low = [b["tolerance"][0] for b in bands]
    high = [b["tolerance"][1] for b in bands]
    ax.vlines(x - 0.2, low, high, color="black", linewidth=1, label="binomial range")
    ax.set_xticks(x, [b["band"] for b in bands], rotation=45, ha="right", fontsize=7)
    ax.set_ylabel("default rate")
    ax.legend(fontsize=7)
    return png_base64(fig)


def _e(value: object) -> str:
    return html.escape(str(value))


def _flags_section(flags: list[dict[str, Any]]) -> str:
    if not flags:
        return '<p id="no-flags" class="ok">No flags: every metric is within its thresholds.</p>'
    rows = "".join(
        f'<tr data-metric="{_e(f["metric"])}" data-subject="{_e(f["subject"])}">'
        f'<td class="{LEVEL_CLASS[f["level"]]}">{_e(f["level"])}</td><td>{_e(f["metric"])}</td>'
        f"<td>{_e(f['subject'])}</td><td>{f['value']:.4g}</td><td>{f['threshold']:.4g}</td>"
        f'<td class="msg">{_e(f["message"])}</td></tr>'
        for f in flags
    )
    return (
        '<table id="flags"><tr><th>level</th><th>metric</th><th>subject</th><th>value</th>'
        f"<th>threshold</th><th>what it means</th></tr>{rows}</table>"
    )


def _stability_section(stability: dict[str, Any], th: dict[str, float]) -> str:
    subjects = [("score", stability["score"]), *stability["factors"].items()]
    figures = "".join(
        html_figure(
            f"{_title(name)}: PSI {d['psi']:.3f}",
            _bars(_bin_labels(d["edges"]), d["expected"], d["observed"], "development decile bin"),
            f"share of people per development decile of the {name}, development and now",
        )
        for name, d in subjects
    )
    rows = "".join(
        f'<tr><td>{_e(name)}</td><td class="{_class(d["psi"], th["psi_warn"], th["psi_alert"])}">'
        f"{d['psi']:.4f}</td></tr>"
        for name, d in subjects
    )
    return (
        f'<div class="grid">{figures}</div>'
        f'<table id="psi"><tr><th>what</th><th>PSI</th></tr>{rows}</table>'
    )


def _title(name: str) -> str:
    return "Score" if name == "score" else f"{name.capitalize()} sub-score"


def _class(value: float, warn: float, alert: float) -> str:
    return "bad" if abs(value) >= alert else "warn" if abs(value) >= warn else "ok"


def _csi_row(r: dict[str, Any], th: dict[str, float]) -> str:
    csi_class = _class(r["csi"], th["csi_warn"], th["csi_alert"])
    change = r["missing_change_points"]
    missing_class = _class(change, th["missing_warn"], th["missing_alert"])
    return (
        f'<tr data-feature="{_e(r["name"])}"><td>{_e(r["name"])}</td><td>{_e(r["factor"])}</td>'
        f'<td class="{csi_class}">{r["csi"]:.4f}</td>'
        f"<td>{r['dev_missing']:.1%}</td><td>{r['now_missing']:.1%}</td>"
        f'<td class="{missing_class}">{change:+.1f}</td></tr>'
    )


def _inputs_section(inputs: dict[str, Any], th: dict[str, float]) -> str:
    if not inputs.get("available"):
        return f'<p id="csi-unavailable" class="warn">{_e(inputs.get("reason"))}</p>'
    rows_data = inputs["features"]
    rows = "".join(_csi_row(r, th) for r in rows_data)
    chart = html_figure(
        f"The {min(TOP_CSI, len(rows_data))} inputs that moved most",
        _csi_chart(rows_data, th["csi_warn"], th["csi_alert"]),
        "CSI per model input, largest first, with the warn and alert lines",
    )
    return (
        f'<div class="grid">{chart}</div><table id="csi"><tr><th>input</th><th>factor</th>'
        "<th>CSI</th>"
        "<th>missing (development)</th><th>missing (now)</th><th>change (points)</th></tr>"
        f"{rows}</table>"
    )


def _outcomes_section(outcomes: dict[str, Any]) -> str:
    if "observed_until" not in outcomes:
        return f'<p id="outcomes-unavailable" class="muted">{_e(outcomes.get("reason"))}</p>'
    head = (
        f'<p id="elapsed">Data through {_e(outcomes["observed_until"])}: '
        f"{outcomes['elapsed_months']:.1f} of {outcomes['horizon_months']} months of the "
        f"model's horizon have elapsed ({outcomes['elapsed_share']:.0%}). "
        f"{outcomes['people_at_risk']:,} people at risk, {outcomes['defaults']:,} defaults; "
        f"{outcomes['excluded_defaulted_before']:,} left out (default recorded before the "
        "scores' as_of). The PD is pro-rated by the elapsed share.</p>"
    )
    if not outcomes.get("available"):
        return head + f'<p id="outcomes-unavailable" class="muted">{_e(outcomes.get("reason"))}</p>'
    bands = outcomes["bands"]
    rows = "".join(
        f'<tr data-band="{_e(b["band"])}"><td>{_e(b["band"])}</td><td>{b["people"]:,}</td>'
        f"<td>{b['defaults']:,}</td><td>{b['predicted_pd']:.2%}</td><td>{b['expected_rate']:.2%}</td>"
        f'<td class="{"bad" if b["flagged"] else "ok"}">{b["observed_rate"]:.2%}</td>'
        f"<td>{b['tolerance'][0]:.2%} to {b['tolerance'][1]:.2%}</td></tr>"
        for b in bands
    )
    chart = html_figure(
        "Default rate by score band",
        _bands_chart(bands),
        "expected and observed default rate per score band",
    )
    return (
        f'{head}<div class="grid">{chart}</div><table id="bands"><tr><th>band</th>'
        "<th>people</th><th>defaults</th>"
        "<th>PD (horizon)</th><th>expected so far</th><th>observed</th><th>tolerance</th></tr>"
        f"{rows}</table>"
    )


def build_page(result: dict[str, Any]) -> str:
    """The drift page for the findings of ``drift.compare`` (what monitor.json holds)."""
    state = result["status"]
    counts = {lvl: sum(f["level"] == lvl for f in result["flags"]) for lvl in ("alert", "warn")}
    th = result["thresholds"]
    pop, dev = result["population"], result["development"]
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>openbureau drift monitor {_e(result["model_id"])}</title>
<style>{STYLE}{EXTRA_STYLE}</style></head><body>
<h1>Drift monitor</h1>
<p class="sub">model <code>{_e(result["model_id"])}</code> · development sample as of
{_e(dev["as_of"])} (horizon {dev["horizon_months"]} months) · scored population as of
{_e(", ".join(pop["as_of"]))}, {pop["people"]:,} people · {_e(result["generated_at"])}</p>
<p id="status" class="status {LEVEL_CLASS[state]}" data-status="{_e(state)}">Status:
{_e(state.upper())}: {counts["alert"]} alert(s), {counts["warn"]} warning(s)
(exit code {result["exit_code"]}).</p>
<h2>Flags</h2>
{_flags_section(result["flags"])}
<h2>Score and factor distributions, development vs now</h2>
<p>PSI below {th["psi_warn"]:g} is stable, from {th["psi_warn"]:g} worth watching, from
{th["psi_alert"]:g} an alert.</p>
{_stability_section(result["stability"], th)}
<h2>Model inputs: CSI and missing values</h2>
{_inputs_section(result["inputs"], th)}
<h2>Default rates by score band</h2>
{_outcomes_section(result["outcomes"])}
</body></html>
"""
