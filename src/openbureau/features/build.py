"""Run the catalog on a store: one relational query, compiled by Ibis, returned as Arrow.

``source`` may be a Store, a DuckDB connection, or any Ibis backend holding the contract
tables (the very same expression then runs on Spark). The query reads its spine from one
input table, so on DuckDB the SQL Ibis compiles is cached per (mode, params): compiling
the whole catalog costs more than running it on a small store, and a service or a test
builds features many times. Nothing goes row by row in Python and pandas is not involved.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections.abc import Sequence
from typing import TypeAlias

import duckdb
import ibis
import ibis.expr.types as ir
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from ibis.backends import BaseBackend

from openbureau.contract import TABLES
from openbureau.features import network
from openbureau.features.catalog import CATALOG, GROUPS, check_catalog
from openbureau.features.frame import Frame, contract_tables, frame_spine
from openbureau.features.matrix import assemble
from openbureau.features.spec import KEYS, FeatureParams, FeatureSpec
from openbureau.features.sqlcache import cached_text
from openbureau.store import Store

Source: TypeAlias = Store | duckdb.DuckDBPyConnection | BaseBackend
AsOf: TypeAlias = dt.date | str | pa.Table

# The one input table a query reads: (person_id, as_of) pairs, or as_of dates, or the
# (person_id, as_of) of a people filter (the dates spine, semi-joined to those people).
INPUT = "_openbureau_features_input"
PAIRS, DATES, PEOPLE = "pairs", "dates", "people"
_PAIR_SCHEMA = pa.schema([pa.field("person_id", pa.string()), pa.field("as_of", pa.date32())])
_INPUT_SCHEMAS = {
    PAIRS: _PAIR_SCHEMA,
    DATES: pa.schema([pa.field("as_of", pa.date32())]),
    PEOPLE: _PAIR_SCHEMA,
}
_ORDER = ["as_of", "person_id"]
# Up to this many people, a people-filtered query runs on a copy of just their rows (see
# ``people_subset``); beyond it, on the store with the spine semi-joined to them.
SUBSET_MAX_PEOPLE = 200_000
_SUBSET_IDS = "_openbureau_subset_people"


def source_tables(backend: BaseBackend) -> dict[str, ir.Table]:
    """The contract tables of a backend, contract columns only."""
    return contract_tables({t.name: backend.table(t.name) for t in TABLES})


def dates_spine(
    tables: dict[str, ir.Table], dates: ir.Table, *, eligible_only: bool = False
) -> ir.Table:
    """Everyone known before each date (first_seen < as_of); ``eligible_only`` also drops
    people with a default outcome before as_of (training sets)."""
    people = tables["people"]
    spine = people.cross_join(dates)
    spine = spine.filter(spine.first_seen < spine.as_of).select("person_id", "as_of", "first_seen")
    if eligible_only:
        past = tables["outcomes"].view()
        spine = spine.anti_join(
            past, [spine.person_id == past.person_id, past.event_date < spine.as_of]
        )
    return spine


def people_spine(tables: dict[str, ir.Table], wanted: ir.Table) -> ir.Table:
    """The dates spine of ``wanted``'s dates, kept to ``wanted``'s (person_id, as_of) by a
    semi-join: the same rows ``dates_spine`` gives those people, and every group then joins,
    scans and aggregates only their events (what an incremental re-score needs)."""
    spine = dates_spine(tables, wanted.select("as_of").distinct())
    return spine.semi_join(
        wanted, [spine.person_id == wanted.person_id, spine.as_of == wanted.as_of]
    )


def with_label(tables: dict[str, ir.Table], matrix: ir.Table, horizon_months: int) -> ir.Table:
    """``label`` = 1 if an outcome falls in [as_of, as_of + horizon_months), else 0."""
    future = tables["outcomes"]
    keys = matrix.select(*KEYS)
    end = keys.as_of + ibis.interval(months=horizon_months)
    hits = keys.join(
        future,
        [
            keys.person_id == future.person_id,
            future.event_date >= keys.as_of,
            future.event_date < end,
        ],
    )
    hits = hits.select(*KEYS).distinct().mutate(hit=ibis.literal(1, "int8"))
    joined = matrix.left_join(
        hits, [matrix.person_id == hits.person_id, matrix.as_of == hits.as_of]
    )
    return joined.select(
        *(matrix[c] for c in matrix.columns), label=hits.hit.coalesce(0).cast("int8")
    )


def query(
    tables: dict[str, ir.Table],
    inputs: ir.Table,
    mode: str,
    params: FeatureParams,
    horizon_months: int | None = None,
    *,
    with_network: bool = True,
) -> ir.Table:
    """The whole matrix (and label, given a horizon) as one expression, ordered.

    ``with_network=False`` leaves the network columns out, for DuckDB, where the sparse
    engine computes them (``network.attach``) far faster than relational walk steps.
    """
    if mode == PAIRS:
        spine = frame_spine(tables, inputs)
    elif mode == PEOPLE:
        spine = people_spine(tables, inputs)
    else:
        spine = dates_spine(tables, inputs, eligible_only=horizon_months is not None)
    specs, groups = CATALOG, GROUPS
    if not with_network:
        specs = tuple(s for s in CATALOG if s.group != network.GROUP)
        groups = tuple(g for g in GROUPS if g.name != network.GROUP)
    matrix = assemble(Frame.of(spine, tables, params), specs, groups)
    if horizon_months is not None:
        matrix = with_label(tables, matrix, horizon_months)
    return matrix.order_by(_ORDER)


@functools.lru_cache(maxsize=64)
def compiled_sql(mode: str, params: FeatureParams, horizon_months: int | None = None) -> str:
    """The DuckDB SQL of ``query`` over plain table names, reading the input from INPUT
    (without the network columns, which ``execute`` attaches). Kept on disk per code
    version too (``sqlcache``): compiling costs seconds in every new process."""

    def compile_now() -> str:
        inputs = ibis.table(ibis.Schema.from_pyarrow(_INPUT_SCHEMAS[mode]), name=INPUT)
        expr = query(contract_tables(), inputs, mode, params, horizon_months, with_network=False)
        return str(ibis.to_sql(expr, dialect="duckdb"))

    return cached_text("features-sql", compile_now, mode, params, horizon_months)


def _duckdb_connection(source: object) -> duckdb.DuckDBPyConnection | None:
    """The DuckDB connection under ``source``, if there is one."""
    if isinstance(source, Store):
        return source.con
    if isinstance(source, duckdb.DuckDBPyConnection):
        return source
    if isinstance(source, BaseBackend) and source.name == "duckdb":
        con = getattr(source, "con", None)
        return con if isinstance(con, duckdb.DuckDBPyConnection) else None
    return None


def execute(
    source: Source,
    mode: str,
    inputs: pa.Table,
    params: FeatureParams,
    horizon_months: int | None = None,
    *,
    network_rows: pa.Table | None = None,
) -> pa.Table:
    """Run the query on ``source``: cached SQL on DuckDB, the Ibis expression elsewhere.

    ``network_rows`` (DuckDB only): the network columns already computed for the query's
    date (``openbureau.network.store.network_frame``), taken instead of computed again.
    """
    check_catalog()
    inputs = inputs.select(_INPUT_SCHEMAS[mode].names).cast(_INPUT_SCHEMAS[mode])
    con = _duckdb_connection(source)
    if con is None:
        if network_rows is not None:
            raise TypeError("network_rows needs a DuckDB source (a Store or a connection)")
        if not isinstance(source, BaseBackend):
            raise TypeError(
                "source must be a Store, a duckdb connection or an Ibis backend, "
                f"got {type(source).__name__}"
            )
        expr = query(source_tables(source), ibis.memtable(inputs), mode, params, horizon_months)
        return expr.to_pyarrow()
    sql = compiled_sql(mode, params, horizon_months)
    run_on = con
    if mode == PEOPLE and inputs.num_rows <= SUBSET_MAX_PEOPLE:
        run_on = people_subset(con, inputs.select(["person_id"]))
    run_on.register(INPUT, inputs)
    try:
        result = run_on.sql(sql).to_arrow_table()
    finally:
        run_on.unregister(INPUT)
        if run_on is not con:
            run_on.close()
    if network_rows is not None:
        return take_network(result, network_rows)
    return network.attach(con, result, params)


def people_subset(con: duckdb.DuckDBPyConnection, people: pa.Table) -> duckdb.DuckDBPyConnection:
    """A new in-memory DuckDB holding, for every contract table, the rows that reach
    ``people`` (through the contract's references: ``contract.links``).

    Why: every catalog feature of a person reads only rows that reach that person (the
    network columns, which read other people's rows, are computed apart), so the catalog
    on this copy gives those people exactly the rows it gives them on the whole store.
    On the store, DuckDB aggregates every table before the spine's semi-join can prune
    it (a re-score of 1% of a million people cost 40% of a full run); here the query
    reads a few thousand rows per person.
    """
    from openbureau.contract.links import rows_of_people_sql

    con.register(_SUBSET_IDS, people)
    try:
        subset = duckdb.connect()
        for table in TABLES:
            rows = con.sql(rows_of_people_sql(table, _SUBSET_IDS)).to_arrow_table()
            subset.register(table.name, rows)
    finally:
        con.unregister(_SUBSET_IDS)
    return subset


def take_network(result: pa.Table, rows: pa.Table) -> pa.Table:
    """``result`` with the network columns of ``rows`` appended, exactly as
    ``network.attach`` computes them: rows matched on (person_id, as_of), people without a
    row get each feature's default. ``rows`` must cover every date of ``result``."""
    keys = pa.table({"person_id": result["person_id"], "as_of": result["as_of"]})
    missing_dates = set(pc.unique(keys["as_of"]).to_pylist()) - set(
        pc.unique(rows["as_of"]).to_pylist()
    )
    if missing_dates:
        raise ValueError(f"network_rows hold no rows for as_of {sorted(missing_dates)}")
    names = [s.name for s in network.SPECS]
    absent = [n for n in [*KEYS, *names] if n not in rows.column_names]
    if absent:
        raise ValueError(f"network_rows lack columns {absent}")
    position = pa.array(np.arange(result.num_rows, dtype=np.int64))
    left = pa.Table.from_arrays([*keys.columns, position], [*KEYS, "_row"])
    joined = left.join(rows.select([*KEYS, *names]), list(KEYS), join_type="left outer")
    joined = joined.sort_by("_row")
    for spec in network.SPECS:
        column = joined[spec.name].cast(pa.float64())
        fill = math.nan if spec.default is None else spec.default
        column = pc.fill_null(column, fill)
        if spec.default is not None:  # attach turns NaN into the default too
            column = pc.if_else(pc.is_nan(column), fill, column)
        result = result.append_column(spec.name, column)
    return result


def as_date(value: object) -> dt.date:
    if isinstance(value, dt.datetime):
        raise TypeError("as_of must be a date, not a datetime")
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        return dt.date.fromisoformat(value)
    raise TypeError(f"as_of must be a date, an ISO date string or a spine table, got {value!r}")


def spine_table(spine: pa.Table) -> pa.Table:
    """Distinct (person_id string, as_of date32) pairs from what the caller gave."""
    missing = [k for k in KEYS if k not in spine.column_names]
    if missing:
        raise ValueError(f"spine needs columns {list(KEYS)}; missing {missing}")
    person = spine["person_id"].cast(pa.string())
    as_of = spine["as_of"]
    if pa.types.is_timestamp(as_of.type) or pa.types.is_string(as_of.type):
        as_of = as_of.cast(pa.date32())
    elif not pa.types.is_date(as_of.type):
        raise TypeError(f"spine as_of must be dates, got {as_of.type}")
    if person.null_count or as_of.null_count:
        raise ValueError("spine person_id and as_of must not be null")
    return pa.table({"person_id": person, "as_of": as_of.cast(pa.date32())})


def feature_schema(specs: Sequence[FeatureSpec] = CATALOG) -> pa.Schema:
    """The schema of every feature matrix: keys, segment, then each feature as float64."""
    return pa.schema(
        [
            pa.field("person_id", pa.string(), nullable=False),
            pa.field("as_of", pa.date32(), nullable=False),
            pa.field("segment", pa.string(), nullable=False),
            *(pa.field(s.name, pa.float64()) for s in specs),
        ]
    )


def finish(
    result: pa.Table, specs: Sequence[FeatureSpec], extra: pa.Schema | None = None
) -> pa.Table:
    """Exact types, and NaN (not null) wherever a feature is unknown."""
    schema = feature_schema(specs)
    columns = [result[f.name].cast(f.type) for f in schema]
    for i in range(3, 3 + len(specs)):
        columns[i] = pc.fill_null(columns[i], math.nan)
    if extra is not None:
        schema = pa.schema([*schema, *extra])
        columns += [result[f.name].cast(f.type) for f in extra]
    return pa.Table.from_arrays(columns, schema=schema)


def people_ids(people: object) -> pa.Array:
    """Distinct person ids from an Arrow array, chunked array, table (its ``person_id``) or
    a list of strings; a precise error for anything else."""
    if isinstance(people, pa.Table):
        if "person_id" not in people.column_names:
            raise ValueError(f"people table needs a person_id column, got {people.column_names}")
        people = people["person_id"]
    if isinstance(people, list | tuple | set | frozenset):
        bad = next((p for p in people if not isinstance(p, str)), None)
        if bad is not None:
            raise TypeError(f"people must be person id strings, got {bad!r}")
        people = pa.array(sorted(people), pa.string())
    if isinstance(people, pa.ChunkedArray):
        people = people.combine_chunks()
    if not isinstance(people, pa.Array):
        raise TypeError(
            f"people must be an Arrow array or table, or a list of ids, got {type(people).__name__}"
        )
    if not (pa.types.is_string(people.type) or pa.types.is_large_string(people.type)):
        raise TypeError(f"people must hold string person ids, got {people.type}")
    if people.null_count:
        raise ValueError("people must not hold null ids")
    return pc.unique(people.cast(pa.string()))


def build_features(
    source: Source,
    as_of: AsOf,
    *,
    params: FeatureParams | None = None,
    people: pa.Array | pa.ChunkedArray | pa.Table | Sequence[str] | None = None,
    network_rows: pa.Table | None = None,
) -> pa.Table:
    """One row per (person_id, as_of): person_id, as_of, segment, then every feature (float64).

    ``as_of`` is a date (everyone with first_seen < as_of) or an Arrow table of
    (person_id, as_of) pairs for many dates at once. A feature at as_of sees only events
    dated strictly before it. Unknown values are NaN. Rows are ordered by as_of, person_id.

    ``people`` (with a date) keeps the rows of those ids only: the spine is semi-joined to
    them before any event table is read, so the query scans and aggregates their events
    alone, and each row equals the one the whole population's run gives. ``network_rows``
    (DuckDB) supplies network columns computed already for that date (``network_frame``).
    """
    params = params or FeatureParams()
    if isinstance(as_of, pa.Table):
        if people is not None:
            raise ValueError("people filters a date as_of; a spine table already names its people")
        result = execute(source, PAIRS, spine_table(as_of), params, network_rows=network_rows)
    elif people is not None:
        ids = people_ids(people)
        day = pa.array([as_date(as_of)] * len(ids), pa.date32())
        inputs = pa.table({"person_id": ids, "as_of": day})
        result = execute(source, PEOPLE, inputs, params, network_rows=network_rows)
    else:
        dates = pa.table({"as_of": pa.array([as_date(as_of)], pa.date32())})
        result = execute(source, DATES, dates, params, network_rows=network_rows)
    return finish(result, CATALOG)
