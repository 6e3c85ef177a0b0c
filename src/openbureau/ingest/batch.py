"""One ingest = one batch: every file under the given paths, in one transaction.

A batch either lands whole or not at all (a crash midway is rolled back by
DuckDB's write-ahead log on the next open). A file whose exact content was
ingested before is skipped, so re-running an ingest is a no-op.
"""

from __future__ import annotations

import hashlib
import os
import signal
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa

from openbureau import __version__
from openbureau.contract import TABLES, get_table
from openbureau.ingest.discover import SourceFile, discover
from openbureau.ingest.errors import FileRejected, RowError
from openbureau.ingest.readers import ROW, read_file
from openbureau.ingest.report import FileReport, IngestReport
from openbureau.ingest.validate import (
    INSERT_QUARANTINE_SQL,
    REASON_COUNTS_SQL,
    insert_accepted_sql,
    raw_name,
    validation_query,
)
from openbureau.store import Store

# Fault injection for the atomicity tests: SIGKILL this process after N files of a
# batch were written, before the batch commits. Unset in normal use.
FAULT_ENV = "OPENBUREAU_FAULT_KILL_AFTER_FILES"
EXAMPLES_PER_REASON = 3
_TABLE_ORDER = {t.name: i for i, t in enumerate(TABLES)}

Progress = Callable[[str, int, int], None]


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _load_order(src: SourceFile) -> tuple[int, str]:
    return (_TABLE_ORDER.get(src.table or "", len(_TABLE_ORDER)), str(src.path))


def _staged_types(data: pa.Table) -> dict[str, str]:
    return {
        name: "VARCHAR" if pa.types.is_string(t) or pa.types.is_large_string(t) else str(t)
        for name, t in zip(data.column_names, data.schema.types, strict=True)
        if name != ROW
    }


def _row_errors_table(errors: list[RowError]) -> pa.Table:
    return pa.table(
        {
            "row": pa.array([e.row for e in errors], pa.int64()),
            "reason": pa.array([e.reason for e in errors], pa.string()),
            "message": pa.array([e.message for e in errors], pa.string()),
            "raw": pa.array([e.raw for e in errors], pa.string()),
        }
    )


class _Batch:
    """The work of one ingest inside its transaction."""

    def __init__(
        self, store: Store, batch_id: int, now: datetime, *, log_rejected: set[str]
    ) -> None:
        self.store = store
        self.con = store.con
        self.batch_id = batch_id
        self.now = now
        last = store.scalar("SELECT coalesce(max(file_id), 0) FROM ingest_files")
        self.next_file_id = int(last) + 1
        self.written = 0
        self.logged = 0
        self.rejected_before = log_rejected  # refused before: reported again, not re-logged

    def _new_file_id(self) -> int:
        self.next_file_id += 1
        return self.next_file_id - 1

    def _log_file(self, file_id: int, src: SourceFile, sha: str, report: FileReport) -> None:
        if report.status == "rejected" and sha in self.rejected_before:
            return
        self.logged += 1
        self.con.execute(
            "INSERT INTO ingest_files VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, "
            "$13, $14)",
            [
                file_id,
                self.batch_id,
                str(src.path.resolve()),
                sha,
                src.path.stat().st_size,
                src.table,
                src.format,
                report.status,
                report.error_code,
                report.error_message,
                report.read,
                report.accepted,
                report.quarantined,
                report.ignored_columns,
            ],
        )

    def ingest_file(self, src: SourceFile, sha: str) -> FileReport:
        file_id = self._new_file_id()
        try:
            if src.format is None:
                raise FileRejected(
                    str(src.path),
                    "unsupported_format",
                    "expected .csv, .csv.gz, .parquet, .jsonl or .ndjson",
                )
            if src.table is None:
                raise FileRejected(
                    str(src.path),
                    "unknown_table",
                    "name the file (or its folder) after a contract table: "
                    + ", ".join(t.name for t in TABLES),
                )
            table = get_table(src.table)
            staged = read_file(src.path, src.format, table)
        except FileRejected as exc:
            report = FileReport(
                str(src.path),
                src.table,
                src.format,
                "rejected",
                error_code=exc.code,
                error_message=exc.message,
            )
            self._log_file(file_id, src, sha, report)
            return report

        stage = staged.data.rename_columns(
            [c if c == ROW else raw_name(c) for c in staged.data.column_names]
        )
        # The validated file comes back as Arrow and is read as the view ``final``: a temp
        # table dropped inside the batch's transaction is kept until the commit (for a
        # rollback), so one per file made an ingest's memory grow with the whole batch
        # (23 GB at 1M people); Arrow is freed as soon as the file is done.
        self.con.register("stage", stage)
        final = self.con.sql(
            validation_query(table, _staged_types(staged.data)), params={"now": self.now}
        ).to_arrow_table()
        self.con.unregister("stage")
        del stage
        self.con.register("final", final)
        params = {"batch": self.batch_id, "file": file_id}
        self.con.execute(insert_accepted_sql(table), params)
        self.con.execute(
            INSERT_QUARANTINE_SQL, {**params, "table": table.name, "source": str(src.path)}
        )
        if staged.row_errors:
            self.con.register("row_errors", _row_errors_table(staged.row_errors))
            self.con.execute(
                """INSERT INTO quarantine SELECT $batch, $file, $table, $source, "row", NULL,
                       reason, message,
                       to_json([{'field': NULL, 'reason': reason, 'message': message}]),
                       to_json({'_text': raw})
                       FROM row_errors""",
                {**params, "table": table.name, "source": str(src.path)},
            )
            self.con.unregister("row_errors")
        reasons = dict(self.con.execute(REASON_COUNTS_SQL).fetchall())
        for error in staged.row_errors:
            reasons[error.reason] = reasons.get(error.reason, 0) + 1
        quarantined = sum(reasons.values())
        report = FileReport(
            str(src.path),
            table.name,
            src.format,
            "ingested",
            read=staged.read,
            accepted=staged.read - quarantined,
            quarantined=quarantined,
            reasons=reasons,
            ignored_columns=staged.ignored_columns,
        )
        self._log_file(file_id, src, sha, report)
        self.con.unregister("final")
        del final
        self.written += 1
        fault = os.environ.get(FAULT_ENV)
        if fault and self.written >= int(fault):
            os.kill(os.getpid(), signal.SIGKILL)
        return report

    def examples(self) -> list[dict[str, object]]:
        return self.store.records(
            """SELECT source_file, "row", field, reason, message FROM (
                   SELECT *, row_number() OVER (PARTITION BY reason ORDER BY file_id, "row") AS n
                   FROM quarantine WHERE batch_id = $1)
               WHERE n <= $2 ORDER BY reason, file_id, "row" """,
            [self.batch_id, EXAMPLES_PER_REASON],
        )


def ingest(
    paths: list[Path] | Path,
    store: Store,
    *,
    now: datetime | None = None,
    progress: Progress | None = None,
) -> IngestReport:
    """Ingest every file under ``paths`` into ``store`` as one atomic batch."""
    started = time.perf_counter()
    started_at = datetime.now(UTC).replace(tzinfo=None)
    now = now or started_at
    roots = [paths] if isinstance(paths, Path) else list(paths)
    store_dir = store.path.resolve()
    sources = sorted(
        (s for s in discover(roots) if not s.path.resolve().is_relative_to(store_dir)),
        key=_load_order,
    )
    before = store.records(
        "SELECT status, sha256, min(batch_id) AS batch FROM ingest_files GROUP BY ALL"
    )
    ingested_before = {r["sha256"]: r["batch"] for r in before if r["status"] == "ingested"}
    rejected_before = {r["sha256"] for r in before if r["status"] == "rejected"}
    batch_id = int(store.scalar("SELECT coalesce(max(batch_id), 0) FROM ingest_batches")) + 1

    reports: list[FileReport] = []
    examples: list[dict[str, object]] = []
    # All or nothing without one giant transaction: the batch is marked open, each file
    # commits on its own, and the last commit records the batch and removes the mark. A
    # batch killed midway stays marked and Store.recover() deletes its rows on the next
    # writable open; a batch failing with an exception is rolled back here.
    store.con.execute("INSERT INTO ingest_open_batches VALUES ($1, $2)", [batch_id, started_at])
    batch = _Batch(store, batch_id, now, log_rejected=rejected_before)
    try:
        seen_here: set[str] = set()
        for done, src in enumerate(sources):
            if progress:
                progress(str(src.path), done, len(sources))
            sha = sha256_of(src.path)
            if sha in ingested_before or sha in seen_here:
                reports.append(
                    FileReport(
                        str(src.path),
                        src.table,
                        src.format,
                        "skipped",
                        already_in_batch=ingested_before.get(sha, batch_id),
                    )
                )
                continue
            with store.transaction():
                report = batch.ingest_file(src, sha)
            reports.append(report)
            if report.status == "ingested":
                seen_here.add(sha)
        if progress:
            progress("", len(sources), len(sources))
        wrote = batch.logged > 0
        with store.transaction():
            if wrote:
                store.con.execute(
                    "INSERT INTO ingest_batches VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                    [
                        batch_id,
                        started_at,
                        datetime.now(UTC).replace(tzinfo=None),
                        ", ".join(str(p) for p in roots),
                        len(reports),
                        sum(r.status == "rejected" for r in reports),
                        sum(r.read for r in reports),
                        sum(r.accepted for r in reports),
                        sum(r.quarantined for r in reports),
                        __version__,
                    ],
                )
            # nothing new: the store stays exactly as it was
            store.con.execute("DELETE FROM ingest_open_batches WHERE batch_id = $1", [batch_id])
        if wrote:
            examples = batch.examples()
    except BaseException:
        store.recover()  # an error in this process: roll the batch back now
        raise
    return IngestReport(
        store=str(store.path),
        batch_id=batch_id if wrote else None,
        files=reports,
        examples=examples,
        seconds=time.perf_counter() - started,
    )
