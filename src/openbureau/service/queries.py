"""Reads shared by the routes: a person's current score, their history, active consents."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session, aliased

from openbureau.contract import FACTORS
from openbureau.service.models import (
    Consent,
    CurrentVersion,
    Dispute,
    Freeze,
    Person,
    Score,
    ScoreVersion,
)
from openbureau.service.schemas import ReasonOut, ScoreOut, Subscores


def current_score(s: Session, person_id: str) -> tuple[ScoreVersion, Score] | None:
    """The person's row in the version the pointer names: one read, so never a mix."""
    found = s.execute(
        select(ScoreVersion, Score)
        .join(CurrentVersion, CurrentVersion.version_id == ScoreVersion.id)
        .join(Score, Score.version_id == ScoreVersion.id)
        .where(CurrentVersion.name == "current", Score.person_id == person_id)
    ).first()
    return None if found is None else (found[0], found[1])


def history(s: Session, person_id: str) -> list[tuple[ScoreVersion, Score]]:
    rows = s.execute(
        select(ScoreVersion, Score)
        .join(Score, Score.version_id == ScoreVersion.id)
        .where(Score.person_id == person_id)
        .order_by(ScoreVersion.id.desc())
    ).all()
    return [(v, r) for v, r in rows]


def score_out(version: ScoreVersion, row: Score) -> ScoreOut:
    return ScoreOut(
        person_id=row.person_id,
        score=row.score,
        band=row.band,
        subscores=Subscores(**{f: getattr(row, f"points_{f}") for f in FACTORS}),
        reasons=[ReasonOut(**r) for r in row.reasons[:4]],
        model_id=row.model_id,
        catalog_version=row.catalog_version,
        scored_on=row.as_of,
        published_at=version.published_at,
        version=version.id,
    )


def active_consent(
    s: Session, person_pk: int, partner_id: int, purpose: str, now: dt.datetime | None = None
) -> Consent | None:
    """An active (unrevoked, unexpired) consent; with several, the latest granted."""
    now = now or dt.datetime.now(dt.UTC)
    return s.scalar(
        select(Consent)
        .where(
            Consent.person_pk == person_pk,
            Consent.partner_id == partner_id,
            Consent.purpose == purpose,
            Consent.revoked_at.is_(None),
            Consent.expires_at > now,
        )
        .order_by(Consent.id.desc())
        .limit(1)
    )


def is_frozen(s: Session, person_pk: int) -> bool:
    """Whether the person's file is frozen now (a freeze not yet lifted)."""
    found = s.scalar(
        select(Freeze.id).where(Freeze.person_pk == person_pk, Freeze.lifted_at.is_(None)).limit(1)
    )
    return found is not None


@dataclass(frozen=True)
class GateRow:
    """What a partner request needs about a person, read in one statement."""

    person_pk: int
    consent_id: int | None
    share_number: bool
    frozen: bool
    version: ScoreVersion | None
    score: Score | None
    disputed: bool  # an open or upheld dispute against this version


def _gate_statement() -> Any:
    """Built once: constructing this select costs more CPU than running it."""
    c = aliased(Consent)
    latest_consent = (
        select(func.max(c.id))
        .where(
            c.person_pk == Person.id,
            c.partner_id == bindparam("partner_id"),
            c.purpose == bindparam("purpose"),
            c.revoked_at.is_(None),
            c.expires_at > bindparam("now", type_=Consent.expires_at.type),
        )
        .correlate(Person)
        .scalar_subquery()
    )
    frozen = (
        select(Freeze.id).where(Freeze.person_pk == Person.id, Freeze.lifted_at.is_(None)).exists()
    )
    disputed = (
        select(Dispute.id)
        .where(
            Dispute.person_pk == Person.id,
            Dispute.version_id == ScoreVersion.id,
            Dispute.status.in_(("open", "upheld")),
        )
        .exists()
    )
    pointer = aliased(CurrentVersion)
    return (
        select(Person.id, Consent.id, Consent.share_number, frozen, ScoreVersion, Score, disputed)
        .select_from(Person)
        .outerjoin(Consent, Consent.id == latest_consent)
        .outerjoin(pointer, pointer.name == "current")
        .outerjoin(ScoreVersion, ScoreVersion.id == pointer.version_id)
        .outerjoin(
            Score, (Score.version_id == ScoreVersion.id) & (Score.person_id == Person.person_id)
        )
        .where(Person.person_id == bindparam("person_id"))
    )


_GATE = _gate_statement()


def gate_row(
    s: Session, person_id: str, partner_id: int, purpose: str, now: dt.datetime | None = None
) -> GateRow | None:
    """The person, their latest active consent for this partner and purpose, whether their
    file is frozen, their current score and whether a dispute touches it: one round trip
    instead of five on the busiest path of the service. None when the person is not on file.
    """
    params = {
        "person_id": person_id,
        "partner_id": partner_id,
        "purpose": purpose,
        "now": now or dt.datetime.now(dt.UTC),
    }
    row = s.execute(_GATE, params).first()
    if row is None:
        return None
    pk, consent_id, share, is_frozen_, version, score, has_dispute = row
    return GateRow(
        pk,
        consent_id,
        bool(share),
        bool(is_frozen_),
        version if score is not None else None,
        score,
        bool(has_dispute) and score is not None,
    )
