"""The score lifecycle (`openbureau rescore`): full and incremental runs on a real store.

The core claim: an incremental run re-scores exactly the people whose inputs changed (new
rows in a later batch, new people, moved network features) and its scores equal a fresh
full run's exactly. Also: refusals that say why, runs that appear only when complete,
published runs in the person's history, and public records that stop counting at expiry.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from conftest_service import database_url  # noqa: F401
from openbureau.cli import app
from openbureau.features import build_features
from openbureau.features.network import SPECS as NETWORK_SPECS
from openbureau.ingest import ingest
from openbureau.policy import load_pack
from openbureau.sim import simulate
from openbureau.store import Store
from openbureau.store.database import DB_FILE
from openbureau.workflow import score_store, train_from_store
from openbureau.workflow.rescore import rescore
from openbureau.workflow.rescore_runs import RescoreError

from factories import bill, person, write_csv

TRAIN_AS_OF = dt.date(2024, 12, 31)
AS_OF = dt.date(2025, 12, 31)
FAST = {"n_estimators": 40, "calibration_cv": 2}
NETWORK = [s.name for s in NETWORK_SPECS]
PUBLIC = ["public_records", "public_records_unsatisfied", "public_record_amount_unsatisfied"]
PUBLIC += ["months_since_public_record"]


@dataclass(frozen=True)
class World:
    root: Path
    store: Path  # pristine: copy it before ingesting anything
    models: dict[str, Path]


def _judgments(db: Store) -> list[dict[str, object]]:
    """Court judgments filed in 2023 for everyone who defaults in the training label window
    and for one in twelve others: public records then predict default, so the models
    weigh them and an expiring record visibly moves a score."""
    rows = db.con.execute(
        "SELECT p.person_id, o.person_id IS NOT NULL AS bad FROM people p "
        "LEFT JOIN (SELECT DISTINCT person_id FROM outcomes WHERE event_date >= DATE "
        "'2025-01-01') o USING (person_id) ORDER BY p.person_id"
    ).fetchall()
    chosen = [pid for i, (pid, bad) in enumerate(rows) if bad or i % 12 == 0]
    return [
        {
            "record_id": f"TJ-{i:05d}",
            "person_id": pid,
            "kind": "court_judgment",
            "filed_date": "2023-03-15",
            "amount": 4000.0,
            "satisfied_date": None,
            "court": "Test Court",
        }
        for i, pid in enumerate(chosen)
    ]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    root = tmp_path_factory.mktemp("rescore")
    simulate(root / "sim", people=500, months=24, seed=23)
    with Store(root / "store") as db:
        assert ingest([root / "sim"], db).clean
        (root / "judgments").mkdir()
        write_csv(root / "judgments" / "public_records.csv", _judgments(db))
        assert ingest([root / "judgments"], db).clean
    models = {}
    for policy in ("us", "eu"):
        models[policy] = root / f"model_{policy}"
        train_from_store(
            root / "store", TRAIN_AS_OF, models[policy], seed=1, policy=policy, model_params=FAST
        )
    return World(root, root / "store", models)


def copy_store(world: World, dest: Path) -> Path:
    dest.mkdir(parents=True)
    shutil.copy2(world.store / DB_FILE, dest / DB_FILE)
    return dest


def ingest_rows(store: Path, folder: Path, files: dict[str, list[dict[str, object]]]) -> None:
    """One batch of CSV files (file name = contract table), ingested for real."""
    folder.mkdir(parents=True)
    for name, rows in files.items():
        write_csv(folder / f"{name}.csv", rows)
    with Store(store) as db:
        report = ingest([folder], db)
    assert report.clean, report


def scores_of(run: Path) -> pa.Table:
    return pq.read_table(run / "scores.parquet")


def same_features(a: pa.Table, b: pa.Table) -> bool:
    """Equal tables, NaN equal to NaN (an unknown feature)."""
    if a.schema != b.schema or a.num_rows != b.num_rows:
        return False
    for name in a.column_names:
        x, y = a[name], b[name]
        if pa.types.is_floating(x.type):
            if not np.array_equal(x.to_numpy(), y.to_numpy(), equal_nan=True):
                return False
        elif not x.equals(y):
            return False
    return True


def rows_by_person(table: pa.Table) -> dict[str, dict[str, object]]:
    return {r["person_id"]: r for r in table.to_pylist()}


def population(store: Path, sql: str) -> list[str]:
    with Store(store, read_only=True) as db:
        return [r[0] for r in db.con.execute(sql).fetchall()]


# --- full runs -------------------------------------------------------------------------


def test_a_full_run_is_what_openbureau_score_writes(world: World, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "rescore", "--store", str(world.store), "--model", str(world.models["us"]),
            "--as-of", AS_OF.isoformat(), "--runs", str(tmp_path / "runs"), "--full", "--json",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    run = tmp_path / "runs" / "run-0001"
    assert report["run"] == str(run) and report["mode"] == "full"
    score_store(world.store, world.models["us"], AS_OF, tmp_path / "score.parquet")
    assert scores_of(run).equals(pq.read_table(tmp_path / "score.parquet"))
    with Store(world.store, read_only=True) as db:
        expected = build_features(db.con, AS_OF, params=load_pack("us").feature_params())
        batches = db.scalar("SELECT max(batch_id) FROM ingest_batches")
    assert same_features(pq.read_table(run / "features.parquet"), expected)
    record = json.loads((run / "run.json").read_text())
    assert record["mode"] == "full" and record["as_of"] == AS_OF.isoformat()
    assert record["watermark"] == batches == 2
    assert record["people"] == record["rescored"] == expected.num_rows
    assert record["carried_over"] == 0 and record["base_run"] is None
    assert record["model_path"] == str(world.models["us"].resolve())
    assert record["policy"] == "us" and record["seconds"] > 0


# --- incremental runs ------------------------------------------------------------------


@dataclass(frozen=True)
class Lifecycle:
    store: Path
    runs: Path
    events: set[str]  # people given rows in batch A
    newcomer: str
    defaulter: str
    reports: dict[str, object]
    walks: dict[str, int]  # network_frame calls per incremental run
    billed: str  # the one person of batch C


@pytest.fixture(scope="module")
def lifecycle(world: World, tmp_path_factory: pytest.TempPathFactory) -> Lifecycle:
    """full -> batch A (bills, a repayment, a new person) -> incremental -> full -> batch B
    (a contact's new default) -> incremental -> full -> batch C (a late bill only: no table
    the network reads) -> incremental -> full, all at one as_of."""
    import openbureau.network.store as network_store

    root = tmp_path_factory.mktemp("lifecycle")
    store = copy_store(world, root / "store")
    runs = root / "runs"
    model = world.models["us"]
    reports = {"full_1": rescore(store, model, AS_OF, runs, mode="full")}
    ids = population(
        store, f"SELECT person_id FROM people WHERE first_seen < DATE '{AS_OF}' ORDER BY 1"
    )
    with Store(store, read_only=True) as db:
        account, owner = db.con.execute(
            "SELECT account_id, person_id FROM accounts WHERE account_id NOT IN (SELECT "
            "account_id FROM repayments WHERE due_date = DATE '2025-10-17') AND person_id "
            "NOT IN ($1, $2, $3) AND opened < DATE '2025-10-01' AND person_id IN (SELECT "
            "person_id FROM people WHERE first_seen < DATE '2025-01-01') ORDER BY 1 LIMIT 1",
            ids[:3],
        ).fetchone()
        defaulter = db.con.execute(
            "SELECT r.person_a FROM relationships r WHERE r.consent_a AND r.consent_b AND "
            "r.since < DATE '2025-01-01' AND r.person_a NOT IN (SELECT person_id FROM "
            "outcomes) GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1"
        ).fetchone()[0]
    newcomer = "PNEW00001"
    late = [
        bill(i, pid, bill_id=f"BLATE{i}", due_date="2025-09-01", paid_date="2025-11-20")
        for i, pid in enumerate(ids[:3])
    ]
    repayment = {
        "account_id": account,
        "due_date": "2025-10-17",
        "amount_due": 250.0,
        "paid_date": None,
        "amount_paid": 0.0,
        "balance": 1200.0,
    }
    ingest_rows(
        store,
        root / "batch_a",
        {
            "bills": late,
            "repayments": [repayment],
            "people": [person(1, person_id=newcomer, first_seen="2025-06-01")],
        },
    )
    walks: dict[str, int] = {}
    real_walk = network_store.network_frame

    def incremental(step: str) -> None:
        calls = []

        def counted(*args, **kwargs):  # type: ignore[no-untyped-def]
            calls.append(1)
            return real_walk(*args, **kwargs)

        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(network_store, "network_frame", counted)
            reports[f"incremental_{step}"] = rescore(store, model, AS_OF, runs, mode="incremental")
        walks[step] = len(calls)
        reports[f"full_{step}"] = rescore(store, model, AS_OF, runs, mode="full")

    incremental("a")
    default = {"person_id": defaulter, "event_date": "2025-11-02", "kind": "default_90dpd"}
    ingest_rows(store, root / "batch_b", {"outcomes": [default]})
    incremental("b")
    billed = ids[5]
    late_c = bill(9, billed, bill_id="BLATE9", due_date="2025-08-01", paid_date="2025-10-30")
    ingest_rows(store, root / "batch_c", {"bills": [late_c]})
    incremental("c")
    return Lifecycle(store, runs, {*ids[:3], owner}, newcomer, defaulter, reports, walks, billed)


def rescored(run: Path) -> dict[str, str]:
    table = pq.read_table(run / "rescored.parquet")
    return dict(zip(table["person_id"].to_pylist(), table["cause"].to_pylist(), strict=True))


def test_incremental_rescores_exactly_the_people_with_new_rows(lifecycle: Lifecycle) -> None:
    inc = lifecycle.reports["incremental_a"]
    expected = {p: "events" for p in lifecycle.events} | {lifecycle.newcomer: "new"}
    assert rescored(inc.run) == expected  # bills and a new person move nobody's network
    assert inc.rescored == 5 and inc.carried_over == inc.people - 5
    assert inc.base_run == "run-0001" and inc.watermark == 3
    before = rows_by_person(scores_of(lifecycle.reports["full_1"].run))
    after = rows_by_person(scores_of(inc.run))
    assert set(after) == set(before) | {lifecycle.newcomer}
    for pid, row in after.items():
        if pid in lifecycle.events:  # their inputs changed, so their input hash did
            assert row["input_hash"] != before[pid]["input_hash"]
        elif pid != lifecycle.newcomer:
            assert row == before[pid]
    record = json.loads((inc.run / "run.json").read_text())
    assert record["mode"] == "incremental" and record["rescored"] == 5


def test_incremental_equals_a_fresh_full_run(lifecycle: Lifecycle) -> None:
    for step in ("a", "b", "c"):
        inc, full = lifecycle.reports[f"incremental_{step}"], lifecycle.reports[f"full_{step}"]
        assert scores_of(inc.run).equals(scores_of(full.run)), step
        assert same_features(
            pq.read_table(inc.run / "features.parquet"),
            pq.read_table(full.run / "features.parquet"),
        ), step


def test_a_batch_without_network_inputs_skips_the_walk(lifecycle: Lifecycle) -> None:
    """Batch C holds bills only: the network reads no bills, so the walk is not run again
    (batches A and B, with repayments, people and outcomes, run it), and the run still
    equals a full one (test above)."""
    assert lifecycle.walks == {"a": 1, "b": 1, "c": 0}
    inc = lifecycle.reports["incremental_c"]
    assert rescored(inc.run) == {lifecycle.billed: "events"}
    assert inc.rescored == 1 and inc.changed_by_network == 0


def test_a_new_default_rescores_the_people_whose_network_moved(lifecycle: Lifecycle) -> None:
    inc = lifecycle.reports["incremental_b"]
    before = pq.read_table(lifecycle.reports["full_a"].run / "features.parquet")
    after = pq.read_table(lifecycle.reports["full_b"].run / "features.parquet")
    assert before["person_id"].equals(after["person_id"])
    moved = np.zeros(before.num_rows, dtype=bool)
    for name in NETWORK:
        a, b = before[name].to_numpy(), after[name].to_numpy()
        moved |= ~((a == b) | (np.isnan(a) & np.isnan(b)))
    network = set(pc.filter(after["person_id"], pa.array(moved)).to_pylist())
    causes = rescored(inc.run)
    assert causes[lifecycle.defaulter] == "events"
    assert {p for p, c in causes.items() if c == "network"} == network - {lifecycle.defaulter}
    assert network and set(causes) == network | {lifecycle.defaulter}
    with Store(lifecycle.store, read_only=True) as db:
        contacts = {
            r[0]
            for r in db.con.execute(
                "SELECT CASE WHEN person_a = $1 THEN person_b ELSE person_a END FROM "
                "relationships WHERE $1 IN (person_a, person_b) AND consent_a AND consent_b",
                [lifecycle.defaulter],
            ).fetchall()
        }
    assert contacts & network  # the contacts' exposure moved (those in another fold)


def test_every_contract_table_reaches_a_person_and_bad_filters_are_refused() -> None:
    from openbureau.contract import TABLES, Field, Table
    from openbureau.workflow.rescore_changes import person_paths

    via = {t.name: " ".join(person_paths(t)) for t in TABLES}
    assert 'JOIN "accounts" p ON p."account_id" = t."account_id"' in via["repayments"]
    assert '"person_a"' in via["relationships"] and '"person_b"' in via["relationships"]
    orphan = Table(
        name="weather",
        factor="identity",
        description="A table that names no person.",
        fields=(Field("city", "string", "A city."),),
        key=("city",),
    )
    with pytest.raises(ValueError, match="contract table weather reaches no person"):
        person_paths(orphan)
    with pytest.raises(TypeError, match="people must be person id strings, got 7"):
        build_features(None, AS_OF, people=["P1", 7])  # type: ignore[arg-type, list-item]
    with pytest.raises(ValueError, match="people must not hold null ids"):
        build_features(None, AS_OF, people=pa.array(["P1", None]))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="people must hold string person ids, got int64"):
        build_features(None, AS_OF, people=pa.array([1, 2]))  # type: ignore[arg-type]
    spine = pa.table({"person_id": ["P1"], "as_of": pa.array([AS_OF], pa.date32())})
    with pytest.raises(ValueError, match="a spine table already names its people"):
        build_features(None, spine, people=["P1"])  # type: ignore[arg-type]


# --- refusals and atomic runs ----------------------------------------------------------


@pytest.mark.parametrize("subset_max", [0, 10_000], ids=["semi-join on the store", "subset copy"])
def test_features_of_some_people_equal_their_rows_of_the_whole_population(
    world: World, subset_max: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both ways of computing some people's features (their rows copied out of the store,
    or the spine semi-joined on the store itself) give exactly their rows of a run over
    everyone, network columns included; people with relationships, repayments, public
    records and none of these are among them."""
    import openbureau.features.build as build

    monkeypatch.setattr(build, "SUBSET_MAX_PEOPLE", subset_max)
    copies: list[int] = []
    real_subset = build.people_subset

    def counted(con, people):  # type: ignore[no-untyped-def]
        copies.append(people.num_rows)
        return real_subset(con, people)

    monkeypatch.setattr(build, "people_subset", counted)
    with Store(world.store, read_only=True) as db:
        everyone = build_features(db.con, AS_OF)
        ids = everyone["person_id"].combine_chunks()
        wanted = pc.unique(pa.concat_arrays([ids.slice(0, 40), ids.slice(len(ids) - 40)]))
        judged = db.con.sql("SELECT DISTINCT person_id FROM public_records LIMIT 5")
        judged = judged.to_arrow_table()
        wanted = pc.unique(pa.concat_arrays([wanted, judged["person_id"].combine_chunks()]))
        some = build_features(db.con, AS_OF, people=wanted)
    expected = everyone.filter(pc.is_in(everyone["person_id"], value_set=wanted))
    assert some.num_rows == len(wanted) == expected.num_rows
    assert same_features(some, expected)
    assert copies == ([len(wanted)] if subset_max else [])


def test_incremental_refuses_what_would_not_equal_a_full_run(world: World, tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    with pytest.raises(RescoreError, match=r"no complete run .* start with a --full run"):
        rescore(world.store, world.models["us"], AS_OF, runs, mode="incremental")
    rescore(world.store, world.models["us"], AS_OF, runs, mode="full")
    with pytest.raises(RescoreError, match="as of 2025-12-31, not 2025-11-30: when as_of moves"):
        rescore(world.store, world.models["us"], dt.date(2025, 11, 30), runs, mode="incremental")
    with pytest.raises(RescoreError, match=r"scored with model .* a new model changes every"):
        rescore(world.store, world.models["eu"], AS_OF, runs, mode="incremental")
    result = CliRunner().invoke(
        app,
        [
            "rescore", "--store", str(world.store), "--model", str(world.models["eu"]),
            "--as-of", AS_OF.isoformat(), "--runs", str(runs), "--incremental",
        ],
    )  # fmt: skip
    assert result.exit_code == 2 and "a new model changes every score" in result.output
    bad = CliRunner().invoke(
        app, ["rescore", "--model", "m", "--as-of", "2025-12-31", "--runs", "r", "--full",
              "--incremental"],
    )  # fmt: skip
    assert bad.exit_code == 2 and "exactly one of --incremental and --full" in bad.output
    with pytest.raises(ValueError, match="mode must be one of"):
        rescore(world.store, world.models["us"], AS_OF, runs, mode="weekly")
    with pytest.raises(TypeError, match="as_of must be a date"):
        rescore(world.store, world.models["us"], "2025-12-31", runs, mode="full")  # type: ignore[arg-type]
    assert sorted(p.name for p in runs.iterdir() if not p.name.startswith(".")) == ["run-0001"]


def test_an_interrupted_run_leaves_no_run_folder(world: World, tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    model = world.models["us"]
    # kill -9 in the middle of a run: nothing that looks like a run is left
    cmd = [
        sys.executable, "-c", "from openbureau.cli import main; main()", "rescore",
        "--store", str(world.store), "--model", str(model), "--as-of", AS_OF.isoformat(),
        "--runs", str(runs), "--full", "--json",
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    lock = runs / ".lock"
    while not (lock.exists() and lock.read_text().strip() == str(proc.pid)):
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not [p for p in runs.iterdir() if p.name.startswith("run-")]
    # what a run killed while writing leaves: a hidden partial folder, never a run
    (runs / ".run-0001.partial").mkdir()
    (runs / ".run-0001.partial" / "scores.parquet").write_bytes(b"half")

    def interrupt_while_writing(step: str, done: int, total: int) -> None:
        if step == "writing":
            raise KeyboardInterrupt  # Ctrl-C as the files are written

    with pytest.raises(KeyboardInterrupt):
        rescore(world.store, model, AS_OF, runs, mode="full", progress=interrupt_while_writing)
    # the stale partial folder went first, then the interrupted run's own
    assert [p.name for p in runs.iterdir()] == [".lock"]


# --- publishing ------------------------------------------------------------------------


def test_published_runs_show_in_the_persons_history(
    world: World,
    tmp_path: Path,
    database_url: str,  # noqa: F811
) -> None:
    from sqlalchemy import select

    from openbureau.service import Settings, create_app
    from openbureau.service.models import ScoreVersion

    store = copy_store(world, tmp_path / "store")
    runs = tmp_path / "runs"
    us, eu = world.models["us"], world.models["eu"]
    first = rescore(store, us, AS_OF, runs, mode="full", database_url=database_url)
    pid = population(store, "SELECT min(person_id) FROM people")[0]
    late = [bill(1, pid, bill_id="BHIST1", due_date="2025-08-01", paid_date="2025-10-30")]
    ingest_rows(store, tmp_path / "batch", {"bills": late})
    second = rescore(store, us, AS_OF, runs, mode="incremental", database_url=database_url)
    again = rescore(store, us, AS_OF, runs, mode="incremental", database_url=database_url)
    other = rescore(store, eu, AS_OF, tmp_path / "runs_eu", mode="full", database_url=database_url)
    assert first.published["new"] and second.published["new"] and other.published["new"]
    assert again.rescored == 0 and not again.published["new"]  # nothing changed, no version
    assert again.published["version"] == second.published["version"]
    app_ = create_app(Settings(database_url=database_url, admin_key="admin-secret"))
    with TestClient(app_) as c:
        admin = {"X-Admin-Key": "admin-secret"}
        body = {"person_id": pid, "login": "hist", "password": "hist-password"}
        assert c.post("/admin/people", json=body, headers=admin).status_code == 201
        token = c.post("/auth/login", json={"login": "hist", "password": "hist-password"})
        me = {"Authorization": f"Bearer {token.json()['token']}"}
        history = c.get("/me/history", headers=me).json()["scores"]
        with app_.state.service.sessions() as s:
            labels = dict(s.execute(select(ScoreVersion.id, ScoreVersion.label)).all())
    versions = [other, second, first]
    assert [h["version"] for h in history] == [r.published["version"] for r in versions]
    assert [h["model_id"] for h in history] == [r.model_id for r in versions]
    assert {h["scored_on"] for h in history} == {AS_OF.isoformat()}
    assert history[1]["score"] == pytest.approx(rows_by_person(scores_of(second.run))[pid]["score"])
    assert labels[second.published["version"]] == f"run-0002 incremental as of {AS_OF}"
    assert labels[first.published["version"]] == f"run-0001 full as of {AS_OF}"


# --- legal expiry ----------------------------------------------------------------------

BEFORE, AFTER = dt.date(2025, 6, 30), dt.date(2025, 12, 31)
# P1's judgment expires between the dates under us (7 y), P2's under eu (3 y).
FILED = {"P1": dt.date(2018, 9, 15), "P2": dt.date(2022, 9, 15)}
YEARS = {"us": 7, "eu": 3}


def counts(filed: dt.date, years: int, as_of: dt.date) -> bool:
    return filed.replace(year=filed.year + years) > as_of


@pytest.mark.parametrize("policy", ["us", "eu"])
def test_an_expired_public_record_stops_counting_on_the_next_run(
    world: World, tmp_path: Path, policy: str
) -> None:
    store = copy_store(world, tmp_path / "store")
    model = world.models[policy]
    people = population(
        store,
        "SELECT person_id FROM people WHERE first_seen < DATE '2025-01-01' AND person_id NOT "
        "IN (SELECT person_id FROM public_records) ORDER BY person_id DESC LIMIT 2",
    )
    who = dict(zip(FILED, people, strict=True))
    runs = {d: tmp_path / f"runs_{d}" for d in (BEFORE, AFTER)}
    baseline = {d: rescore(store, model, d, runs[d], mode="full") for d in runs}
    records = [
        {
            "record_id": f"EXP-{key}", "person_id": who[key], "kind": "court_judgment",
            "filed_date": filed.isoformat(), "amount": 6000.0, "satisfied_date": None,
            "court": "Test Court",
        }
        for key, filed in FILED.items()
    ]  # fmt: skip
    ingest_rows(store, tmp_path / "records", {"public_records": records})
    later = {
        BEFORE: rescore(store, model, BEFORE, runs[BEFORE], mode="full"),
        AFTER: rescore(store, model, AFTER, runs[AFTER], mode="full"),
    }
    expected = {
        (key, d): counts(FILED[key], YEARS[policy], d) for key in FILED for d in (BEFORE, AFTER)
    }
    # the dates make the expiry visible: the record counts before, not after
    designed = "P1" if policy == "us" else "P2"
    assert expected[(designed, BEFORE)] and not expected[(designed, AFTER)]
    for d in (BEFORE, AFTER):
        old_scores = rows_by_person(scores_of(baseline[d].run))
        new_scores = rows_by_person(scores_of(later[d].run))
        old_feats = rows_by_person(pq.read_table(baseline[d].run / "features.parquet"))
        new_feats = rows_by_person(pq.read_table(later[d].run / "features.parquet"))
        touched = {who[k] for k in FILED if expected[(k, d)]}
        for pid in set(old_scores) - touched:  # nobody else moved
            assert new_scores[pid] == old_scores[pid]
        for key in FILED:
            pid = who[key]
            if not expected[(key, d)]:  # expired: exactly as if it were never filed
                assert new_scores[pid] == old_scores[pid], (key, d)
                continue
            assert new_feats[pid]["public_records"] == 1.0, (key, d)
            differs = {
                c for c in new_feats[pid] if not _equal(new_feats[pid][c], old_feats[pid][c])
            }
            assert differs <= set(PUBLIC), differs  # the record, and only the record
            assert new_scores[pid]["score"] < old_scores[pid]["score"], (key, d)


def _equal(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float) and np.isnan(a) and np.isnan(b):
        return True
    return a == b
