"""`openbureau policy list/show`, --policy errors, and the docs example."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml
from typer.testing import CliRunner

from openbureau.cli import app
from test_policy_pack import PACKS

runner = CliRunner()


def said(result) -> str:
    """The output with Rich's line wrapping undone."""
    return " ".join(result.output.split())


DOCS = Path(__file__).parents[1] / "docs" / "policy.md"


def test_policy_list_json_names_every_pack_and_the_default():
    result = runner.invoke(app, ["policy", "list", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["default"] == "us"
    packs = {p["name"]: p for p in payload["packs"]}
    assert {"eu", "us", "cn"} <= set(packs)
    assert "network" not in packs["eu"]["allowed_factors"]
    assert "network" in packs["us"]["allowed_factors"]


def test_policy_list_table():
    result = runner.invoke(app, ["policy", "list"])
    assert result.exit_code == 0
    assert "us (default)" in result.stdout and "European Union" in result.stdout


def test_policy_show_json_is_the_record():
    result = runner.invoke(app, ["policy", "show", "eu", "--json"])
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["forbidden_factors"]["network"]["cite"] == "Directive (EU) 2023/2225 art. 18(3)"
    assert any("2023/2225" in c["law"] for c in record["citations"])
    assert re.fullmatch(r"[0-9a-f]{16}", record["digest"])


def test_policy_show_table_says_what_is_forbidden_and_why():
    result = runner.invoke(app, ["policy", "show", "eu"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    text = said(result)  # Rich wraps to the terminal's width: check words, not layout
    assert "forbidden" in text and "allowed" in text
    assert "why no network factor: The creditworthiness assessment must rest" in text
    assert "GDPR" in text


def test_policy_show_a_pack_file_and_its_errors(tmp_path):
    data = yaml.safe_load((PACKS / "cn.yaml").read_text(encoding="utf-8"))
    data["name"] = "mine"
    good = tmp_path / "mine.yaml"
    good.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    result = runner.invoke(app, ["policy", "show", str(good), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["source"] == str(good)
    data["adverse_action"]["max_reasons"] = 0
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    result = runner.invoke(app, ["policy", "show", str(bad)])
    assert result.exit_code == 2
    assert "adverse_action.max_reasons: must be in 1..10, got 0" in said(result)
    result = runner.invoke(app, ["policy", "show", "atlantis"])
    assert result.exit_code == 2 and "available: cn, eu, us" in said(result)


def test_train_and_score_report_a_bad_policy_as_a_usage_error(tmp_path):
    result = runner.invoke(
        app,
        [
            "train",
            "--as-of",
            "2024-12-31",
            "--out",
            str(tmp_path / "m"),
            "--policy",
            "xx",
            "--store",
            str(tmp_path / "store"),
        ],
    )
    assert result.exit_code == 2 and "no shipped policy pack" in said(result)
    result = runner.invoke(
        app,
        [
            "score",
            "--model",
            str(tmp_path / "none"),
            "--as-of",
            "2025-12-31",
            "--out",
            str(tmp_path / "s.parquet"),
            "--policy",
            "eu",
        ],
    )
    assert result.exit_code == 2 and "error:" in result.output
    result = runner.invoke(app, ["demo", "--policy", "xx", "--dir", str(tmp_path / "demo")])
    assert result.exit_code == 2 and not (tmp_path / "demo").exists()


def test_report_of_a_missing_model_is_a_usage_error(tmp_path):
    result = runner.invoke(app, ["report", "--model", str(tmp_path / "none")])
    assert result.exit_code == 2 and "error:" in result.output


def test_docs_python_example_runs(capsys):
    blocks = re.findall(r"```python\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.S)
    assert blocks
    for code in blocks:
        exec(compile(code, str(DOCS), "exec"), {})
    printed = capsys.readouterr().out
    assert (
        "policy eu forbids the network factor (Directive (EU) 2023/2225 art. 18(3)): "
        "dropped 1 feature" in printed
    )


def test_docs_error_examples_are_real_messages(tmp_path):
    """The error lines quoted in docs/policy.md are what the checker prints."""
    text = DOCS.read_text(encoding="utf-8")
    base = yaml.safe_load((PACKS / "us.yaml").read_text(encoding="utf-8"))
    from openbureau.policy import PolicyPackError, load_pack

    edits = {
        "adverse_action.max_reasons": lambda d: d["adverse_action"].update(max_reasons=0),
        "forbidden_factors.network": lambda d: d.update(
            forbidden_factors={"network": {"cite": "x", "why": "y"}}
        ),
        "consent.partner_lookup": lambda d: d["consent"].update(partner_lookup=False),
    }
    for key, edit in edits.items():
        data = yaml.safe_load(yaml.safe_dump(base))
        edit(data)
        path = tmp_path / "my-pack.yaml"
        path.write_text(yaml.safe_dump(data), encoding="utf-8")
        try:
            load_pack(path)
        except PolicyPackError as exc:
            assert f"my-pack.yaml: {key}: {exc.why}" in text
        else:
            raise AssertionError(f"{key}: no error")
