"""Reads shared by the routes: a person's current score, their history, active consents."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from openbureau.service.models import Consent, CurrentVersion, Freeze, Score, ScoreVersion
from openbureau.service.schemas import ReasonOut, ScoreOut, Subscores

FACTORS = ("history", "behavior", "capacity", "identity", "network")


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
