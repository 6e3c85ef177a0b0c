"""A person's own data: score, history, benefits, consents and who looked them up.

Every query here is filtered by the signed-in person; no path takes another person's id.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pyarrow as pa
from fastapi import APIRouter, HTTPException, status
from sqlalchemy import select

from openbureau.benefits import band, decide
from openbureau.explain import counterfactual, next_threshold
from openbureau.service.deps import DB, CurrentPerson, ServiceDep
from openbureau.service.disputes import effective, settle_overdue
from openbureau.service.models import (
    AccessLog,
    Consent,
    OfferRow,
    Partner,
    Person,
    Score,
    ScoreVersion,
)
from openbureau.service.purposes import PurposeError, check_purpose
from openbureau.service.queries import FACTORS, current_score, history, score_out
from openbureau.service.replay import ReplayError, _recompute, feature_table
from openbureau.service.schemas import (
    AccessLogEntryOut,
    BenefitsOut,
    ChangeOut,
    ConsentIn,
    ConsentOut,
    DecisionOut,
    HistoryOut,
    MyScoreOut,
    OpenDisputeScore,
    PathOut,
    ReasonOut,
    RowId,
    Subscores,
    WhatIfChange,
    WhatIfIn,
    WhatIfOut,
)

router = APIRouter(prefix="/me", tags=["me"])


def _current(s: DB, person_id: str) -> Any:
    found = current_score(s, person_id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no score has been published for you yet")
    return found


def my_score_out(s: DB, person: Person, version: ScoreVersion, row: Score) -> MyScoreOut:
    """The score that counts (corrected by upheld disputes), and beside it, for each open
    dispute, the score without the disputed record."""
    eff = effective(s, person.id, version, row)
    base = score_out(version, row).model_dump()
    base.update(
        score=eff.score,
        band=band(eff.score),
        subscores=Subscores(**eff.subscores),
        reasons=[ReasonOut(**r) for r in eff.reasons[:4]],
    )
    return MyScoreOut(
        **base,
        published_score=row.score,
        corrected_by_dispute=eff.corrected_by,
        open_disputes=[
            OpenDisputeScore(
                dispute=d.id,
                table=d.table_name,
                score_without=d.score_without,
                band_without=band(d.score_without),
                deadline=d.deadline,
            )
            for d in eff.open
        ],
    )


@router.get("/score")
def my_score(person: CurrentPerson, s: DB, svc: ServiceDep) -> MyScoreOut:
    """Score, band, five sub-scores, up to four reasons, model version and date; with open
    disputes, the score without each disputed record too."""
    settle_overdue(s, svc, person.id)
    return my_score_out(s, person, *_current(s, person.person_id))


@router.get("/history")
def my_history(person: CurrentPerson, s: DB) -> HistoryOut:
    """Every published score of mine, newest first."""
    return HistoryOut(scores=[score_out(v, r) for v, r in history(s, person.person_id)])


def _offers(s: DB) -> list[OfferRow]:
    q = select(OfferRow).where(OfferRow.active.is_(True)).order_by(OfferRow.min_score, OfferRow.id)
    return list(s.scalars(q))


@router.get("/benefits")
def my_benefits(person: CurrentPerson, s: DB, svc: ServiceDep) -> BenefitsOut:
    """Which benefits my score unlocks, the next threshold, and the smallest changes to it."""
    version, row = _current(s, person.person_id)
    eff = effective(s, person.id, version, row)
    offers = _offers(s)
    decisions = [(o, decide(eff.score, o)) for o in offers]  # type: ignore[arg-type]
    out = [
        DecisionOut(
            offer=o.code,
            title=o.title,
            eligible=d.eligible,
            threshold=d.threshold,
            explanation=d.explanation,
        )
        for o, d in decisions
    ]
    target = next_threshold(eff.score, sorted({o.min_score for o in offers}))
    next_code = next((o.code for o in offers if o.min_score == target), None)
    path: PathOut | None = None
    why_not: str | None = None
    if target is not None and eff.corrected_by is not None and eff.features is None:
        why_not = (
            f"your score was corrected by dispute {eff.corrected_by} before corrected feature "
            "rows were kept; a path will be there with the next score version"
        )
    elif target is not None:
        path, why_not = _path(svc, version, row, target, eff.features)
    return BenefitsOut(
        score=eff.score,
        unlocked=[d for d in out if d.eligible],
        locked=[d for d in out if not d.eligible],
        next_threshold=target,
        next_offer=next_code,
        path=path,
        path_unavailable=why_not,
    )


def _snapshot_model(
    svc: Any, version: Any, row: Any, corrected: list[Any] | None = None
) -> tuple[Any, Any]:
    """The version's model and the person's feature row (the published one, or the one
    corrected by an upheld dispute), or ReplayError."""
    model_dir = version.model_path or (str(svc.settings.model) if svc.settings.model else None)
    if model_dir is None:
        raise ReplayError("the model of this score is not available to the service")
    X = feature_table(version, row, corrected)
    try:
        model = svc.models.get(model_dir)
    except (FileNotFoundError, ValueError) as exc:
        raise ReplayError(str(exc)) from None
    if model.model_id_ != row.model_id:
        raise ReplayError("the model of this score is not available to the service")
    return model, X


def _path(
    svc: Any, version: Any, row: Any, target: float, corrected: list[Any] | None = None
) -> tuple[PathOut | None, str | None]:
    try:
        model, X = _snapshot_model(svc, version, row, corrected)
    except ReplayError as exc:
        return None, str(exc)
    cf = counterfactual(model, X, target=target)
    metas = {m.name: m for m in model.features_}
    return (
        PathOut(
            target=cf.target,
            reachable=cf.reachable,
            score_after=cf.score_after,
            changes=[
                ChangeOut(
                    feature=c.feature,
                    factor=c.factor,
                    description=metas[c.feature].description or metas[c.feature].reason,
                    current=c.current,
                    proposed=c.proposed,
                    points=c.points,
                )
                for c in cf.changes
            ],
            message=cf.message,
        ),
        None,
    )


@router.post("/what-if")
def what_if(body: WhatIfIn, person: CurrentPerson, s: DB, svc: ServiceDep) -> WhatIfOut:
    """My score if some actionable inputs were different: the real model on my published
    feature snapshot with those values changed. Nothing is stored."""
    version, row = _current(s, person.person_id)
    eff = effective(s, person.id, version, row)
    try:
        model, X = _snapshot_model(svc, version, row, eff.features)
    except ReplayError as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc)) from None
    metas = {m.name: m for m in model.features_}
    for name in body.changes:
        if name not in metas:
            raise HTTPException(
                422,
                f"unknown feature {name!r}: the model of your score has no such input "
                "(GET /me/benefits lists actionable ones in its path)",
            )
        if not metas[name].actionable:
            raise HTTPException(
                422,
                f"feature {name!r} is not actionable ({metas[name].description or name}): "
                "it is not something you can change by acting, so what-if does not move it",
            )
    changed = X
    for name, value in body.changes.items():
        j = changed.column_names.index(name)
        changed = changed.set_column(j, name, pa.array([float(value)], pa.float64()))
    before = _recompute(model, X, version.max_reasons)
    after = _recompute(model, changed, version.max_reasons)
    factor_of = {m.name: m.factor for m in model.features_}
    current = X.to_pylist()[0]
    return WhatIfOut(
        score_before=before["score"],
        score_after=after["score"],
        band_after=band(after["score"]),
        subscores_before=Subscores(**{f: before[f"points_{f}"] for f in FACTORS}),
        subscores_after=Subscores(**{f: after[f"points_{f}"] for f in FACTORS}),
        reasons_after=[
            ReasonOut(code=c, factor=factor_of.get(c, "unknown"), text=txt, points=p)
            for c, txt, p in after["reasons"][:4]
        ],
        changes=[
            WhatIfChange(
                feature=name,
                factor=metas[name].factor,
                description=metas[name].description or metas[name].reason,
                current=None if math.isnan(current[name]) else current[name],
                proposed=value,
            )
            for name, value in body.changes.items()
        ],
        note=(
            f"computed from your feature snapshot of score version {version.id} "
            f"(as of {row.as_of})"
            + (
                f", corrected by dispute {eff.corrected_by},"
                if eff.corrected_by is not None and eff.features is not None
                else ""
            )
            + f" with the model {row.model_id}; a what-if is not a score"
        ),
    )


def _consent_out(c: Consent, now: dt.datetime | None = None) -> ConsentOut:
    now = now or dt.datetime.now(dt.UTC)
    return ConsentOut(
        id=c.id,
        partner=c.partner.name,
        purpose=c.purpose,
        share_number=c.share_number,
        granted_at=c.granted_at,
        expires_at=c.expires_at,
        revoked_at=c.revoked_at,
        active=c.revoked_at is None and c.expires_at > now,
    )


@router.post("/consents", status_code=201)
def grant_consent(body: ConsentIn, person: CurrentPerson, s: DB, svc: ServiceDep) -> ConsentOut:
    """Let one partner look me up for one purpose until ``expires_at``."""
    partner = s.scalar(select(Partner).where(Partner.name == body.partner))
    if partner is None or not partner.active:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no active partner named {body.partner!r}")
    try:
        check_purpose(body.purpose, svc.pack)
    except PurposeError as exc:
        raise HTTPException(422, str(exc)) from None
    consent = Consent(
        person_pk=person.id,
        partner_id=partner.id,
        purpose=body.purpose,
        share_number=body.share_number,
        expires_at=body.expires_at,
        granted_at=dt.datetime.now(dt.UTC),
    )
    s.add(consent)
    s.commit()
    return _consent_out(consent)


@router.get("/consents")
def my_consents(person: CurrentPerson, s: DB) -> list[ConsentOut]:
    rows = s.scalars(select(Consent).where(Consent.person_pk == person.id).order_by(Consent.id))
    now = dt.datetime.now(dt.UTC)
    return [_consent_out(c, now) for c in rows]


@router.delete("/consents/{consent_id}")
def revoke_consent(consent_id: RowId, person: CurrentPerson, s: DB) -> ConsentOut:
    """Revoke at once: the next lookup is refused."""
    consent = s.get(Consent, consent_id)
    if consent is None or consent.person_pk != person.id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"you have no consent {consent_id}")
    if consent.revoked_at is None:
        consent.revoked_at = dt.datetime.now(dt.UTC)
        s.commit()
    return _consent_out(consent)


def access_log_of(s: DB, person_id: str) -> list[AccessLog]:
    return list(
        s.scalars(
            select(AccessLog).where(AccessLog.person_id == person_id).order_by(AccessLog.seq.desc())
        )
    )


@router.get("/access-log")
def my_access_log(person: CurrentPerson, s: DB) -> list[AccessLogEntryOut]:
    """Every partner lookup of me, granted or denied, newest first."""
    return [
        AccessLogEntryOut(
            seq=r.seq,
            at=r.at,
            partner=r.partner_name,
            action=r.action,
            purpose=r.purpose,
            outcome=r.outcome,  # type: ignore[arg-type]
            reason=r.reason,
        )
        for r in access_log_of(s, person.person_id)
    ]
