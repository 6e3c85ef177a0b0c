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
MEMORY_ENV = "OPENBUREAU_MEMORY_LIMIT"
# DuckDB takes 80% of RAM by default and is then the first thing the kernel kills when
# anything else runs beside it (an ingest of 1M people was, at 12.7 GB, here). Half of RAM,
# with spilling to a temp folder inside the store, leaves room and still ingests 1M people.
DEFAULT_MEMORY_SHARE = 0.5


def memory_limit() -> str:
    """DuckDB's memory_limit: $OPENBUREAU_MEMORY_LIMIT (e.g. '8GB') or half of RAM."""
    explicit = os.environ.get(MEMORY_ENV)
    if explicit:
        return explicit
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return "80%"
    return f"{int(total * DEFAULT_MEMORY_SHARE) // 2**20}MB"


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
CREATE TABLE IF NOT EXISTS ingest_open_batches (
    batch_id      BIGINT PRIMARY KEY,   -- a batch being written; gone once it is complete
    started_at    TIMESTAMP NOT NULL
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
        config = {"memory_limit": memory_limit()}
        if not read_only:
            config["temp_directory"] = str(self.path / ".tmp")
        self.con = duckdb.connect(str(self.db_path), read_only=read_only, config=config)
        if not read_only:
            self._create_schema()
            self.recover()
        else:
            self._refuse_interrupted()

    def open_batches(self) -> list[int]:
        """Batches an ingest started and never finished (it was killed)."""
        tables = {r[0] for r in self.con.execute("SHOW TABLES").fetchall()}
        if "ingest_open_batches" not in tables:
            return []
        rows = self.con.execute("SELECT batch_id FROM ingest_open_batches ORDER BY 1").fetchall()
        return [int(r[0]) for r in rows]

    def recover(self) -> list[int]:
        """Remove every row of batches that never finished, in one transaction.

        An ingest commits file by file (one transaction for a whole batch held every
        appended row in memory until the end: 23 GB for a million people) and marks its
        batch open until the last commit; this is what makes the batch all or nothing.
        """
        open_ids = self.open_batches()
        if not open_ids:
            return []
        with self.transaction():
            for batch_id in open_ids:
                for table in TABLES:
                    self.con.execute(f'DELETE FROM "{table.name}" WHERE _batch_id = $1', [batch_id])
                for meta in ("quarantine", "ingest_files", "ingest_batches"):
                    self.con.execute(f"DELETE FROM {meta} WHERE batch_id = $1", [batch_id])
                self.con.execute("DELETE FROM ingest_open_batches WHERE batch_id = $1", [batch_id])
        return open_ids

    def _refuse_interrupted(self) -> None:
        open_ids = self.open_batches()
        if open_ids:
            self.con.close()
            raise RuntimeError(
                f"the store {self.path} holds an interrupted ingest (batch {open_ids[0]}); "
                "open it for writing once to roll that batch back: the next `openbureau "
                "ingest ... --store DIR` does it first, as does openbureau.store.Store(DIR)"
            )

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
