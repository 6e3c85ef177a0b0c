"""What a store holds: row counts, batches and the quarantine, for people and scripts."""

from __future__ import annotations

import json
from typing import Any

from openbureau.store.database import Store


def store_status(store: Store, *, last_batches: int = 10) -> dict[str, Any]:
    """A JSON-ready summary; ``tables`` maps each contract table to its row count."""
    batches = store.records(
        "SELECT batch_id, started_at, finished_at, source, files, files_rejected, read, "
        "accepted, quarantined, version FROM ingest_batches ORDER BY batch_id DESC LIMIT $1",
        [last_batches],
    )
    for b in batches:
        b["started_at"] = b["started_at"].isoformat()
        b["finished_at"] = b["finished_at"].isoformat()
    by_reason = store.records(
        "SELECT table_name AS table, reason, count(*) AS rows FROM quarantine "
        "GROUP BY ALL ORDER BY rows DESC, table_name, reason"
    )
    rejected = store.records(
        "SELECT batch_id, path, error_code, error_message FROM ingest_files "
        "WHERE status = 'rejected' ORDER BY file_id"
    )
    totals = store.records(
        "SELECT count(*) AS batches, coalesce(sum(read), 0) AS read, "
        "coalesce(sum(accepted), 0) AS accepted, coalesce(sum(quarantined), 0) AS quarantined "
        "FROM ingest_batches"
    )[0]
    return {
        "store": str(store.path),
        "tables": store.table_counts(),
        "totals": {k: int(v) for k, v in totals.items()},
        "batches": batches,
        "quarantine": {
            "rows": int(store.scalar("SELECT count(*) FROM quarantine")),
            "by_reason": by_reason,
        },
        "rejected_files": rejected,
    }


def quarantined_rows(
    store: Store,
    *,
    batch: int | None = None,
    table: str | None = None,
    reason: str | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Quarantined rows with their reasons and raw values, oldest first, for fixing."""
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    rows = store.records(
        """SELECT batch_id, table_name AS table, source_file, "row", field, reason, message,
                  errors, raw
           FROM quarantine
           WHERE ($batch IS NULL OR batch_id = $batch)
             AND ($table IS NULL OR table_name = $table)
             AND ($reason IS NULL OR reason = $reason)
           ORDER BY batch_id, file_id, "row"
           LIMIT coalesce($limit, 9223372036854775807)""",
        {"batch": batch, "table": table, "reason": reason, "limit": limit},
    )
    for r in rows:
        r["errors"] = json.loads(r["errors"])
        r["raw"] = json.loads(r["raw"])
    return rows
