"""A person's rights over their file: see every record, dispute one, freeze the file, ask
for a human to review a decision, and take everything the bureau holds on them.

Every query is filtered by the signed-in person; an id that is not theirs answers 404.
"""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, HTTPException, status
from sqlalchemy import select

from openbureau.benefits import band
from openbureau.service.deps import DB, CurrentPerson, ServiceDep
from openbureau.service.disputes import DisputeError, open_dispute, settle_overdue
from openbureau.service.models import AccessLog, Consent, Dispute, Freeze, Review
from openbureau.service.purposes import new_credit_purposes
from openbureau.service.queries import current_score, history, score_out
from openbureau.service.records import DISPUTABLE, RecordError, person_records
from openbureau.service.routes.me import _consent_out, access_log_of, my_score_out
from openbureau.service.schemas import (
    DisputeIn,
    DisputeOut,
    ExportOut,
    FreezeOut,
    ReasonOut,
    RecordOut,
    RecordsOut,
    ReviewIn,
    ReviewOut,
    RowId,
    Subscores,
)

router = APIRouter(prefix="/me", tags=["me"])


def dispute_out(d: Dispute) -> DisputeOut:
    return DisputeOut(
        id=d.id,
        table=d.table_name,
        key=d.record_key,
        lineage=d.lineage,
        record=d.record,
        statement=d.statement,
        status=d.status,  # type: ignore[arg-type]
        resolved_by=d.resolved_by,  # type: ignore[arg-type]
        opened_at=d.opened_at,
        deadline=d.deadline,
        resolved_at=d.resolved_at,
        resolution_note=d.resolution_note,
        version=d.version_id,
        score_before=d.score_before,
        score_without=d.score_without,
        band_without=band(d.score_without),
        subscores_without=Subscores(**d.subscores_without),
        reasons_without=[ReasonOut(**r) for r in d.reasons_without[:4]],
    )


def review_out(r: Review) -> ReviewOut:
    return ReviewOut(
        id=r.id,
        decision_seq=r.decision_seq,
        partner=r.partner_name,
        offer=r.offer,
        statement=r.statement,
        status=r.status,  # type: ignore[arg-type]
        outcome=r.outcome,
        requested_at=r.requested_at,
        updated_at=r.updated_at,
    )


def _records(svc: ServiceDep, s: DB, person_id: str) -> RecordsOut:
    found = current_score(s, person_id)
    store = (found[0].store_path if found else None) or (
        str(svc.settings.store) if svc.settings.store else None
    )
    if store is None:
        return RecordsOut(records=[], unavailable="the event store is not available to the service")
    try:
        tables = person_records(store, person_id)  # type: ignore[arg-type]
    except RecordError as exc:
        return RecordsOut(records=[], unavailable=str(exc))
    return RecordsOut(
        records=[
            RecordOut(
                table=name,
                key=r.key,
                lineage=r.lineage.as_dict(),
                values=r.values,
                disputable=name in DISPUTABLE,
            )
            for name, rows in tables.items()
            for r in rows
        ]
    )


@router.get("/records")
def my_records(person: CurrentPerson, s: DB, svc: ServiceDep) -> RecordsOut:
    """Every record the event store holds about me, with the key and lineage a dispute names."""
    return _records(svc, s, person.person_id)


@router.post("/disputes", status_code=201)
def dispute(body: DisputeIn, person: CurrentPerson, s: DB, svc: ServiceDep) -> DisputeOut:
    """Dispute one record: it is flagged at once and my score recomputed without it; both
    scores are shown until the bureau resolves it, and if it does not within the deadline
    the dispute is resolved in my favour."""
    found = current_score(s, person.person_id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no score has been published for you yet")
    try:
        d = open_dispute(
            s,
            svc,
            person,
            *found,
            table=body.table,
            key=body.key,
            lineage=body.lineage.model_dump() if body.lineage else None,
            statement=body.statement,
        )
    except DisputeError as exc:
        raise HTTPException(exc.status, str(exc)) from None
    return dispute_out(d)


def _my_disputes(s: DB, svc: ServiceDep, person_pk: int) -> list[Dispute]:
    settle_overdue(s, svc, person_pk)
    # copies carried onto newer versions are bookkeeping: the person sees the dispute once
    return list(
        s.scalars(
            select(Dispute)
            .where(Dispute.person_pk == person_pk, Dispute.carried_from.is_(None))
            .order_by(Dispute.id)
        )
    )


@router.get("/disputes")
def my_disputes(person: CurrentPerson, s: DB, svc: ServiceDep) -> list[DisputeOut]:
    return [dispute_out(d) for d in _my_disputes(s, svc, person.id)]


@router.get("/disputes/{dispute_id}")
def my_dispute(dispute_id: RowId, person: CurrentPerson, s: DB, svc: ServiceDep) -> DisputeOut:
    settle_overdue(s, svc, person.id)
    d = s.get(Dispute, dispute_id)
    if d is None or d.person_pk != person.id or d.carried_from is not None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"you have no dispute {dispute_id}")
    return dispute_out(d)


def _freezes(s: DB, person_pk: int) -> list[Freeze]:
    return list(s.scalars(select(Freeze).where(Freeze.person_pk == person_pk).order_by(Freeze.id)))


def _freeze_out(s: DB, svc: ServiceDep, person_pk: int) -> FreezeOut:
    rows = _freezes(s, person_pk)
    active = next((f for f in rows if f.lifted_at is None), None)
    return FreezeOut(
        frozen=active is not None,
        since=active.frozen_at if active else None,
        refused_purposes=sorted(new_credit_purposes(svc.pack)),
        history=[{"frozen_at": f.frozen_at, "lifted_at": f.lifted_at} for f in rows],
    )


@router.get("/freeze")
def my_freeze(person: CurrentPerson, s: DB, svc: ServiceDep) -> FreezeOut:
    return _freeze_out(s, svc, person.id)


@router.post("/freeze")
def freeze(person: CurrentPerson, s: DB, svc: ServiceDep) -> FreezeOut:
    """Freeze my file: lookups for new credit are refused (and logged) until I lift it;
    other permitted purposes continue. Freezing a frozen file changes nothing."""
    if not any(f.lifted_at is None for f in _freezes(s, person.id)):
        s.add(Freeze(person_pk=person.id, frozen_at=dt.datetime.now(dt.UTC)))
        s.commit()
    return _freeze_out(s, svc, person.id)


@router.delete("/freeze")
def lift_freeze(person: CurrentPerson, s: DB, svc: ServiceDep) -> FreezeOut:
    """Lift the freeze at once."""
    now = dt.datetime.now(dt.UTC)
    for f in _freezes(s, person.id):
        if f.lifted_at is None:
            f.lifted_at = now
    s.commit()
    return _freeze_out(s, svc, person.id)


@router.post("/reviews", status_code=201)
def request_review(body: ReviewIn, person: CurrentPerson, s: DB) -> ReviewOut:
    """Ask for a human to review an adverse decision about me (an access-log entry)."""
    entry = s.get(AccessLog, body.decision_seq)
    if entry is None or entry.person_id != person.person_id:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, f"no access-log entry {body.decision_seq} is about you"
        )
    if entry.action != "decision" or entry.outcome != "granted" or entry.detail.get("eligible"):
        raise HTTPException(
            422,
            f"access-log entry {body.decision_seq} is not an adverse decision (it is a "
            f"{entry.outcome} {entry.action}); only a declined decision can be reviewed",
        )
    taken = s.scalar(
        select(Review.id).where(
            Review.person_pk == person.id, Review.decision_seq == body.decision_seq
        )
    )
    if taken is not None:
        raise HTTPException(
            status.HTTP_409_CONFLICT, f"you already asked for a review of it (review {taken})"
        )
    now = dt.datetime.now(dt.UTC)
    review = Review(
        person_pk=person.id,
        decision_seq=entry.seq,
        partner_name=entry.partner_name,
        offer=str(entry.detail.get("offer", "")),
        statement=body.statement,
        status="requested",
        requested_at=now,
        updated_at=now,
    )
    s.add(review)
    s.commit()
    return review_out(review)


@router.get("/reviews")
def my_reviews(person: CurrentPerson, s: DB) -> list[ReviewOut]:
    rows = s.scalars(select(Review).where(Review.person_pk == person.id).order_by(Review.id))
    return [review_out(r) for r in rows]


@router.get("/export")
def export(person: CurrentPerson, s: DB, svc: ServiceDep) -> ExportOut:
    """Everything the bureau holds on me, as one JSON document."""
    disputes = _my_disputes(s, svc, person.id)
    found = current_score(s, person.person_id)
    consents = s.scalars(select(Consent).where(Consent.person_pk == person.id).order_by(Consent.id))
    now = dt.datetime.now(dt.UTC)
    return ExportOut(
        exported_at=now,
        profile={
            "person_id": person.person_id,
            "login": person.login,
            "account_created_at": person.created_at,
        },
        current_score=my_score_out(s, person, *found) if found else None,
        scores=[score_out(v, r) for v, r in history(s, person.person_id)],
        consents=[_consent_out(c, now) for c in consents],
        access_log=[
            {
                "seq": e.seq,
                "at": e.at,
                "partner": e.partner_name,
                "action": e.action,
                "purpose": e.purpose,
                "outcome": e.outcome,
                "reason": e.reason,
                "detail": e.detail,
            }
            for e in access_log_of(s, person.person_id)
        ],
        disputes=[dispute_out(d) for d in disputes],
        reviews=my_reviews(person, s),
        freezes=_freeze_out(s, svc, person.id).history,
        records=_records(svc, s, person.person_id),
    )
