"""The embedded event store: one DuckDB file holding the contract tables append-only.

Every contract table carries three lineage columns so any stored row can be traced
to the batch, file and line it came from (disputes name a record; this is how it is
found). Rows are never updated or deleted by ingest.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from openbureau.contract import TABLES, Table

DEFAULT_STORE = Path("openbureau-data")
DB_FILE = "openbureau.duckdb"
STORE_ENV = "OPENBUREAU_STORE"

LINEAGE_COLUMNS = ("_batch_id", "_file_id", "_row")

_META_DDL = """
CREATE TABLE IF NOT EXISTS ingest_batches (
    batch_id      BIGINT PRIMARY KEY,
    started_at    TIMESTAMP NOT NULL,
    finished_at   TIMESTAMP NOT NULL,
    source        VARCHAR NOT NULL,
    files         BIGINT NOT NULL,
    files_rejected BIGINT NOT NULL,
    read          BIGINT NOT NULL,
    accepted      BIGINT NOT NULL,
    quarantined   BIGINT NOT NULL,
    version       VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS ingest_files (
    file_id       BIGINT PRIMARY KEY,
    batch_id      BIGINT NOT NULL,
    path          VARCHAR NOT NULL,
    sha256        VARCHAR NOT NULL,
    bytes         BIGINT NOT NULL,
    table_name    VARCHAR,
    format        VARCHAR,
    status        VARCHAR NOT NULL,      -- ingested | rejected
    error_code    VARCHAR,
    error_message VARCHAR,
    read          BIGINT NOT NULL,
    accepted      BIGINT NOT NULL,
    quarantined   BIGINT NOT NULL,
    ignored_columns VARCHAR[]
);
CREATE TABLE IF NOT EXISTS quarantine (
    batch_id    BIGINT NOT NULL,
    file_id     BIGINT NOT NULL,
    table_name  VARCHAR NOT NULL,
    source_file VARCHAR NOT NULL,
    "row"       BIGINT NOT NULL,
    field       VARCHAR,
    reason      VARCHAR NOT NULL,
    message     VARCHAR NOT NULL,
    errors      JSON NOT NULL,
    raw         JSON NOT NULL
);
"""


def resolve_store(path: str | Path | None = None) -> Path:
    """The store folder: the argument, else $OPENBUREAU_STORE, else ./openbureau-data."""
    if path is not None:
        return Path(path)
    env = os.environ.get(STORE_ENV)
    return Path(env) if env else DEFAULT_STORE


def table_ddl(table: Table) -> str:
    columns = [
        f'"{f.name}" {f.duckdb_type}{" NOT NULL" if f.required else ""}' for f in table.fields
    ]
    columns += [f'"{c}" BIGINT NOT NULL' for c in LINEAGE_COLUMNS]
    return f'CREATE TABLE IF NOT EXISTS "{table.name}" (\n    ' + ",\n    ".join(columns) + "\n)"


class Transaction:
    """An open transaction that may be rolled back early (nothing worth keeping)."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self.done = False

    def rollback(self) -> None:
        self.con.execute("ROLLBACK")
        self.done = True


class Store:
    """A store folder with its DuckDB database; created on first write.

    >>> import tempfile
    >>> with Store(tempfile.mkdtemp()) as store:
    ...     store.table_counts()["people"]
    0
    """

    def __init__(self, path: str | Path | None = None, *, read_only: bool = False) -> None:
        self.path = resolve_store(path)
        if self.path.exists() and not self.path.is_dir():
            raise ValueError(f"store path {self.path} exists and is not a folder")
        self.db_path = self.path / DB_FILE
        if read_only and not self.db_path.exists():
            raise FileNotFoundError(
                f"no openbureau store at {self.path} (expected {self.db_path}); "
                "run `openbureau ingest PATH --store DIR` first"
            )
        self.path.mkdir(parents=True, exist_ok=True)
        self.con = duckdb.connect(str(self.db_path), read_only=read_only)
        if not read_only:
            self._create_schema()

    def _create_schema(self) -> None:
        for table in TABLES:
            self.con.execute(table_ddl(table))
        self.con.execute(_META_DDL)

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """All or nothing: a batch that dies midway leaves no trace after recovery."""
        self.con.execute("BEGIN TRANSACTION")
        txn = Transaction(self.con)
        try:
            yield txn
        except BaseException:
            if not txn.done:
                self.con.execute("ROLLBACK")
            raise
        if not txn.done:
            self.con.execute("COMMIT")

    def table_counts(self) -> dict[str, int]:
        counts = {}
        for table in TABLES:
            counts[table.name] = int(self.scalar(f'SELECT count(*) FROM "{table.name}"'))
        return counts

    def scalar(self, sql: str, params: list[Any] | dict[str, Any] | None = None) -> Any:
        rows = self.con.execute(sql, params or []).fetchall()
        return rows[0][0] if rows else None

    def records(
        self, sql: str, params: list[Any] | dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        cursor = self.con.execute(sql, params or [])
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
