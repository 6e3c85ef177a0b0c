"""Replay a published score with its saved model and feature snapshot, and compare.

Replay runs the very functions ``openbureau score`` ran (``score_breakdown``,
``breakdown_table``, ``reason_text_columns``, ``input_hash``) on the one stored feature row,
so "identical" means bit for bit: every float compared with ``==``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import select
from sqlalchemy.orm import Session

from openbureau.service.models import CurrentVersion, Score, ScoreVersion

FACTORS = ("history", "behavior", "capacity", "identity", "network")


class ReplayError(LookupError):
    """A score that cannot be replayed (no such score, no snapshot, no model), and why."""


class ModelCache:
    """Loaded models by folder: loading checks every file's checksum, so do it once."""

    def __init__(self) -> None:
        self._models: dict[str, Any] = {}
        self._lock = threading.Lock()

    def get(self, path: str | Path) -> Any:
        from openbureau.model import load

        key = str(Path(path).resolve())
        with self._lock:
            if key not in self._models:
                self._models[key] = load(key)
            return self._models[key]


@dataclass(frozen=True)
class ReplayResult:
    person_id: str
    version_id: int
    model_id: str
    identical: bool
    stored: dict[str, Any]
    replayed: dict[str, Any]
    differences: list[str] = field(default_factory=list)


def feature_table(version: ScoreVersion, row: Score, values: list[Any] | None = None) -> pa.Table:
    """The stored snapshot as the one-row table ``openbureau score`` scored; ``values``
    (a corrected row in the same column order, from an upheld dispute) replace it."""
    values = row.features if values is None else values
    if values is None or version.feature_columns is None:
        raise ReplayError(
            f"version {version.id} was published without feature snapshots; it cannot be "
            "replayed (publish with the store to keep them)"
        )
    cols: dict[str, pa.Array] = {
        "person_id": pa.array([row.person_id], pa.string()),
        "as_of": pa.array([row.as_of], pa.date32()),
    }
    for name, value in zip(version.feature_columns, values, strict=True):
        if name == "segment":
            cols[name] = pa.array([value], pa.string())
        else:
            cols[name] = pa.array([float("nan") if value is None else value], pa.float64())
    return pa.table(cols)


def score_row(
    session: Session, person_id: str, version_id: int | None
) -> tuple[ScoreVersion, Score]:
    """A person's score in a version (default: the current one)."""
    if version_id is None:
        pointer = session.get(CurrentVersion, "current")
        if pointer is None:
            raise ReplayError("no score version is published yet")
        version_id = pointer.version_id
    version = session.get(ScoreVersion, version_id)
    if version is None:
        raise ReplayError(f"no score version {version_id}")
    row = session.scalar(
        select(Score).where(Score.version_id == version_id, Score.person_id == person_id)
    )
    if row is None:
        raise ReplayError(f"person {person_id} has no score in version {version_id}")
    return version, row


def _stored(row: Score) -> dict[str, Any]:
    return {
        "score": row.score,
        "base": row.base,
        "segment": row.segment,
        "pd": row.pd,
        "clipped": row.clipped,
        **{f"points_{f}": getattr(row, f"points_{f}") for f in FACTORS},
        "reasons": [(r["code"], r["text"], r["points"]) for r in row.reasons],
        "input_hash": row.input_hash,
    }


def _recompute(model: Any, features: pa.Table, max_reasons: int) -> dict[str, Any]:
    from openbureau.explain import breakdown_table, reason_text_columns
    from openbureau.workflow.score import input_hash

    res = model.score_breakdown(features)
    table = breakdown_table(res)
    texts = reason_text_columns(model, features, res)
    first = {n: table.column(n)[0].as_py() for n in table.column_names if n != "segment"}
    reasons = []
    for k in range(1, max_reasons + 1):
        if f"reason_{k}" not in first or first[f"reason_{k}"] is None:
            break
        reasons.append(
            (
                first[f"reason_{k}"],
                texts[f"reason_{k}_text"][0].as_py(),
                first[f"reason_{k}_points"],
            )
        )
    return {
        "score": first["score"],
        "base": first["base"],
        "segment": pc.cast(table.column("segment"), pa.string())[0].as_py(),
        "pd": first["pd"],
        "clipped": first["clipped"],
        **{f"points_{f}": first[f"points_{f}"] for f in FACTORS},
        "reasons": reasons,
        "input_hash": input_hash(features)[0].as_py(),
    }


def replay(
    session: Session,
    person_id: str,
    *,
    version_id: int | None = None,
    model_dir: Path | None = None,
    models: ModelCache | None = None,
) -> ReplayResult:
    """Re-score one published score from its snapshot with its model; compare every field."""
    version, row = score_row(session, person_id, version_id)
    path = model_dir or (Path(version.model_path) if version.model_path else None)
    if path is None or not (Path(path) / "artifact.json").is_file():
        raise ReplayError(
            f"the model of version {version.id} ({version.model_id}) is not available"
            + (f" at {path}" if path else "; give its folder")
        )
    model = (models or ModelCache()).get(path)
    if model.model_id_ != row.model_id:
        raise ReplayError(
            f"model folder {path} holds model {model.model_id_}, but the score was made by "
            f"{row.model_id}"
        )
    stored = _stored(row)
    replayed = _recompute(model, feature_table(version, row), version.max_reasons)
    diffs = [
        f"{k}: stored {stored[k]!r}, replayed {replayed[k]!r}"
        for k in stored
        if stored[k] != replayed[k]
    ]
    return ReplayResult(person_id, version.id, row.model_id, not diffs, stored, replayed, diffs)
