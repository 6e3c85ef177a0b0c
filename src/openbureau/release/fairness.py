"""Fairness audit of scores across groups from an audit-only table.

Group membership (sex, age band, a simulated ethnic group, ...) lives in a table of its own
that only this audit reads: the contract refuses such columns in every table a model can
see. For each group column the audit reports

- the adverse impact ratio of each benefit threshold's approvals: a group's approval rate
  over the most-approved group's. Below the four-fifths rule (0.8) it fails when the gap is
  also statistically significant (one-sided two-proportion z-test at family-wise level
  ``air_alpha``, Bonferroni over every ratio tested, since an audit tests dozens of them),
  and warns when it is not: on a small group a ratio below 0.8 is often chance;
- the standardised mean score difference (Cohen's d against the largest group);
- calibration within groups: observed vs predicted default rate, with the same tolerance
  rule as the score bands (needs outcomes: ``label`` and ``pd`` columns).

Groups smaller than ``min_group`` are reported as too small and not tested.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from openbureau.release.rules import (
    BENEFIT_THRESHOLDS,
    Tolerance,
    _count,
    _number,
    check_thresholds,
)

MISSING = "(missing)"


@dataclass(frozen=True)
class FairnessRules:
    """Thresholds of the audit; defaults as documented in docs/release.md."""

    thresholds: tuple[float, ...] = BENEFIT_THRESHOLDS
    min_air: float = 0.8
    air_alpha: float = 0.05
    max_smd: float = 0.5
    calibration: Tolerance = field(default_factory=Tolerance)
    min_group: int = 50
    min_expected: float = 5.0  # approvals a group would get at the reference rate

    def __post_init__(self) -> None:
        object.__setattr__(self, "thresholds", check_thresholds(self.thresholds))
        _number("min_air", self.min_air, 0.0, 1.0)
        _number("air_alpha", self.air_alpha, 1e-9, 0.5)
        _number("max_smd", self.max_smd, 0.0, 10.0)
        if not isinstance(self.calibration, Tolerance):
            raise TypeError(
                f"calibration must be a Tolerance, got {type(self.calibration).__name__}"
            )
        _count("min_group", self.min_group, 2)
        _number("min_expected", self.min_expected, 0.0)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def read_audit_groups(path: str | Path) -> pa.Table:
    """The audit table at ``path`` (Parquet file or folder of parts, or CSV): ``person_id``
    plus at least one group column, one row per person; group values read as strings."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"audit groups table {p} does not exist")
    try:
        if p.is_file() and p.suffix.lower() in (".csv", ".gz"):
            table = pacsv.read_csv(p)
        else:
            table = pq.read_table(p)
    except (pa.ArrowInvalid, OSError) as exc:
        raise ValueError(f"audit groups table {p} cannot be read: {exc}") from None
    return check_audit_groups(table, str(p))


def check_audit_groups(table: pa.Table, source: str = "audit groups") -> pa.Table:
    """``table`` with group columns as strings, after checking its shape."""
    if not isinstance(table, pa.Table):
        raise TypeError(f"audit groups must be a pyarrow Table, got {type(table).__name__}")
    if "person_id" not in table.column_names:
        raise ValueError(f"{source}: no person_id column (columns: {table.column_names})")
    groups = [c for c in table.column_names if c != "person_id"]
    if not groups:
        raise ValueError(f"{source}: no group column besides person_id")
    ids = pc.cast(table.column("person_id"), pa.string())
    if ids.null_count:
        raise ValueError(f"{source}: {ids.null_count} row(s) have no person_id")
    if pc.count_distinct(ids).as_py() != table.num_rows:
        counts = pc.value_counts(ids)
        dup = next(v["values"] for v in counts.to_pylist() if v["counts"] > 1)
        raise ValueError(f"{source}: person_id {dup!r} appears more than once")
    cols = {"person_id": ids}
    for c in groups:
        cols[c] = pc.fill_null(pc.cast(table.column(c), pa.string()), MISSING)
    return pa.table(cols)


def _codes(column: pa.ChunkedArray) -> tuple[np.ndarray, list[str]]:
    enc = pc.dictionary_encode(column).combine_chunks()
    return enc.indices.to_numpy(zero_copy_only=False).astype(np.int64), enc.dictionary.to_pylist()


def _pooled_sd(n1: int, s1: float, n2: int, s2: float) -> float:
    return math.sqrt(((n1 - 1) * s1**2 + (n2 - 1) * s2**2) / max(n1 + n2 - 2, 1))


def _air_rows(
    column: str,
    names: list[str],
    n: np.ndarray,
    tested: np.ndarray,
    approved: np.ndarray,
    threshold: float,
    rules: FairnessRules,
) -> list[dict[str, Any]]:
    rate = np.divide(approved, n, out=np.zeros(len(n)), where=n > 0)
    idx = np.flatnonzero(tested)
    if idx.size < 2:
        return []
    ref = int(idx[np.lexsort((-n[idx], -rate[idx]))[0]])  # most approved; ties: larger group
    rows = []
    for g in idx:
        if g == ref:
            continue
        row: dict[str, Any] = {
            "column": column,
            "group": names[g],
            "threshold": threshold,
            "people": int(n[g]),
            "approved": int(approved[g]),
            "rate": float(rate[g]),
            "reference": names[ref],
            "reference_rate": float(rate[ref]),
            "ratio": None,
            "z": None,
        }
        expected = n[g] * rate[ref]
        if rate[ref] == 0 or expected < rules.min_expected:
            row["status"] = "not_tested"
            row["why"] = (
                f"{column}={names[g]} at {threshold:g}: too few approvals to test "
                f"({expected:.1f} expected at the reference rate, at least "
                f"{rules.min_expected:g} needed)"
            )
            rows.append(row)
            continue
        ratio = float(rate[g] / rate[ref])
        pooled = (approved[g] + approved[ref]) / (n[g] + n[ref])
        se = math.sqrt(pooled * (1 - pooled) * (1 / n[g] + 1 / n[ref]))
        row["ratio"] = ratio
        row["z"] = float((rate[ref] - rate[g]) / se) if se > 0 else 0.0
        rows.append(row)
    return rows


def _judge_air(rows: list[dict[str, Any]], rules: FairnessRules) -> float:
    """Status and sentence of every tested ratio; returns the z a gap must reach."""
    from scipy.stats import norm

    tested = [r for r in rows if r["ratio"] is not None]
    z_crit = float(norm.isf(rules.air_alpha / max(len(tested), 1)))
    for row in tested:
        ratio, z = row["ratio"], row["z"]
        said = (
            f"{row['column']}={row['group']} is approved at {row['threshold']:g} at "
            f"{row['rate']:.1%} against {row['reference_rate']:.1%} for {row['reference']}: "
            f"adverse impact ratio {ratio:.3f}"
        )
        if ratio >= rules.min_air:
            row["status"], row["why"] = "pass", f"{said}, at least {rules.min_air:g}"
        elif z >= z_crit:
            row["status"] = "fail"
            row["why"] = (
                f"{said}, below {rules.min_air:g}, and the gap is significant "
                f"(z {z:.2f} >= {z_crit:.2f}, {len(tested)} ratios tested)"
            )
        else:
            row["status"] = "warn"
            row["why"] = (
                f"{said}, below {rules.min_air:g}, but the gap is within chance for "
                f"{row['people']} people (z {z:.2f} < {z_crit:.2f}, {len(tested)} ratios tested)"
            )
    return z_crit


def audit_fairness(
    scores: pa.Table,
    groups: pa.Table,
    rules: FairnessRules | None = None,
    *,
    columns: list[str] | None = None,
) -> dict[str, Any]:
    """Audit ``scores`` (person_id, score; pd and label for calibration) across the group
    columns of ``groups`` (person_id + groups). Returns plain JSON-ready data: ``passed``,
    per-group sizes and score moments, ``air``, ``smd`` and ``calibration`` rows (each with
    a status and a sentence), and the ``failures`` and ``warnings`` sentences."""
    rules = FairnessRules() if rules is None else rules
    if not isinstance(rules, FairnessRules):
        raise TypeError(f"rules must be FairnessRules, got {type(rules).__name__}")
    if not isinstance(scores, pa.Table):
        raise TypeError(f"scores must be a pyarrow Table, got {type(scores).__name__}")
    for c in ("person_id", "score"):
        if c not in scores.column_names:
            raise ValueError(f"scores: no {c} column (columns: {scores.column_names})")
    groups = check_audit_groups(groups)
    group_columns = [c for c in groups.column_names if c != "person_id"]
    if columns is not None:
        unknown = [c for c in columns if c not in group_columns]
        if unknown:
            raise ValueError(f"group columns {unknown} are not in the audit table {group_columns}")
        group_columns = list(columns)
    keep = [c for c in ("person_id", "score", "pd", "label") if c in scores.column_names]
    left = scores.select(keep)
    left = left.set_column(0, "person_id", pc.cast(left.column("person_id"), pa.string()))
    clash = [c for c in group_columns if c in keep]
    if clash:
        raise ValueError(f"audit group columns {clash} clash with score columns")
    joined = left.join(groups.select(["person_id", *group_columns]), "person_id", join_type="inner")
    if joined.num_rows == 0:
        raise ValueError("no scored person appears in the audit table: are the ids the same?")
    score = joined.column("score").to_numpy().astype(np.float64)
    has_outcomes = "label" in keep and "pd" in keep
    y = joined.column("label").to_numpy().astype(np.float64) if has_outcomes else None
    pd_ = joined.column("pd").to_numpy().astype(np.float64) if has_outcomes else None

    report: dict[str, Any] = {
        "rules": rules.to_dict(),
        "people": joined.num_rows,
        "unmatched": scores.num_rows - joined.num_rows,
        "columns": group_columns,
        "groups": [],
        "air": [],
        "smd": [],
        "calibration": [],
    }
    for column in group_columns:
        codes, names = _codes(joined.column(column))
        k = len(names)
        n = np.bincount(codes, minlength=k)
        tested = n >= rules.min_group
        sums = np.bincount(codes, weights=score, minlength=k)
        mean = sums / np.maximum(n, 1)
        sq = np.bincount(codes, weights=(score - mean[codes]) ** 2, minlength=k)
        sd = np.sqrt(sq / np.maximum(n - 1, 1))
        for g in range(k):
            report["groups"].append(
                {
                    "column": column,
                    "group": names[g],
                    "people": int(n[g]),
                    "tested": bool(tested[g]),
                    "mean_score": float(mean[g]),
                    "sd_score": float(sd[g]),
                    **(
                        {}
                        if tested[g]
                        else {
                            "why": (
                                f"{column}={names[g]} has {int(n[g])} people, fewer than "
                                f"{rules.min_group}: too small to test"
                            )
                        }
                    ),
                }
            )
        for threshold in rules.thresholds:
            approved = np.bincount(codes, weights=score >= threshold, minlength=k)
            report["air"] += _air_rows(column, names, n, tested, approved, threshold, rules)
        idx = np.flatnonzero(tested)
        if idx.size >= 2:
            ref = int(idx[np.lexsort((np.array(names, dtype=object)[idx], -n[idx]))[0]])
            for g in idx.tolist():
                if g == ref:
                    continue
                pooled = _pooled_sd(int(n[g]), sd[g], int(n[ref]), sd[ref])
                d = float((mean[g] - mean[ref]) / pooled) if pooled > 0 else 0.0
                ok = abs(d) <= rules.max_smd
                report["smd"].append(
                    {
                        "column": column,
                        "group": names[g],
                        "reference": names[ref],
                        "mean": float(mean[g]),
                        "reference_mean": float(mean[ref]),
                        "d": d,
                        "status": "pass" if ok else "fail",
                        "why": (
                            f"{column}={names[g]} scores {mean[g] - mean[ref]:+.1f} points against "
                            f"{names[ref]} on average: standardised difference {d:+.2f}, "
                            + (f"within {rules.max_smd:g}" if ok else f"beyond {rules.max_smd:g}")
                        ),
                    }
                )
        if has_outcomes:
            assert y is not None and pd_ is not None
            obs = np.bincount(codes, weights=y, minlength=k) / np.maximum(n, 1)
            pred = np.bincount(codes, weights=pd_, minlength=k) / np.maximum(n, 1)
            for g in idx.tolist():
                tol = rules.calibration.allowed(float(pred[g]), int(n[g]))
                gap = float(obs[g] - pred[g])
                ok = abs(gap) <= tol
                report["calibration"].append(
                    {
                        "column": column,
                        "group": names[g],
                        "people": int(n[g]),
                        "observed": float(obs[g]),
                        "predicted": float(pred[g]),
                        "tolerance": tol,
                        "status": "pass" if ok else "fail",
                        "why": (
                            f"{column}={names[g]}: observed default rate {obs[g]:.1%} against "
                            f"{pred[g]:.1%} predicted ({int(n[g])} people), "
                            + ("within" if ok else "beyond")
                            + f" the tolerance {tol:.1%}"
                        ),
                    }
                )
    report["air_z"] = _judge_air(report["air"], rules)
    rows = report["air"] + report["smd"] + report["calibration"]
    report["failures"] = [r["why"] for r in rows if r["status"] == "fail"]
    report["warnings"] = [r["why"] for r in rows if r["status"] == "warn"]
    report["too_small"] = [g["why"] for g in report["groups"] if not g["tested"]]
    report["passed"] = not report["failures"]
    return report
