"""Fixtures for the service tests: a tiny scored population (built once per test run, shared
by the xdist workers through a file lock) and fresh databases, SQLite and PostgreSQL.

PostgreSQL is the one at 127.0.0.1:5432 (user postgres, trust auth; ``OPENBUREAU_TEST_PG``
overrides the server URL). Each module gets a database of its own with a unique name,
dropped afterwards. Without a server the PostgreSQL tests skip, which CI counts as a failure.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

PG_SERVER = os.environ.get("OPENBUREAU_TEST_PG", "postgresql://postgres@127.0.0.1:5432")
TRAIN_AS_OF = dt.date(2024, 12, 31)
SCORE_AS_OF = dt.date(2025, 12, 31)


@dataclass(frozen=True)
class BureauData:
    root: Path
    store: Path
    model: Path
    scores: Path  # version 1
    scores_v2: Path  # the same scores, other bytes: a second version to publish
    people: list[str]


def _build(root: Path) -> None:
    from openbureau.ingest import ingest
    from openbureau.sim import simulate
    from openbureau.store import Store
    from openbureau.workflow import score_store, train_from_store

    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    simulate(root / "sim", people=800, months=24, seed=11)
    with Store(root / "store") as store:
        assert ingest([root / "sim"], store).clean
    train_from_store(
        root / "store",
        TRAIN_AS_OF,
        root / "model",
        seed=1,
        model_params={"n_estimators": 60, "calibration_cv": 2},
    )
    score_store(root / "store", root / "model", SCORE_AS_OF, root / "scores.parquet")
    pq.write_table(
        pq.read_table(root / "scores.parquet"), root / "scores_v2.parquet", compression="zstd"
    )
    (root / "done.json").write_text(json.dumps({"ok": True}))


@pytest.fixture(scope="session")
def bureau_data(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> BureauData:
    base = tmp_path_factory.getbasetemp()
    shared = base if worker_id == "master" else base.parent
    root = shared / "service-bureau-data"
    root.mkdir(exist_ok=True)
    with (shared / "service-bureau-data.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (root / "done.json").exists():
            _build(root)
        fcntl.flock(lock, fcntl.LOCK_UN)
    people = pq.read_table(root / "scores.parquet", columns=["person_id"]).column(0).to_pylist()
    return BureauData(
        root,
        root / "store",
        root / "model",
        root / "scores.parquet",
        root / "scores_v2.parquet",
        people,
    )


def _pg_admin() -> object:
    import psycopg

    return psycopg.connect(
        PG_SERVER.replace("postgresql://", "postgresql://", 1) + "/postgres",
        autocommit=True,
        connect_timeout=5,
    )


def fresh_database(kind: str, folder: Path) -> Iterator[str]:
    """A new, empty database of ``kind``; dropped when the generator is closed."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / f'service-{uuid.uuid4().hex[:8]}.db'}"
        return
    try:
        admin = _pg_admin()
    except Exception as exc:  # any connection failure means "no server"
        pytest.skip(f"PostgreSQL is not reachable at {PG_SERVER}: {exc}")
    name = f"openbureau_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with admin:  # type: ignore[attr-defined]
        admin.execute(f'CREATE DATABASE "{name}"')  # type: ignore[attr-defined]
    try:
        yield f"{PG_SERVER.replace('postgresql://', 'postgresql+psycopg://', 1)}/{name}"
    finally:
        with _pg_admin() as admin:  # type: ignore[attr-defined]
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """A fresh database per module and kind."""
    gen = fresh_database(request.param, tmp_path_factory.mktemp(request.param))
    url = next(gen)
    yield url
    gen.close()


ADMIN = {"X-Admin-Key": "admin-secret"}


def _future(days: int = 30) -> str:
    return (dt.datetime.now(dt.UTC) + dt.timedelta(days=days)).isoformat()


class World:
    """One published version, two people, two partners."""

    def __init__(self, client: Any, data: BureauData) -> None:
        self.c = client
        self.scores_path = data.scores
        scores = pq.read_table(data.scores, columns=["person_id", "score"]).to_pylist()
        scores.sort(key=lambda r: r["score"])
        self.low = scores[len(scores) // 10]  # well below 650
        self.low_scorers = scores[len(scores) // 5 : len(scores) // 3]
        self.high = scores[-1]
        r = client.post(
            "/admin/score-versions",
            json={"scores": str(data.scores), "model": str(data.model), "store": str(data.store)},
            headers=ADMIN,
        )
        assert r.status_code == 201, r.text
        self.tokens = {}
        for who, row in (("low", self.low), ("high", self.high)):
            r = client.post(
                "/admin/people",
                json={"person_id": row["person_id"], "login": who, "password": f"{who}-password"},
                headers=ADMIN,
            )
            assert r.status_code == 201, r.text
            r = client.post("/auth/login", json={"login": who, "password": f"{who}-password"})
            self.tokens[who] = {"Authorization": f"Bearer {r.json()['token']}"}
        self.keys = {}
        for name, scopes in (("CarCo", ["lookup", "decision"]), ("LookOnly", ["lookup"])):
            r = client.post("/admin/partners", json={"name": name, "scopes": scopes}, headers=ADMIN)
            assert r.status_code == 201, r.text
            self.keys[name] = {"X-API-Key": r.json()["api_key"]}

    def consent(self, who: str, partner: str, purpose: str, **extra) -> dict:
        r = self.c.post(
            "/me/consents",
            json={"partner": partner, "purpose": purpose, "expires_at": _future(), **extra},
            headers=self.tokens[who],
        )
        assert r.status_code == 201, r.text
        return r.json()

    def lookup(self, partner: str, person: str, purpose: str, **extra):
        return self.c.post(
            "/partner/lookup",
            json={"person": person, "purpose": purpose, **extra},
            headers=self.keys[partner],
        )


def sign_in_person(w: World, person_id: str, login: str) -> dict[str, str]:
    """Bearer headers for ``person_id``, creating their account; if World already signed
    them in (as 'low' or 'high'), their existing headers."""
    r = w.c.post(
        "/admin/people",
        json={"person_id": person_id, "login": login, "password": f"{login}-pw"},
        headers=ADMIN,
    )
    if r.status_code == 409:  # the person happens to be one of World's two
        return w.tokens["low" if w.low["person_id"] == person_id else "high"]
    assert r.status_code == 201, r.text
    tok = w.c.post("/auth/login", json={"login": login, "password": f"{login}-pw"})
    return {"Authorization": f"Bearer {tok.json()['token']}"}


@dataclass(frozen=True)
class LateRepayment:
    """A person's late or unpaid repayment whose removal raises their score."""

    person_id: str
    key: dict[str, str]
    lineage: dict[str, int]
    score: float


def late_repayment_that_counts(data: BureauData, tries: int = 25) -> LateRepayment:
    """The first late (30+ days) or unpaid repayment, due in the year before scoring, whose
    removal changes the person's feature row and raises their score (searched with the
    rescoring the service uses; the test then checks the API end to end)."""
    import duckdb

    from openbureau.model import load
    from openbureau.service.publish import scoring_pack_for
    from openbureau.service.records import Lineage, feature_row, rescore

    scores = {r["person_id"]: r for r in pq.read_table(data.scores).to_pylist()}
    first = next(iter(scores.values()))
    with duckdb.connect(str(data.store / "openbureau.duckdb"), read_only=True) as con:
        rows = con.execute(
            "SELECT a.person_id, r.account_id, CAST(r.due_date AS VARCHAR), r._batch_id, "
            "r._file_id, r._row FROM repayments r JOIN accounts a USING (account_id) "
            "WHERE r.due_date >= DATE '2025-01-01' AND r.due_date < DATE '2025-12-31' "
            "AND (r.paid_date IS NULL OR r.paid_date > r.due_date + 30) "
            "ORDER BY r.due_date DESC, a.person_id LIMIT 200"
        ).fetchall()
    model = load(data.model)
    pack = scoring_pack_for(first["policy"], first["policy_digest"], data.model)
    columns = None  # every column, as publishing keeps them
    seen: set[str] = set()
    for person, account, due, batch, file, row in rows:
        if person in seen or len(seen) >= tries:
            continue
        seen.add(person)
        lin = Lineage("repayments", batch, file, row)
        without = rescore(model, data.store, person, SCORE_AS_OF, pack, columns, 4, [lin])
        if without.score > scores[person]["score"]:
            before = feature_row(data.store, person, SCORE_AS_OF, pack, columns, [])
            after = feature_row(data.store, person, SCORE_AS_OF, pack, columns, [lin])
            assert before.to_pylist() != after.to_pylist()
            return LateRepayment(
                person,
                {"account_id": account, "due_date": due},
                {"batch_id": batch, "file_id": file, "row": row},
                scores[person]["score"],
            )
    raise AssertionError(f"no late repayment among {len(seen)} people moves their score")
