"""The release gate: judge a candidate model against the champion on an out-of-time sample
and write the release report (JSON for the registry, HTML for the risk analyst) and the
candidate's scores of the population.

A candidate passes when no check fails: discrimination (AUC, KS) not worse than the
champion's beyond the margins, calibration by score band, monotonicity, factor additivity,
score stability against the champion, the fairness audit and the policy pack. With no
champion (a first release) the comparisons are "not applicable" and do not fail.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from openbureau.release import checks
from openbureau.release.fairness import FairnessRules, audit_fairness, read_audit_groups
from openbureau.release.rules import GateRules

RELEASE_JSON = "release.json"
RELEASE_HTML = "release.html"
CANDIDATE_SCORES = "candidate-scores.parquet"
CHAMPION_SCORES = "champion-scores.parquet"


@dataclass(frozen=True)
class ReleaseResult:
    passed: bool
    out: Path
    report: dict[str, Any]

    def __str__(self) -> str:
        lines = [self.report["verdict"]]
        for c in sorted(self.report["checks"], key=lambda c: c["passed"]):
            mark = {"fail": "FAIL", "warn": "warn", "pass": "ok", "not_applicable": "n/a"}
            lines.append(f"  {mark[c['status']]:>4}  {c['name']}: {c['why']}")
        lines.append(f"  report: {self.out / RELEASE_HTML}")
        return "\n".join(lines)


def _clean(o: Any) -> Any:
    """JSON has no NaN: write null (and numpy scalars as plain numbers)."""
    if isinstance(o, dict):
        return {str(k): _clean(v) for k, v in o.items()}
    if isinstance(o, list | tuple):
        return [_clean(v) for v in o]
    if isinstance(o, np.generic):
        o = o.item()
    if isinstance(o, float) and not math.isfinite(o):
        return None
    return o


def _write_atomic(path: Path, data: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(data, encoding="utf-8")
    tmp.replace(path)


def _add_months(d: dt.date, n: int) -> dt.date:
    from dateutil.relativedelta import relativedelta

    return d + relativedelta(months=n)


def _check_dates(as_of: object, horizon: object) -> None:
    if isinstance(as_of, dt.datetime) or not isinstance(as_of, dt.date):
        raise TypeError(f"as_of must be a datetime.date, got {type(as_of).__name__}")
    if isinstance(horizon, bool) or not isinstance(horizon, int):
        raise TypeError(f"horizon must be an int (months), got {type(horizon).__name__}")
    if horizon < 1:
        raise ValueError(f"horizon must be at least 1 month, got {horizon}")


def _fairness(
    audit_path: Path | None,
    groups: pa.Table | None,
    sample_scores: dict[str, pa.Table],
    label: np.ndarray,
    rules: FairnessRules,
    columns: list[str] | None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The fairness check record and the audit reports (candidate, and champion to compare)."""
    if groups is None:
        why = (
            "no audit-groups table was given (--audit-groups): a release must be audited for "
            "fairness"
        )
        return checks.record("fairness", "fail", why), {"applicable": False, "why": why}
    reports: dict[str, Any] = {"applicable": True, "audit_table": str(audit_path)}
    for role, table in sample_scores.items():
        audited = pa.table(
            {
                "person_id": table.column("person_id"),
                "score": table.column("score"),
                "pd": table.column("pd"),
                "label": pa.array(label),
            }
        )
        reports[role] = audit_fairness(audited, groups, rules, columns=columns)
    reports.setdefault("champion", None)
    rep = reports["candidate"]
    values = {
        "people": rep["people"],
        "failures": len(rep["failures"]),
        "warnings": len(rep["warnings"]),
        "too_small": len(rep["too_small"]),
        "columns": rep["columns"],
    }
    thresholds = {
        "min_air": rules.min_air,
        "air_alpha": rules.air_alpha,
        "air_z": rep["air_z"],
        "max_smd": rules.max_smd,
        "min_group": rules.min_group,
    }
    tested = sum(1 for g in rep["groups"] if g["tested"])
    if rep["failures"]:
        more = f" (and {len(rep['failures']) - 1} more)" if len(rep["failures"]) > 1 else ""
        return checks.record(
            "fairness", "fail", rep["failures"][0] + more, values, thresholds
        ), reports
    if rep["warnings"]:
        why = (
            f"no significant disparity, but {len(rep['warnings'])} warning(s): {rep['warnings'][0]}"
        )
        return checks.record("fairness", "warn", why, values, thresholds), reports
    why = (
        f"all {tested} tested groups of {', '.join(rep['columns'])} pass: adverse impact "
        f"ratios at least {rules.min_air:g}, score differences "
        f"within {rules.max_smd:g} sd, calibrated within groups"
    )
    return checks.record("fairness", "pass", why, values, thresholds), reports


def run_release(
    candidate: str | Path,
    store: str | Path | None,
    as_of: dt.date,
    out: str | Path,
    *,
    champion: str | Path | None = None,
    horizon: int = 12,
    audit_groups: str | Path | None = None,
    policy: str | Path | None = None,
    rules: GateRules | None = None,
    fairness_rules: FairnessRules | None = None,
    fairness_columns: list[str] | None = None,
) -> ReleaseResult:
    """Judge ``candidate`` (against ``champion``, if any) on the people eligible at ``as_of``
    with outcomes from the ``horizon`` months after it; write release.json, release.html,
    candidate-scores.parquet (and champion-scores.parquet) to ``out``.

    ``policy`` names the pack the candidate must satisfy (default: the pack it was trained
    under). ``fairness_columns`` limits the audit to some group columns (default: all).
    Raises TypeError/ValueError/FileNotFoundError for unusable input, including an
    ``as_of`` that is not after a model's training as_of.
    """
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from openbureau import __version__
    from openbureau.policy import load_pack
    from openbureau.release.challenger import compare_decisions
    from openbureau.release.html import render
    from openbureau.release.sample import load_model_info, out_of_time
    from openbureau.workflow.score import score_store

    _check_dates(as_of, horizon)
    rules = GateRules() if rules is None else rules
    fairness_rules = FairnessRules() if fairness_rules is None else fairness_rules
    if not isinstance(rules, GateRules):
        raise TypeError(f"rules must be GateRules, got {type(rules).__name__}")
    if not isinstance(fairness_rules, FairnessRules):
        raise TypeError(
            f"fairness_rules must be FairnessRules, got {type(fairness_rules).__name__}"
        )
    cand = load_model_info(candidate, "candidate")
    champ = load_model_info(champion, "champion") if champion is not None else None
    if champ is not None and champ.model_id == cand.model_id:
        raise ValueError(
            f"--candidate and --champion are the same model ({cand.model_id}): "
            "a release compares a new model with the one in service"
        )
    notes = []
    for info in (cand, champ):
        if info is None:
            continue
        if as_of <= info.train_as_of:
            raise ValueError(
                f"--as-of {as_of} is not after the {info.role}'s training as_of "
                f"{info.train_as_of}: the out-of-time sample must come after the data the "
                f"model was trained on (choose a date after {info.train_as_of})"
            )
        window_end = _add_months(info.train_as_of, info.train_horizon)
        if as_of < window_end:
            notes.append(
                f"the {info.role} was trained on outcomes up to {window_end}: the sample's "
                f"people are later, but its outcome window overlaps that one by "
                f"{(window_end - as_of).days} days"
            )
    groups = read_audit_groups(audit_groups) if audit_groups is not None else None
    if fairness_columns is not None:
        if groups is None:
            raise ValueError("fairness columns were named, but no audit-groups table was given")
        missing = [c for c in fairness_columns if c not in groups.column_names[1:]]
        if missing:
            raise ValueError(
                f"fairness columns {missing} are not in the audit table {audit_groups} "
                f"(it has {groups.column_names[1:]})"
            )
    check_pack = load_pack(policy) if policy is not None else cand.pack

    models = [cand] + ([champ] if champ else [])
    sample = out_of_time(store, models, as_of, horizon)
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    scores_path = out_dir / CANDIDATE_SCORES
    score_store(store, cand.path, as_of, scores_path)
    population = {"candidate": pq.read_table(scores_path)}
    champ_path = None
    if champ is not None:
        champ_path = out_dir / CHAMPION_SCORES
        score_store(store, champ.path, as_of, champ_path)
        population["champion"] = pq.read_table(champ_path)

    y = sample.label
    cs, hs = sample.scores["candidate"], sample.scores.get("champion")
    check_list = checks.discrimination(y, cs, hs, rules)
    check_list.append(checks.calibration(y, cs, rules))
    check_list.append(checks.monotonicity(cand.model, sample.features["candidate"]))
    check_list.append(checks.additivity(cand.model, cand.manifest, cs, rules))
    check_list.append(checks.stability(population["candidate"], population.get("champion"), rules))
    fair_check, fairness = _fairness(
        Path(audit_groups) if audit_groups is not None else None,
        groups,
        sample.scores,
        y,
        fairness_rules,
        fairness_columns,
    )
    check_list.append(fair_check)
    audit_columns = [] if groups is None else [c for c in groups.column_names if c != "person_id"]
    check_list.append(checks.policy(cand.manifest, check_pack, cand.path, audit_columns))
    if champ is not None:
        challenger = compare_decisions(
            population["champion"], population["candidate"], fairness_rules.thresholds
        )
    else:
        challenger = {"applicable": False, "why": checks.NO_CHAMPION}

    failed = [c["name"] for c in check_list if not c["passed"]]
    warned = [c["name"] for c in check_list if c["status"] == "warn"]
    if failed:
        verdict = f"REFUSED: candidate {cand.model_id} fails {', '.join(failed)}"
    else:
        verdict = f"PASSED: candidate {cand.model_id} passes all {len(check_list)} checks" + (
            f" ({len(warned)} with a warning: {', '.join(warned)})" if warned else ""
        )
    report = {
        "passed": not failed,
        "verdict": verdict,
        "failed_checks": failed,
        "candidate": cand.summary(),
        "champion": champ.summary() if champ else None,
        "as_of": as_of.isoformat(),
        "horizon_months": horizon,
        "store": str(store) if store is not None else None,
        "sample": {
            "people": sample.people,
            "defaults": sample.defaults,
            "default_rate": sample.defaults / sample.people,
        },
        "notes": notes,
        "rules": rules.to_dict(),
        "thresholds": list(fairness_rules.thresholds),
        "checks": check_list,
        "scores": str(scores_path.resolve()),
        "champion_scores": str(champ_path.resolve()) if champ_path else None,
        "fairness": fairness,
        "challenger": challenger,
        "report": str((out_dir / RELEASE_HTML).resolve()),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "openbureau_version": __version__,
    }
    report = _clean(report)
    page = render(
        report,
        y,
        {role: t.column("pd").to_numpy() for role, t in sample.scores.items()},
        {role: t.column("score").to_numpy() for role, t in population.items()},
    )
    _write_atomic(out_dir / RELEASE_HTML, page)
    _write_atomic(out_dir / RELEASE_JSON, json.dumps(report, indent=2, allow_nan=False) + "\n")
    return ReleaseResult(not failed, out_dir, report)
