"""The foundation end to end: simulate -> ingest gives a clean store, and the demo runs."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from openbureau.cli import app
from openbureau.contract import TABLES
from openbureau.ingest import ingest
from openbureau.sim import simulate
from openbureau.store import Store

runner = CliRunner()


def test_simulated_population_ingests_without_a_single_rejection(tmp_path):
    sim = simulate(tmp_path / "sim", people=1500, months=18, seed=5)
    with Store(tmp_path / "store") as store:
        report = ingest([tmp_path / "sim"], store)
        counts = store.table_counts()
    assert report.clean, (report.reasons, report.examples, report.rejected_files)
    assert report.read == report.accepted == sum(sim.rows.values())
    assert counts == {t.name: sim.rows[t.name] for t in TABLES}


def test_simulate_and_status_commands(tmp_path):
    out = tmp_path / "sim"
    result = runner.invoke(
        app, ["simulate", "--people", "400", "--months", "15", "--out", str(out), "--json"]
    )
    assert result.exit_code == 0, result.output
    manifest = json.loads(result.stdout)
    assert manifest["people"] == 400
    result = runner.invoke(app, ["ingest", str(out), "--store", str(tmp_path / "s"), "--json"])
    assert result.exit_code == 0, result.output
    status = json.loads(
        runner.invoke(app, ["status", "--store", str(tmp_path / "s"), "--json"]).stdout
    )
    assert status["tables"]["people"] == 400
    assert status["totals"]["quarantined"] == 0


def test_simulate_rejects_bad_parameters(tmp_path):
    result = runner.invoke(app, ["simulate", "--people", "0", "--out", str(tmp_path / "x")])
    assert result.exit_code == 2
    assert "people" in result.output


def test_demo_runs_end_to_end_and_is_rerunnable(tmp_path):
    args = ["demo", "--people", "600", "--dir", str(tmp_path / "demo"), "--no-serve"]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "read" in first.output and "quarantined 0" in first.output
    again = runner.invoke(app, args)
    assert again.exit_code == 0, again.output
    assert "batch written: False" in again.output
    _the_demo_population_is_served(tmp_path / "demo", first.output)


def _the_demo_population_is_served(demo, output: str) -> None:
    """What `make demo` ends with: the population served, the printed account working."""
    import re

    import httpx

    from openbureau.service.demo import start

    person = re.search(r"person (P\d+): score (\d+)", output)
    assert person is not None
    access, thread, server = start(
        demo, demo / "store", demo / "model", demo / "scores.parquet", person.group(1), port=0
    )
    try:
        with httpx.Client(base_url=access.url, timeout=30) as c:
            r = c.post("/auth/login", json={"login": access.login, "password": access.password})
            assert r.status_code == 200, r.text
            me = c.get("/me/score", headers={"Authorization": f"Bearer {r.json()['token']}"})
            assert me.status_code == 200, me.text
            assert me.json()["person_id"] == person.group(1)
            assert round(me.json()["score"]) == int(person.group(2))
            assert c.get("/").status_code == 200  # the sign-in page
    finally:
        server.should_exit = True
        thread.join(10)
