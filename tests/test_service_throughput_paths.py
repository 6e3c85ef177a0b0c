"""The fast partner path (issue 5's throughput work), on both databases.

A lookup reads partner, consent, freeze, the current version and the score in one statement on
an autocommit connection and answers only once its access-log entry is committed; a publish
is seen by the very next lookup (nothing cached); a connection the database dropped is
retried; `openbureau serve --workers 2` keeps one unbroken hash chain across its processes;
the workers share the rate limit instead of each granting the whole allowance.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import psutil
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from typer.testing import CliRunner

from conftest_service import ADMIN, _future, bureau_data, database_url  # noqa: F401
from openbureau.cli import app as cli_app
from openbureau.service.app import create_app
from openbureau.service.db import make_engine, session_factory
from openbureau.service.models import AccessLog, CurrentVersion
from openbureau.service.publish import publish
from openbureau.service.ratelimit import RateLimiter
from openbureau.service.settings import Settings

PEOPLE = 12  # published; the first half consent (half of those share the number)
PURPOSE = "tenancy"


def _subset(data: Any, folder: Path, name: str, compression: str) -> Path:
    """A few people's scores (published without snapshots: fast, and enough to look up)."""
    path = folder / name
    pq.write_table(pq.read_table(data.scores).slice(0, PEOPLE), path, compression=compression)
    return path


class Setup:
    """One published version, PEOPLE accounts, a partner and consents, made over the API."""

    def __init__(self, url: str, data: Any, folder: Path) -> None:
        self.url = url
        self.folder = folder
        self.v1 = _subset(data, folder, "v1.parquet", "snappy")
        self.v2 = _subset(data, folder, "v2.parquet", "zstd")  # same scores, other bytes
        rows = pq.read_table(self.v1, columns=["person_id", "score"]).to_pylist()
        self.scores = {r["person_id"]: r["score"] for r in rows}
        self.people = list(self.scores)
        engine = make_engine(url)
        self.settings = Settings(database_url=url, admin_key="admin-secret", lookups_per_minute=0)
        application = create_app(self.settings)
        publish(session_factory(engine), self.v1)
        engine.dispose()
        with TestClient(application) as c:
            r = c.post("/admin/partners", json={"name": "FastCo"}, headers=ADMIN)
            assert r.status_code == 201, r.text
            self.key = {"X-API-Key": r.json()["api_key"]}
            for i, pid in enumerate(self.people):
                login, pw = f"fast{i}", f"fast-password-{i}"
                body = {"person_id": pid, "login": login, "password": pw}
                assert c.post("/admin/people", json=body, headers=ADMIN).status_code == 201
                if i >= PEOPLE // 2:
                    continue
                tok = c.post("/auth/login", json={"login": login, "password": pw}).json()["token"]
                r = c.post(
                    "/me/consents",
                    json={
                        "partner": "FastCo",
                        "purpose": PURPOSE,
                        "expires_at": _future(),
                        "share_number": i % 2 == 0,
                    },
                    headers={"Authorization": f"Bearer {tok}"},
                )
                assert r.status_code == 201, r.text
        self.consented = self.people[: PEOPLE // 2]

    def entries(self) -> int:
        engine = make_engine(self.url)
        with engine.connect() as conn:
            n = conn.scalar(select(func.count()).select_from(AccessLog))
        engine.dispose()
        return int(n or 0)

    def last_entry(self) -> AccessLog:
        engine = make_engine(self.url)
        with session_factory(engine)() as s:
            row = s.scalars(select(AccessLog).order_by(AccessLog.seq.desc()).limit(1)).one()
        engine.dispose()
        return row

    def check(self, person: str, r: httpx.Response | Any) -> str:
        """The answer is the right one for ``person``; its outcome, as the log records it."""
        if person not in self.consented:
            assert r.status_code == 403 and "no active consent" in r.json()["detail"], r.text
            return "denied"
        assert r.status_code == 200, r.text
        body = r.json()
        score = self.scores[person]
        assert body["meets_threshold"] == (score >= 600)
        shares = self.consented.index(person) % 2 == 0
        assert body["score"] == (score if shares else None)
        return "granted"


@pytest.fixture(scope="module")
def setup(database_url, bureau_data, tmp_path_factory) -> Setup:  # noqa: F811
    return Setup(database_url, bureau_data, tmp_path_factory.mktemp("fast"))


def _lookup_body(person: str) -> dict[str, Any]:
    return {"person": person, "purpose": PURPOSE, "threshold": 600}


def test_each_answer_follows_its_committed_log_entry(setup):
    """In process, over the fast path: right answers, and the entry is in the database,
    seen from another connection, by the time the answer arrives."""
    with TestClient(create_app(setup.settings)) as c:
        for person in [*setup.people[:3], setup.people[-1], "P99999999"]:
            before = setup.entries()
            r = c.post("/partner/lookup", json=_lookup_body(person), headers=setup.key)
            if person in setup.scores:
                outcome = setup.check(person, r)
            else:
                assert r.status_code == 403
                outcome = "denied"
            assert setup.entries() == before + 1
            last = setup.last_entry()
            assert (last.person_id, last.outcome, last.partner_name) == (
                person,
                outcome,
                "FastCo",
            )
        r = c.post(
            "/partner/lookup", json=_lookup_body(setup.people[0]), headers={"X-API-Key": "x"}
        )
        assert r.status_code == 401 and "unknown or disabled" in r.json()["detail"]


def test_a_publish_is_seen_by_the_next_lookup(setup):
    """The current-version pointer is read with every lookup: no process keeps a stale one."""
    application = create_app(setup.settings)
    person = setup.consented[0]
    with TestClient(application) as c:
        assert c.post("/partner/lookup", json=_lookup_body(person), headers=setup.key).is_success
        first = setup.last_entry().detail["version"]
        publish(application.state.service.sessions, setup.v2)
        r = c.post("/partner/lookup", json=_lookup_body(person), headers=setup.key)
        setup.check(person, r)
        second = setup.last_entry().detail["version"]
        with application.state.service.sessions() as s:
            current = s.scalar(select(CurrentVersion.version_id))
    assert second != first and second == current


def test_a_dropped_read_connection_is_retried(setup):
    """The read pools skip the pre-ping round trip; a connection the server killed is
    replaced and the lookup still answers, its entry committed (PostgreSQL: terminate every
    other backend, the event-loop reader's and the log writer's included; SQLite has no
    server to drop it, so its pool is thrown away under the service)."""
    application = create_app(setup.settings)
    person = setup.consented[1]
    with TestClient(application) as c:
        assert c.post("/partner/lookup", json=_lookup_body(person), headers=setup.key).is_success
        if not setup.url.startswith("postgresql"):
            application.state.service.reader.dispose()
            r = c.post("/partner/lookup", json=_lookup_body(person), headers=setup.key)
            setup.check(person, r)
            return
        engine = make_engine(setup.url)
        with engine.connect() as conn:
            killed = conn.scalar(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
        engine.dispose()
        assert killed >= 1
        before = setup.entries()
        r = c.post("/partner/lookup", json=_lookup_body(person), headers=setup.key)
        setup.check(person, r)
        assert setup.entries() == before + 1 and setup.last_entry().person_id == person


def test_workers_share_the_rate_limit(setup, monkeypatch):
    assert RateLimiter.share(600, 2).capacity == 300
    assert RateLimiter.share(3, 4).capacity == 1  # never 0, which would mean "no limit"
    assert RateLimiter.share(0, 4).capacity == 0
    with pytest.raises(ValueError, match="processes must be at least 1"):
        RateLimiter.share(60, 0)
    # one worker of two, built the way `serve --workers 2` builds each: half the allowance
    from openbureau.service import server

    limited = dataclasses.replace(setup.settings, lookups_per_minute=4)
    monkeypatch.setenv(server._SETTINGS_ENV, json.dumps(dataclasses.asdict(limited), default=str))
    monkeypatch.setenv(server._WORKERS_ENV, "2")
    application = server.app_from_env()
    with TestClient(application) as c:
        codes = [
            c.post("/partner/lookup", json=_lookup_body(setup.consented[0]), headers=setup.key)
            for _ in range(4)
        ]
    assert [r.status_code for r in codes] == [200, 200, 429, 429]
    assert "4 lookups per minute" in codes[2].json()["detail"]
    assert int(codes[2].headers["Retry-After"]) >= 1


def _worker_pids(proc: subprocess.Popen[bytes]) -> list[psutil.Process]:
    return [
        p
        for p in psutil.Process(proc.pid).children(recursive=True)
        if "multiprocessing.spawn" in " ".join(p.cmdline())
    ]


def _holds_database(p: psutil.Process, url: str) -> bool:
    """Whether a worker has opened the database (so it has served a lookup)."""
    if url.startswith("sqlite"):
        path = url.removeprefix("sqlite:///")
        return any(f.path == path for f in p.open_files())
    return any(c.raddr and c.raddr.port == 5432 for c in p.net_connections("tcp"))


def _serve(url: str, workers: int) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **os.environ,
        "OPENBUREAU_ADMIN_KEY": "admin-secret",
        "OPENBUREAU_LOOKUPS_PER_MINUTE": "0",
        "OPENBUREAU_LOG_LEVEL": "warning",
    }
    env.pop("OPENBUREAU_WORKERS", None)
    exe = Path(sys.executable).parent / "openbureau"
    cmd = [str(exe), "serve", "--database-url", url, "--port", str(port), "--workers", str(workers)]
    proc = subprocess.Popen(cmd, env=env, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"the server exited with {proc.returncode}"
        try:
            if httpx.get(base + "/health", timeout=2).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    os.killpg(proc.pid, signal.SIGTERM)
    raise AssertionError("the server did not come up")


def test_two_server_processes_keep_one_unbroken_chain(setup):
    """`serve --workers 2`: concurrent lookups reach both processes, every answer is right,
    every one is logged, and `openbureau audit verify` finds the chain intact."""
    start = setup.entries()
    proc, base = _serve(setup.url, 2)
    sent: list[tuple[str, str]] = []
    try:
        workers = _worker_pids(proc)
        assert len(workers) == 2

        def one(person: str) -> tuple[str, str]:
            r = httpx.post(base + "/partner/lookup", json=_lookup_body(person), headers=setup.key)
            return person, setup.check(person, r)

        with ThreadPoolExecutor(16) as pool:
            for _ in range(20):  # until both processes have served (each round: 24 lookups)
                sent += pool.map(one, [setup.people[i % PEOPLE] for i in range(24)])
                if all(_holds_database(p, setup.url) for p in workers):
                    break
        assert all(_holds_database(p, setup.url) for p in workers), "one worker served all"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(60)
    result = CliRunner().invoke(cli_app, ["audit", "verify", "--database-url", setup.url])
    total = start + len(sent)
    assert result.exit_code == 0 and f"intact: {total} entries" in result.output, result.output
    engine = make_engine(setup.url)
    with session_factory(engine)() as s:
        logged = s.execute(
            select(AccessLog.person_id, AccessLog.outcome).where(AccessLog.seq > start)
        ).all()
    engine.dispose()
    assert sorted(tuple(r) for r in logged) == sorted(sent)
