"""Partner lookups: consent-gated threshold proofs and benefit decisions, all logged.

Order of checks: key and scope, rate limit, purpose, consent, freeze, score. A missing person
and a missing consent get the same answer, so a partner cannot probe who is on file; a
freeze is only told to a partner the person consented to.

The score used is the effective one: the published score, or the one recomputed without
records whose dispute was upheld (or went unresolved past its deadline). While a dispute is
open, the answer carries the proof both ways.
"""

from __future__ import annotations

from typing import Any, NoReturn

from fastapi import APIRouter, HTTPException, status
from sqlalchemy import select

from openbureau.benefits import adverse_action_notice, band, decide
from openbureau.service.deps import DB, CurrentPartner, ServiceDep
from openbureau.service.disputes import Effective, effective
from openbureau.service.models import OfferRow, Partner
from openbureau.service.purposes import PurposeError, check_purpose, new_credit_purposes
from openbureau.service.queries import FACTORS, gate_row
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


class _Log:
    """Writes the access-log entry of one request, then answers."""

    def __init__(self, svc: Any, partner: Partner, person: str, action: str, purpose: str):
        self.svc, self.partner = svc, partner
        self.person, self.action, self.purpose = person, action, purpose

    def _append(self, outcome: str, reason: str, detail: dict[str, Any]) -> None:
        self.svc.audit.append(
            partner_id=self.partner.id,
            partner_name=self.partner.name,
            person_id=self.person,
            action=self.action,
            purpose=self.purpose,
            outcome=outcome,
            reason=reason,
            detail=detail,
        )

    def deny(self, code: int, reason: str, headers: dict[str, str] | None = None) -> NoReturn:
        self._append("denied", reason, {"status": code})
        raise HTTPException(code, reason, headers=headers)

    def grant(self, reason: str, detail: dict[str, Any]) -> None:
        self._append("granted", reason, detail)


def _gate(
    svc: Any, s: DB, partner: Partner, log: _Log, scope: str
) -> tuple[Any, Any, Any, Effective]:
    """Scope, rate limit, purpose, consent, freeze and score, or a logged refusal."""
    if scope not in partner.scopes:
        log.deny(status.HTTP_403_FORBIDDEN, f"this partner key lacks the {scope!r} scope")
    wait = svc.limiter.take(partner.id)
    if wait > 0:
        log.deny(
            status.HTTP_429_TOO_MANY_REQUESTS,
            f"rate limit of {svc.settings.lookups_per_minute} lookups per minute reached",
            headers={"Retry-After": retry_after_header(wait)},
        )
    try:
        check_purpose(log.purpose, svc.pack)
    except PurposeError as exc:
        log.deny(status.HTTP_403_FORBIDDEN, str(exc))
    g = gate_row(s, log.person, partner.id, log.purpose)
    if g is None or g.consent_id is None:
        log.deny(
            status.HTTP_403_FORBIDDEN,
            f"no active consent from person {log.person!r} for {partner.name} and purpose "
            f"{log.purpose!r}",
        )
    if g.frozen and log.purpose in new_credit_purposes(svc.pack):
        log.deny(
            status.HTTP_403_FORBIDDEN,
            f"person {log.person!r} has frozen their file: lookups for new credit "
            f"({log.purpose}) are refused until they lift the freeze",
        )
    if g.version is None or g.score is None:
        log.deny(status.HTTP_404_NOT_FOUND, f"no published score for person {log.person!r}")
    version, row = g.version, g.score
    if g.disputed:  # rare: only then read the disputes themselves
        eff = effective(s, g.person_pk, version, row)
    else:
        eff = Effective(
            row.score,
            {f: getattr(row, f"points_{f}") for f in FACTORS},
            row.reasons,
            None,
            [],
        )
    return g, version, row, eff


@router.post("/lookup")
def lookup(body: LookupIn, partner: CurrentPartner, s: DB, svc: ServiceDep) -> LookupOut:
    """A threshold proof ("score >= 650: true"), and the number only if the person agreed."""
    log = _Log(svc, partner, body.person, "lookup", body.purpose)
    g, version, row, eff = _gate(svc, s, partner, log, "lookup")
    threshold = DEFAULT_THRESHOLD if body.threshold is None else body.threshold
    meets = eff.score >= threshold
    share = g.share_number
    pending = eff.open[-1] if eff.open else None
    detail: dict[str, Any] = {
        "threshold": threshold,
        "consent": g.consent_id,
        "version": version.id,
        "disclosed": "number" if share else "threshold_proof",
    }
    if eff.corrected_by is not None:
        detail["corrected_by_dispute"] = eff.corrected_by
    if pending is not None:
        detail["under_dispute"] = pending.id
    log.grant("number shared with consent" if share else "threshold proof", detail)
    return LookupOut(
        person=body.person,
        purpose=body.purpose,
        threshold=threshold,
        meets_threshold=meets,
        score=eff.score if share else None,
        band=band(eff.score) if share else None,
        scored_on=row.as_of,
        model_id=row.model_id,
        under_dispute=pending is not None,
        meets_threshold_if_dispute_upheld=(
            None if pending is None else pending.score_without >= threshold
        ),
        score_if_dispute_upheld=pending.score_without if pending is not None and share else None,
    )


@router.post("/decision")
def decision(
    body: PartnerDecisionIn, partner: CurrentPartner, s: DB, svc: ServiceDep
) -> PartnerDecisionOut:
    """Eligibility for an offer; on a decline, the ranked reasons and the notice content."""
    offer = s.scalar(select(OfferRow).where(OfferRow.code == body.offer, OfferRow.active))
    purpose = offer.purpose if offer is not None else "unknown"
    log = _Log(svc, partner, body.person, "decision", purpose)
    if offer is None:
        log.deny(status.HTTP_404_NOT_FOUND, f"no active offer {body.offer!r}")
    if offer.partner_id is not None and offer.partner_id != partner.id:
        log.deny(status.HTTP_403_FORBIDDEN, f"offer {body.offer!r} belongs to another partner")
    _, version, row, eff = _gate(svc, s, partner, log, "decision")
    d = decide(eff.score, offer)  # type: ignore[arg-type]
    reasons: list[dict[str, Any]] = [] if d.eligible else eff.reasons[: version.max_reasons]
    pending = eff.open[-1] if eff.open else None
    notice = None
    if not d.eligible:
        notice = adverse_action_notice(
            score=eff.score,
            scored_on=row.as_of,
            reasons=reasons,
            offer_title=offer.title,
            threshold=offer.min_score,
            max_reasons=version.max_reasons,
            jurisdiction_notice=getattr(getattr(svc.pack, "adverse_action", None), "notice", ""),
        )
    log.grant(
        "eligible" if d.eligible else "declined with adverse-action notice",
        {
            "offer": offer.code,
            "eligible": d.eligible,
            "version": version.id,
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
