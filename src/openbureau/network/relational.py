"""The network features as portable relational expressions (Ibis), for DuckDB or Spark.

One walk step is a join of the contact pairs to the current vectors and a group-by that
sums them per person: (P x)(v) = (sum over contacts c of x(c)) / max(n_v, k), rounded to
the walk's grid (``network.config.WALK_GRID_BITS``): the sum of grid values is exact, so
the result does not depend on the order an engine sums in. Every vector
is carried as 2 x folds columns (defaulters and borrowers, each with one fold's seeds
zeroed), so a step is one join however many folds there are. The walk series also needs
each person's running sum; each step carries it through a self row per person (a pair
(v, v) that adds nothing to the walk), so step t reads step t-1 once and the plan grows
linearly with ``steps``. ``sparse`` computes the same numbers on one machine; tests hold
the engines' features equal to the bit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import ibis
import ibis.expr.types as ir

from openbureau.network.config import (
    CONTACT_KINDS,
    DAYS_PER_MONTH,
    FEATURES,
    SERIOUS_DAYS_LATE,
    WALK_GRID,
    NetworkConfig,
)

_HEX = "0123456789abcdef"
FOLD_HEX_DIGITS = 6


def fold_of(person_id: ir.StringValue, folds: int) -> ir.IntegerValue:
    """A person's fold: the first six hex digits of md5(person_id), modulo ``folds``.

    Spelt with MD5, substrings and a digit lookup so every SQL engine computes the same
    fold (a backend's own hash function differs between DuckDB and Spark). In Python:
    ``int(hashlib.md5(pid.encode()).hexdigest()[:6], 16) % folds``.
    """
    digest = person_id.hexdigest("md5")
    value: ir.IntegerValue = ibis.literal(0, "int64")
    for i in range(FOLD_HEX_DIGITS):
        digit = ibis.literal(_HEX).find(digest.substr(i, 1)).cast("int64")
        value = value * 16 + digit
    return (value % folds).cast("int32")


def population(tables: Mapping[str, ir.Table], dates: ir.Table, folds: int) -> ir.Table:
    """(person_id, as_of, fold, defaulted, borrower): everyone the bureau knew before as_of.

    ``defaulted``: a recorded default before as_of: an outcome dated before it (later
    outcomes are labels and never read), or a repayment that was ``SERIOUS_DAYS_LATE`` or
    more days late by as_of (what bureaus report as a default; a contact need not have
    reached the outcomes table for their record to be on file); ``borrower``: an account
    opened before as_of, or a recorded default (a default implies credit, and keeps
    defaulters a subset of borrowers).
    """
    people = tables["people"].select("person_id", "first_seen")
    pop = people.cross_join(dates)
    pop = pop.filter(pop.first_seen < pop.as_of).select("person_id", "as_of")
    past = _flag(tables["outcomes"], "event_date", dates, "_outcome")
    late = _seriously_late(tables, dates)
    past = past.select("person_id", "as_of").union(late, distinct=True)
    past = past.mutate(_defaulted=ibis.literal(1, "int8"))
    credit = _flag(tables["accounts"], "opened", dates, "_borrower")
    j = pop.left_join(past, [pop.person_id == past.person_id, pop.as_of == past.as_of])
    j = j.select(pop.person_id, pop.as_of, past._defaulted)
    j2 = j.left_join(credit, [j.person_id == credit.person_id, j.as_of == credit.as_of])
    defaulted = j2._defaulted.notnull()
    out = j2.select(
        j.person_id,
        j.as_of,
        fold=fold_of(j.person_id, folds),
        defaulted=defaulted,
        borrower=defaulted | j2._borrower.notnull(),
    )
    # distinct (a no-op: one row per person and date) keeps the fold a column: without it
    # Ibis pastes the whole MD5 expression into every expression that reads the fold.
    return out.distinct()


def _flag(t: ir.Table, date: str, dates: ir.Table, name: str) -> ir.Table:
    """(person_id, as_of, name) for people with a row dated before as_of."""
    j = t.select("person_id", date).cross_join(dates)
    j = j.filter(j[date] < j.as_of)
    return j.select("person_id", "as_of").distinct().mutate(**{name: ibis.literal(1, "int8")})


def _seriously_late(tables: Mapping[str, ir.Table], dates: ir.Table) -> ir.Table:
    """(person_id, as_of) of people with a repayment ``SERIOUS_DAYS_LATE`` days late by as_of:
    paid that late before as_of, or still unpaid at as_of that long after its due date."""
    r = tables["repayments"].select("account_id", "due_date", "paid_date")
    a = tables["accounts"].select("person_id", "account_id")
    j = r.join(a, "account_id").cross_join(dates)
    paid = j.paid_date.notnull() & (j.paid_date < j.as_of)
    late = ibis.ifelse(paid, j.paid_date, j.as_of).delta(j.due_date, unit="day")
    j = j.filter((j.due_date < j.as_of) & (late >= SERIOUS_DAYS_LATE))
    return j.select("person_id", "as_of").distinct()


def usable_edges(tables: Mapping[str, ir.Table], pop: ir.Table) -> ir.Table:
    """Relationships that may be used at as_of: both consents, since before as_of, both
    people known before as_of, nobody linked to themselves. One row per relationship."""
    r = tables["relationships"]
    r = r.filter(r.consent_a & r.consent_b & (r.person_a != r.person_b))
    dates = pop.select("as_of").distinct()
    j = r.cross_join(dates)
    j = j.filter(j.since < j.as_of)
    a = pop.select(_a="person_id", _as_of_a="as_of")
    b = pop.select(_b="person_id", _as_of_b="as_of")
    j = j.semi_join(a, [j.person_a == a._a, j.as_of == a._as_of_a])
    j = j.semi_join(b, [j.person_b == b._b, j.as_of == b._as_of_b])
    return j.select("as_of", "person_a", "person_b", "kind", "since", "interactions")


def contact_pairs(edges: ir.Table) -> ir.Table:
    """(as_of, v, c, months, interactions, one flag per kind) for each contact c of v:
    a pair listed once per kind is still one contact."""
    cols = ("as_of", "kind", "since", "interactions")
    one = edges.select(*cols, v=edges.person_a, c=edges.person_b)
    two = edges.select(*cols, v=edges.person_b, c=edges.person_a)
    both = one.union(two, distinct=False)
    flags = {f"_{k}": ibis.ifelse(both.kind == k, 1, 0).max().cast("int64") for k in CONTACT_KINDS}
    pairs = both.group_by(["as_of", "v", "c"]).aggregate(
        _since=both.since.min(), _interactions=both.interactions.sum().cast("float64"), **flags
    )
    # whole days: their sums are exact in any order (months are taken after the mean)
    return pairs.mutate(_days=pairs.as_of.delta(pairs._since, unit="day").cast("float64"))


def network_table(
    tables: Mapping[str, ir.Table],
    dates: ir.Table,
    config: NetworkConfig,
    *,
    materialize: Callable[[str, ir.Table], ir.Table] | None = None,
) -> ir.Table:
    """(person_id, as_of, every network feature) for people with a consented contact.

    ``dates`` has one column, as_of. People without contacts get no row (the catalog
    fills their defaults: 0 contacts, everything else unknown). ``materialize(name, t)``,
    if given, is applied to the population, the contact pairs, the walk's edges and each
    step's state, and returns an equal table: an engine that computes and stores ``t``
    there (Spark checkpoints) keeps the plan from growing with the steps.
    """
    keep = materialize or (lambda _name, t: t)
    nf, k = config.folds, config.min_contacts
    pop = keep("population", population(tables, dates, nf))
    pairs = keep("pairs", contact_pairs(usable_edges(tables, pop)))

    nodes = pairs.group_by(["as_of", "v"]).aggregate(
        network_contacts=pairs.c.count().cast("float64"),
        **{f"network_{k_}_contacts": pairs[f"_{k_}"].sum().cast("float64") for k_ in CONTACT_KINDS},
        _days=pairs._days.sum(),
        _interactions=pairs._interactions.sum(),
    )
    folds = pop.select(_p="person_id", _as_of="as_of", _fold="fold")
    nodes = nodes.join(folds, [nodes.v == folds._p, nodes.as_of == folds._as_of])
    nodes = nodes.select(*(c for c in nodes.columns if c not in ("_p", "_as_of")))
    nodes = nodes.mutate(
        _scale=_double(1.0) / ibis.greatest(nodes.network_contacts, _double(k)),
        network_tenure_months=nodes._days / nodes.network_contacts / DAYS_PER_MONTH,
        network_interactions_per_contact=nodes._interactions / nodes.network_contacts,
    )

    xd = [f"_d{f}" for f in range(nf)]
    xb = [f"_b{f}" for f in range(nf)]
    xs = [*xd, *xb]
    carried = ["_ed", "_eb", "_share", "_two"]
    zero, one = _double(0.0), _double(1.0)
    state = pop.select(
        "as_of",
        "person_id",
        **{xd[f]: ibis.ifelse(pop.defaulted & (pop.fold != f), one, zero) for f in range(nf)},
        **{xb[f]: ibis.ifelse(pop.borrower & (pop.fold != f), one, zero) for f in range(nf)},
        **dict.fromkeys(carried, zero),
    )
    seeds = state

    node_keys = nodes.select("as_of", "v", "_scale", "_fold")
    step_edges = pairs.select("as_of", "v", "c").join(node_keys, ["as_of", "v"])
    step_edges = step_edges.mutate(_self=ibis.literal(False))
    self_rows = node_keys.mutate(c=node_keys.v, _self=ibis.literal(True))
    step_edges = step_edges.select("as_of", "v", "c", "_scale", "_fold", "_self").union(
        self_rows.select("as_of", "v", "c", "_scale", "_fold", "_self"), distinct=False
    )
    step_edges = keep("step_edges", step_edges)

    weights = config.weights
    for t in range(1, max(config.steps, 2) + 1):
        j = step_edges.join(
            state, [step_edges.as_of == state.as_of, step_edges.c == state.person_id]
        )
        agg = j.group_by([step_edges.as_of, step_edges.v, "_scale", "_fold"]).aggregate(
            **{x: ibis.ifelse(j._self, zero, j[x]).sum() for x in xs},
            **{x: ibis.ifelse(j._self, j[x], zero).sum() for x in carried},
        )
        # sums of grid values are exact in any order; scaled, back onto the grid
        agg = agg.mutate(**{x: _grid(agg[x] * agg._scale) for x in xs})
        own_d = _pick(agg._fold, [agg[x] for x in xd])
        own_b = _pick(agg._fold, [agg[x] for x in xb])
        updates: dict[str, ir.Value] = {}
        if t <= config.steps:
            w = _double(weights[t - 1])
            updates["_ed"] = agg._ed + w * own_d
            updates["_eb"] = agg._eb + w * own_b
        if t == 1:
            updates["_share"] = own_d
        if t == 2:
            updates["_two"] = own_d
        agg = agg.mutate(**updates)
        state = agg.select("as_of", person_id=agg.v, **{x: agg[x] for x in [*xs, *carried]})
        state = keep(f"step_{t}", state)

    prior = seeds.aggregate(
        by=["as_of"],
        **{f"_D{f}": seeds[xd[f]].sum() for f in range(nf)},
        **{f"_N{f}": seeds[xb[f]].sum() for f in range(nf)},
    )
    least_borrowers = _double(config.min_borrowers)
    prior = prior.select(
        "as_of",
        **{
            f"_p{f}": prior[f"_D{f}"] / ibis.greatest(prior[f"_N{f}"], least_borrowers)
            for f in range(nf)
        },
    )
    out = nodes.join(state, [nodes.as_of == state.as_of, nodes.v == state.person_id])
    out = out.join(prior, out.as_of == prior.as_of)
    m0 = _double(config.prior_mass)
    p = _pick(out._fold, [out[f"_p{f}"] for f in range(nf)])
    ratio = (out._ed + m0 * p) / (out._eb + m0)
    values = {
        "network_default_share": out._share,
        "network_two_hop_exposure": out._two,
        "network_walk_default_ratio": ratio,
    }
    values = {name: _unit(v) for name, v in values.items()}
    return out.select(
        person_id=out.v,
        as_of=nodes.as_of,
        **{name: values[name] if name in values else out[name] for name in FEATURES},
    )


def _pick(fold: ir.IntegerValue, columns: list[ir.FloatingValue]) -> ir.FloatingValue:
    """The column of the person's own fold."""
    return ibis.cases(*((fold == f, c) for f, c in enumerate(columns)), else_=ibis.null("float64"))


def _double(x: float) -> ir.FloatingValue:
    """The float ``x`` as a SQL double, to the bit on every engine.

    Ibis writes a float literal as plain text (``1.0``, ``0.10837499999999999``), which
    Spark SQL reads as a DECIMAL: seeds of ``IF(.., 1.0, 0.0)`` became decimals, their sums
    decimals, and the population rate a decimal division rounded to 14 places (263 of 300
    walk ratios 1e-14 off DuckDB's). The shortest round-trip text cast to DOUBLE is parsed
    once, correctly rounded, by Spark and DuckDB alike.
    """
    return ibis.literal(repr(float(x))).cast("float64")


def _grid(x: ir.FloatingValue) -> ir.FloatingValue:
    """floor(x * G + 0.5) / G: x to the walk's grid, as ``sparse.to_grid`` rounds it."""
    g = _double(WALK_GRID)
    return (x * g + _double(0.5)).floor().cast("float64") / g


def _unit(x: ir.FloatingValue) -> ir.FloatingValue:
    return ibis.greatest(ibis.least(x, _double(1.0)), _double(0.0))
