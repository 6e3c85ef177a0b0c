"""Disputes: a person challenges one record; it is flagged at once and the score recomputed
without it; the bureau resolves it within the deadline, or the deadline resolves it for the
person.

- ``open``: both scores are shown (to the person, and to a partner as a second threshold
  proof) until it is resolved.
- ``upheld`` (by the bureau, or by ``deadline`` when it passes unresolved): the record's
  effect is deleted: the person's effective score in that version is the one recomputed
  without every upheld record of theirs.
- ``rejected``: the record stands; the published score is restored as the only one.

Overdue disputes are settled (recomputed and written) whenever the person or the bureau
looks at disputes; until then a partner lookup already treats them as upheld.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from openbureau.service.models import Dispute, Person, Score, ScoreVersion
from openbureau.service.records import Lineage, RecordError, Rescored, find_record, rescore

OPEN, UPHELD, REJECTED = "open", "upheld", "rejected"


class DisputeError(ValueError):
    """A dispute that cannot be opened or resolved, and why (``status`` is the HTTP code)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _lineage(d: Dispute) -> Lineage:
    return Lineage(d.table_name, d.lineage["batch_id"], d.lineage["file_id"], d.lineage["row"])


def _paths(svc: Any, version: ScoreVersion) -> tuple[Path, Any, Any]:
    """The store, model and pack a version was scored with, or a 503 saying what is missing."""
    from openbureau.service.publish import PublishError, scoring_pack_for

    store = version.store_path or (str(svc.settings.store) if svc.settings.store else None)
    model_dir = version.model_path or (str(svc.settings.model) if svc.settings.model else None)
    if store is None or model_dir is None or not version.feature_columns:
        raise DisputeError(
            503,
            "your score cannot be recomputed here: the service lacks the event store or the "
            f"model of score version {version.id}",
        )
    try:
        model = svc.models.get(model_dir)
        pack = scoring_pack_for(version.policy, version.policy_digest, Path(model_dir))
    except (FileNotFoundError, ValueError, PublishError) as exc:
        raise DisputeError(503, f"the model of score version {version.id}: {exc}") from None
    return Path(store), model, pack


def recompute(svc: Any, version: ScoreVersion, person_id: str, exclude: list[Lineage]) -> Rescored:
    store, model, pack = _paths(svc, version)
    try:
        return rescore(
            model,
            store,
            person_id,
            version.as_of,
            pack,
            list(version.feature_columns or []),
            version.max_reasons,
            exclude,
        )
    except RecordError as exc:
        raise DisputeError(503, str(exc)) from None


def _upheld(s: Session, person_pk: int) -> list[Dispute]:
    return list(
        s.scalars(
            select(Dispute)
            .where(Dispute.person_pk == person_pk, Dispute.status == UPHELD)
            .order_by(Dispute.id)
        )
    )


def _store_result(d: Dispute, r: Rescored) -> None:
    d.score_without = r.score
    d.subscores_without = r.subscores
    d.reasons_without = r.reasons
    d.input_hash_without = r.input_hash
    d.features_without = r.features
    d.scored_at = dt.datetime.now(dt.UTC)


def open_dispute(
    s: Session,
    svc: Any,
    person: Person,
    version: ScoreVersion,
    row: Score,
    *,
    table: str,
    key: dict[str, Any] | None,
    lineage: dict[str, int] | None,
    statement: str,
    now: dt.datetime | None = None,
) -> Dispute:
    """Flag the record and recompute the score without it (and without records already
    upheld); commits."""
    now = now or dt.datetime.now(dt.UTC)
    store, _, _ = _paths(svc, version)
    try:
        rec = find_record(store, person.person_id, table, key, lineage)
    except RecordError as exc:
        code = 503 if "cannot be read" in str(exc) or "not available" in str(exc) else 404
        if "cannot be disputed" in str(exc) or "the key of table" in str(exc):
            code = 422
        raise DisputeError(code, str(exc)) from None
    for d in s.scalars(
        select(Dispute).where(
            Dispute.person_pk == person.id,
            Dispute.table_name == table,
            Dispute.status.in_((OPEN, UPHELD)),
        )
    ):
        if _lineage(d) == rec.lineage:
            raise DisputeError(409, f"this record is already disputed (dispute {d.id}, {d.status})")
    exclude = [_lineage(d) for d in _upheld(s, person.id)] + [rec.lineage]
    result = recompute(svc, version, person.person_id, exclude)
    dispute = Dispute(
        person_pk=person.id,
        version_id=version.id,
        table_name=table,
        record_key=rec.key,
        lineage=rec.lineage.as_dict(),
        record=rec.values,
        statement=statement,
        status=OPEN,
        opened_at=now,
        deadline=now + dt.timedelta(days=svc.settings.dispute_days),
        score_before=row.score,
        score_without=result.score,
        subscores_without=result.subscores,
        reasons_without=result.reasons,
        input_hash_without=result.input_hash,
        features_without=result.features,
        scored_at=now,
    )
    s.add(dispute)
    s.commit()
    return dispute


def resolve(
    s: Session,
    svc: Any,
    dispute: Dispute,
    outcome: str,
    note: str,
    *,
    by: str = "bureau",
    now: dt.datetime | None = None,
) -> Dispute:
    """Uphold (delete the record's effect) or reject (restore it); commits."""
    if dispute.status != OPEN:
        raise DisputeError(409, f"dispute {dispute.id} is already {dispute.status}")
    now = now or dt.datetime.now(dt.UTC)
    if outcome == UPHELD:
        version = s.get(ScoreVersion, dispute.version_id)
        assert version is not None
        person = s.get(Person, dispute.person_pk)
        assert person is not None
        exclude = [_lineage(d) for d in _upheld(s, dispute.person_pk)] + [_lineage(dispute)]
        try:
            _store_result(dispute, recompute(svc, version, person.person_id, exclude))
        except DisputeError:
            if by != "deadline":
                raise
            # the deadline still decides; keep the score computed when it was opened
    dispute.status = outcome
    dispute.resolved_by = by
    dispute.resolved_at = dispute.deadline if by == "deadline" else now
    dispute.resolution_note = note
    s.commit()
    return dispute


def settle_overdue(s: Session, svc: Any, person_pk: int | None = None) -> int:
    """Resolve every open dispute whose deadline passed in the person's favour."""
    now = dt.datetime.now(dt.UTC)
    q = select(Dispute).where(Dispute.status == OPEN, Dispute.deadline <= now)
    if person_pk is not None:
        q = q.where(Dispute.person_pk == person_pk)
    overdue = list(s.scalars(q.order_by(Dispute.deadline)))
    for d in overdue:
        resolve(
            s,
            svc,
            d,
            UPHELD,
            "not resolved within the deadline: resolved in the person's favour",
            by="deadline",
            now=now,
        )
    return len(overdue)


@dataclass(frozen=True)
class Effective:
    """The score that counts now (the published one, or the one corrected by upheld
    disputes) and the open disputes, each with the score it would give if upheld."""

    score: float
    subscores: dict[str, float]
    reasons: list[dict[str, Any]]
    corrected_by: int | None
    open: list[Dispute]
    # the corrected feature row (version's column order) when ``corrected_by`` is set
    features: list[Any] | None = None


def effective(
    s: Session, person_pk: int, version: ScoreVersion, row: Score, now: dt.datetime | None = None
) -> Effective:
    """One indexed read: the score to use for ``row`` given the person's disputes."""
    now = now or dt.datetime.now(dt.UTC)
    disputes = list(
        s.scalars(
            select(Dispute)
            .where(
                Dispute.person_pk == person_pk,
                Dispute.status.in_((OPEN, UPHELD)),
                Dispute.version_id == version.id,
            )
            .order_by(Dispute.id)
        )
    )
    upheld = [d for d in disputes if d.status == UPHELD or d.deadline <= now]
    still_open = [d for d in disputes if d.status == OPEN and d.deadline > now]
    if upheld:
        last = max(upheld, key=lambda d: (d.status == UPHELD, d.scored_at, d.id))
        return Effective(
            last.score_without,
            last.subscores_without,
            last.reasons_without,
            last.carried_from or last.id,
            still_open,
            last.features_without,
        )
    from openbureau.service.queries import FACTORS

    return Effective(
        row.score,
        {f: getattr(row, f"points_{f}") for f in FACTORS},
        list(row.reasons),
        None,
        still_open,
    )


@dataclass(frozen=True)
class Carried:
    """What publishing a version did with the disputes of earlier versions."""

    corrections: int  # upheld disputes copied onto the new version (records stay deleted)
    moved_open: int  # open disputes moved onto the new version (both scores shown there)
    people: int


def pending_people(s: Session, version_id: int) -> dict[int, str]:
    """person_pk -> person_id of everyone whose upheld or open disputes are not yet on
    ``version_id`` (people the new version must correct or carry a dispute for)."""
    rows = s.execute(
        select(Dispute.person_pk, Person.person_id)
        .join(Person, Person.id == Dispute.person_pk)
        .where(
            Dispute.carried_from.is_(None),
            Dispute.status.in_((OPEN, UPHELD)),
            Dispute.version_id != version_id,
        )
        .distinct()
    )
    return {int(pk): str(pid) for pk, pid in rows}


def carry_forward(
    s: Session,
    version: ScoreVersion,
    rescore_without: Any,
    now: dt.datetime | None = None,
) -> Carried:
    """Carry earlier versions' disputes onto ``version`` (same transaction; no commit).

    A record deleted by an upheld dispute must never count again (re-inserting it is what
    FCRA 611(a)(5)(B) forbids), yet a new version is scored from the append-only store where
    the row still lies. So each person's upheld disputes are copied onto the new version,
    recomputed there without every upheld record of theirs, and ``effective`` applies them;
    open disputes move to the new version so both scores stay shown until resolution.
    ``rescore_without(person_id, lineages)`` returns a ``Rescored`` under the new version.
    """
    now = now or dt.datetime.now(dt.UTC)
    people = pending_people(s, version.id)
    corrections = moved = 0
    for person_pk, person_id in sorted(people.items()):
        row = s.scalar(
            select(Score).where(Score.version_id == version.id, Score.person_id == person_id)
        )
        if row is None:  # not scored in this version: nothing to correct or show
            continue
        originals = list(
            s.scalars(
                select(Dispute)
                .where(
                    Dispute.person_pk == person_pk,
                    Dispute.carried_from.is_(None),
                    Dispute.status.in_((OPEN, UPHELD)),
                )
                .order_by(Dispute.id)
            )
        )
        upheld = [d for d in originals if d.status == UPHELD]
        deleted = [_lineage(d) for d in upheld]
        if upheld:
            result = rescore_without(person_id, deleted)
            for d in upheld:
                copy = Dispute(
                    person_pk=person_pk,
                    version_id=version.id,
                    table_name=d.table_name,
                    record_key=d.record_key,
                    lineage=d.lineage,
                    record=d.record,
                    statement=d.statement,
                    status=UPHELD,
                    resolved_by=d.resolved_by,
                    opened_at=d.opened_at,
                    deadline=d.deadline,
                    resolved_at=d.resolved_at,
                    resolution_note=f"carried from dispute {d.id} onto score version {version.id}",
                    score_before=row.score,
                    carried_from=d.id,
                    scored_at=now,
                    score_without=0.0,
                    subscores_without={},
                    reasons_without=[],
                    input_hash_without="",
                )
                _store_result(copy, result)
                s.add(copy)
                corrections += 1
        for d in originals:
            if d.status != OPEN or d.version_id == version.id:
                continue
            _store_result(d, rescore_without(person_id, [*deleted, _lineage(d)]))
            d.version_id = version.id
            d.score_before = row.score
            moved += 1
    s.flush()
    return Carried(corrections, moved, len(people))


def carry_for_publish(
    s: Session, version: ScoreVersion, model_dir: Path | None, store: Path | None
) -> Carried:
    """``carry_forward`` for a version being published (inside publish's transaction).

    Refuses (ValueError) to publish a version that would bring deleted records back: when
    people have upheld disputes and the version has no store, model or feature snapshots
    to recompute them with.
    """
    from openbureau.model.artifact import load
    from openbureau.service.publish import scoring_pack_for

    if not pending_people(s, version.id):
        return Carried(0, 0, 0)
    if store is None or model_dir is None or not version.feature_columns:
        raise ValueError(
            "people have upheld or open disputes from earlier score versions; publishing "
            "this version without the event store, the model and feature snapshots would "
            "count the records those disputes deleted again — publish it with --store"
        )
    model = load(model_dir)
    pack = scoring_pack_for(version.policy, version.policy_digest, Path(model_dir))
    columns = list(version.feature_columns)

    def without(person_id: str, lineages: list[Lineage]) -> Rescored:
        try:
            return rescore(
                model,
                Path(store),
                person_id,
                version.as_of,
                pack,
                columns,
                version.max_reasons,
                lineages,
            )
        except RecordError as exc:
            raise ValueError(f"cannot carry the disputes of person {person_id}: {exc}") from None

    return carry_forward(s, version, without)
