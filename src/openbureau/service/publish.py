"""Publish a scores file (from ``openbureau score``) as a new score version, atomically.

The whole version, its rows and the switch of the ``current`` pointer are one transaction:
readers follow the pointer to a version whose rows are all there and never change.
``prepare`` does the slow reading and checking; ``write_version`` writes in a caller's
transaction, so a model promotion can switch the champion and the scores together.

Each score keeps its feature row (the snapshot) so it can be replayed with the saved model.
The scores file does not carry features, so they are rebuilt from the store as of the
scoring date under the same policy pack, and checked against the file's ``input_hash``
person by person: a snapshot that is not exactly what was scored is refused.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from openbureau.benefits import band
from openbureau.contract import FACTORS
from openbureau.service.models import CurrentVersion, Score, ScoreVersion, utcnow

REQUIRED = (
    "person_id",
    "as_of",
    "score",
    "base",
    "segment",
    "pd",
    "clipped",
    *(f"points_{f}" for f in FACTORS),
    "model_id",
    "catalog_version",
    "policy",
    "policy_digest",
    "input_hash",
)
CHUNK = 2000


class PublishError(ValueError):
    """A scores file that cannot be published, and why."""


@dataclass(frozen=True)
class PublishReport:
    version_id: int
    label: str
    people: int
    model_id: str
    as_of: dt.date
    replayable: bool
    previous_version: int | None
    seconds: float
    carried_corrections: int = 0  # upheld disputes re-applied to this version
    moved_disputes: int = 0  # open disputes moved onto this version

    def __str__(self) -> str:
        snap = "with feature snapshots" if self.replayable else "WITHOUT feature snapshots"
        carried = (
            f"; carried {self.carried_corrections} upheld correction(s) and moved "
            f"{self.moved_disputes} open dispute(s)"
            if self.carried_corrections or self.moved_disputes
            else ""
        )
        return (
            f"published version {self.version_id} ({self.label}): {self.people:,} people, "
            f"model {self.model_id}, as of {self.as_of}, {snap}; current was "
            f"{self.previous_version} ({self.seconds:.1f}s){carried}"
        )


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _one(table: pa.Table, name: str) -> Any:
    values = pc.unique(
        pc.cast(table.column(name), table.schema.field(name).type.value_type)
        if pa.types.is_dictionary(table.schema.field(name).type)
        else table.column(name)
    ).to_pylist()
    if len(values) != 1:
        raise PublishError(f"column {name} must hold one value in a scores file, got {values[:5]}")
    return values[0]


def scoring_pack_for(policy: str, digest: str, model_dir: Path | None) -> Any:
    """The exact pack the file was scored under: the model's recorded pack or a shipped one,
    whichever has the file's digest."""
    from openbureau.policy import PolicyPack, load_pack

    candidates: list[Any] = []
    if model_dir is not None:
        manifest = json.loads((Path(model_dir) / "artifact.json").read_text())
        recorded = (manifest.get("policy") or {}).get("pack")
        if recorded:
            candidates.append(PolicyPack.from_record(recorded, f"model {manifest['model_id']}"))
    with contextlib.suppress(ValueError, FileNotFoundError):
        candidates.append(load_pack(policy))
    for pack in candidates:
        if pack.digest == digest:
            return pack
    raise PublishError(
        f"cannot find policy pack {policy!r} with digest {digest} (the one the file was scored "
        "under): give the model folder it was scored with"
    )


def snapshot_features(
    store: Path,
    as_of: dt.date,
    policy: str,
    digest: str,
    catalog: str,
    model_dir: Path | None,
) -> pa.Table:
    """The feature rows ``openbureau score`` computed for ``as_of``, rebuilt from the store."""
    from openbureau.features import build_features, catalog_version, feature_specs
    from openbureau.policy import drop_forbidden_columns
    from openbureau.store import Store

    pack = scoring_pack_for(policy, digest, model_dir)
    params = pack.feature_params()
    if catalog_version(params) != catalog:
        raise PublishError(
            f"the file was scored with feature catalog {catalog}, but this openbureau computes "
            f"catalog {catalog_version(params)}: its features cannot be rebuilt here; publish "
            "with the features file written at scoring time, or without snapshots"
        )
    with Store(store, read_only=True) as db:
        features = build_features(db.con, as_of, params=params)
    return drop_forbidden_columns(features, {s.name: s.factor for s in feature_specs()}, pack)


def _align(scores: pa.Table, features: pa.Table) -> pa.Table:
    """Features in the scores file's row order; every scored person must have a row whose
    input hash is the one the file recorded."""
    from openbureau.workflow.score import input_hash

    index = {p: i for i, p in enumerate(features.column("person_id").to_pylist())}
    people = scores.column("person_id").to_pylist()
    missing = [p for p in people if p not in index]
    if missing:
        raise PublishError(
            f"{len(missing)} scored people have no feature row (e.g. {missing[:3]}): "
            "is this the store they were scored from?"
        )
    aligned = features.take(pa.array([index[p] for p in people], pa.int64()))
    hashes = input_hash(aligned).to_pylist()
    bad = [
        p
        for p, a, b in zip(people, hashes, scores.column("input_hash").to_pylist(), strict=True)
        if a != b
    ]
    if bad:
        raise PublishError(
            f"the store's features do not reproduce the input hash of {len(bad)} people "
            f"(e.g. {bad[:3]}): the store changed since scoring, or another store was given"
        )
    return aligned


def _json_float(v: Any) -> Any:
    return None if isinstance(v, float) and math.isnan(v) else v


@dataclass(frozen=True)
class PreparedVersion:
    """A scores file read, checked and turned into rows, ready to be written in a caller's
    transaction (the slow part, done before any lock is taken)."""

    label: str
    digest: str
    meta: dict[str, Any]
    max_reasons: int
    model_path: str | None
    store_path: str | None
    feature_columns: list[str] | None
    rows: list[dict[str, Any]]

    @property
    def people(self) -> int:
        return len(self.rows)


def already_published(s: Session, digest: str) -> int | None:
    """The id of the version published from a file with this sha256, if any."""
    return s.scalar(select(ScoreVersion.id).where(ScoreVersion.source_sha256 == digest))


def prepare(
    scores_path: Path,
    *,
    model_dir: Path | None = None,
    store: Path | None = None,
    features: pa.Table | Path | None = None,
    label: str | None = None,
    sessions: sessionmaker[Session] | None = None,
) -> PreparedVersion:
    """Read and check ``scores_path`` and build its rows (with feature snapshots from
    ``features`` or rebuilt from ``store``); ``sessions`` lets a re-publish fail early."""
    from openbureau.features import feature_specs

    scores_path = Path(scores_path)
    if not scores_path.is_file():
        raise PublishError(f"scores file {scores_path} does not exist")
    try:
        table = pq.read_table(scores_path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise PublishError(f"{scores_path} is not a readable Parquet file: {exc}") from None
    missing = [c for c in REQUIRED if c not in table.column_names]
    if missing:
        raise PublishError(f"{scores_path} is not a scores file: it lacks columns {missing}")
    if table.num_rows == 0:
        raise PublishError(f"{scores_path} holds no scores")
    if len(pc.unique(table.column("person_id"))) != table.num_rows:
        raise PublishError(f"{scores_path} scores some person twice")
    meta = {
        n: _one(table, n)
        for n in ("as_of", "model_id", "catalog_version", "policy", "policy_digest")
    }
    digest = file_sha256(scores_path)
    if sessions is not None:
        with sessions() as s:
            existing = already_published(s, digest)
        if existing is not None:
            raise PublishError(f"{scores_path} is already published as version {existing}")
    if isinstance(features, str | Path):
        try:
            features = pq.read_table(features)
        except (pa.ArrowInvalid, OSError) as exc:
            raise PublishError(f"features file {features}: {exc}") from None
    if features is None and store is not None:
        features = snapshot_features(
            Path(store),
            meta["as_of"],
            meta["policy"],
            meta["policy_digest"],
            meta["catalog_version"],
            model_dir,
        )
    columns: list[str] | None = None
    snapshots: list[list[Any]] | None = None
    if features is not None:
        aligned = _align(table, features)
        columns = [c for c in aligned.column_names if c not in ("person_id", "as_of")]
        cols = [aligned.column(c).to_pylist() for c in columns]
        snapshots = [[_json_float(col[i]) for col in cols] for i in range(aligned.num_rows)]
    factor_of = {s.name: s.factor for s in feature_specs()}
    reason_ks = sorted(
        int(c.split("_")[1])
        for c in table.column_names
        if c.startswith("reason_") and c.count("_") == 1
    )
    return PreparedVersion(
        label=label or scores_path.name,
        digest=digest,
        meta=meta,
        max_reasons=len(reason_ks),
        model_path=str(Path(model_dir).resolve()) if model_dir is not None else None,
        store_path=str(Path(store).resolve()) if store is not None else None,
        feature_columns=columns,
        rows=_rows(table, reason_ks, factor_of, snapshots),
    )


def write_version(s: Session, prepared: PreparedVersion) -> PublishReport:
    """Insert the prepared version and point ``current`` at it in the caller's transaction
    ``s`` (nothing is committed here: the caller commits, or rolls everything back)."""
    started = time.perf_counter()
    existing = already_published(s, prepared.digest)
    if existing is not None:
        raise PublishError(
            f"scores file {prepared.label} (sha256 {prepared.digest[:12]}) is already "
            f"published as version {existing}"
        )
    meta = prepared.meta
    previous = s.get(CurrentVersion, "current")
    version = ScoreVersion(
        label=prepared.label,
        as_of=meta["as_of"],
        model_id=meta["model_id"],
        catalog_version=meta["catalog_version"],
        policy=meta["policy"],
        policy_digest=meta["policy_digest"],
        max_reasons=prepared.max_reasons,
        model_path=prepared.model_path,
        source_sha256=prepared.digest,
        people=prepared.people,
        feature_columns=prepared.feature_columns,
        store_path=prepared.store_path,
    )
    s.add(version)
    s.flush()
    for start in range(0, prepared.people, CHUNK):
        chunk = [{**r, "version_id": version.id} for r in prepared.rows[start : start + CHUNK]]
        s.execute(insert(Score), chunk)
    stored = s.scalar(select(func.count()).where(Score.version_id == version.id))
    if stored != prepared.people:  # pragma: no cover - a database that lost rows
        raise PublishError(f"stored {stored} of {prepared.people} scores; rolled back")
    # records deleted by upheld disputes must not count again in the new version
    from openbureau.service.disputes import carry_for_publish

    try:
        carried = carry_for_publish(
            s,
            version,
            Path(prepared.model_path) if prepared.model_path else None,
            Path(prepared.store_path) if prepared.store_path else None,
        )
    except ValueError as exc:
        raise PublishError(str(exc)) from None
    prev_id = previous.version_id if previous is not None else None
    if previous is None:
        s.add(CurrentVersion(name="current", version_id=version.id, switched_at=utcnow()))
    else:
        previous.version_id = version.id
        previous.switched_at = utcnow()
    s.flush()
    return PublishReport(
        version.id,
        version.label,
        prepared.people,
        meta["model_id"],
        meta["as_of"],
        prepared.feature_columns is not None,
        prev_id,
        time.perf_counter() - started,
        carried.corrections,
        carried.moved_open,
    )


def publish(
    sessions: sessionmaker[Session],
    scores_path: Path,
    *,
    model_dir: Path | None = None,
    store: Path | None = None,
    features: pa.Table | Path | None = None,
    label: str | None = None,
) -> PublishReport:
    """Publish ``scores_path`` as a new version and make it current, all in one transaction.

    Feature snapshots come from ``features`` (a table or Parquet file of the rows scored) or
    are rebuilt from ``store``; with neither the
    version is published without them and cannot be replayed.
    """
    started = time.perf_counter()
    prepared = prepare(
        scores_path,
        model_dir=model_dir,
        store=store,
        features=features,
        label=label,
        sessions=sessions,
    )
    with sessions.begin() as s:
        report = write_version(s, prepared)
    return dataclasses.replace(report, seconds=time.perf_counter() - started)


def _rows(
    table: pa.Table,
    reason_ks: list[int],
    factor_of: dict[str, str],
    snapshots: list[list[Any]] | None,
) -> list[dict[str, Any]]:
    names = [
        "person_id",
        "as_of",
        "score",
        "base",
        "segment",
        "pd",
        "clipped",
        *(f"points_{f}" for f in FACTORS),
        "model_id",
        "catalog_version",
        "input_hash",
    ]
    for k in reason_ks:
        names += [f"reason_{k}", f"reason_{k}_text", f"reason_{k}_points"]
    data = {
        n: pc.cast(table.column(n), pa.string()).to_pylist()
        if pa.types.is_dictionary(table.schema.field(n).type)
        else table.column(n).to_pylist()
        for n in names
    }
    rows = []
    for i in range(table.num_rows):
        reasons = []
        for k in reason_ks:
            code = data[f"reason_{k}"][i]
            if code is None:
                break
            reasons.append(
                {
                    "code": code,
                    "factor": factor_of.get(code, "unknown"),
                    "text": data[f"reason_{k}_text"][i],
                    "points": data[f"reason_{k}_points"][i],
                }
            )
        row = {n: data[n][i] for n in names if not n.startswith("reason_")}
        row["band"] = band(row["score"])
        row["reasons"] = reasons
        row["features"] = None if snapshots is None else snapshots[i]
        rows.append(row)
    return rows
