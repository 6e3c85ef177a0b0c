"""The command line as a script sees it: JSON shapes and exit codes."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from openbureau.cli import app

from factories import person, write_csv

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def test_ingest_json_accounting_and_exit_codes(tmp_path):
    good = write_csv(tmp_path / "people.csv", [person(1), person(2)])
    store = str(tmp_path / "store")
    result = invoke("ingest", str(good), "--store", store, "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert (payload["read"], payload["accepted"], payload["quarantined"]) == (2, 2, 0)
    assert payload["reasons"] == {} and payload["batch_id"] == 1

    bad = write_csv(tmp_path / "people-2.csv", [person(3, first_seen="soon"), person(4)])
    result = invoke("ingest", str(bad), "--store", store, "--json")
    assert result.exit_code == 1
    payload = json.loads(result.stdout)
    assert (payload["read"], payload["accepted"], payload["quarantined"]) == (2, 1, 1)
    assert payload["reasons"] == {"wrong_type": 1}
    assert payload["examples"][0]["row"] == 2


def test_status_json_counts_tables_batches_and_quarantine(tmp_path):
    store = str(tmp_path / "store")
    write_csv(tmp_path / "people.csv", [person(1), person(1)])
    invoke("ingest", str(tmp_path / "people.csv"), "--store", store)
    result = invoke("status", "--store", store, "--json")
    assert result.exit_code == 0
    payload = json.loads(result.stdout)
    assert payload["tables"]["people"] == 1
    assert set(payload["tables"]) >= {"accounts", "transactions", "relationships", "outcomes"}
    assert payload["batches"][0]["batch_id"] == 1
    assert payload["quarantine"]["rows"] == 1
    assert payload["quarantine"]["by_reason"] == [
        {"table": "people", "reason": "duplicate_key", "rows": 1}
    ]


def test_status_of_missing_store_is_a_clear_error(tmp_path):
    result = runner.invoke(app, ["status", "--store", str(tmp_path / "none")])
    assert result.exit_code == 2
    assert "no openbureau store" in result.output


def test_ingest_of_missing_path_is_a_usage_error(tmp_path):
    result = runner.invoke(
        app, ["ingest", str(tmp_path / "nope.csv"), "--store", str(tmp_path / "s")]
    )
    assert result.exit_code == 2
    assert "no such file or folder" in result.output


def test_human_output_shows_the_accounting_line(tmp_path):
    write_csv(tmp_path / "people.csv", [person(1), person(2, birth_year=1700)])
    result = invoke("ingest", str(tmp_path / "people.csv"), "--store", str(tmp_path / "s"))
    assert "read 2 = accepted 1 + quarantined 1" in result.stdout
    assert "out_of_range" in result.stdout


def test_quarantine_lists_and_exports_rows_to_fix(tmp_path):
    store = str(tmp_path / "store")
    write_csv(tmp_path / "people.csv", [person(1), person(2, first_seen="2999-01-01")])
    invoke("ingest", str(tmp_path / "people.csv"), "--store", store)
    listed = json.loads(invoke("quarantine", "--store", store, "--json").stdout)["rows"]
    assert [(r["row"], r["reason"]) for r in listed] == [(3, "future_date")]
    assert listed[0]["raw"]["person_id"] == "P00002"
    other = invoke("quarantine", "--store", store, "--reason", "wrong_type", "--json")
    assert json.loads(other.stdout)["rows"] == []
    export = tmp_path / "fix" / "people-fixed.jsonl"
    invoke("quarantine", "--store", store, "--export", str(export))
    fixed = json.loads(export.read_text())
    fixed["first_seen"] = "2021-01-01"
    export.write_text(json.dumps(fixed) + "\n")
    result = invoke("ingest", str(export), "--store", store, "--json")
    assert json.loads(result.stdout)["accepted"] == 1
