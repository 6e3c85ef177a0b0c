"""The as-of frame each feature group reads, and the few portable expressions they share.

Everything here is plain Ibis (joins, filters, date arithmetic, conditional aggregates), so
the same definitions compile for DuckDB and for Spark. Point-in-time correctness lives in
one place, ``Frame.events``: a row is visible at as_of only if its date is strictly before
as_of (a timestamp strictly before as_of at 00:00).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir

from openbureau.contract import TABLES
from openbureau.features.spec import KEYS, FeatureParams

DAYS_PER_MONTH = 30.4375
DAYS_PER_YEAR = 365.25
MONEY = "decimal(18, 2)"
# Look-back windows in calendar months; their start dates are computed once per spine row.
WINDOWS = (1, 3, 6, 12, 24)
# Contract columns renamed on read so they cannot clash with the spine's as_of.
RENAMES = {"balances": {"observed": "as_of"}, "incomes": {"observed": "as_of"}}


@dataclass(frozen=True)
class Frame:
    """A spine of (person_id, as_of, first_seen) and the contract tables, contract columns only."""

    spine: ir.Table
    tables: Mapping[str, ir.Table]
    params: FeatureParams

    @classmethod
    def of(cls, spine: ir.Table, tables: Mapping[str, ir.Table], params: FeatureParams) -> Frame:
        """A frame whose spine also carries the start date of every look-back window."""
        starts = {
            window_start(m): (spine.as_of - ibis.interval(months=m)).cast("date") for m in WINDOWS
        }
        return cls(spine.mutate(**starts), tables, params)

    def table(self, name: str) -> ir.Table:
        return self.tables[name]

    def events(
        self,
        source: str | ir.Table,
        date: str,
        *,
        timestamp: bool = False,
        person: str = "person_id",
    ) -> ir.Table:
        """Rows of ``source`` joined to each spine row of their person, dated before as_of.

        ``person`` names the column holding the person (``person_a`` of relationships).
        """
        t = self.table(source) if isinstance(source, str) else source
        if person != "person_id":
            t = t.rename(person_id=person)
        rows = self.spine.join(t, "person_id")
        cutoff = rows.as_of.cast("timestamp") if timestamp else rows.as_of
        return rows.filter(rows[date] < cutoff)


def contract_tables(get: Mapping[str, ir.Table] | None = None) -> dict[str, ir.Table]:
    """Every contract table with its contract columns only (no lineage), renamed for joins.

    Without ``get`` the tables are unbound, which is how the catalog version is compiled.
    """
    out = {}
    for table in TABLES:
        if get is None:
            t = ibis.table(ibis.Schema.from_pyarrow(table.schema), name=table.name)
        else:
            t = get[table.name]
        t = t.select(*table.field_names)
        renames = RENAMES.get(table.name)
        out[table.name] = t.rename(**renames) if renames else t
    return out


def window_start(months: int) -> str:
    return f"_from_{months}m"


def within(t: ir.Table, date: ir.DateValue, months: int) -> ir.BooleanValue:
    """Whether ``date`` falls in the ``months`` calendar months before as_of (rows of
    ``Frame.events`` carry each window's start, so no date arithmetic runs per event)."""
    if months not in WINDOWS:
        raise ValueError(f"no {months}-month window; add it to WINDOWS {WINDOWS}")
    return date >= t[window_start(months)]


def days(later: ir.DateValue, earlier: ir.DateValue) -> ir.IntegerValue:
    return later.delta(earlier, unit="day")


def months_since(t: ir.Table, date: ir.DateValue) -> ir.FloatingValue:
    return per_days(days(t.as_of, date), DAYS_PER_MONTH)


def per_days(n: ir.NumericValue, unit: float) -> ir.FloatingValue:
    """``n`` days in units of ``unit`` days, in float64. The cast comes first: Spark reads
    a literal such as 30.4375 as a decimal, and an integer divided by a decimal is a
    decimal rounded to 7 places there (DuckDB divides in floating point either way)."""
    return n.cast("float64") / unit


def ratio(num: ir.NumericValue, den: ir.NumericValue) -> ir.FloatingValue:
    """num / den, null (unknown) when den is not positive: never a division by zero."""
    quotient = num.cast("float64") / den.cast("float64")
    return ibis.ifelse(den > 0, quotient, ibis.null("float64"))


def money(x: ir.NumericValue | float) -> ir.DecimalValue:
    """An amount in exact cents. Sums of floats depend on the order a parallel engine adds
    them in, so the same store could give features differing in the last bit; sums of
    decimals are exact, and every feature is reproducible to the bit."""
    return ibis.literal(x).cast(MONEY) if isinstance(x, int | float) else x.cast(MONEY)


def drop(t: ir.Table, *names: str) -> ir.Table:
    """``t`` without ``names``, as an explicit projection: Ibis's own drop compiles the
    names in set order, which varies between processes and would unsettle the version."""
    return t.select(*(c for c in t.columns if c not in names))


def frame_spine(tables: Mapping[str, ir.Table], spine: ir.Table) -> ir.Table:
    """Distinct (person_id, as_of) rows with the person's first_seen (null if unknown)."""
    base = spine.select(*KEYS).distinct()
    people = tables["people"].select("person_id", "first_seen")
    joined = base.left_join(people, base.person_id == people.person_id)
    return joined.select(base.person_id, base.as_of, joined.first_seen)
