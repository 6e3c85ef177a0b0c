"""Assemble the feature matrix: the spine, left-joined to every group, defaults, derivations.

One relational expression for the whole matrix, so the engine (DuckDB, Spark) plans and
runs it at once; nothing here executes anything.
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import ibis.expr.types as ir

from openbureau.features.frame import Frame
from openbureau.features.spec import DERIVED, KEYS, SEGMENTS, FeatureGroup, FeatureSpec

THIN, ESTABLISHED = SEGMENTS


def assemble(
    frame: Frame, specs: Sequence[FeatureSpec], groups: Sequence[FeatureGroup]
) -> ir.Table:
    """person_id, as_of, segment, then every spec as float64 (null = unknown), unordered."""
    outs = [group.build(frame) for group in groups]
    spine = frame.spine.view()  # a distinct relation, though every group joined it already
    joined = spine
    for out in outs:
        joined = joined.left_join(out, [spine.person_id == out.person_id, spine.as_of == out.as_of])
    wide = joined.select(
        *(spine[c] for c in spine.columns),
        *(out[c] for out in outs for c in out.columns if c not in KEYS),
    )

    plain = {}
    for s in specs:
        if s.group == DERIVED:
            continue
        value = wide[s.name] if s.default is None else wide[s.name].coalesce(s.default)
        plain[s.name] = value.cast("float64")
    wide = wide.mutate(**plain)
    # Derived features read group columns and plain features, never each other.
    derived = {s.name: s.derive(wide).cast("float64") for s in specs if s.derive is not None}
    wide = wide.mutate(**derived) if derived else wide
    return wide.select(*KEYS, segment=segment(frame, wide), **{s.name: wide[s.name] for s in specs})


def segment(frame: Frame, t: ir.Table) -> ir.StringValue:
    """'thin' with fewer than ``thin_min_accounts`` accounts or a file younger than
    ``thin_min_file_months`` months at as_of (an unknown file age counts as young)."""
    p = frame.params
    thin = (t.accounts_opened < p.thin_min_accounts) | (
        t.file_age_months.coalesce(0.0) < p.thin_min_file_months
    )
    return ibis.ifelse(thin, THIN, ESTABLISHED)
