"""Who an incremental re-score must touch: people with rows in batches after a run's
watermark (every contract table, through the contract's references to a person), and
people whose network features moved.

How each table reaches a person is read from the contract (``contract.links``), not listed
here; a table that reaches no person is an error, so a new contract table cannot be
silently ignored.
"""

from __future__ import annotations

import hashlib

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from openbureau.contract import TABLES, Table
from openbureau.contract.links import person_ids_sql


def person_paths(table: Table) -> list[str]:
    """SQL selecting ``person_id`` for each way a row of ``table`` names a person (rows of
    batches after ``$watermark``)."""
    try:
        return person_ids_sql(table, "t._batch_id > $watermark")
    except ValueError as exc:
        raise ValueError(f"{exc}: rescore cannot tell whose inputs it changes") from None


def changed_people(con: duckdb.DuckDBPyConnection, watermark: int) -> pa.Array:
    """Distinct ids of people with a row in any batch after ``watermark``."""
    parts = [sql for table in TABLES for sql in person_paths(table)]
    union = " UNION ".join(parts)
    result = con.sql(union, params={"watermark": watermark}).to_arrow_table()
    return pc.unique(result.column("person_id").combine_chunks().cast(pa.string()))


def tables_with_rows_after(
    con: duckdb.DuckDBPyConnection, watermark: int, tables: tuple[str, ...]
) -> list[str]:
    """Which of ``tables`` hold a row of a batch after ``watermark``."""
    found = []
    for name in tables:
        rows = con.execute(
            f'SELECT 1 FROM "{name}" WHERE _batch_id > $1 LIMIT 1', [watermark]
        ).fetchall()  # all (one at most): DuckDB refuses new work beside an unfinished result
        if rows:
            found.append(name)
    return found


def watermark(con: duckdb.DuckDBPyConnection) -> int:
    """The latest complete ingest batch (0 for a store never ingested into)."""
    row = con.execute("SELECT coalesce(max(batch_id), 0) FROM ingest_batches").fetchone()
    return int(row[0]) if row else 0


def batches_digest(con: duckdb.DuckDBPyConnection, up_to: int) -> str:
    """A hash of the batch ledger up to ``up_to``: equal exactly when the store holds the
    same batches a run read (whatever folder it now lives in)."""
    rows = con.execute(
        "SELECT batch_id, CAST(started_at AS VARCHAR), source, read, accepted, quarantined "
        "FROM ingest_batches WHERE batch_id <= $1 ORDER BY batch_id",
        [up_to],
    ).fetchall()
    return hashlib.sha256(repr(rows).encode()).hexdigest()[:16]


def differing_rows(new: pa.Table, old: pa.Table, columns: list[str]) -> np.ndarray:
    """A boolean mask over rows: where any of ``columns`` differs between two aligned tables
    of float64 columns (NaN equals NaN: an unknown value that stayed unknown)."""
    mask = np.zeros(new.num_rows, dtype=bool)
    for name in columns:
        a = new.column(name).to_numpy()
        b = old.column(name).to_numpy()
        same = (a == b) | (np.isnan(a) & np.isnan(b))
        mask |= ~same
    return mask
