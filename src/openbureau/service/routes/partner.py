"""Partner lookups: consent-gated threshold proofs and benefit decisions, all logged.

Order of checks: key and scope, rate limit, purpose, consent, freeze, score. A missing person
and a missing consent get the same answer, so a partner cannot probe who is on file; a
freeze is only told to a partner the person consented to.

The score used is the effective one: the published score, or the one recomputed without
records whose dispute was upheld (or went unresolved past its deadline). While a dispute is
open, the answer carries the proof both ways.

The lookup is the service's busiest path, so it is built for throughput without giving up a
check: everything a request reads (partner by key hash, consent, freeze, the current version
pointer, the score row, whether a dispute touches it) is one statement
(``queries.partner_gate``), on PostgreSQL run on the event loop (``service.pgasync``), on
SQLite in one hop to the read pool; nothing is cached, so a revoked consent, a disabled key
or a new version counts from the next request on; and the handler awaits its access-log
entry's group commit on the event loop, holding no thread. ``answer_lookup`` is the whole
endpoint: the route calls it, and so does ``service.fastpath``, which answers well-formed
lookups ahead of FastAPI's routing.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, HTTPException, status
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from openbureau.benefits import adverse_action_notice, band, decide
from openbureau.service.deps import DB, CurrentPartner, PartnerKeyHash, Service, ServiceDep
from openbureau.service.disputes import Effective, effective
from openbureau.service.models import OfferRow, Score, ScoreVersion
from openbureau.service.purposes import PurposeError, check_purpose, new_credit_purposes
from openbureau.service.queries import PartnerGate, partner_gate
from openbureau.service.ratelimit import retry_after_header
from openbureau.service.schemas import (
    LookupIn,
    LookupOut,
    OfferOut,
    PartnerDecisionIn,
    PartnerDecisionOut,
    ReasonOut,
)

router = APIRouter(prefix="/partner", tags=["partner"])
DEFAULT_THRESHOLD = 650.0
UNKNOWN_KEY = "unknown or disabled partner API key"


@dataclass(frozen=True)
class _Read:
    """Everything a partner request reads, fetched in one trip to a worker thread."""

    gate: PartnerGate | None  # None: no partner has this key
    eff: Effective | None = None  # only when the person has a current score
    offer: OfferRow | None = None  # decisions only


def _effective(s: Session | None, g: PartnerGate) -> Effective | None:
    """The score that counts: the published one, or (rarely: only when a dispute touches
    it, and only then is ``s`` needed) the one ``disputes.effective`` derives from the
    person's disputes. None when the person has no score in the current version."""
    if g.version_id is None or g.person_pk is None:
        return None
    if not g.disputed:
        return Effective(g.score, g.subscores, g.reasons, None, [])
    assert s is not None
    version, row = s.get(ScoreVersion, g.version_id), s.get(Score, g.score_id)
    assert version is not None and row is not None  # published rows are never deleted
    return effective(s, g.person_pk, version, row)


def _read_lookup(svc: Service, key_hash: str, person: str, purpose: str) -> _Read:
    """One statement on an autocommit connection (no BEGIN/ROLLBACK round trips, no pool
    pre-ping); a connection the database dropped is retried once on a fresh one."""
    for attempt in (1, 2):
        try:
            with svc.reader.connect() as conn:
                g = partner_gate(conn, key_hash, person, purpose)
                if g is None or not g.disputed:
                    return _Read(g, None if g is None else _effective(None, g))
                with Session(bind=conn) as s:
                    return _Read(g, _effective(s, g))
        except DBAPIError as exc:
            if attempt == 2 or not exc.connection_invalidated:
                raise
    raise AssertionError("unreachable")


def _read_decision(svc: Service, key_hash: str, person: str, offer_code: str) -> _Read:
    with svc.sessions() as s:
        offer = s.scalar(select(OfferRow).where(OfferRow.code == offer_code, OfferRow.active))
        purpose = offer.purpose if offer is not None else "unknown"
        g = partner_gate(s.connection(), key_hash, person, purpose)
        return _Read(g, None if g is None else _effective(s, g), offer)


async def _lookup_read(svc: Service, key_hash: str, person: str, purpose: str) -> _Read:
    """On PostgreSQL the gate is read on the event loop (``pgasync``); a disputed score, and
    SQLite, take the read pool."""
    if svc.pg is not None:
        g = await svc.pg.gate(key_hash, person, purpose)
        if g is None or not g.disputed:
            return _Read(g, None if g is None else _effective(None, g))
    return await _in_thread(svc, _read_lookup, key_hash, person, purpose)


async def _in_thread(svc: Service, fn: Any, *args: Any) -> _Read:
    """The blocking reads, on the service's read pool (one hop per request)."""
    return await asyncio.get_running_loop().run_in_executor(svc.read_pool, fn, svc, *args)


@dataclass(frozen=True)
class _Refusal:
    code: int
    reason: str
    headers: dict[str, str] | None = None


def _refusal(svc: Service, g: PartnerGate, eff: Effective | None, scope: str, person: str,
             purpose: str) -> _Refusal | None:  # fmt: skip
    """Scope, rate limit, purpose, consent, freeze and score, in that order."""
    if scope not in g.scopes:
        return _Refusal(status.HTTP_403_FORBIDDEN, f"this partner key lacks the {scope!r} scope")
    wait = svc.limiter.take(g.partner_id)
    if wait > 0:
        return _Refusal(
            status.HTTP_429_TOO_MANY_REQUESTS,
            f"rate limit of {svc.settings.lookups_per_minute} lookups per minute reached",
            {"Retry-After": retry_after_header(wait)},
        )
    try:
        check_purpose(purpose, svc.pack)
    except PurposeError as exc:
        return _Refusal(status.HTTP_403_FORBIDDEN, str(exc))
    if g.person_pk is None or g.consent_id is None:
        return _Refusal(
            status.HTTP_403_FORBIDDEN,
            f"no active consent from person {person!r} for {g.partner_name} and purpose "
            f"{purpose!r}",
        )
    if g.frozen and purpose in new_credit_purposes(svc.pack):
        return _Refusal(
            status.HTTP_403_FORBIDDEN,
            f"person {person!r} has frozen their file: lookups for new credit "
            f"({purpose}) are refused until they lift the freeze",
        )
    if eff is None:
        return _Refusal(status.HTTP_404_NOT_FOUND, f"no published score for person {person!r}")
    return None


class _Log:
    """Writes the access-log entry of one request and waits for its commit, then answers."""

    def __init__(self, svc: Service, g: PartnerGate, person: str, action: str, purpose: str):
        self.svc, self.g = svc, g
        self.person, self.action, self.purpose = person, action, purpose

    async def _append(self, outcome: str, reason: str, detail: dict[str, Any]) -> None:
        await self.svc.audit.append_async(
            partner_id=self.g.partner_id,
            partner_name=self.g.partner_name,
            person_id=self.person,
            action=self.action,
            purpose=self.purpose,
            outcome=outcome,
            reason=reason,
            detail=detail,
        )

    async def deny(self, refusal: _Refusal) -> HTTPException:
        await self._append("denied", refusal.reason, {"status": refusal.code})
        return HTTPException(refusal.code, refusal.reason, headers=refusal.headers)

    async def grant(self, reason: str, detail: dict[str, Any]) -> None:
        await self._append("granted", reason, detail)


def _partner(read: _Read) -> PartnerGate:
    if read.gate is None or not read.gate.active:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, UNKNOWN_KEY)
    return read.gate


async def answer_lookup(svc: Service, key_hash: str, body: LookupIn) -> LookupOut:
    """A lookup from its validated body and the SHA-256 of its key: the whole of the
    endpoint, shared by the FastAPI route and the fast path (``service.fastpath``); raises
    ``HTTPException`` for every refusal, each logged first."""
    read = await _lookup_read(svc, key_hash, body.person, body.purpose)
    g, eff = _partner(read), read.eff
    log = _Log(svc, g, body.person, "lookup", body.purpose)
    refusal = _refusal(svc, g, eff, "lookup", body.person, body.purpose)
    if refusal is not None:
        raise await log.deny(refusal)
    assert eff is not None and g.as_of is not None  # a score row always has a date
    threshold = DEFAULT_THRESHOLD if body.threshold is None else body.threshold
    share = g.share_number
    pending = eff.open[-1] if eff.open else None
    detail: dict[str, Any] = {
        "threshold": threshold,
        "consent": g.consent_id,
        "version": g.version_id,
        "disclosed": "number" if share else "threshold_proof",
    }
    if eff.corrected_by is not None:
        detail["corrected_by_dispute"] = eff.corrected_by
    if pending is not None:
        detail["under_dispute"] = pending.id
    await log.grant("number shared with consent" if share else "threshold proof", detail)
    return LookupOut(
        person=body.person,
        purpose=body.purpose,
        threshold=threshold,
        meets_threshold=eff.score >= threshold,
        score=eff.score if share else None,
        band=band(eff.score) if share else None,
        scored_on=g.as_of,
        model_id=g.model_id,
        under_dispute=pending is not None,
        meets_threshold_if_dispute_upheld=(
            None if pending is None else pending.score_without >= threshold
        ),
        score_if_dispute_upheld=pending.score_without if pending is not None and share else None,
    )


@router.post("/lookup")
async def lookup(body: LookupIn, key_hash: PartnerKeyHash, svc: ServiceDep) -> LookupOut:
    """A threshold proof ("score >= 650: true"), and the number only if the person agreed."""
    return await answer_lookup(svc, key_hash, body)


@router.post("/decision")
async def decision(
    body: PartnerDecisionIn, key_hash: PartnerKeyHash, svc: ServiceDep
) -> PartnerDecisionOut:
    """Eligibility for an offer; on a decline, the ranked reasons and the notice content."""
    read = await _in_thread(svc, _read_decision, key_hash, body.person, body.offer)
    g, eff, offer = _partner(read), read.eff, read.offer
    purpose = offer.purpose if offer is not None else "unknown"
    log = _Log(svc, g, body.person, "decision", purpose)
    if offer is None:
        raise await log.deny(_Refusal(status.HTTP_404_NOT_FOUND, f"no active offer {body.offer!r}"))
    if offer.partner_id is not None and offer.partner_id != g.partner_id:
        raise await log.deny(
            _Refusal(status.HTTP_403_FORBIDDEN, f"offer {body.offer!r} belongs to another partner")
        )
    refusal = _refusal(svc, g, eff, "decision", body.person, purpose)
    if refusal is not None:
        raise await log.deny(refusal)
    assert eff is not None and g.as_of is not None  # a score row always has a date
    d = decide(eff.score, offer)  # type: ignore[arg-type]
    reasons: list[dict[str, Any]] = [] if d.eligible else eff.reasons[: g.max_reasons]
    pending = eff.open[-1] if eff.open else None
    notice = None
    if not d.eligible:
        notice = adverse_action_notice(
            score=eff.score,
            scored_on=g.as_of,
            reasons=reasons,
            offer_title=offer.title,
            threshold=offer.min_score,
            max_reasons=g.max_reasons,
            jurisdiction_notice=getattr(getattr(svc.pack, "adverse_action", None), "notice", ""),
        )
    await log.grant(
        "eligible" if d.eligible else "declined with adverse-action notice",
        {
            "offer": offer.code,
            "eligible": d.eligible,
            "version": g.version_id,
            "score": eff.score,
            "corrected_by_dispute": eff.corrected_by,
        },
    )
    return PartnerDecisionOut(
        person=body.person,
        offer=offer.code,
        eligible=d.eligible,
        threshold=d.threshold,
        explanation=d.explanation,
        reasons=[ReasonOut(**r) for r in reasons],
        adverse_action=notice,
        under_dispute=pending is not None,
        eligible_if_dispute_upheld=(
            None if pending is None else pending.score_without >= offer.min_score
        ),
    )


@router.get("/offers")
def partner_offers(partner: CurrentPartner, s: DB) -> list[OfferOut]:
    """The offers this partner may decide on: its own and the bureau-wide ones."""
    rows = s.scalars(
        select(OfferRow)
        .where(OfferRow.active, (OfferRow.partner_id == partner.id) | OfferRow.partner_id.is_(None))
        .order_by(OfferRow.min_score)
    )
    return [_offer_out(o, partner.name if o.partner_id else None) for o in rows]


def _offer_out(o: OfferRow, partner_name: str | None) -> OfferOut:
    return OfferOut(
        code=o.code,
        title=o.title,
        description=o.description,
        min_score=o.min_score,
        purpose=o.purpose,
        partner=partner_name,
    )
