"""Register, promote and retire models; every change is an event row.

A promotion is one database transaction: the old champion is retired, the candidate becomes
champion, the candidate's scores (named by the release report) are published as the current
score version, and the events are written. Readers see the old champion with its scores or
the new one with its own, never a mix, and any failure leaves everything as it was. The
partial unique index on ``state`` (migration 0003) keeps a second champion out even when two
promotions race; the state updates are conditional, so the loser sees it and is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from openbureau.registry.artifact import read_model_folder
from openbureau.registry.errors import RegistryError
from openbureau.registry.release import ReleaseReport, load_release
from openbureau.service.models import ModelEvent, RegisteredModel, utcnow

MAX_ACTOR = 128


@dataclass(frozen=True)
class Promotion:
    """What a promotion did."""

    model_id: str
    previous_champion: str | None
    score_version_id: int | None
    previous_version_id: int | None
    release_sha256: str
    people: int

    def __str__(self) -> str:
        published = (
            f"published its scores as version {self.score_version_id} ({self.people:,} people; "
            f"current was {self.previous_version_id})"
            if self.score_version_id is not None
            else "no scores file in the report: the current score version is unchanged"
        )
        return (
            f"model {self.model_id} is champion (was {self.previous_champion or 'none'}); "
            f"{published}; release report sha256 {self.release_sha256[:16]}"
        )


def _who(actor: object, reason: object) -> tuple[str, str]:
    if not isinstance(actor, str) or not isinstance(reason, str):
        raise TypeError("actor and reason must be strings")
    actor, reason = actor.strip(), reason.strip()
    if not actor or len(actor) > MAX_ACTOR:
        raise ValueError(f"actor must be 1-{MAX_ACTOR} characters (who made the change)")
    if not reason:
        raise ValueError("reason must not be empty: say why the state changes")
    return actor, reason


def champion(session: Session) -> RegisteredModel | None:
    """The champion (the model the service scores with), or None before the first promotion."""
    return session.scalar(select(RegisteredModel).where(RegisteredModel.state == "champion"))


def get_model(session: Session, model_id: str) -> RegisteredModel:
    found = session.scalar(select(RegisteredModel).where(RegisteredModel.model_id == model_id))
    if found is None:
        raise RegistryError(f"no registered model {model_id!r}", status=404)
    return found


def list_models(session: Session) -> list[RegisteredModel]:
    """Every registered model, oldest first."""
    return list(session.scalars(select(RegisteredModel).order_by(RegisteredModel.id)))


def model_events(session: Session, model_id: str | None = None) -> list[ModelEvent]:
    """State changes in the order they happened (of one model, or of all)."""
    q = select(ModelEvent).order_by(ModelEvent.id)
    if model_id is not None:
        q = q.where(ModelEvent.model_id == model_id)
    return list(session.scalars(q))


def register(
    sessions: sessionmaker[Session],
    path: Path | str,
    *,
    actor: str,
    reason: str = "registered",
) -> RegisteredModel:
    """Register a model folder as a ``candidate``; refuses one already registered."""
    actor, reason = _who(actor, reason)
    folder = read_model_folder(path)
    try:
        with sessions.begin() as s:
            existing = s.scalar(
                select(RegisteredModel).where(RegisteredModel.model_id == folder.model_id)
            )
            if existing is not None:
                raise RegistryError(
                    f"model {folder.model_id} is already registered ({existing.state}, from "
                    f"{existing.artifact_path})",
                    status=409,
                )
            now = utcnow()
            row = RegisteredModel(
                model_id=folder.model_id,
                artifact_path=str(folder.path),
                kind=folder.kind,
                catalog_version=folder.catalog_version,
                data_hash=folder.data_hash,
                policy=folder.policy,
                policy_digest=folder.policy_digest,
                metrics=folder.metrics,
                card=folder.card,
                state="candidate",
                registered_at=now,
                state_changed_at=now,
            )
            s.add(row)
            s.flush()
            s.add(_event(folder.model_id, actor, None, "candidate", reason))
    except IntegrityError:
        raise RegistryError(f"model {folder.model_id} is already registered", status=409) from None
    return row


def _event(
    model_id: str,
    actor: str,
    from_state: str | None,
    to_state: str,
    reason: str,
    report: ReleaseReport | None = None,
    version_id: int | None = None,
) -> ModelEvent:
    return ModelEvent(
        model_id=model_id,
        at=utcnow(),
        actor=actor,
        from_state=from_state,
        to_state=to_state,
        reason=reason,
        release_sha256=report.sha256 if report else None,
        release_path=str(report.path) if report else None,
        score_version_id=version_id,
    )


def _move(s: Session, model_id: str, from_state: str, to_state: str) -> bool:
    """Change the state only if it is still ``from_state``; say whether it was."""
    result = s.execute(
        update(RegisteredModel)
        .where(RegisteredModel.model_id == model_id, RegisteredModel.state == from_state)
        .values(state=to_state, state_changed_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1  # type: ignore[attr-defined]


def _check_report(s: Session, model_id: str, report: ReleaseReport) -> RegisteredModel:
    """The candidate row, if the report allows promoting it over the current champion."""
    if not report.passed:
        raise RegistryError(
            f"release report {report.path} did not pass; failing checks: "
            f"{report.failures_text() or 'none listed'}"
        )
    if report.candidate_id != model_id:
        raise RegistryError(
            f"release report {report.path} is for candidate {report.candidate_id}, "
            f"not for model {model_id}"
        )
    candidate = get_model(s, model_id)
    if candidate.state != "candidate":
        raise RegistryError(
            f"model {model_id} is {candidate.state}, not a candidate: only a candidate can be "
            "promoted",
            status=409,
        )
    current = champion(s)
    current_id = current.model_id if current is not None else None
    if report.champion_id != current_id:
        raise RegistryError(
            f"release report {report.path} compared the candidate with champion "
            f"{report.champion_id or 'none'}, but the champion is now {current_id or 'none'}: "
            "run the release gate again against the current champion",
            status=409,
        )
    return candidate


def promote(
    sessions: sessionmaker[Session],
    model_id: str,
    release: Path | str,
    *,
    actor: str,
    reason: str,
    store: Path | None = None,
    features: Path | None = None,
) -> Promotion:
    """Make a candidate champion on a passing release report, publishing the report's
    scores as the current version in the same transaction. ``store`` (or ``features``)
    gives the feature snapshots that make the published scores replayable."""
    from openbureau.service.publish import PreparedVersion, PublishError, prepare, write_version

    if not isinstance(model_id, str) or not model_id:
        raise TypeError("model_id must be a non-empty string")
    actor, reason = _who(actor, reason)
    report = load_release(release)
    with sessions() as s:  # fail fast, before reading the scores
        candidate = _check_report(s, model_id, report)
    prepared: PreparedVersion | None = None
    if report.scores is not None:
        try:
            prepared = prepare(
                report.scores,
                model_dir=Path(candidate.artifact_path),
                store=store,
                features=features,
                label=f"champion {model_id}",
            )
        except PublishError as exc:
            raise RegistryError(f"the release report's scores cannot be published: {exc}") from None
        scored_by, scored_on = prepared.meta["model_id"], prepared.meta["as_of"]
        if scored_by != model_id:
            raise RegistryError(
                f"the release report's scores {report.scores} were made by model {scored_by}, "
                f"not by the candidate {model_id}"
            )
        if scored_on != report.as_of:
            raise RegistryError(
                f"the release report is as of {report.as_of} but its scores {report.scores} "
                f"are as of {scored_on}"
            )
    try:
        with sessions.begin() as s:
            _check_report(s, model_id, report)  # again, inside the transaction
            previous = champion(s)
            previous_id = previous.model_id if previous is not None else None
            if previous_id is not None:
                if not _move(s, previous_id, "champion", "retired"):
                    raise RegistryError(
                        f"champion {previous_id} changed during the promotion; nothing changed",
                        status=409,
                    )
                s.add(
                    _event(
                        previous_id,
                        actor,
                        "champion",
                        "retired",
                        f"replaced by {model_id}: {reason}",
                        report,
                    )
                )
            if not _move(s, model_id, "candidate", "champion"):
                raise RegistryError(
                    f"model {model_id} changed state during the promotion; nothing changed",
                    status=409,
                )
            s.flush()  # the one-champion index answers here
            published = write_version(s, prepared) if prepared is not None else None
            version_id = published.version_id if published else None
            s.add(_event(model_id, actor, "candidate", "champion", reason, report, version_id))
    except DBAPIError as exc:  # the one-champion index, a locked SQLite file, a failed insert
        first = (str(exc.orig).splitlines() or ["no message"])[0]
        raise RegistryError(
            f"the database refused the promotion ({type(exc.orig).__name__}: {first}), so "
            "nothing changed; if another promotion ran at the same time, check the champion "
            "and retry",
            status=409,
        ) from None
    except PublishError as exc:
        raise RegistryError(
            f"publishing the candidate's scores failed, so nothing changed: {exc}"
        ) from None
    return Promotion(
        model_id=model_id,
        previous_champion=previous_id,
        score_version_id=version_id,
        previous_version_id=published.previous_version if published else None,
        release_sha256=report.sha256,
        people=published.people if published else 0,
    )


def retire(
    sessions: sessionmaker[Session], model_id: str, *, actor: str, reason: str
) -> RegisteredModel:
    """Retire a candidate (the champion is replaced by a promotion, never just retired)."""
    actor, reason = _who(actor, reason)
    with sessions.begin() as s:
        row = get_model(s, model_id)
        if row.state == "champion":
            raise RegistryError(
                f"model {model_id} is the champion, which the service scores with: promote "
                "another model to replace it instead",
                status=409,
            )
        if row.state == "retired":
            raise RegistryError(f"model {model_id} is already retired", status=409)
        if not _move(s, model_id, "candidate", "retired"):
            raise RegistryError(f"model {model_id} changed state meanwhile; retry", status=409)
        s.add(_event(model_id, actor, "candidate", "retired", reason))
    with sessions() as s:
        return get_model(s, model_id)
