"""Default rates by score band once outcomes arrive, against the model's predicted PD.

A scored person is at risk from the scores' as_of (people whose default was recorded
before it are left out and counted). A default is an outcome in the store dated in
``[as_of, as_of + horizon)`` and no later than the date the store's data runs to (its
latest outcome, repayment or transaction, unless given). Before the horizon has fully
elapsed, the PD is pro-rated by the elapsed share (a constant hazard over the horizon), and
the report says how much of the horizon that is. A band is flagged when its count of
defaults falls outside the binomial interval around that expectation.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from openbureau.monitor.thresholds import Flag, Thresholds

BAND_WIDTH = 50  # the model report's score bands
_SCORED = "_openbureau_monitor_scored"


def observed_until(con: duckdb.DuckDBPyConnection) -> dt.date | None:
    """The latest date the store holds data for: outcome, repayment paid, or transaction."""
    rows = con.sql(
        """SELECT greatest(
            (SELECT max(event_date) FROM outcomes),
            (SELECT max(paid_date) FROM repayments),
            (SELECT max(CAST(ts AS DATE)) FROM transactions))"""
    ).fetchall()
    return rows[0][0] if rows else None


def band_labels(score: np.ndarray) -> np.ndarray:
    """The lower edge of each score's 50-point band (350, 400, ..., 950)."""
    return (np.floor(np.asarray(score, dtype=float) / BAND_WIDTH) * BAND_WIDTH).astype(int)


def _per_person(
    con: duckdb.DuckDBPyConnection, scored: pa.Table, horizon_months: int, until: dt.date
) -> pa.Table:
    con.register(_SCORED, scored.select(["person_id", "as_of", "score", "pd"]))
    try:
        return con.sql(
            f"""
            WITH s AS (
                SELECT person_id, as_of, score, pd,
                       CAST(as_of + to_months($h) AS DATE) AS horizon_end
                FROM {_SCORED}
            )
            SELECT s.person_id, s.as_of, s.score, s.pd,
                   coalesce(bool_or(o.event_date < s.as_of), false) AS defaulted_before,
                   coalesce(bool_or(o.event_date >= s.as_of AND o.event_date < s.horizon_end
                                    AND o.event_date <= $until), false) AS defaulted,
                   greatest(0.0, least(1.0,
                       date_diff('day', s.as_of, least(s.horizon_end, $until + 1))
                       / date_diff('day', s.as_of, s.horizon_end))) AS elapsed
            FROM s LEFT JOIN outcomes o ON o.person_id = s.person_id
            GROUP BY ALL
            """,
            params={"h": horizon_months, "until": until},
        ).to_arrow_table()
    finally:
        con.unregister(_SCORED)


def default_rates(
    con: duckdb.DuckDBPyConnection,
    scored: pa.Table,
    horizon_months: int,
    thresholds: Thresholds,
    until: dt.date | None = None,
) -> tuple[dict[str, Any], list[Flag]]:
    """Observed default rate per score band against the pro-rated PD, and the flags."""
    from scipy.stats import binom

    until = until or observed_until(con)
    if until is None:
        return {"available": False, "reason": "the store holds no dated events yet"}, []
    people = _per_person(con, scored, horizon_months, until)
    before = people.column("defaulted_before").to_numpy(zero_copy_only=False)
    at_risk = ~before
    score = people.column("score").to_numpy()[at_risk]
    pd_ = people.column("pd").to_numpy()[at_risk]
    hit = people.column("defaulted").to_numpy(zero_copy_only=False)[at_risk]
    elapsed = people.column("elapsed").to_numpy()[at_risk]
    share = float(elapsed.mean()) if elapsed.size else 0.0
    result: dict[str, Any] = {
        "available": share > 0,
        "observed_until": until.isoformat(),
        "horizon_months": horizon_months,
        "elapsed_share": share,
        "elapsed_months": share * horizon_months,
        "people_at_risk": int(at_risk.sum()),
        "excluded_defaulted_before": int(before.sum()),
        "defaults": int(hit.sum()),
        "bands": [],
    }
    if share <= 0:
        result["reason"] = (
            f"no outcomes yet: the data runs to {until.isoformat()}, not past the scores' as_of"
        )
        return result, []
    bands = band_labels(score)
    expected_pd = pd_ * elapsed
    flags: list[Flag] = []
    lo_q = (1 - thresholds.band_confidence) / 2
    for b in np.unique(bands):
        m = bands == b
        n = int(m.sum())
        defaults = int(hit[m].sum())
        expected = float(expected_pd[m].sum())
        p = min(max(expected / n, 0.0), 1.0)
        low, high = (float(v) for v in binom.ppf([lo_q, 1 - lo_q], n, p))
        label = f"{b}-{b + BAND_WIDTH - 1}"
        outside = defaults < low or defaults > high
        row = {
            "band": label,
            "people": n,
            "defaults": defaults,
            "observed_rate": defaults / n,
            "predicted_pd": float(pd_[m].mean()),
            "expected_rate": p,
            "tolerance": [low / n, high / n],
            "flagged": outside,
        }
        result["bands"].append(row)
        if outside:
            bound = high if defaults > high else low
            side = "more" if defaults > high else "fewer"
            flags.append(
                Flag(
                    "default_rate",
                    f"band {label}",
                    defaults / n,
                    bound / n,
                    "alert",
                    f"Score band {label}: {defaults} of {n} people defaulted "
                    f"({defaults / n:.1%}), {side} than the model's PD allows "
                    f"({p:.1%} expected over {share:.0%} of the horizon; "
                    f"{thresholds.band_confidence:.0%} binomial range "
                    f"{low / n:.1%}-{high / n:.1%}).",
                )
            )
    return result, flags
