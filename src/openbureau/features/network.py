"""Network: bounded, aggregate signals from consented relationships (issue 4).

Rules every feature here keeps: only relationships with ``consent_a`` and ``consent_b``
both true and ``since`` before as_of, between people the bureau knew before as_of; only
contacts' outcomes dated before as_of (recorded defaults); never one's own outcome (out
of fold); and no contact weighs more than 1/min_contacts, so one person's record moves
anyone's feature by at most that much and no reason can point at a contact.

The definitions live in ``openbureau.network``: ``GROUPS`` holds the relational version
(what runs on Spark and what the catalog version hashes); on DuckDB ``attach`` computes
the same columns with the sparse engine and joins them onto the compiled query's result.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import ibis.expr.types as ir
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from openbureau.features.frame import Frame
from openbureau.features.spec import FeatureGroup, FeatureParams, FeatureSpec
from openbureau.network.relational import network_table
from openbureau.network.store import network_frame

GROUP = "network"


def _build(frame: Frame) -> ir.Table:
    dates = frame.spine.select("as_of").distinct()
    return network_table(frame.tables, dates, frame.params.network)


GROUPS = (
    FeatureGroup(GROUP, ("people", "relationships", "outcomes", "accounts", "repayments"), _build),
)


def _spec(
    name: str,
    reason: str,
    direction: str,
    description: str,
    default: float | None = None,
    unit: str = "",
) -> FeatureSpec:
    return FeatureSpec(name, "network", reason, direction, False, description, GROUP, default, unit)


SPECS = (
    _spec(
        "network_contacts",
        "Few relationships shared with consent",
        "none",
        "Distinct people linked to the person by a relationship both consented to, "
        "recorded before as_of.",
        default=0.0,
        unit="count",
    ),
    _spec(
        "network_family_contacts",
        "Few family relationships shared with consent",
        "none",
        "Consented contacts with a family relationship.",
        default=0.0,
        unit="count",
    ),
    _spec(
        "network_friend_contacts",
        "Few friendships shared with consent",
        "none",
        "Consented contacts with a friend relationship.",
        default=0.0,
        unit="count",
    ),
    _spec(
        "network_colleague_contacts",
        "Few work relationships shared with consent",
        "none",
        "Consented contacts with a colleague relationship.",
        default=0.0,
        unit="count",
    ),
    _spec(
        "network_tenure_months",
        "Your consented relationships are recent",
        "none",
        "Mean months since each consented contact was first recorded; unknown without contacts.",
        unit="months",
    ),
    _spec(
        "network_interactions_per_contact",
        "Little recorded contact with your relationships",
        "none",
        "Recorded interactions (counts only) per consented contact; unknown without contacts.",
        unit="count",
    ),
    _spec(
        "network_default_share",
        "Defaults recorded among your consented contacts",
        "decreasing",
        "Share of consented contacts with a default recorded before as_of, dividing by at "
        "least min_contacts (fewer contacts shrink it towards 0); out of fold. One "
        "contact moves it by at most 1/min_contacts.",
        unit="share",
    ),
    _spec(
        "network_two_hop_exposure",
        "Defaults recorded among contacts of your contacts",
        "decreasing",
        "Probability that a two-step walk over consented contacts (each step split evenly, "
        "at most 1/min_contacts per contact) ends on a recorded default; out of fold.",
        unit="share",
    ),
    _spec(
        "network_walk_default_ratio",
        "Defaults recorded in your wider consented network",
        "decreasing",
        "Personalised-PageRank walk mass on recorded defaulters over walk mass on borrowers, "
        "shrunk to the population rate by prior_mass borrowers; out of fold.",
        unit="share",
    ),
)


def attach(con: duckdb.DuckDBPyConnection, result: pa.Table, params: FeatureParams) -> pa.Table:
    """``result`` with every network column appended, computed by the sparse engine for each
    as_of in it (rows keep their order; people outside the population get the defaults)."""
    as_of = result["as_of"]
    dates = [d for d in pc.unique(as_of).to_pylist() if isinstance(d, dt.date)]
    frame = network_frame(con, dates, params.network)
    n = result.num_rows
    values = {s.name: np.full(n, np.nan if s.default is None else s.default) for s in SPECS}
    for day in dates:
        same_day = pc.equal(as_of, pa.scalar(day, pa.date32()))
        rows = np.flatnonzero(same_day.to_numpy(zero_copy_only=False))
        part = frame.filter(pc.equal(frame["as_of"], pa.scalar(day, pa.date32())))
        at = pc.index_in(result["person_id"].take(rows), value_set=part["person_id"])
        found = at.is_valid().to_numpy(zero_copy_only=False)
        take = at.to_numpy(zero_copy_only=False)[found].astype(np.int64)
        for s in SPECS:
            values[s.name][rows[found]] = part[s.name].to_numpy()[take]
    for s in SPECS:
        if s.default is not None:
            np.nan_to_num(values[s.name], copy=False, nan=s.default)
    for s in SPECS:
        result = result.append_column(s.name, pa.array(values[s.name], pa.float64()))
    return result
