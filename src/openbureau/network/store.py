"""Read a DuckDB store for the sparse engine: one as_of at a time, edges as int indices.

The population and the usable edges are the relational engine's own expressions
(``relational.population``, ``relational.usable_edges``) compiled to DuckDB SQL, so both
engines read exactly the same people, seeds, folds and relationships; DuckDB maps person
ids to indices in a join and streams the edges as Arrow batches into int32 arrays.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable

import duckdb
import ibis
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from openbureau.contract import TABLES
from openbureau.network.config import FEATURES, KINDS, NetworkConfig
from openbureau.network.relational import population, usable_edges
from openbureau.network.sparse import network_features

DATES = "_openbureau_network_dates"
INDEX = "_openbureau_network_index"
# The only tables the network definition reads (its expressions are compiled over these
# alone, so reading another would fail here): rows in other tables never move it.
NETWORK_TABLES = ("people", "relationships", "outcomes", "accounts", "repayments")
BATCH_ROWS = 1 << 20


def _tables() -> dict[str, ibis.Table]:
    by_name = {t.name: t for t in TABLES}
    return {
        name: ibis.table(ibis.Schema.from_pyarrow(by_name[name].schema), name=name)
        for name in NETWORK_TABLES
    }


@functools.lru_cache(maxsize=16)
def _sql(folds: int) -> tuple[str, str]:
    """(population SQL, edge SQL) reading the as_of from DATES and indices from INDEX."""
    tables = _tables()
    dates = ibis.table({"as_of": "date"}, name=DATES)
    pop = population(tables, dates, folds)
    pop_sql = str(ibis.to_sql(pop.order_by("person_id"), dialect="duckdb"))
    edges = usable_edges(tables, pop)
    index = ibis.table({"person_id": "string", "i": "int32"}, name=INDEX)
    a = index.select(_pa="person_id", _ia="i")
    b = index.view().select(_pb="person_id", _ib="i")
    j = edges.join(a, edges.person_a == a._pa)
    j = j.select("_ia", "person_b", "kind", "since", "interactions")
    j = j.join(b, j.person_b == b._pb).select("_ia", "_ib", "kind", "since", "interactions")
    return pop_sql, str(ibis.to_sql(j, dialect="duckdb"))


def network_frame(
    con: duckdb.DuckDBPyConnection, dates: Iterable[dt.date], config: NetworkConfig
) -> pa.Table:
    """(person_id, as_of, every network feature) for everyone known before each as_of."""
    parts = [_one(con, d, config) for d in sorted(set(dates))]
    if not parts:
        schema = pa.schema(
            [("person_id", pa.string()), ("as_of", pa.date32())]
            + [(name, pa.float64()) for name in FEATURES]
        )
        return schema.empty_table()
    return pa.concat_tables(parts)


def _one(con: duckdb.DuckDBPyConnection, as_of: dt.date, config: NetworkConfig) -> pa.Table:
    pop_sql, edge_sql = _sql(config.folds)
    con.register(DATES, pa.table({"as_of": pa.array([as_of], pa.date32())}))
    try:
        pop = con.sql(pop_sql).to_arrow_table()
        n = pop.num_rows
        ids = pop["person_id"]
        con.register(
            INDEX, pa.table({"person_id": ids, "i": pa.array(np.arange(n, dtype=np.int32))})
        )
        try:
            edges = _read_edges(con.sql(edge_sql).to_arrow_reader(BATCH_ROWS))
        finally:
            con.unregister(INDEX)
    finally:
        con.unregister(DATES)
    src, dst, kind, since, interactions = edges
    values = network_features(
        src, dst, n,
        pop["defaulted"].to_numpy(zero_copy_only=False),
        pop["borrower"].to_numpy(zero_copy_only=False),
        pop["fold"].to_numpy(zero_copy_only=False).astype(np.int32),
        kind=kind, since=since, interactions=interactions, as_of=as_of, config=config,
    )  # fmt: skip
    columns = {"person_id": ids, "as_of": pa.array(np.full(n, as_of), pa.date32())}
    columns.update({name: pa.array(values[name], pa.float64()) for name in FEATURES})
    return pa.table(columns)


def _read_edges(reader: pa.RecordBatchReader) -> tuple[np.ndarray, ...]:
    """Edge batches into int arrays (kind as codes, since as days)."""
    cols: list[list[np.ndarray]] = [[], [], [], [], []]
    kinds = pa.array(KINDS)
    for batch in reader:
        cols[0].append(batch.column("_ia").to_numpy(zero_copy_only=False).astype(np.int32))
        cols[1].append(batch.column("_ib").to_numpy(zero_copy_only=False).astype(np.int32))
        codes = pc.index_in(batch.column("kind"), value_set=kinds)
        cols[2].append(codes.to_numpy(zero_copy_only=False).astype(np.int8))
        since = batch.column("since").cast(pa.int32())
        cols[3].append(since.to_numpy(zero_copy_only=False).astype(np.int64))
        cols[4].append(batch.column("interactions").to_numpy(zero_copy_only=False))
    dtypes = (np.int32, np.int32, np.int8, np.int64, np.int64)
    return tuple(
        np.concatenate(c).astype(t, copy=False) if c else np.zeros(0, t)
        for c, t in zip(cols, dtypes, strict=True)
    )
