"""``openbureau release``: the release gate from the command line.

Registered in the CLI with ``app.command(name="release")(release)``. Heavy libraries are
imported inside the function so ``openbureau --help`` stays fast.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from openbureau.cliutil import parse_date, usage_errors

EXIT_PASSED, EXIT_REFUSED = 0, 3


def release(
    candidate: Path = typer.Option(..., "--candidate", help="Candidate model folder (train)."),
    champion: Path | None = typer.Option(
        None, "--champion", help="Champion model folder; omit for a first release."
    ),
    store: Path | None = typer.Option(
        None, "--store", help="Store folder (default: $OPENBUREAU_STORE or ./openbureau-data)."
    ),
    as_of: str = typer.Option(
        ...,
        "--as-of",
        help="Out-of-time date YYYY-MM-DD, after both models' training as_of: people "
        "eligible then, features before it, outcomes in the horizon after it.",
    ),
    horizon: int = typer.Option(12, "--horizon", help="Outcome window in months."),
    audit_groups: Path | None = typer.Option(
        None,
        "--audit-groups",
        help="Audit-only table (person_id + group columns, e.g. SIM/_audit): required for "
        "the fairness check to pass.",
    ),
    fairness_columns: str | None = typer.Option(
        None,
        "--fairness-columns",
        help="Comma-separated group columns to audit (default: every column of the table).",
    ),
    policy: str | None = typer.Option(
        None, "--policy", help="Policy pack the candidate must satisfy (default: its own)."
    ),
    out: Path = typer.Option(..., "--out", help="Folder for release.json, release.html, scores."),
    auc_margin: float = typer.Option(0.005, "--auc-margin", help="AUC loss allowed."),
    ks_margin: float = typer.Option(0.01, "--ks-margin", help="KS loss allowed."),
    psi_warn: float = typer.Option(0.1, "--psi-warn", help="PSI that warns."),
    psi_fail: float = typer.Option(0.25, "--psi-fail", help="PSI that fails."),
    calibration_tol: float = typer.Option(
        0.02, "--calibration-tol", help="Absolute default-rate gap always allowed."
    ),
    calibration_z: float = typer.Option(
        3.0, "--calibration-z", help="Binomial standard errors allowed beyond it."
    ),
    min_air: float = typer.Option(0.8, "--min-air", help="Adverse impact ratio that fails."),
    max_smd: float = typer.Option(0.5, "--max-smd", help="Cohen's d between groups that fails."),
    min_group: int = typer.Option(50, "--min-group", help="Smallest group that is tested."),
    as_json: bool = typer.Option(False, "--json", help="Print release.json on stdout."),
) -> None:
    """Judge a candidate model against the champion and write the release report.

    Checks: discrimination (AUC, KS) against the champion, calibration by score band,
    monotonicity and factor additivity, score stability (PSI), fairness across audit
    groups, and the policy pack. Exit code 0 when the candidate passes, 3 when the gate
    refuses it (the report says which check failed and why), 2 for usage errors.
    """
    from rich.console import Console

    from openbureau.release.fairness import FairnessRules
    from openbureau.release.gate import RELEASE_JSON, run_release
    from openbureau.release.rules import GateRules, Tolerance

    out_console = Console()
    day = parse_date(as_of, "--as-of")
    with usage_errors((TypeError, ValueError, FileNotFoundError, FileExistsError)):
        tolerance = Tolerance(calibration_tol, calibration_z)
        result = run_release(
            candidate,
            store,
            day,
            out,
            champion=champion,
            horizon=horizon,
            audit_groups=audit_groups,
            policy=policy,
            rules=GateRules(
                auc_margin=auc_margin,
                ks_margin=ks_margin,
                psi_warn=psi_warn,
                psi_fail=psi_fail,
                calibration=tolerance,
            ),
            fairness_rules=FairnessRules(
                min_air=min_air, max_smd=max_smd, min_group=min_group, calibration=tolerance
            ),
            fairness_columns=(
                [c.strip() for c in fairness_columns.split(",") if c.strip()]
                if fairness_columns
                else None
            ),
        )
    if as_json:
        sys.stdout.write((result.out / RELEASE_JSON).read_text())
    else:
        style = "green" if result.passed else "red"
        out_console.print(str(result), style=style, highlight=False, markup=False, soft_wrap=True)
    if not result.passed:
        raise typer.Exit(EXIT_REFUSED)
