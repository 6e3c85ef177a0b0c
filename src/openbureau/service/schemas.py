"""Request and response bodies: what the API promises, checked by Pydantic and shown at /docs."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal, cast

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Scope = Literal["lookup", "decision"]
MAX_ID = 2**31 - 1  # ids are 32-bit integers in PostgreSQL
RowId = Annotated[int, Path(ge=1, le=MAX_ID, description="An id from a listing.")]
PersonRef = Field(min_length=1, max_length=64, description="The person's bureau id.")
MAX_CONSENT_DAYS = 730


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class LoginIn(BaseModel):
    login: str = Field(min_length=1, max_length=128)
    password: str = Field(min_length=1, max_length=1024)


class TokenOut(Out):
    token: str
    token_type: Literal["bearer"] = "bearer"
    expires_at: dt.datetime


class ReasonOut(Out):
    code: str
    factor: str
    text: str
    points: float = Field(description="Points this costs against the best attainable value.")


class Subscores(Out):
    history: float
    behavior: float
    capacity: float
    identity: float
    network: float


class ScoreOut(Out):
    person_id: str
    score: float = Field(ge=350, le=950)
    band: str
    subscores: Subscores
    reasons: list[ReasonOut] = Field(max_length=4)
    model_id: str
    catalog_version: str
    scored_on: dt.date
    published_at: dt.datetime
    version: int


class HistoryOut(Out):
    scores: list[ScoreOut]


class ChangeOut(Out):
    feature: str
    factor: str
    description: str
    current: float
    proposed: float
    points: float


class PathOut(Out):
    target: float | None
    reachable: bool
    score_after: float
    changes: list[ChangeOut]
    message: str


class DecisionOut(Out):
    offer: str
    title: str
    eligible: bool
    threshold: float
    explanation: str


class BenefitsOut(Out):
    score: float
    unlocked: list[DecisionOut]
    locked: list[DecisionOut]
    next_threshold: float | None
    next_offer: str | None
    path: PathOut | None = Field(description="The smallest changes that reach next_threshold.")
    path_unavailable: str | None = None


class ConsentIn(BaseModel):
    partner: str = Field(min_length=1, max_length=128, description="The partner's name.")
    purpose: str = Field(min_length=1, max_length=64)
    expires_at: dt.datetime = Field(description="When the consent ends (with a time zone).")
    share_number: bool = Field(
        False, description="Let the partner see the number, not only a threshold proof."
    )

    @field_validator("expires_at")
    @classmethod
    def _future(cls, value: dt.datetime) -> dt.datetime:
        if value.tzinfo is None:
            raise ValueError("expires_at needs a time zone, e.g. 2026-12-31T00:00:00Z")
        now = dt.datetime.now(dt.UTC)
        if value <= now:
            raise ValueError("expires_at must be in the future")
        if value > now + dt.timedelta(days=MAX_CONSENT_DAYS):
            raise ValueError(f"a consent lasts at most {MAX_CONSENT_DAYS} days")
        return value


class ConsentOut(Out):
    id: int
    partner: str
    purpose: str
    share_number: bool
    granted_at: dt.datetime
    expires_at: dt.datetime
    revoked_at: dt.datetime | None
    active: bool


class AccessLogEntryOut(Out):
    seq: int
    at: dt.datetime
    partner: str
    action: str
    purpose: str
    outcome: Literal["granted", "denied"]
    reason: str


class LookupIn(BaseModel):
    person: str = PersonRef
    purpose: str = Field(min_length=1, max_length=64)
    threshold: float | None = Field(
        None, ge=350, le=950, description="The score to prove against (default 650)."
    )


class LookupOut(Out):
    person: str
    purpose: str
    threshold: float
    meets_threshold: bool
    score: float | None = Field(description="Only when the person consented to share it.")
    band: str | None
    scored_on: dt.date
    model_id: str
    under_dispute: bool = Field(
        False, description="The person disputes a record; the proof below assumes it upheld."
    )
    meets_threshold_if_dispute_upheld: bool | None = None
    score_if_dispute_upheld: float | None = Field(
        None, description="Only when the person consented to share the number."
    )


class PartnerDecisionIn(BaseModel):
    person: str = PersonRef
    offer: str = Field(min_length=1, max_length=64, description="An offer code.")


class PartnerDecisionOut(Out):
    person: str
    offer: str
    eligible: bool
    threshold: float
    explanation: str
    reasons: list[ReasonOut]
    adverse_action: dict[str, Any] | None
    under_dispute: bool = False
    eligible_if_dispute_upheld: bool | None = None


class PersonIn(BaseModel):
    person_id: str = PersonRef
    login: str = Field(min_length=3, max_length=128)
    password: str = Field(min_length=8, max_length=1024)


class PersonOut(Out):
    id: int
    person_id: str
    login: str


class PartnerIn(BaseModel):
    name: str = Field(min_length=1, max_length=128)
    scopes: list[Scope] = Field(
        default_factory=lambda: cast(list[Scope], ["lookup", "decision"]), min_length=1
    )


class PartnerOut(Out):
    id: int
    name: str
    scopes: list[str]
    key_prefix: str
    active: bool


class PartnerCreated(PartnerOut):
    api_key: str = Field(description="Shown once: only its hash is kept.")


class OfferIn(BaseModel):
    code: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_\-]+$")
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(min_length=1, max_length=2000)
    min_score: float = Field(ge=350, le=950)
    purpose: str = Field(min_length=1, max_length=64)
    partner: str | None = Field(None, description="The partner offering it (None: bureau-wide).")


class OfferOut(Out):
    code: str
    title: str
    description: str
    min_score: float
    purpose: str
    partner: str | None


class PublishIn(BaseModel):
    scores: str = Field(description="Path (on the server) of a scores Parquet file.")
    model: str | None = Field(None, description="The model folder it was scored with.")
    store: str | None = Field(None, description="The store it was scored from (snapshots).")
    features: str | None = Field(None, description="Or a Parquet file of the feature rows.")
    label: str | None = Field(None, max_length=200)


class PublishOut(Out):
    version_id: int
    label: str
    people: int
    model_id: str
    as_of: dt.date
    replayable: bool
    previous_version: int | None


class VersionOut(Out):
    id: int
    label: str
    published_at: dt.datetime
    as_of: dt.date
    model_id: str
    people: int
    current: bool


class ReplayOut(Out):
    person_id: str
    version_id: int
    model_id: str
    identical: bool
    stored: dict[str, Any]
    replayed: dict[str, Any]
    differences: list[str]


class ChainOut(Out):
    ok: bool
    entries: int
    head_hash: str
    broken_seq: int | None
    problem: str


# --- disputes, freeze, reviews, export, what-if -------------------------------------------

DisputeStatus = Literal["open", "upheld", "rejected"]


class LineageIn(BaseModel):
    batch_id: int = Field(ge=0, le=2**62)
    file_id: int = Field(ge=0, le=2**62)
    row: int = Field(ge=0, le=2**62)


class DisputeIn(BaseModel):
    table: str = Field(
        min_length=1, max_length=64, description="The contract table, e.g. public_records."
    )
    key: dict[str, str] | None = Field(
        None, description="The record's key in that table, e.g. {'record_id': 'J1'}."
    )
    lineage: LineageIn | None = Field(None, description="Or its lineage (from GET /me/records).")
    statement: str = Field(min_length=1, max_length=4000, description="Why it is wrong.")

    @model_validator(mode="after")
    def _one_of(self) -> DisputeIn:
        if self.lineage is None and not self.key:
            raise ValueError("name the record by its key or by its lineage")
        return self


class DisputeOut(Out):
    id: int
    table: str
    key: dict[str, Any]
    lineage: dict[str, int]
    record: dict[str, Any]
    statement: str
    status: DisputeStatus
    resolved_by: Literal["bureau", "deadline"] | None
    opened_at: dt.datetime
    deadline: dt.datetime
    resolved_at: dt.datetime | None
    resolution_note: str | None
    version: int
    score_before: float
    score_without: float = Field(description="The score recomputed without this record.")
    band_without: str
    subscores_without: Subscores
    reasons_without: list[ReasonOut]


class DisputeResolveIn(BaseModel):
    outcome: Literal["upheld", "rejected"] = Field(
        description="upheld: the record is wrong, its effect is deleted; rejected: it stands."
    )
    note: str = Field(min_length=1, max_length=4000)


class RecordOut(Out):
    table: str
    key: dict[str, Any]
    lineage: dict[str, int]
    values: dict[str, Any]
    disputable: bool


class RecordsOut(Out):
    records: list[RecordOut]
    unavailable: str | None = None


class FreezeOut(Out):
    frozen: bool
    since: dt.datetime | None
    refused_purposes: list[str] = Field(description="Purposes refused while frozen.")
    history: list[dict[str, dt.datetime | None]]


class ReviewIn(BaseModel):
    decision_seq: int = Field(ge=1, le=MAX_ID, description="The access-log entry of the decision.")
    statement: str = Field(min_length=1, max_length=4000)


ReviewStatus = Literal["requested", "in_review", "closed"]


class ReviewOut(Out):
    id: int
    decision_seq: int
    partner: str
    offer: str
    statement: str
    status: ReviewStatus
    outcome: str | None
    requested_at: dt.datetime
    updated_at: dt.datetime


class ReviewUpdateIn(BaseModel):
    status: Literal["in_review", "closed"]
    outcome: str | None = Field(None, min_length=1, max_length=4000)

    @model_validator(mode="after")
    def _closed_needs_outcome(self) -> ReviewUpdateIn:
        if self.status == "closed" and not self.outcome:
            raise ValueError("closing a review needs its outcome")
        return self


class OpenDisputeScore(Out):
    dispute: int
    table: str
    score_without: float
    band_without: str
    deadline: dt.datetime


class MyScoreOut(ScoreOut):
    published_score: float = Field(description="The score as published in this version.")
    corrected_by_dispute: int | None = Field(
        description="The upheld dispute whose recomputed score replaces the published one."
    )
    open_disputes: list[OpenDisputeScore] = Field(
        description="Both scores are shown until each dispute is resolved."
    )


class WhatIfIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    changes: dict[str, float] = Field(
        min_length=1,
        max_length=100,
        description="New values of actionable features, e.g. {'utilisation_latest': 0.2}.",
    )

    @field_validator("changes")
    @classmethod
    def _finite(cls, value: dict[str, float]) -> dict[str, float]:
        import math

        bad = [k for k, v in value.items() if not math.isfinite(v)]
        if bad:
            raise ValueError(f"values must be finite numbers: {bad}")
        return value


class WhatIfChange(Out):
    feature: str
    factor: str
    description: str
    current: float | None
    proposed: float


class WhatIfOut(Out):
    score_before: float
    score_after: float
    band_after: str
    subscores_before: Subscores
    subscores_after: Subscores
    reasons_after: list[ReasonOut]
    changes: list[WhatIfChange]
    note: str


class ExportOut(Out):
    exported_at: dt.datetime
    profile: dict[str, Any]
    current_score: MyScoreOut | None
    scores: list[ScoreOut]
    consents: list[ConsentOut]
    access_log: list[dict[str, Any]]
    disputes: list[DisputeOut]
    reviews: list[ReviewOut]
    freezes: list[dict[str, dt.datetime | None]]
    records: RecordsOut


# --- the model registry (issue 8) ---------------------------------------------------------

ModelState = Literal["candidate", "champion", "retired"]
ModelRef = Annotated[
    str,
    Path(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z_.-]+$", description="A model id."),
]
Actor = Field(min_length=1, max_length=128, description="Who makes the change (kept in the log).")


class ModelRegisterIn(BaseModel):
    path: str = Field(min_length=1, max_length=4096, description="A model folder on the server.")
    actor: str = Actor
    reason: str = Field("registered", min_length=1, max_length=2000)


class ModelPromoteIn(BaseModel):
    release: str = Field(
        min_length=1,
        max_length=4096,
        description="Path (on the server) of the release report (release.json or its folder).",
    )
    actor: str = Actor
    reason: str = Field(min_length=1, max_length=2000)


class ModelRetireIn(BaseModel):
    actor: str = Actor
    reason: str = Field(min_length=1, max_length=2000)


class ModelEventOut(Out):
    id: int
    model_id: str
    at: dt.datetime
    actor: str
    from_state: ModelState | None
    to_state: ModelState
    reason: str
    release_sha256: str | None
    release_path: str | None
    score_version_id: int | None


class RegisteredModelOut(Out):
    model_id: str
    state: ModelState
    artifact_path: str
    kind: str
    catalog_version: str
    data_hash: str
    policy: str
    policy_digest: str
    metrics: dict[str, Any] = Field(description="Hold-out AUC and KS, and the development metrics.")
    registered_at: dt.datetime
    state_changed_at: dt.datetime


class RegisteredModelDetail(RegisteredModelOut):
    card: dict[str, Any] = Field(description="The model card (model_card.json).")
    events: list[ModelEventOut]


class ModelListOut(Out):
    champion: str | None = Field(description="The model the service scores with, if any.")
    models: list[RegisteredModelOut]


class PromotionOut(Out):
    model: RegisteredModelOut
    previous_champion: str | None
    score_version_id: int | None = Field(description="The score version published with it.")
    previous_version_id: int | None
    release_sha256: str


class ErrorOut(BaseModel):
    """Every 4xx: ``detail`` says what is wrong (a sentence; FastAPI's field errors for a
    malformed body)."""

    detail: str | list[dict[str, Any]]


ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut, "description": text}
    for code, text in (
        (400, "The request cannot be carried out (e.g. a file that cannot be published)."),
        (401, "No or bad credentials."),
        (403, "Not permitted: no consent, a refused purpose, a frozen file, a missing scope."),
        (404, "No such thing, or not yours."),
        (409, "Already exists, or already resolved."),
        (422, "A malformed body (field errors) or a domain rule it breaks (a sentence)."),
        (429, "Rate limited; see Retry-After."),
        (503, "What this needs (the event store, a model) is not available to the service."),
    )
}
