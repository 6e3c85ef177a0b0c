"""Reads shared by the routes: a person's current score, their history, active consents."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from openbureau.contract import FACTORS
from openbureau.service.models import (
    Consent,
    CurrentVersion,
    Dispute,
    Freeze,
    Partner,
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
class PartnerGate:
    """What a partner request needs, read in one statement: the partner behind the key, and
    about the person their latest active consent for this partner and purpose, whether their
    file is frozen, their score in the current version and whether a dispute touches it."""

    partner_id: int
    partner_name: str
    scopes: list[str]
    active: bool
    person_pk: int | None  # None: the person is not on file
    consent_id: int | None
    share_number: bool
    frozen: bool
    version_id: int | None  # None: no current version, or no score of the person in it
    max_reasons: int
    score_id: int | None
    score: float
    as_of: dt.date | None
    model_id: str
    subscores: dict[str, float]
    reasons: list[dict[str, Any]]
    disputed: bool  # an open or upheld dispute against this version


def _partner_gate_statement() -> Any:
    """Built once (Core, no ORM entities): constructing it costs more CPU than running it.

    partners (by key hash) LEFT JOIN the person, their latest active consent, the current
    version pointer, their score row in it; freeze and disputes as EXISTS. The pointer is
    read here every time, so a publish is seen by the next request of every process.
    """
    pa, pe, sv, sc = (t.__table__ for t in (Partner, Person, ScoreVersion, Score))
    co, fr, di, cv = (t.__table__ for t in (Consent, Freeze, Dispute, CurrentVersion))
    latest = co.alias("latest_consent")
    latest_consent = (
        select(func.max(latest.c.id))
        .where(
            latest.c.person_pk == pe.c.id,
            latest.c.partner_id == pa.c.id,
            latest.c.purpose == bindparam("purpose"),
            latest.c.revoked_at.is_(None),
            latest.c.expires_at > bindparam("now", type_=Consent.expires_at.type),
        )
        .correlate(pe, pa)
        .scalar_subquery()
    )
    frozen = select(fr.c.id).where(fr.c.person_pk == pe.c.id, fr.c.lifted_at.is_(None)).exists()
    disputed = (
        select(di.c.id)
        .where(
            di.c.person_pk == pe.c.id,
            di.c.version_id == sc.c.version_id,
            # two comparisons, not IN (...): an expanding IN is re-rendered on every execution
            (di.c.status == "open") | (di.c.status == "upheld"),
        )
        .exists()
    )
    return (
        select(
            pa.c.id,
            pa.c.name,
            pa.c.scopes,
            pa.c.active,
            pe.c.id.label("person_pk"),
            co.c.id.label("consent_id"),
            co.c.share_number,
            frozen.label("frozen"),
            sv.c.id.label("version_id"),
            sv.c.max_reasons,
            sc.c.id.label("score_id"),
            sc.c.score,
            sc.c.as_of,
            sc.c.model_id,
            *(sc.c[f"points_{f}"] for f in FACTORS),
            sc.c.reasons,
            disputed.label("disputed"),
        )
        .select_from(pa)
        .outerjoin(pe, pe.c.person_id == bindparam("person_id"))
        .outerjoin(co, co.c.id == latest_consent)
        .outerjoin(cv, cv.c.name == "current")
        .outerjoin(sv, sv.c.id == cv.c.version_id)
        .outerjoin(sc, (sc.c.version_id == sv.c.id) & (sc.c.person_id == pe.c.person_id))
        .where(pa.c.key_hash == bindparam("key_hash"))
    )


PARTNER_GATE = _partner_gate_statement()


def gate_params(
    key_hash: str, person_id: str, purpose: str, now: dt.datetime | None = None
) -> dict[str, Any]:
    """The bound values of ``PARTNER_GATE``."""
    return {
        "key_hash": key_hash,
        "person_id": person_id,
        "purpose": purpose,
        "now": now or dt.datetime.now(dt.UTC),
    }


def gate_from_row(r: Mapping[str, Any]) -> PartnerGate:
    """A ``PARTNER_GATE`` row (by column name), from either driver."""
    scored = r["score_id"] is not None
    return PartnerGate(
        partner_id=r["id"],
        partner_name=r["name"],
        scopes=list(r["scopes"] or ()),
        active=bool(r["active"]),
        person_pk=r["person_pk"],
        consent_id=r["consent_id"],
        share_number=bool(r["share_number"]),
        frozen=bool(r["frozen"]),
        version_id=r["version_id"] if scored else None,
        max_reasons=r["max_reasons"] or 0,
        score_id=r["score_id"],
        score=r["score"] if scored else 0.0,
        as_of=r["as_of"],
        model_id=r["model_id"] or "",
        subscores={f: r[f"points_{f}"] for f in FACTORS} if scored else {},
        reasons=list(r["reasons"] or ()) if scored else [],
        disputed=bool(r["disputed"]) and scored,
    )


def partner_gate(
    conn: Connection, key_hash: str, person_id: str, purpose: str, now: dt.datetime | None = None
) -> PartnerGate | None:
    """One round trip for the busiest path of the service (it was three queries and a
    session per request); None when no partner has this key."""
    r = conn.execute(PARTNER_GATE, gate_params(key_hash, person_id, purpose, now)).first()
    return None if r is None else gate_from_row(r._mapping)
