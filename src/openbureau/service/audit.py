"""The access log: every partner lookup, granted or denied, appended to a hash chain.

Each row's ``hash`` is SHA-256 over the canonical JSON (sorted keys, no spaces) of its
fields and the previous row's hash. Editing a row breaks its own hash; deleting one
breaks the next row's link (and leaves a gap in ``seq``); deleting the tail no longer
matches the head row. ``verify_chain`` walks it and names the first broken entry.

The head row is locked by an UPDATE before anything is read, so concurrent appenders queue
on both databases and the chain never forks.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from openbureau.service.models import AccessLog, AccessLogHead, utcnow

GENESIS = "0" * 64
_FIELDS = (
    "seq",
    "at",
    "partner_id",
    "partner_name",
    "person_id",
    "action",
    "purpose",
    "outcome",
    "reason",
    "detail",
    "prev_hash",
)


def _canonical_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat(timespec="microseconds")
    return value


def entry_hash(fields: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON of an entry's fields (``_FIELDS``, prev_hash included)."""
    data = {k: _canonical_value(fields[k]) for k in _FIELDS}
    blob = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()


def append(
    sessions: sessionmaker[Session],
    *,
    partner_id: int | None,
    partner_name: str,
    person_id: str,
    action: str,
    purpose: str,
    outcome: str,
    reason: str,
    detail: dict[str, Any] | None = None,
) -> AccessLog:
    """Append one entry in its own transaction (committed before the answer goes out)."""
    with sessions.begin() as s:
        seq, prev = s.execute(
            update(AccessLogHead)
            .where(AccessLogHead.id == 1)
            .values(seq=AccessLogHead.seq + 1)
            .returning(AccessLogHead.seq, AccessLogHead.last_hash)
        ).one()
        fields: dict[str, Any] = {
            "seq": seq,
            "at": utcnow(),  # microseconds: what both databases keep
            "partner_id": partner_id,
            "partner_name": partner_name,
            "person_id": person_id,
            "action": action,
            "purpose": purpose,
            "outcome": outcome,
            "reason": reason,
            "detail": detail or {},
            "prev_hash": prev,
        }
        row = AccessLog(**fields, hash=entry_hash(fields))
        s.add(row)
        s.flush()
        s.execute(update(AccessLogHead).where(AccessLogHead.id == 1).values(last_hash=row.hash))
    return row


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    entries: int
    head_hash: str
    broken_seq: int | None = None
    problem: str = ""

    def __str__(self) -> str:
        if self.ok:
            return f"access log intact: {self.entries} entries, head {self.head_hash}"
        return f"access log BROKEN at entry {self.broken_seq}: {self.problem}"


def verify_chain(session: Session, batch: int = 5000) -> ChainReport:
    """Walk the chain in order; the first row whose link, sequence or hash is wrong fails it."""
    prev, expected_seq, n = GENESIS, 1, 0
    last = 0
    while True:
        rows = session.scalars(
            select(AccessLog).where(AccessLog.seq > last).order_by(AccessLog.seq).limit(batch)
        ).all()
        if not rows:
            break
        for row in rows:
            fields = {k: getattr(row, k) for k in _FIELDS}
            if row.seq != expected_seq:
                return ChainReport(
                    False, n, prev, expected_seq, f"entry {expected_seq} is missing (deleted)"
                )
            if row.prev_hash != prev:
                return ChainReport(False, n, prev, row.seq, "does not link to the entry before it")
            if entry_hash(fields) != row.hash:
                return ChainReport(
                    False, n, prev, row.seq, "its content does not match its hash (edited)"
                )
            prev, expected_seq, n, last = row.hash, expected_seq + 1, n + 1, row.seq
            session.expunge(row)
    head = session.get(AccessLogHead, 1)
    if head is None:
        return ChainReport(False, n, prev, None, "the chain head row is missing")
    if head.seq != n or head.last_hash != prev:
        return ChainReport(
            False,
            n,
            prev,
            n + 1,
            f"the head records {head.seq} entries ending in {head.last_hash[:12]}..., the log "
            f"holds {n} ending in {prev[:12]}... (entries after {n} were deleted)",
        )
    return ChainReport(True, n, prev)
