"""``openbureau monitor``: has the scored population drifted from the model's development
sample? Writes ``monitor.json`` (for alerting) and ``monitor.html`` (for people).

Exit codes: 0 when the status is ok or warn, 4 when an alert is raised (so a scheduler
can page someone), 2 for a usage error (missing file, bad option). Registered in the CLI
with ``app.command(name="monitor")(monitor)``; heavy libraries load inside the function
so ``openbureau --help`` stays fast.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from openbureau.cliutil import optional_date, usage_errors


def monitor(
    model_dir: Path = typer.Option(..., "--model", help="Model folder from `train`."),
    scores: Path = typer.Option(
        ..., "--scores", help="Scored population (from `score` or `rescore`)."
    ),
    out_dir: Path = typer.Option(..., "--out", help="Folder for monitor.json and monitor.html."),
    features: Path | None = typer.Option(
        None, "--features", help="Features of the scored people (Parquet, as `rescore` writes)."
    ),
    store: Path | None = typer.Option(
        None,
        "--store",
        help="Store to recompute features from (without --features) and to read outcomes "
        "from (default for --outcomes: $OPENBUREAU_STORE or ./openbureau-data).",
    ),
    outcomes: bool = typer.Option(
        False, "--outcomes", help="Compare default rates by score band with the predicted PD."
    ),
    observed_until: str | None = typer.Option(
        None,
        "--observed-until",
        help="Count outcomes up to this date (default: the store's latest dated event).",
    ),
    psi_warn: float = typer.Option(0.10, "--psi-warn", help="PSI of score/factors: warn."),
    psi_alert: float = typer.Option(0.25, "--psi-alert", help="PSI of score/factors: alert."),
    csi_warn: float = typer.Option(0.10, "--csi-warn", help="CSI of an input: warn."),
    csi_alert: float = typer.Option(0.25, "--csi-alert", help="CSI of an input: alert."),
    missing_warn: float = typer.Option(
        5.0, "--missing-warn", help="Missing-rate change in points: warn."
    ),
    missing_alert: float = typer.Option(
        10.0, "--missing-alert", help="Missing-rate change in points: alert."
    ),
    band_confidence: float = typer.Option(
        0.99, "--band-confidence", help="Binomial interval of a band's default count."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print monitor.json on stdout."),
) -> None:
    """Compare a scored population with the model's development sample: score and factor
    PSI, input CSI, missing-value rates, default rates by band; exit 4 on an alert."""
    from rich.console import Console

    from openbureau.monitor.drift import HTML_FILE, JSON_FILE, run_monitor
    from openbureau.monitor.thresholds import Thresholds

    until = optional_date(observed_until, "--observed-until")
    with usage_errors((TypeError, ValueError, FileNotFoundError)):
        thresholds = Thresholds(
            psi_warn, psi_alert, csi_warn, csi_alert, missing_warn, missing_alert, band_confidence
        )
        result = run_monitor(
            model_dir,
            scores,
            out_dir,
            features=features,
            store=store,
            outcomes=outcomes,
            observed_until=until,
            thresholds=thresholds,
        )
    if as_json:
        sys.stdout.write(json.dumps(result, indent=2) + "\n")
    else:
        out = Console()
        flags = result["flags"]
        out.print(
            f"status {result['status']}: {len(flags)} flag(s) for model {result['model_id']} "
            f"on {result['population']['people']:,} people"
        )
        for f in flags[:10]:
            out.print(f"  {f['level']:5} {f['message']}", highlight=False, soft_wrap=True)
        if len(flags) > 10:
            out.print(f"  ... and {len(flags) - 10} more in {out_dir / JSON_FILE}")
        out.print(f"wrote {out_dir / JSON_FILE} and {out_dir / HTML_FILE}")
    if result["exit_code"]:
        raise typer.Exit(result["exit_code"])
