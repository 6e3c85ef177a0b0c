"""The score lifecycle: scheduled full re-scores and incremental ones, as numbered runs.

A **full** run scores everyone known before as_of. An **incremental** run continues the
latest run (same model, policy pack and as_of, else it refuses: a moved as_of moves every
look-back window, so only a full run is exact) and re-scores exactly the people whose
inputs changed since that run's ingest watermark:

- people with rows in a later batch (any contract table, reached through the contract's
  references) and people new to the population;
- people whose network features moved (a contact's new default, a new relationship): the
  network features of everyone are recomputed (sparse, cheap) and compared with the last
  run's ``features.parquet``.

Catalog features are computed for the first group only (``build_features(people=...)``
reads just their events); the second keeps its last feature row with the new network
columns. Everyone else's feature and score rows are carried over. The result equals a full
run at the same as_of exactly: scores, sub-scores, reasons and input hashes.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from openbureau.workflow.rescore_changes import (
    batches_digest,
    changed_people,
    differing_rows,
    tables_with_rows_after,
    watermark,
)
from openbureau.workflow.rescore_runs import (
    FEATURES_FILE,
    RESCORED_FILE,
    RUN_FILE,
    SCORES_FILE,
    RescoreError,
    Run,
    latest_run,
    pending_run,
    remove_partials,
    runs_lock,
)

if TYPE_CHECKING:
    import duckdb

    from openbureau.policy import PolicyPack

MODES = ("full", "incremental")
SCORE_CHUNK = 100_000
# progress(step, done, total): a step's advance, for a progress bar.
ProgressFn = Callable[[str, int, int], None]


@dataclass(frozen=True)
class RescoreReport:
    run: Path
    mode: str
    as_of: dt.date
    model_id: str
    policy: str
    watermark: int
    base_run: str | None
    people: int
    rescored: int
    carried_over: int
    changed_by_events: int
    new_people: int
    changed_by_network: int
    mean_score: float
    seconds: float
    published: dict[str, Any] | None = field(default=None)

    def __str__(self) -> str:
        base = f" on {self.base_run}" if self.base_run else ""
        text = (
            f"{self.run.name}: {self.mode} re-score{base} as of {self.as_of} with model "
            f"{self.model_id} under policy {self.policy}: {self.people:,} people, "
            f"{self.rescored:,} re-scored ({self.changed_by_events:,} with new rows, "
            f"{self.new_people:,} new, {self.changed_by_network:,} by network), "
            f"{self.carried_over:,} carried over; mean score {self.mean_score:.0f}; "
            f"ingest watermark batch {self.watermark} ({self.seconds:.1f}s) -> {self.run}"
        )
        if self.published:
            text += f"\n{self.published['message']}"
        return text


@dataclass(frozen=True)
class _Scored:
    """What a run computed: everyone's feature and score rows, and who was re-scored why."""

    features: pa.Table
    scores: pa.Table
    causes: pa.Table  # person_id, cause (events | new | network)
    base: Run | None


def rescore(
    store: str | Path | None,
    model_dir: Path,
    as_of: dt.date,
    runs_dir: Path,
    *,
    mode: str,
    policy: str | Path | PolicyPack | None = None,
    database_url: str | None = None,
    progress: ProgressFn | None = None,
) -> RescoreReport:
    """Write a new complete run (full or incremental) to ``runs_dir`` and report it; with
    ``database_url``, publish it as a new score version once it is complete."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if isinstance(as_of, dt.datetime) or not isinstance(as_of, dt.date):
        raise TypeError(f"as_of must be a date, got {as_of!r}")
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from openbureau.model import load
    from openbureau.store import Store
    from openbureau.workflow.score import prepare_scoring

    started = time.perf_counter()
    model_dir = Path(model_dir)
    runs_dir = Path(runs_dir)
    manifest, pack = prepare_scoring(model_dir, policy)
    model = load(model_dir)
    tick = progress or (lambda _step, _done, _total: None)
    with runs_lock(runs_dir):
        remove_partials(runs_dir)
        base = latest_run(runs_dir) if mode == "incremental" else None
        if mode == "incremental":
            _check_base(base, runs_dir, manifest, pack, as_of)
        with Store(store, read_only=True) as db:
            mark = watermark(db.con)
            if base is not None:
                _check_store(db.con, base, mark)
            digest = batches_digest(db.con, mark)
            scored = _compute(db.con, model, manifest, pack, as_of, base, tick)
        with pending_run(runs_dir) as pending:
            tick("writing", 0, 1)
            pq.write_table(scored.features, pending.partial / FEATURES_FILE)
            pq.write_table(scored.scores, pending.partial / SCORES_FILE)
            pq.write_table(scored.causes, pending.partial / RESCORED_FILE)
            report = _report(pending.final, mode, as_of, manifest, pack, mark, scored, started)
            record = _record(report, manifest, pack, model_dir, store, digest)
            (pending.partial / RUN_FILE).write_text(json.dumps(record, indent=2) + "\n")
            pending.commit()
            tick("writing", 1, 1)
    if database_url is not None:
        from openbureau.workflow.rescore_publish import publish_run

        tick("publishing", 0, 1)
        report = replace(report, published=publish_run(report.run, database_url, model_dir))
        tick("publishing", 1, 1)
    return report


def _check_base(
    base: Run | None, runs_dir: Path, manifest: dict[str, Any], pack: PolicyPack, as_of: dt.date
) -> None:
    """Refuse an incremental run that would not equal a full one, saying why."""
    if base is None:
        raise RescoreError(f"no complete run in {runs_dir} to continue: start with a --full run")
    rec = base.record
    name = base.name
    if rec["as_of"] != as_of.isoformat():
        raise RescoreError(
            f"the latest run {name} is as of {rec['as_of']}, not {as_of}: when as_of moves, "
            "every look-back window moves with it and changes every person's features, so "
            "only a --full run at the new date is exact"
        )
    if rec["model_id"] != manifest["model_id"]:
        raise RescoreError(
            f"the latest run {name} was scored with model {rec['model_id']}, not "
            f"{manifest['model_id']}: a new model changes every score; run --full with it "
            "(keep runs of different models in different runs folders)"
        )
    if (rec["policy"], rec["policy_digest"]) != (pack.name, pack.digest):
        raise RescoreError(
            f"the latest run {name} was scored under policy {rec['policy']} "
            f"({rec['policy_digest']}), not {pack.name} ({pack.digest}): a policy pack "
            "changes features and reasons for everyone; run --full under it"
        )
    if rec["catalog_version"] != manifest["catalog_version"]:  # pragma: no cover - same model
        raise RescoreError(
            f"the latest run {name} used feature catalog {rec['catalog_version']}; run --full"
        )


def _check_store(con: duckdb.DuckDBPyConnection, base: Run, mark: int) -> None:
    """The store must hold exactly the batches the base run read, and maybe more."""
    rec = base.record
    if mark < rec["watermark"] or batches_digest(con, rec["watermark"]) != rec["batches_digest"]:
        raise RescoreError(
            f"the store does not hold the ingest batches run {base.name} read (up to batch "
            f"{rec['watermark']}, ledger {rec['batches_digest']}): is this the store it "
            "scored? Run --full on this one"
        )


def _compute(
    con: duckdb.DuckDBPyConnection,
    model: Any,
    manifest: dict[str, Any],
    pack: PolicyPack,
    as_of: dt.date,
    base: Run | None,
    tick: ProgressFn,
) -> _Scored:
    from openbureau.features import build_features
    from openbureau.network.store import NETWORK_TABLES, network_frame

    params = pack.feature_params()
    tick("network", 0, 1)
    if base is not None and not tables_with_rows_after(
        con, int(base.record["watermark"]), NETWORK_TABLES
    ):
        # No new row in any table the network reads: nobody's network columns can move,
        # and the population (people known before the same as_of) is the base run's.
        tick("network", 1, 1)
        return _incremental(con, model, manifest, pack, as_of, base, None, tick)
    net = network_frame(con, [as_of], params.network)
    tick("network", 1, 1)
    if net.num_rows == 0:
        raise RescoreError(f"no people known before {as_of} in the store")
    if base is None:
        tick("features", 0, 1)
        features = build_features(con, as_of, params=params, network_rows=net)
        tick("features", 1, 1)
        scores = _score(model, manifest, pack, features, tick)
        causes = pa.table(
            {"person_id": features["person_id"], "cause": _cause("full", features.num_rows)}
        )
        return _Scored(features, scores, causes, None)
    return _incremental(con, model, manifest, pack, as_of, base, net, tick)


def _incremental(
    con: duckdb.DuckDBPyConnection,
    model: Any,
    manifest: dict[str, Any],
    pack: PolicyPack,
    as_of: dt.date,
    base: Run,
    net: pa.Table | None,
    tick: ProgressFn,
) -> _Scored:
    """``net``: everyone's network rows now, or None when no network input changed (the
    base run's network columns are then everyone's, exactly)."""
    from openbureau.features import build_features
    from openbureau.features.build import take_network
    from openbureau.features.network import SPECS as NETWORK_SPECS

    old_features = pq.read_table(base.path / FEATURES_FILE)
    old_scores = pq.read_table(base.path / SCORES_FILE)
    network_names = [s.name for s in NETWORK_SPECS]
    walked = net is not None
    if net is None:
        net = old_features.select(["person_id", "as_of", *network_names])
    population = net["person_id"].combine_chunks()
    old_ids = old_features["person_id"].combine_chunks()
    at_old = pc.index_in(population, value_set=old_ids)
    known = at_old.is_valid().to_numpy(zero_copy_only=False)
    if int(known.sum()) != len(old_ids):
        gone = pc.filter(old_ids, pc.invert(pc.is_in(old_ids, value_set=population)))
        raise RescoreError(
            f"run {base.name} scored {len(gone)} people the store no longer knows before "
            f"{as_of} (e.g. {gone.slice(0, 3).to_pylist()}): is this the store it scored?"
        )
    # Everyone's network columns as a feature row holds them, aligned with `population`.
    at = at_old.to_numpy(zero_copy_only=False)
    moved = np.zeros(len(population), dtype=bool)
    if walked:
        keys = net.select(["person_id", "as_of"])
        new_network = take_network(keys, net).select(network_names)
        positions = pa.array(at[known].astype(np.int64))
        old_network = old_features.select(network_names).take(positions)
        moved[known] = differing_rows(
            new_network.filter(pa.array(known)), old_network, network_names
        )
    else:  # the base run's own columns, in its order (= population's): nothing moved
        new_network = old_features.select(network_names)

    new = ~known
    since = int(base.record["watermark"])
    touched = pc.is_in(population, value_set=changed_people(con, since)).to_numpy(
        zero_copy_only=False
    )
    by_events = touched & known
    direct = by_events | new
    network_counts = pack.allows("network")
    by_network = moved & ~direct
    tick("features", 0, 1)
    fresh = old_features.schema.empty_table()
    if direct.any():  # catalog features of their rows only (a semi-join in the query)
        direct_ids = pc.filter(population, pa.array(direct))
        params = pack.feature_params()
        fresh = build_features(con, as_of, params=params, people=direct_ids, network_rows=net)
    # People whose network alone moved keep their last row with the new network columns.
    net_rows = np.flatnonzero(by_network)
    carried_rows = old_features.take(pa.array(at[net_rows].astype(np.int64)))
    updated = new_network.take(pa.array(net_rows))
    for name in network_names:
        i = carried_rows.schema.get_field_index(name)
        carried_rows = carried_rows.set_column(i, name, updated[name])
    tick("features", 1, 1)
    changed_features = _concat([fresh, carried_rows], old_features.schema)
    features = _replace_rows(old_features, changed_features)
    # Under a pack that drops the network factor, network columns never reach a score row.
    to_score = changed_features if network_counts else fresh
    if to_score.num_rows:
        scores = _replace_rows(old_scores, _score(model, manifest, pack, to_score, tick))
    else:
        scores = _replace_rows(old_scores, old_scores.slice(0, 0))
    cause = np.full(len(population), "", dtype=object)
    cause[by_network] = "network"
    cause[by_events] = "events"
    cause[new] = "new"
    mask = direct | (by_network if network_counts else np.zeros_like(direct))
    causes = pa.table(
        {
            "person_id": pc.filter(population, pa.array(mask)),
            "cause": pa.array(cause[mask].tolist(), pa.string()),
        }
    )
    return _Scored(features, scores, causes, base)


def _cause(value: str, n: int) -> pa.Array:
    return pa.array([value], pa.string()).take(pa.array(np.zeros(n, dtype=np.int64)))


def _score(
    model: Any, manifest: dict[str, Any], pack: PolicyPack, features: pa.Table, tick: ProgressFn
) -> pa.Table:
    """score_table in chunks (its rows are independent), so a long run shows progress."""
    from openbureau.workflow.score import score_table

    total = features.num_rows
    parts = []
    tick("scoring", 0, total)
    for start in range(0, total, SCORE_CHUNK):
        chunk = features.slice(start, SCORE_CHUNK)
        parts.append(score_table(model, manifest, pack, chunk))
        tick("scoring", min(start + SCORE_CHUNK, total), total)
    return _concat(parts, parts[0].schema)


def _decoded(table: pa.Table) -> pa.Table:
    """Dictionary columns as plain strings, so tables with different dictionaries concat."""
    for i, f in enumerate(table.schema):
        if pa.types.is_dictionary(f.type):
            table = table.set_column(i, f.name, pc.cast(table.column(i), f.type.value_type))
    return table


def _encoded(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """One chunk per column, and the dictionary columns of ``schema`` encoded afresh from
    their values: the exact layout a single ``score_table`` call gives."""
    table = table.combine_chunks()
    for f in schema:
        if pa.types.is_dictionary(f.type):
            i = table.schema.get_field_index(f.name)
            encoded = pc.dictionary_encode(table.column(i)).combine_chunks()
            table = table.set_column(i, f.name, encoded)
    return table


def _concat(parts: list[pa.Table], schema: pa.Schema) -> pa.Table:
    """``parts`` in ``schema``, one after another, dictionaries encoded afresh."""
    plain = _decoded(schema.empty_table()).schema
    merged = pa.concat_tables([_decoded(p).select(plain.names).cast(plain) for p in parts])
    return _encoded(merged, schema)


def _replace_rows(old: pa.Table, changed: pa.Table) -> pa.Table:
    """``old`` with the rows of ``changed``'s people replaced or added, ordered by person_id
    (one as_of per run: the order a full run writes)."""
    if changed.num_rows == 0:  # the base run's rows, already in a run's layout
        return old
    keep = pc.invert(pc.is_in(old["person_id"], value_set=changed["person_id"]))
    merged = _concat([old.filter(keep), changed], old.schema)
    return _concat([merged.take(pc.sort_indices(merged["person_id"]))], old.schema)


def _report(
    run: Path,
    mode: str,
    as_of: dt.date,
    manifest: dict[str, Any],
    pack: PolicyPack,
    mark: int,
    scored: _Scored,
    started: float,
) -> RescoreReport:
    causes = scored.causes["cause"].to_pylist()
    people = scored.scores.num_rows
    rescored = people if mode == "full" else len(causes)
    return RescoreReport(
        run=run,
        mode=mode,
        as_of=as_of,
        model_id=manifest["model_id"],
        policy=pack.name,
        watermark=mark,
        base_run=scored.base.name if scored.base else None,
        people=people,
        rescored=rescored,
        carried_over=people - rescored,
        changed_by_events=causes.count("events"),
        new_people=causes.count("new"),
        changed_by_network=causes.count("network"),
        mean_score=float(pc.mean(scored.scores["score"]).as_py()),
        seconds=time.perf_counter() - started,
    )


def _record(
    report: RescoreReport,
    manifest: dict[str, Any],
    pack: PolicyPack,
    model_dir: Path,
    store: str | Path | None,
    digest: str,
) -> dict[str, Any]:
    """run.json: what the run was, what it read, and what it did."""
    from openbureau import __version__
    from openbureau.store.database import resolve_store

    record = asdict(report)
    record.pop("published")
    record.update(
        run=report.run.name,
        as_of=report.as_of.isoformat(),
        model_path=str(model_dir.resolve()),
        catalog_version=manifest["catalog_version"],
        policy_digest=pack.digest,
        store=str(resolve_store(store).resolve()),
        batches_digest=digest,
        finished_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        openbureau_version=__version__,
    )
    return record
