"""The service's tables, as typed SQLAlchemy 2 models (the migrations create exactly these).

Score rows are immutable once published: a version is published whole and the ``current``
pointer switches to it in the same transaction, so a reader that follows the pointer sees
one version, old or new, never a mix. The access log is append-only and hash-chained.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timestamps are always timezone-aware UTC in Python, whatever the database keeps
    (SQLite keeps no zone), so they compare and hash the same on both databases."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("timestamps must be timezone-aware")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    pass


class Person(Base):
    """A person who can sign in; ``person_id`` is their id in the event store."""

    __tablename__ = "people"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[str] = mapped_column(String(64), unique=True)
    login: Mapped[str] = mapped_column(String(128), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class LoginSession(Base):
    """A signed-in session; only the SHA-256 of the bearer token is kept."""

    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    person_pk: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

    person: Mapped[Person] = relationship()


class Partner(Base):
    """A business that looks people up; only the SHA-256 of its API key is kept."""

    __tablename__ = "partners"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    key_prefix: Mapped[str] = mapped_column(String(16))
    scopes: Mapped[list[str]] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ScoreVersion(Base):
    """One published scoring run: which model, catalog, policy and source file."""

    __tablename__ = "score_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    label: Mapped[str] = mapped_column(String(200))
    published_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    as_of: Mapped[dt.date] = mapped_column(Date)
    model_id: Mapped[str] = mapped_column(String(64))
    catalog_version: Mapped[str] = mapped_column(String(64))
    policy: Mapped[str] = mapped_column(String(64))
    policy_digest: Mapped[str] = mapped_column(String(64))
    max_reasons: Mapped[int] = mapped_column(Integer)
    model_path: Mapped[str | None] = mapped_column(Text, nullable=True)
    source_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    people: Mapped[int] = mapped_column(Integer)
    feature_columns: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    store_path: Mapped[str | None] = mapped_column(Text, nullable=True)


class CurrentVersion(Base):
    """The pointer readers follow: one row per name (``current``)."""

    __tablename__ = "current_version"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("score_versions.id"))
    switched_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Score(Base):
    """One person's score in one version, with everything needed to explain and replay it."""

    __tablename__ = "scores"
    __table_args__ = (UniqueConstraint("version_id", "person_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("score_versions.id"))
    person_id: Mapped[str] = mapped_column(String(64), index=True)
    as_of: Mapped[dt.date] = mapped_column(Date)
    score: Mapped[float] = mapped_column(Float(53))
    band: Mapped[str] = mapped_column(String(32))
    base: Mapped[float] = mapped_column(Float(53))
    segment: Mapped[str] = mapped_column(String(32))
    pd: Mapped[float] = mapped_column(Float(53))
    clipped: Mapped[bool] = mapped_column(Boolean)
    points_history: Mapped[float] = mapped_column(Float(53))
    points_behavior: Mapped[float] = mapped_column(Float(53))
    points_capacity: Mapped[float] = mapped_column(Float(53))
    points_identity: Mapped[float] = mapped_column(Float(53))
    points_network: Mapped[float] = mapped_column(Float(53))
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    model_id: Mapped[str] = mapped_column(String(64))
    catalog_version: Mapped[str] = mapped_column(String(64))
    input_hash: Mapped[str] = mapped_column(String(64))
    features: Mapped[list[float | None] | None] = mapped_column(JSON, nullable=True)


class Consent(Base):
    """A person's permission for one partner to look them up for one purpose, until expiry."""

    __tablename__ = "consents"
    __table_args__ = (Index("ix_consents_lookup", "person_pk", "partner_id", "purpose"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_pk: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"))
    purpose: Mapped[str] = mapped_column(String(64))
    share_number: Mapped[bool] = mapped_column(Boolean, default=False)
    granted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    partner: Mapped[Partner] = relationship()


class AccessLog(Base):
    """Append-only, hash-chained: ``hash`` = SHA-256 of the canonical JSON of the row's
    fields and ``prev_hash``; ``seq`` has no gaps, so a deleted row shows."""

    __tablename__ = "access_log"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    partner_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    partner_name: Mapped[str] = mapped_column(String(128))
    person_id: Mapped[str] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(32))
    purpose: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AccessLogHead(Base):
    """The chain's head (one row): appenders lock it, so the chain never forks, and the
    last hash it holds shows a deleted tail."""

    __tablename__ = "access_log_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer)
    last_hash: Mapped[str] = mapped_column(String(64))


class OfferRow(Base):
    """A benefit offer (``partner_id`` None: a bureau-wide default tier)."""

    __tablename__ = "offers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partners.id"), nullable=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    min_score: Mapped[float] = mapped_column(Float(53))
    purpose: Mapped[str] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Dispute(Base):
    """A person's challenge of one record of the event store (a contract-table row, named
    by table and key, found by its lineage). The store is never edited: the record is
    flagged here at once and the person's score recomputed without it. ``open`` until the
    bureau resolves it or ``deadline`` passes, which resolves it in the person's favour."""

    __tablename__ = "disputes"
    __table_args__ = (Index("ix_disputes_person", "person_pk", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_pk: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    version_id: Mapped[int] = mapped_column(ForeignKey("score_versions.id"))
    table_name: Mapped[str] = mapped_column(String(64))
    record_key: Mapped[dict[str, Any]] = mapped_column(JSON)
    lineage: Mapped[dict[str, int]] = mapped_column(JSON)
    record: Mapped[dict[str, Any]] = mapped_column(JSON)
    statement: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))  # open | upheld | rejected
    resolved_by: Mapped[str | None] = mapped_column(String(16), nullable=True)
    opened_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    deadline: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    resolution_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    score_before: Mapped[float] = mapped_column(Float(53))
    score_without: Mapped[float] = mapped_column(Float(53))
    subscores_without: Mapped[dict[str, float]] = mapped_column(JSON)
    reasons_without: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    input_hash_without: Mapped[str] = mapped_column(String(64))
    # when score_without was last computed: the latest upheld one excludes every upheld record
    scored_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # the feature row without the record(s), so what-if and the path start from the
    # corrected file; None for disputes recomputed before this column existed
    features_without: Mapped[list[Any] | None] = mapped_column(JSON, nullable=True)
    # an upheld dispute copied onto a newer score version (the correction is carried, the
    # deleted record never comes back); None for the dispute the person opened
    carried_from: Mapped[int | None] = mapped_column(
        ForeignKey("disputes.id"), nullable=True, index=True
    )


class Freeze(Base):
    """A freeze of a person's file: new-credit lookups are refused until ``lifted_at``."""

    __tablename__ = "freezes"
    __table_args__ = (Index("ix_freezes_person", "person_pk", "lifted_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_pk: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    frozen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    lifted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class Review(Base):
    """A person's request that a human review an adverse decision (an access-log entry)."""

    __tablename__ = "reviews"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_pk: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    decision_seq: Mapped[int] = mapped_column(Integer)
    partner_name: Mapped[str] = mapped_column(String(128))
    offer: Mapped[str] = mapped_column(String(64))
    statement: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))  # requested | in_review | closed
    outcome: Mapped[str | None] = mapped_column(Text, nullable=True)
    requested_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


# --- the model registry (issue 8) ----------------------------------------------------------

MODEL_STATES = ("candidate", "champion", "retired")


class RegisteredModel(Base):
    """A trained model folder known to the bureau, with what it was trained on and how well
    it did. ``state`` is ``candidate``, ``champion`` or ``retired``; the partial unique index
    lets at most one row be ``champion``, so two racing promotions cannot both win."""

    __tablename__ = "registered_models"
    __table_args__ = (
        CheckConstraint(
            "state IN ('candidate', 'champion', 'retired')", name="ck_registered_models_state"
        ),
        Index(
            "uq_registered_models_one_champion",
            "state",
            unique=True,
            sqlite_where=text("state = 'champion'"),
            postgresql_where=text("state = 'champion'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[str] = mapped_column(String(64), unique=True)
    artifact_path: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(64))
    catalog_version: Mapped[str] = mapped_column(String(64))
    data_hash: Mapped[str] = mapped_column(String(64))
    policy: Mapped[str] = mapped_column(String(64))
    policy_digest: Mapped[str] = mapped_column(String(64))
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON)
    card: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(16))
    registered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    state_changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ModelEvent(Base):
    """One change of a registered model's state (registration is the change from None):
    who, when, why, and the sha256 of the release report a promotion rested on."""

    __tablename__ = "model_events"
    __table_args__ = (Index("ix_model_events_model", "model_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[str] = mapped_column(ForeignKey("registered_models.model_id"))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor: Mapped[str] = mapped_column(String(128))
    from_state: Mapped[str | None] = mapped_column(String(16), nullable=True)
    to_state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    release_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    release_path: Mapped[str | None] = mapped_column(Text, nullable=True)
    score_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("score_versions.id"), nullable=True
    )
