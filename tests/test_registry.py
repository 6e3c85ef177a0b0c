"""The model registry: registration from real model folders, promotion on a release report
(refused when it fails, names another model or an old champion), at most one champion even
under racing promotions, the champion and its scores switching in one transaction (a failing
publish leaves everything as it was), the event log; on SQLite and PostgreSQL, through the
Python API, the admin API and the CLI.

The release reports here are written by the tests from the real models, because the release
gate (`openbureau release`) is built in parallel: the gate's own tests cover how a report is
made; these cover what the registry does with one.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from conftest_service import (  # noqa: F401
    ADMIN,
    SCORE_AS_OF,
    TRAIN_AS_OF,
    BureauData,
    bureau_data,
    database_url,
    fresh_database,
)
from openbureau.registry import (
    RegistryError,
    champion,
    get_model,
    list_models,
    model_events,
    promote,
    register,
    retire,
)
from openbureau.service.db import make_engine, migrate, session_factory
from openbureau.service.models import CurrentVersion, ModelEvent, RegisteredModel, ScoreVersion
from openbureau.service.publish import publish, snapshot_features


@dataclass(frozen=True)
class Models:
    """Three real models of the same store (seeds 1, 2, 3), each with its scores as of the
    scoring date, and the feature rows they were all scored from."""

    data: BureauData
    dirs: dict[str, Path]  # "a" (the fixture's model), "b", "c"
    ids: dict[str, str]
    scores: dict[str, Path]
    features: Path
    holdout: dict[str, tuple[float, float]]  # hold-out AUC and KS as `train` reported them


@pytest.fixture(scope="module")
def models(bureau_data: BureauData, tmp_path_factory: pytest.TempPathFactory) -> Models:  # noqa: F811
    from openbureau.workflow import score_store, train_from_store

    root = tmp_path_factory.mktemp("registry-models")
    dirs, scores, holdout = {"a": bureau_data.model}, {"a": bureau_data.scores}, {}
    for name, seed in (("b", 2), ("c", 3)):
        report = train_from_store(
            bureau_data.store,
            TRAIN_AS_OF,
            root / f"model-{name}",
            seed=seed,
            model_params={"n_estimators": 25, "calibration_cv": 2},
        )
        holdout[name] = (report.holdout_auc, report.holdout_ks)
        dirs[name] = report.model_dir
        scores[name] = root / f"scores-{name}.parquet"
        score_store(bureau_data.store, report.model_dir, SCORE_AS_OF, scores[name])
    ids = {k: json.loads((d / "artifact.json").read_text())["model_id"] for k, d in dirs.items()}
    assert len(set(ids.values())) == 3
    first = pq.read_table(bureau_data.scores).slice(0, 1).to_pylist()[0]
    features = snapshot_features(
        bureau_data.store,
        SCORE_AS_OF,
        first["policy"],
        first["policy_digest"],
        first["catalog_version"],
        bureau_data.model,
    )
    pq.write_table(features, root / "features.parquet")
    return Models(bureau_data, dirs, ids, scores, root / "features.parquet", holdout)


@pytest.fixture
def sessions(database_url: str, tmp_path: Path) -> Iterator[sessionmaker[Session]]:  # noqa: F811
    """A new, migrated database of the module's kind for each test (model ids are content
    hashes, so each test registers the same models afresh)."""
    kind = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    gen = fresh_database(kind, tmp_path)
    engine = make_engine(next(gen))
    migrate(engine)
    yield session_factory(engine)
    engine.dispose()
    gen.close()


def write_release(
    folder: Path,
    m: Models,
    candidate: str,
    champion_: str | None,
    *,
    failing: tuple[str, ...] = (),
    scores: bool = True,
) -> Path:
    """A release.json in the gate's format (see the module docstring)."""
    folder.mkdir(parents=True, exist_ok=True)
    names = ("discrimination_auc", "score_psi", "fairness_air", "policy_inputs")
    checks = [
        {
            "name": n,
            "passed": n not in failing,
            "why": f"{n} is outside its tolerance" if n in failing else f"{n} within tolerance",
        }
        for n in names
    ]

    def ref(k: str) -> dict[str, str]:
        return {"model_id": m.ids[k], "path": str(m.dirs[k])}

    report = {
        "passed": not failing,
        "candidate": ref(candidate),
        "champion": ref(champion_) if champion_ else None,
        "checks": checks,
        "scores": str(m.scores[candidate]) if scores else None,
        "as_of": SCORE_AS_OF.isoformat(),
    }
    path = folder / "release.json"
    path.write_text(json.dumps(report, indent=2))
    return path


def _promote(sessions: Any, m: Models, key: str, release: Path, **kw: Any) -> Any:
    return promote(
        sessions,
        m.ids[key],
        release,
        actor=kw.pop("actor", "analyst-1"),
        reason=kw.pop("reason", "passes the gate"),
        features=m.features,
        **kw,
    )


def _register_all(sessions: Any, m: Models, keys: str = "abc") -> None:
    for k in keys:
        register(sessions, m.dirs[k], actor="ci")


def _state(sessions: Any) -> dict[str, Any]:
    """Everything a promotion may change, to compare before and after a refusal."""
    with sessions() as s:
        return {
            "states": {r.model_id: r.state for r in list_models(s)},
            "events": s.scalar(select(func.count()).select_from(ModelEvent)),
            "versions": s.scalar(select(func.count()).select_from(ScoreVersion)),
            "current": s.scalar(select(CurrentVersion.version_id)),
        }


def _served(s: Session) -> tuple[str | None, str | None]:
    """The champion and the model of the current score version, read in ONE statement (so
    one snapshot on both databases)."""
    row = s.execute(
        text(
            "SELECT (SELECT model_id FROM registered_models WHERE state = 'champion'), "
            "(SELECT sv.model_id FROM current_version cv JOIN score_versions sv "
            "ON sv.id = cv.version_id WHERE cv.name = 'current')"
        )
    ).one()
    return row[0], row[1]


def test_registering_keeps_what_the_model_folder_says(sessions, models):
    m = models
    row = register(sessions, m.dirs["b"], actor="ci", reason="seed 2 retrain")
    manifest = json.loads((m.dirs["b"] / "artifact.json").read_text())
    assert row.model_id == m.ids["b"] == manifest["model_id"]
    assert row.state == "candidate"
    assert row.artifact_path == str(m.dirs["b"].resolve())
    assert row.data_hash == manifest["data_hash"]
    assert (row.policy, row.policy_digest) == (
        manifest["policy"]["pack"]["name"],
        manifest["policy"]["pack"]["digest"],
    )
    auc, ks = m.holdout["b"]  # what `train` printed, computed there independently
    assert row.metrics["holdout_auc"] == pytest.approx(auc, abs=1e-12)
    assert row.metrics["holdout_ks"] == pytest.approx(ks, abs=1e-12)
    assert row.metrics["development"] == manifest["metrics"]
    assert row.card == json.loads((m.dirs["b"] / "model_card.json").read_text())
    with sessions() as s:
        (event,) = model_events(s, m.ids["b"])
        assert (event.from_state, event.to_state, event.actor, event.reason) == (
            None,
            "candidate",
            "ci",
            "seed 2 retrain",
        )
        assert champion(s) is None

    with pytest.raises(RegistryError, match=f"{m.ids['b']} is already registered") as exc:
        register(sessions, m.dirs["b"], actor="ci")
    assert exc.value.status == 409
    with pytest.raises(RegistryError, match=r"no-such-model.*does not exist"):
        register(sessions, m.data.root / "no-such-model", actor="ci")
    with pytest.raises(RegistryError, match="not an intact model folder"):
        register(sessions, m.data.store, actor="ci")  # a folder, but no artifact.json
    with pytest.raises(ValueError, match="actor"):
        register(sessions, m.dirs["c"], actor=" ")
    with pytest.raises(TypeError):
        register(sessions, 42, actor="ci")  # type: ignore[arg-type]


def test_a_failing_report_is_refused_naming_the_failed_checks(sessions, models, tmp_path):
    _register_all(sessions, models)
    before = _state(sessions)
    bad = write_release(tmp_path / "bad", models, "a", None, failing=("score_psi", "fairness_air"))
    with pytest.raises(RegistryError) as exc:
        _promote(sessions, models, "a", bad)
    message = str(exc.value)
    assert "did not pass" in message
    assert "score_psi (score_psi is outside its tolerance)" in message
    assert "fairness_air" in message and "discrimination_auc" not in message
    assert _state(sessions) == before

    # a report claiming to pass while one of its checks failed is not believed
    lying = json.loads(bad.read_text()) | {"passed": True}
    (tmp_path / "lying.json").write_text(json.dumps(lying))
    with pytest.raises(RegistryError, match="says it passed but these checks failed: score_psi"):
        _promote(sessions, models, "a", tmp_path / "lying.json")
    # malformed reports say which field
    (tmp_path / "broken.json").write_text(json.dumps({"passed": True, "candidate": {}}))
    with pytest.raises(RegistryError, match="lacks field 'champion'"):
        _promote(sessions, models, "a", tmp_path / "broken.json")
    with pytest.raises(RegistryError, match="does not exist"):
        _promote(sessions, models, "a", tmp_path / "nowhere.json")
    assert _state(sessions) == before


def test_a_report_for_another_model_or_an_old_champion_is_refused(sessions, models, tmp_path):
    m = models
    _register_all(sessions, m)
    first = _promote(sessions, m, "a", write_release(tmp_path / "r-a", m, "a", None))
    assert first.previous_champion is None
    before = _state(sessions)

    other = write_release(tmp_path / "r-c", m, "c", "a")
    with pytest.raises(RegistryError, match=f"is for candidate {m.ids['c']}, not for model"):
        _promote(sessions, m, "b", other)
    stale = write_release(tmp_path / "r-b-stale", m, "b", None)  # gated before a was champion
    with pytest.raises(RegistryError, match=f"champion none, but the champion is now {m.ids['a']}"):
        _promote(sessions, m, "b", stale)
    again = write_release(tmp_path / "r-a-again", m, "a", "a")
    with pytest.raises(RegistryError, match="is champion, not a candidate") as exc:
        _promote(sessions, m, "a", again)
    assert exc.value.status == 409
    # a report whose scores were made by another model than the candidate
    mixed = write_release(tmp_path / "r-b-mixed", m, "b", "a")
    data = json.loads(mixed.read_text()) | {"scores": str(m.scores["c"])}
    mixed.write_text(json.dumps(data))
    with pytest.raises(RegistryError, match=f"made by model {m.ids['c']}, not by the candidate"):
        _promote(sessions, m, "b", mixed)
    assert _state(sessions) == before


def test_promotion_switches_champion_and_scores_together(sessions, models, tmp_path):
    m = models
    _register_all(sessions, m)
    seen: list[tuple[str | None, str | None]] = []
    stop = threading.Event()
    errors: list[BaseException] = []

    def reader() -> None:
        try:
            while not stop.is_set():
                with sessions() as s:
                    seen.append(_served(s))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        release_a = write_release(tmp_path / "r-a", m, "a", None)
        first = _promote(sessions, m, "a", release_a, actor="ana", reason="first champion")
        release_b = write_release(tmp_path / "r-b", m, "b", "a")
        second = _promote(sessions, m, "b", release_b, actor="bob", reason="better AUC")
        stop.wait(0.2)  # keep reading a little after the switch
    finally:
        stop.set()
        thread.join()
    assert not errors, errors
    # every read saw a champion with its own scores, or the state before the first promotion
    assert set(seen) <= {(None, None), (m.ids["a"], m.ids["a"]), (m.ids["b"], m.ids["b"])}
    assert (m.ids["b"], m.ids["b"]) in seen

    assert (first.previous_champion, second.previous_champion) == (None, m.ids["a"])
    assert second.previous_version_id == first.score_version_id
    with sessions() as s:
        assert champion(s).model_id == m.ids["b"]  # type: ignore[union-attr]
        assert get_model(s, m.ids["a"]).state == "retired"
        assert get_model(s, m.ids["c"]).state == "candidate"
        version = s.get(ScoreVersion, second.score_version_id)
        assert version is not None
        assert s.scalar(select(CurrentVersion.version_id)) == version.id
        # what-if and disputes recompute with the version's model: it is the champion's folder
        assert (version.model_id, version.model_path) == (m.ids["b"], str(m.dirs["b"].resolve()))
        assert version.people == pq.read_metadata(m.scores["b"]).num_rows
        assert version.feature_columns  # snapshots: the champion's scores can be replayed
        log = [
            (e.model_id, e.from_state, e.to_state, e.actor, e.release_sha256, e.score_version_id)
            for e in model_events(s)
        ]
    sha = {
        k: hashlib.sha256(p.read_bytes()).hexdigest()
        for k, p in (("a", release_a), ("b", release_b))
    }
    assert log[3:] == [
        (m.ids["a"], "candidate", "champion", "ana", sha["a"], first.score_version_id),
        (m.ids["a"], "champion", "retired", "bob", sha["b"], None),
        (m.ids["b"], "candidate", "champion", "bob", sha["b"], second.score_version_id),
    ]
    assert [e[2] for e in log[:3]] == ["candidate"] * 3  # the registrations

    from openbureau.service.replay import replay

    person = m.data.people[0]
    with sessions() as s:
        result = replay(s, person, version_id=second.score_version_id)
    assert result.identical and result.model_id == m.ids["b"]


def test_a_failing_publish_leaves_champion_and_scores_as_they_were(sessions, models, tmp_path):
    m = models
    _register_all(sessions, m)
    _promote(sessions, m, "a", write_release(tmp_path / "r-a", m, "a", None))
    before = _state(sessions)
    release_b = write_release(tmp_path / "r-b", m, "b", "a")

    # the database refuses the scores midway through the transaction (after the states moved)
    engine = sessions.kw["bind"]
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.execute(
                text(
                    "CREATE TRIGGER refuse_scores BEFORE INSERT ON scores "
                    "BEGIN SELECT RAISE(ABORT, 'scores table is read-only'); END"
                )
            )
        else:
            conn.execute(
                text(
                    "CREATE FUNCTION refuse_scores() RETURNS trigger AS $$ BEGIN "
                    "RAISE EXCEPTION 'scores table is read-only'; END $$ LANGUAGE plpgsql"
                )
            )
            conn.execute(
                text(
                    "CREATE TRIGGER refuse_scores BEFORE INSERT ON scores "
                    "FOR EACH ROW EXECUTE FUNCTION refuse_scores()"
                )
            )
    with pytest.raises(RegistryError, match=r"scores table is read-only.*nothing changed"):
        _promote(sessions, m, "b", release_b)
    assert _state(sessions) == before
    with engine.begin() as conn:
        conn.execute(
            text(
                "DROP TRIGGER refuse_scores"
                + (" ON scores" if conn.dialect.name != "sqlite" else "")
            )
        )

    # the scores were already published (as a plain version): refused inside the transaction
    published = publish(sessions, m.scores["b"], model_dir=m.dirs["b"], features=m.features)
    before = _state(sessions)
    with pytest.raises(RegistryError, match=f"already published as version {published.version_id}"):
        _promote(sessions, m, "b", release_b)
    assert _state(sessions) == before
    with sessions() as s:
        assert champion(s).model_id == m.ids["a"]  # type: ignore[union-attr]


def test_at_most_one_champion_even_when_promotions_race(sessions, models, tmp_path):
    m = models
    _register_all(sessions, m)
    _promote(sessions, m, "a", write_release(tmp_path / "r-a", m, "a", None))
    # the database itself refuses a second champion, whatever the code does
    with sessions() as s, pytest.raises(IntegrityError):
        s.execute(
            update(RegisteredModel)
            .where(RegisteredModel.model_id == m.ids["c"])
            .values(state="champion")
        )
        s.commit()

    # two promotions over the same champion at the same moment: one wins, one is refused
    releases = {k: write_release(tmp_path / f"r-{k}", m, k, "a") for k in "bc"}
    barrier = threading.Barrier(2)
    outcomes: dict[str, Any] = {}

    def run(key: str) -> None:
        barrier.wait()
        try:
            outcomes[key] = _promote(sessions, m, key, releases[key])
        except RegistryError as exc:
            outcomes[key] = exc

    threads = [threading.Thread(target=run, args=(k,)) for k in "bc"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    won = [k for k, v in outcomes.items() if not isinstance(v, Exception)]
    lost = [k for k, v in outcomes.items() if isinstance(v, Exception)]
    assert len(won) == 1 and len(lost) == 1, outcomes
    assert outcomes[lost[0]].status == 409
    with sessions() as s:
        states = {r.model_id: r.state for r in list_models(s)}
        assert list(states.values()).count("champion") == 1
        assert states[m.ids[won[0]]] == "champion"
        assert states[m.ids[lost[0]]] == "candidate"
        assert states[m.ids["a"]] == "retired"
        assert _served(s) == (m.ids[won[0]], m.ids[won[0]])
        loser_events = [e.to_state for e in model_events(s, m.ids[lost[0]])]
        assert loser_events == ["candidate"]  # only its registration


def test_retire_only_a_candidate(sessions, models, tmp_path):
    m = models
    _register_all(sessions, m)
    _promote(sessions, m, "a", write_release(tmp_path / "r-a", m, "a", None))
    row = retire(sessions, m.ids["c"], actor="ana", reason="superseded by b")
    assert row.state == "retired"
    with pytest.raises(RegistryError, match="is the champion") as exc:
        retire(sessions, m.ids["a"], actor="ana", reason="no")
    assert exc.value.status == 409
    with pytest.raises(RegistryError, match="already retired"):
        retire(sessions, m.ids["c"], actor="ana", reason="twice")
    with pytest.raises(RegistryError, match="no registered model 'nope'") as exc:
        retire(sessions, "nope", actor="ana", reason="x")
    assert exc.value.status == 404
    with pytest.raises(ValueError, match="reason"):
        retire(sessions, m.ids["b"], actor="ana", reason="")
    # a retired model cannot be promoted, even on a passing report
    with pytest.raises(RegistryError, match="is retired, not a candidate"):
        _promote(sessions, m, "c", write_release(tmp_path / "r-c", m, "c", "a"))
    with sessions() as s:
        last = model_events(s, m.ids["c"])[-1]
        assert (last.from_state, last.to_state, last.reason) == (
            "candidate",
            "retired",
            "superseded by b",
        )


def test_admin_api_registers_promotes_and_says_which_model_is_champion(sessions, models, tmp_path):
    from openbureau.service import Settings, create_app

    m = models
    url = sessions.kw["bind"].url.render_as_string(hide_password=False)
    app = create_app(Settings(database_url=url, admin_key=ADMIN["X-Admin-Key"], store=None))
    with TestClient(app) as c:
        assert c.get("/admin/models").status_code == 401
        for k in "ab":
            r = c.post(
                "/admin/models", json={"path": str(m.dirs[k]), "actor": "api"}, headers=ADMIN
            )
            assert r.status_code == 201, r.text
            assert r.json()["state"] == "candidate" and r.json()["events"][0]["actor"] == "api"
        r = c.post("/admin/models", json={"path": str(m.dirs["a"]), "actor": "api"}, headers=ADMIN)
        assert r.status_code == 409 and m.ids["a"] in r.json()["detail"]
        listing = c.get("/admin/models", headers=ADMIN).json()
        assert listing["champion"] is None
        assert [x["model_id"] for x in listing["models"]] == [m.ids["a"], m.ids["b"]]

        bad = write_release(tmp_path / "bad", m, "a", None, failing=("discrimination_auc",))
        body = {"release": str(bad), "actor": "api", "reason": "try"}
        r = c.post(f"/admin/models/{m.ids['a']}/promote", json=body, headers=ADMIN)
        assert r.status_code == 422 and "discrimination_auc" in r.json()["detail"]

        good = write_release(tmp_path / "good", m, "a", None, scores=False)
        body = {"release": str(good.parent), "actor": "api", "reason": "first champion"}
        r = c.post(f"/admin/models/{m.ids['a']}/promote", json=body, headers=ADMIN)
        assert r.status_code == 200, r.text
        done = r.json()
        assert done["model"]["state"] == "champion" and done["score_version_id"] is None
        assert done["release_sha256"] == hashlib.sha256(good.read_bytes()).hexdigest()
        assert c.get("/admin/models", headers=ADMIN).json()["champion"] == m.ids["a"]

        shown = c.get(f"/admin/models/{m.ids['a']}", headers=ADMIN).json()
        assert shown["card"]["model_id"] == m.ids["a"]
        assert [(e["from_state"], e["to_state"]) for e in shown["events"]] == [
            (None, "candidate"),
            ("candidate", "champion"),
        ]
        r = c.post(
            f"/admin/models/{m.ids['a']}/retire",
            json={"actor": "api", "reason": "x"},
            headers=ADMIN,
        )
        assert r.status_code == 409 and "champion" in r.json()["detail"]
        r = c.post(
            f"/admin/models/{m.ids['b']}/retire",
            json={"actor": "api", "reason": "x"},
            headers=ADMIN,
        )
        assert r.status_code == 200 and r.json()["state"] == "retired"
        assert c.get("/admin/models/0123456789abcdef", headers=ADMIN).status_code == 404
        assert c.get("/admin/models/bad%20id", headers=ADMIN).status_code == 422
        r = c.post("/admin/models", json={"path": "/nowhere", "actor": "api"}, headers=ADMIN)
        assert r.status_code == 422 and "/nowhere" in r.json()["detail"]


def test_cli_models_register_list_promote_show(sessions, models, tmp_path):
    from openbureau.cli import app

    m = models
    url = sessions.kw["bind"].url.render_as_string(hide_password=False)
    db = ["--database-url", url]
    runner = CliRunner()
    for k in "ab":
        r = runner.invoke(app, ["models", "register", str(m.dirs[k]), "--actor", "cli", *db])
        assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["models", "list", "--json", *db])
    listing = json.loads(r.stdout)
    assert listing["champion"] is None and len(listing["models"]) == 2
    r = runner.invoke(
        app, ["rescore", "--full", "--as-of", "2025-12-31", "--runs", str(tmp_path / "runs"), *db]
    )
    assert r.exit_code == 2 and "no champion in the registry" in r.output

    bad = write_release(tmp_path / "bad", m, "a", None, failing=("policy_inputs",))
    r = runner.invoke(
        app, ["models", "promote", m.ids["a"], "--release", str(bad), "--reason", "x", *db]
    )
    assert r.exit_code == 1 and "policy_inputs" in r.output

    good = write_release(tmp_path / "good", m, "a", None)
    args = ["--release", str(good), "--reason", "first", "--features", str(m.features)]
    args += ["--actor", "cli-user"]
    r = runner.invoke(app, ["models", "promote", m.ids["a"], *args, "--json", *db])
    assert r.exit_code == 0, r.output
    done = json.loads(r.stdout)
    assert done["model_id"] == m.ids["a"] and done["score_version_id"] is not None
    # a re-scoring run without --model takes the champion's folder from the registry
    from openbureau.workflow.rescore_command import _champion_folder

    assert _champion_folder(url).resolve() == m.dirs["a"].resolve()
    r = runner.invoke(app, ["models", "show", m.ids["a"], "--json", *db])
    shown = json.loads(r.stdout)
    assert shown["state"] == "champion"
    assert [(e["actor"], e["to_state"]) for e in shown["events"]] == [
        ("cli", "candidate"),
        ("cli-user", "champion"),
    ]
    r = runner.invoke(app, ["models", "list", *db])
    assert r.exit_code == 0 and "champion" in r.stdout and m.ids["a"] in r.stdout
    r = runner.invoke(app, ["models", "retire", m.ids["a"], "--reason", "x", *db])
    assert r.exit_code == 1 and "is the champion" in r.output
