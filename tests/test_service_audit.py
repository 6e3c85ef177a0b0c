"""The hash-chained access log: concurrent appends never fork it; `openbureau audit verify`
finds an edited, a deleted and a truncated entry (tampered with directly in the database)."""

from __future__ import annotations

import asyncio
import threading

import pytest
from sqlalchemy import delete, func, select, update
from typer.testing import CliRunner

from conftest_service import database_url, fresh_database  # noqa: F401
from openbureau.cli import app
from openbureau.service import audit
from openbureau.service.db import make_engine, migrate, session_factory
from openbureau.service.models import AccessLog

runner = CliRunner()


@pytest.fixture(scope="module")
def sessions(database_url):  # noqa: F811
    engine = make_engine(database_url)
    migrate(engine)
    yield session_factory(engine)
    engine.dispose()


def _entry(sessions, i: int) -> None:
    audit.append(
        sessions,
        partner_id=1,
        partner_name="CarCo",
        person_id=f"P{i:08d}",
        action="lookup",
        purpose="tenancy",
        outcome="granted" if i % 2 else "denied",
        reason=f"case {i}",
        detail={"threshold": 650.0, "i": i},
    )


def _verify(url: str) -> tuple[int, str]:
    result = runner.invoke(app, ["audit", "verify", "--database-url", url])
    return result.exit_code, result.output


def test_concurrent_appends_make_one_unbroken_chain(sessions, database_url):  # noqa: F811
    threads = [
        threading.Thread(target=lambda k=k: [_entry(sessions, k * 10 + i) for i in range(10)])
        for k in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with sessions() as s:
        seqs = s.scalars(select(AccessLog.seq).order_by(AccessLog.seq)).all()
        report = audit.verify_chain(s)
    assert seqs == list(range(1, 41))
    assert report.ok and report.entries == 40, str(report)
    code, out = _verify(database_url)
    assert code == 0 and "intact: 40 entries" in out


def test_group_commit_batches_concurrent_entries_into_one_chain(database_url):  # noqa: F811
    """Two writers (two server processes) and 48 concurrent requests: one unbroken chain,
    and the writers did commit several entries per transaction."""
    engine = make_engine(database_url)
    migrate(engine)
    fresh = session_factory(engine)
    with fresh() as s:
        start = s.scalar(select(func.count()).select_from(AccessLog))
    writers = [audit.AuditWriter(fresh), audit.AuditWriter(fresh)]
    barrier = threading.Barrier(48)

    def request(i: int) -> None:
        barrier.wait()
        row = writers[i % 2].append(
            partner_id=2,
            partner_name="BatchCo",
            person_id=f"P{i:08d}",
            action="lookup",
            purpose="tenancy",
            outcome="granted",
            reason="batched",
            detail={"i": i},
        )
        assert row.seq > start

    threads = [threading.Thread(target=request, args=(i,)) for i in range(48)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for w in writers:
        w.close()
    with fresh() as s:
        rows = s.scalars(select(AccessLog).where(AccessLog.partner_name == "BatchCo")).all()
        report = audit.verify_chain(s)
    engine.dispose()
    assert len(rows) == 48 and report.ok, str(report)
    assert len({r.at for r in rows}) < 48  # entries shared a transaction


def test_verify_names_the_first_edited_deleted_or_truncated_entry(sessions, database_url):  # noqa: F811
    with sessions.begin() as s:
        original = s.get(AccessLog, 5).outcome
        s.execute(update(AccessLog).where(AccessLog.seq == 5).values(outcome="tampered"))
    code, out = _verify(database_url)
    assert code == 1 and "entry 5" in out and "edited" in out
    with sessions.begin() as s:
        s.execute(update(AccessLog).where(AccessLog.seq == 5).values(outcome=original))
    assert _verify(database_url)[0] == 0

    with sessions.begin() as s:
        s.execute(delete(AccessLog).where(AccessLog.seq == 7))
    code, out = _verify(database_url)
    assert code == 1 and "entry 7" in out and "missing" in out

    with sessions() as s:  # a forger who renumbers after a delete still breaks a link
        s.execute(update(AccessLog).where(AccessLog.seq == 8).values(seq=7))
        s.commit()
    code, out = _verify(database_url)
    assert code == 1 and "entry 7" in out

    with sessions.begin() as s:
        s.execute(delete(AccessLog).where(AccessLog.seq >= 7))
    code, out = _verify(database_url)  # the chain 1..6 is whole, but the head knows more
    assert code == 1 and "entry 7" in out and "deleted" in out


def test_verify_without_a_database_is_a_usage_error(tmp_path):
    code, out = _verify(f"sqlite:///{tmp_path / 'none.db'}")
    assert code == 2 and "no service database" in out


@pytest.fixture(scope="module")
def pg_url(tmp_path_factory):
    """PostgreSQL only: the event-loop writer (``pgasync``) is what the service uses there."""
    gen = fresh_database("postgresql", tmp_path_factory.mktemp("pg"))
    url = next(gen)
    yield url
    gen.close()


def test_event_loop_writers_group_commit_one_chain(pg_url):
    """Two event-loop writers (two server processes) on top of a thread writer's entries, 48
    concurrent requests: every request gets its committed row, one unbroken chain, and
    entries shared transactions."""
    from openbureau.service.pgasync import AsyncPostgres

    engine = make_engine(pg_url)
    migrate(engine)
    sessions = session_factory(engine)
    _entry(sessions, 1)  # the chain does not start with the writers

    async def run() -> list[dict]:
        writers = [AsyncPostgres(engine), AsyncPostgres(engine)]
        rows = await asyncio.gather(
            *(
                writers[i % 2].append_async(
                    partner_id=3,
                    partner_name="LoopCo",
                    person_id=f"P{i:08d}",
                    action="lookup",
                    purpose="tenancy",
                    outcome="granted",
                    reason="batched",
                    detail={"i": i, "threshold": 650.0},
                )
                for i in range(48)
            )
        )
        for w in writers:
            await w.aclose()
        return rows

    answered = asyncio.run(run())
    with sessions() as s:
        stored = {r.seq: r for r in s.scalars(select(AccessLog).where(AccessLog.seq > 1))}
        report = audit.verify_chain(s)
    engine.dispose()
    assert report.ok and report.entries == 49, str(report)
    assert sorted(r["seq"] for r in answered) == list(range(2, 50))
    for r in answered:  # what each request was told is what the database holds
        row = stored[r["seq"]]
        assert (row.hash, row.person_id, row.detail) == (r["hash"], r["person_id"], r["detail"])
    assert len({r.at for r in stored.values()}) < 48  # entries shared a transaction
