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
    args = ["demo", "--people", "600", "--dir", str(tmp_path / "demo")]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "read" in first.output and "quarantined 0" in first.output
    again = runner.invoke(app, args)
    assert again.exit_code == 0, again.output
    assert "batch written: False" in again.output
