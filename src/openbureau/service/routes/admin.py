"""The bureau's own operations (admin key): accounts, partners, offers, publishing, audit,
the model registry."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, status
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from openbureau import registry  # the module, not its names: registry imports the service
from openbureau.service.audit import verify_chain
from openbureau.service.deps import DB, Admin, ServiceDep
from openbureau.service.disputes import DisputeError, resolve, settle_overdue
from openbureau.service.models import (
    CurrentVersion,
    Dispute,
    OfferRow,
    Partner,
    Person,
    Review,
    ScoreVersion,
)
from openbureau.service.publish import PublishError, publish
from openbureau.service.purposes import PurposeError, check_purpose
from openbureau.service.replay import ReplayError, replay
from openbureau.service.schemas import (
    MAX_ID,
    ChainOut,
    DisputeOut,
    DisputeResolveIn,
    ModelEventOut,
    ModelListOut,
    ModelPromoteIn,
    ModelRef,
    ModelRegisterIn,
    ModelRetireIn,
    OfferIn,
    OfferOut,
    PartnerCreated,
    PartnerIn,
    PersonIn,
    PersonOut,
    PromotionOut,
    PublishIn,
    PublishOut,
    RegisteredModelDetail,
    RegisteredModelOut,
    ReplayOut,
    ReviewOut,
    ReviewUpdateIn,
    RowId,
    VersionOut,
)
from openbureau.service.security import hash_password, new_api_key, sha256_hex

router = APIRouter(prefix="/admin", tags=["admin"], dependencies=[Admin])


def _commit_unique(s: DB, what: str) -> None:
    try:
        s.commit()
    except IntegrityError:
        s.rollback()
        raise HTTPException(status.HTTP_409_CONFLICT, f"{what} already exists") from None


@router.post("/people", status_code=201)
def create_person(body: PersonIn, s: DB) -> PersonOut:
    """An account for a person whose identity the bureau has verified."""
    person = Person(
        person_id=body.person_id, login=body.login, password_hash=hash_password(body.password)
    )
    s.add(person)
    _commit_unique(s, f"an account for person {body.person_id!r} or login {body.login!r}")
    return PersonOut.model_validate(person)


@router.post("/partners", status_code=201)
def create_partner(body: PartnerIn, s: DB) -> PartnerCreated:
    key = new_api_key()
    partner = Partner(
        name=body.name,
        key_hash=sha256_hex(key),
        key_prefix=key[:12],
        scopes=sorted(set(body.scopes)),
        active=True,
    )
    s.add(partner)
    _commit_unique(s, f"a partner named {body.name!r}")
    return PartnerCreated(
        id=partner.id,
        name=partner.name,
        scopes=partner.scopes,
        key_prefix=partner.key_prefix,
        active=True,
        api_key=key,
    )


@router.post("/offers", status_code=201)
def create_offer(body: OfferIn, s: DB, svc: ServiceDep) -> OfferOut:
    try:
        check_purpose(body.purpose, svc.pack)
    except PurposeError as exc:
        raise HTTPException(422, str(exc)) from None
    partner_id = None
    if body.partner is not None:
        partner_id = s.scalar(select(Partner.id).where(Partner.name == body.partner))
        if partner_id is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no partner named {body.partner!r}")
    offer = OfferRow(
        code=body.code,
        partner_id=partner_id,
        title=body.title,
        description=body.description,
        min_score=body.min_score,
        purpose=body.purpose,
        active=True,
    )
    s.add(offer)
    _commit_unique(s, f"an offer {body.code!r}")
    return OfferOut(
        code=offer.code,
        title=offer.title,
        description=offer.description,
        min_score=offer.min_score,
        purpose=offer.purpose,
        partner=body.partner,
    )


@router.post("/score-versions", status_code=201)
def publish_version(body: PublishIn, svc: ServiceDep) -> PublishOut:
    """Publish a scores file (on the server) and make it current, atomically."""
    store = body.store or (str(svc.settings.store) if svc.settings.store else None)
    try:
        report = publish(
            svc.sessions,
            Path(body.scores),
            model_dir=Path(body.model) if body.model else svc.settings.model,
            store=Path(store) if store else None,
            features=Path(body.features) if body.features else None,
            label=body.label,
        )
    except PublishError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from None
    except (ValueError, FileNotFoundError) as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"cannot publish: {exc}") from None
    return PublishOut(
        version_id=report.version_id,
        label=report.label,
        people=report.people,
        model_id=report.model_id,
        as_of=report.as_of,
        replayable=report.replayable,
        previous_version=report.previous_version,
    )


@router.get("/score-versions")
def list_versions(s: DB) -> list[VersionOut]:
    pointer = s.get(CurrentVersion, "current")
    current = pointer.version_id if pointer else None
    return [
        VersionOut(
            id=v.id,
            label=v.label,
            published_at=v.published_at,
            as_of=v.as_of,
            model_id=v.model_id,
            people=v.people,
            current=v.id == current,
        )
        for v in s.scalars(select(ScoreVersion).order_by(ScoreVersion.id))
    ]


@router.get("/replay/{person_id}")
def replay_score(
    person_id: str,
    s: DB,
    svc: ServiceDep,
    version: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> ReplayOut:
    """Re-score a published score from its snapshot with its model; say if it is identical."""
    try:
        result = replay(
            s, person_id, version_id=version, model_dir=svc.settings.model, models=svc.models
        )
    except ReplayError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    return ReplayOut(**result.__dict__)


@router.get("/audit/verify")
def audit_verify(s: DB) -> ChainOut:
    return ChainOut(**verify_chain(s).__dict__)


@router.get("/disputes")
def list_disputes(
    s: DB,
    svc: ServiceDep,
    status_: Annotated[Literal["open", "upheld", "rejected"] | None, Query(alias="status")] = None,
) -> list[DisputeOut]:
    """Disputes, oldest first (overdue ones are first resolved for the person)."""
    from openbureau.service.routes.rights import dispute_out

    settle_overdue(s, svc)
    q = select(Dispute).order_by(Dispute.id)
    if status_ is not None:
        q = q.where(Dispute.status == status_)
    return [dispute_out(d) for d in s.scalars(q)]


@router.post("/disputes/{dispute_id}/resolve")
def resolve_dispute(
    dispute_id: RowId, body: DisputeResolveIn, s: DB, svc: ServiceDep
) -> DisputeOut:
    """Uphold (the record's effect is deleted) or reject (the published score stands)."""
    from openbureau.service.routes.rights import dispute_out

    settle_overdue(s, svc)
    d = s.get(Dispute, dispute_id)
    if d is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no dispute {dispute_id}")
    try:
        resolve(s, svc, d, body.outcome, body.note)
    except DisputeError as exc:
        raise HTTPException(exc.status, str(exc)) from None
    return dispute_out(d)


@router.get("/reviews")
def list_reviews(
    s: DB,
    status_: Annotated[
        Literal["requested", "in_review", "closed"] | None, Query(alias="status")
    ] = None,
) -> list[ReviewOut]:
    from openbureau.service.routes.rights import review_out

    q = select(Review).order_by(Review.id)
    if status_ is not None:
        q = q.where(Review.status == status_)
    return [review_out(r) for r in s.scalars(q)]


@router.post("/reviews/{review_id}")
def update_review(review_id: RowId, body: ReviewUpdateIn, s: DB) -> ReviewOut:
    """A reviewer takes a review up, or closes it with the outcome the person will see."""
    from openbureau.service.routes.rights import review_out

    r = s.get(Review, review_id)
    if r is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no review {review_id}")
    if r.status == "closed":
        raise HTTPException(status.HTTP_409_CONFLICT, f"review {review_id} is already closed")
    r.status = body.status
    r.outcome = body.outcome
    r.updated_at = dt.datetime.now(dt.UTC)
    s.commit()
    return review_out(r)


# --- the model registry ----------------------------------------------------------------------


def _registry_error(exc: ValueError) -> HTTPException:
    return HTTPException(getattr(exc, "status", 422), str(exc))


def _model_detail(s: DB, model_id: str) -> RegisteredModelDetail:
    row = registry.get_model(s, model_id)
    return RegisteredModelDetail(
        **RegisteredModelOut.model_validate(row).model_dump(),
        card=row.card,
        events=[ModelEventOut.model_validate(e) for e in registry.model_events(s, model_id)],
    )


@router.get("/models")
def list_models(s: DB) -> ModelListOut:
    """Registered models, oldest first; ``champion`` names the one the service scores with."""
    current = registry.champion(s)
    return ModelListOut(
        champion=current.model_id if current is not None else None,
        models=[RegisteredModelOut.model_validate(m) for m in registry.list_models(s)],
    )


@router.get("/models/{model_id}")
def show_model(model_id: ModelRef, s: DB) -> RegisteredModelDetail:
    """One registered model with its card and every change of its state."""
    try:
        return _model_detail(s, model_id)
    except registry.RegistryError as exc:
        raise _registry_error(exc) from None


@router.post("/models", status_code=201)
def register_model(body: ModelRegisterIn, s: DB, svc: ServiceDep) -> RegisteredModelDetail:
    """Register a model folder (on the server) as a candidate."""
    try:
        row = registry.register(svc.sessions, body.path, actor=body.actor, reason=body.reason)
        return _model_detail(s, row.model_id)
    except registry.RegistryError as exc:
        raise _registry_error(exc) from None
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None


@router.post("/models/{model_id}/promote")
def promote_model(model_id: ModelRef, body: ModelPromoteIn, s: DB, svc: ServiceDep) -> PromotionOut:
    """Make a candidate champion on a passing release report; its scores become current in
    the same transaction. Refused, naming the failing check or the mismatch, otherwise."""
    try:
        done = registry.promote(
            svc.sessions,
            model_id,
            body.release,
            actor=body.actor,
            reason=body.reason,
            store=svc.settings.store,
        )
    except registry.RegistryError as exc:
        raise _registry_error(exc) from None
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    return PromotionOut(
        model=RegisteredModelOut.model_validate(registry.get_model(s, model_id)),
        previous_champion=done.previous_champion,
        score_version_id=done.score_version_id,
        previous_version_id=done.previous_version_id,
        release_sha256=done.release_sha256,
    )


@router.post("/models/{model_id}/retire")
def retire_model(
    model_id: ModelRef, body: ModelRetireIn, s: DB, svc: ServiceDep
) -> RegisteredModelDetail:
    """Retire a candidate (the champion is only ever replaced by a promotion)."""
    try:
        registry.retire(svc.sessions, model_id, actor=body.actor, reason=body.reason)
        return _model_detail(s, model_id)
    except registry.RegistryError as exc:
        raise _registry_error(exc) from None
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
