"""Database layer: migrations, atomic publishing with a concurrent reader, exact replay."""

from __future__ import annotations

import threading

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select, text, update
from typer.testing import CliRunner

from conftest_service import bureau_data, database_url  # noqa: F401
from openbureau.cli import app
from openbureau.service.db import current_revision, make_engine, migrate, session_factory
from openbureau.service.models import Base, CurrentVersion, Score, ScoreVersion
from openbureau.service.publish import PublishError, publish
from openbureau.service.replay import ModelCache, replay


@pytest.fixture(scope="module")
def sessions(database_url):  # noqa: F811
    engine = make_engine(database_url)
    migrate(engine)
    yield session_factory(engine)
    engine.dispose()


def test_migrations_create_exactly_the_models_and_rerun_as_a_no_op(sessions):
    engine = sessions.kw["bind"]
    assert current_revision(engine) == "0004"
    migrate(engine)  # again: nothing to do, nothing fails
    with engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata
        )
    assert diff == []


def test_publish_switches_the_pointer_atomically_under_a_concurrent_reader(
    sessions,
    bureau_data,  # noqa: F811
):
    first = publish(
        sessions, bureau_data.scores, model_dir=bureau_data.model, store=bureau_data.store
    )
    assert first.replayable and first.people == len(bureau_data.people)
    seen: list[tuple[int, int, int]] = []  # (version, rows in it, rows it should have)
    stop = threading.Event()
    errors: list[BaseException] = []

    def reader() -> None:
        try:
            while not stop.is_set():
                with sessions() as s:
                    vid, people = s.execute(
                        select(ScoreVersion.id, ScoreVersion.people).join(
                            CurrentVersion, CurrentVersion.version_id == ScoreVersion.id
                        )
                    ).one()
                    n = s.scalar(select(func.count()).where(Score.version_id == vid))
                seen.append((vid, n, people))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    thread = threading.Thread(target=reader)
    thread.start()
    second = publish(
        sessions,
        bureau_data.scores_v2,
        features=None,
        store=bureau_data.store,
        model_dir=bureau_data.model,
        label="second",
    )
    for _ in range(20):  # keep reading a little after the switch
        if any(v == second.version_id for v, _, _ in seen):
            break
        threading.Event().wait(0.05)
    stop.set()
    thread.join()
    assert not errors
    assert second.previous_version == first.version_id
    versions = {v for v, _, _ in seen}
    assert versions <= {first.version_id, second.version_id}
    assert second.version_id in versions
    assert all(n == people for _, n, people in seen)  # never a half-published version


def test_publishing_the_same_file_again_or_a_bad_file_is_refused(
    sessions,
    bureau_data,  # noqa: F811
    tmp_path,
):
    with pytest.raises(PublishError, match="already published as version"):
        publish(sessions, bureau_data.scores)
    (tmp_path / "x.parquet").write_bytes(b"not parquet")
    with pytest.raises(PublishError, match="not a readable Parquet"):
        publish(sessions, tmp_path / "x.parquet")
    with pytest.raises(PublishError, match="does not exist"):
        publish(sessions, tmp_path / "missing.parquet")


def test_replay_reproduces_score_and_reasons_bit_for_bit(sessions, bureau_data):  # noqa: F811
    models = ModelCache()
    with sessions() as s:
        for person in bureau_data.people[:10]:
            result = replay(s, person, models=models)
            assert result.identical, result.differences
            stored = s.scalar(
                select(Score).where(
                    Score.person_id == person, Score.version_id == result.version_id
                )
            )
            assert result.replayed["score"] == stored.score
            assert [r[0] for r in result.replayed["reasons"]] == [r["code"] for r in stored.reasons]


def test_replay_detects_a_tampered_snapshot_and_the_cli_says_so(
    sessions,
    bureau_data,  # noqa: F811
    database_url,  # noqa: F811
):
    person = bureau_data.people[3]
    runner = CliRunner()
    ok = runner.invoke(app, ["audit", "replay", person, "--database-url", database_url])
    assert ok.exit_code == 0, ok.output
    assert "identical" in ok.output
    with sessions.begin() as s:
        row = s.scalar(select(Score).where(Score.person_id == person).order_by(Score.id.desc()))
        version = s.get(ScoreVersion, row.version_id)
        j = version.feature_columns.index("monthly_income")
        values = list(row.features)
        values[j] = (values[j] or 0.0) * 3 + 5000.0
        s.execute(update(Score).where(Score.id == row.id).values(features=values))
    bad = runner.invoke(app, ["audit", "replay", person, "--database-url", database_url])
    assert bad.exit_code == 1
    assert "DIFFERENT" in bad.output and "input_hash" in bad.output


def test_sqlite_runs_in_wal_mode_so_readers_never_wait_for_a_publish(sessions):
    engine = sessions.kw["bind"]
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        else:  # PostgreSQL readers never wait for writers (MVCC), at read committed
            level = conn.execute(text("SHOW transaction_isolation")).scalar()
            assert level == "read committed"
