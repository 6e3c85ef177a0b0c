"""`openbureau evaluate` end to end on small synthetic tables, and every refusal."""

from __future__ import annotations

import json
import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
import pandas as pd
import pytest
import typer
import yaml
from typer.testing import CliRunner

from openbureau.evaluate import evaluate_table, fold_assignment
from openbureau.evaluate.command import evaluate

runner = CliRunner()


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command(name="evaluate")(evaluate)
    app.command(name="noop")(lambda: None)  # two commands: typer keeps the subcommand name
    return app


def _table(n: int = 800, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    limit = rng.lognormal(9, 0.6, n).round(0)
    late = rng.poisson(0.4, n)
    edu = rng.choice(["school", "college", "university"], n)
    util = rng.beta(2, 3, n).round(3)
    util[rng.random(n) < 0.05] = np.nan
    logit = -1.6 + 0.9 * late - 0.6 * (np.log(limit) - 9) + 1.2 * np.nan_to_num(util, nan=0.8)
    logit += np.where(edu == "university", -0.4, 0.0)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return pd.DataFrame(
        {
            "ID": np.arange(n) + 1000,
            "LIMIT_BAL": limit,
            "PAY_0": late,
            "UTIL": util,
            "EDUCATION": edu,
            "SEX": rng.choice([1, 2], n),
            "MARRIAGE": rng.choice([1, 2, 3], n),
            "CHANNEL": rng.choice(["online", "branch"], n),
            "default": y,
        }
    )


MAP = {
    "id": "ID",
    "factors": {
        "LIMIT_BAL": {"factor": "capacity", "direction": "increasing", "reason": "Low limit"},
        "PAY_0": {"factor": "history", "direction": "decreasing", "reason": "Recent late"},
        "UTIL": {"factor": "capacity", "direction": "decreasing", "reason": "High utilisation"},
        "EDUCATION": {"factor": "identity", "direction": "none", "reason": "Education on file"},
    },
    "derived": {
        "LATE_ANY": {
            "sql": 'CAST("PAY_0" > 0 AS DOUBLE)',
            "factor": "history",
            "direction": "decreasing",
            "reason": "Any late payment",
        }
    },
    "ignore": {"SEX": "protected", "MARRIAGE": "protected", "CHANNEL": "segments only"},
    # segments read inputs without a direction (a rule on PAY_0 would be refused)
    "segment": [{"name": "online", "when": "\"CHANNEL\" = 'online'"}, {"name": "branch"}],
}


def _write(tmp_path, df: pd.DataFrame | None = None, fmap: dict | None = None):
    table, factors = tmp_path / "table.csv", tmp_path / "factors.yaml"
    (_table() if df is None else df).to_csv(table, index=False)
    factors.write_text(yaml.safe_dump(MAP if fmap is None else fmap, sort_keys=False))
    return table, factors


def _run(table, factors, *extra: str):
    args = ["evaluate", str(table), "--label", "default", "--factors", str(factors), *extra]
    return runner.invoke(_app(), args)


def test_evaluate_end_to_end_writes_json_with_both_models_on_the_same_folds(tmp_path):
    table, factors = _write(tmp_path)
    out, preds = tmp_path / "out" / "report.json", tmp_path / "oof.csv"
    res = _run(
        table, factors, "--id", "ID", "--folds", "3", "--json", str(out),
        "--predictions", str(preds),
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    r = json.loads(out.read_text())
    for key in ("auc", "ks", "brier", "reference_auc", "per_fold", "factor_weights", "folds"):
        assert key in r
    assert 0.0 <= r["auc"] <= 1.0 and 0.0 <= r["reference_auc"] <= 1.0
    assert 0.0 <= r["ks"] <= 1.0 and 0.0 <= r["brier"] <= 1.0
    assert r["auc"] > 0.6  # the synthetic label is learnable
    assert len(r["per_fold"]) == 3
    assert all("reference_auc" in f and "auc" in f for f in r["per_fold"])
    assert set(r["factor_weights"]) == {"online", "branch"}
    for weights in r["factor_weights"].values():
        assert sum(v for v in weights.values() if v is not None) == pytest.approx(1.0)
    assert r["segments"]["online"]["rule"] == "\"CHANNEL\" = 'online'"
    # monotone over the whole model, segment boundaries included, on the first fold
    mono = r["whole_model_monotone"]
    assert mono["violations"] == [] and mono["rows"] > 0
    assert set(mono["checked"]) == {"LIMIT_BAL", "PAY_0", "UTIL", "LATE_ANY"}
    # the folds are the stratified, seeded ones, and both models were scored on them
    y = pd.read_csv(table)["default"].to_numpy()
    oof = pd.read_csv(preds)
    assert (oof["fold"].to_numpy() == fold_assignment(y.astype(np.int8), 3, 0)).all()
    assert oof["pd_openbureau"].notna().all() and oof["pd_reference"].notna().all()
    assert r["folds"]["rows"] == np.bincount(oof["fold"]).tolist()
    assert "openbureau" in res.output and "reference" in res.output


def test_evaluate_report_is_reproducible_and_models_share_folds(tmp_path):
    table, factors = _write(tmp_path)
    a, cv, _ = evaluate_table(table, factors, "default", folds=3)
    b, _, _ = evaluate_table(table, factors, "default", folds=3)
    assert a["auc"] == b["auc"] and a["reference_auc"] == b["reference_auc"]
    assert a["folds"]["assignment_sha256"] == b["folds"]["assignment_sha256"]
    assert [f["rows"] for f in cv.models["openbureau"].per_fold] == [
        f["rows"] for f in cv.models["reference"].per_fold
    ]


def _fails(tmp_path, df=None, fmap=None, *extra: str) -> str:
    table, factors = _write(tmp_path, df, fmap)
    res = _run(table, factors, *extra)
    assert res.exit_code == 2, res.output
    return " ".join(res.output.split())  # undo Rich's line wrapping


def test_label_with_three_values_is_refused_naming_them(tmp_path):
    df = _table()
    df.loc[:5, "default"] = 2
    msg = _fails(tmp_path, df)
    assert "'default' must be binary" in msg and "0, 1, 2" in msg and "table.csv" in msg


def test_label_with_one_value_is_refused(tmp_path):
    df = _table()
    df["default"] = 0
    assert "both classes" in _fails(tmp_path, df)


def test_text_label_needs_the_positive_value(tmp_path):
    df = _table()
    df["default"] = np.where(df["default"] == 1, "bad", "good")
    assert "positive" in _fails(tmp_path, df)
    table, factors = _write(tmp_path, df)
    res = _run(table, factors, "--positive", "bad", "--folds", "2")
    assert res.exit_code == 0, res.output


def test_missing_label_values_are_refused_with_lines(tmp_path):
    df = _table()
    df["default"] = df["default"].astype(float)
    df.loc[3, "default"] = np.nan
    msg = _fails(tmp_path, df)
    assert "empty" in msg and "line(s) 5" in msg


def test_unknown_column_in_the_map_is_refused(tmp_path):
    fmap = json.loads(json.dumps(MAP))
    fmap["factors"]["NOPE"] = {"factor": "history", "reason": "x"}
    msg = _fails(tmp_path, None, fmap)
    assert "['NOPE'] are not in" in msg and "factors.yaml" in msg


def test_column_neither_mapped_nor_ignored_is_refused(tmp_path):
    df = _table()
    df["EXTRA"] = 1.0
    msg = _fails(tmp_path, df)
    assert "['EXTRA']" in msg and "neither mapped to a factor nor ignored" in msg


def test_prohibited_column_mapped_to_a_factor_is_refused_but_may_be_ignored(tmp_path):
    df = _table()
    df["religion"] = np.random.default_rng(1).choice(["a", "b"], len(df))
    fmap = json.loads(json.dumps(MAP))
    fmap["factors"]["religion"] = {"factor": "identity", "reason": "x"}
    msg = _fails(tmp_path, df, fmap)
    assert "religion" in msg and "prohibited" in msg and "religion or belief" in msg
    fmap = json.loads(json.dumps(MAP))
    fmap["ignore"]["religion"] = "prohibited: dropped"
    table, factors = _write(tmp_path, df, fmap)
    assert _run(table, factors, "--folds", "2").exit_code == 0


def test_unknown_factor_and_direction_are_refused(tmp_path):
    fmap = json.loads(json.dumps(MAP))
    fmap["factors"]["PAY_0"]["factor"] = "karma"
    assert "'karma' is not one of history" in _fails(tmp_path, None, fmap)
    fmap = json.loads(json.dumps(MAP))
    fmap["factors"]["PAY_0"]["direction"] = "up"
    assert "'up' is not one of increasing" in _fails(tmp_path, None, fmap)


def test_text_in_a_monotone_column_is_refused(tmp_path):
    fmap = json.loads(json.dumps(MAP))
    fmap["factors"]["EDUCATION"]["direction"] = "increasing"
    msg = _fails(tmp_path, None, fmap)
    assert "'EDUCATION' holds text" in msg and "categories" in msg


def test_numbers_mixed_with_text_are_refused_with_the_line(tmp_path):
    df = _table().astype({"LIMIT_BAL": object})
    df.loc[7, "LIMIT_BAL"] = "lots"
    msg = _fails(tmp_path, df)
    assert "'LIMIT_BAL' mixes numbers and text" in msg and "'lots'" in msg and "line(s) 9" in msg


def test_listed_categories_give_text_an_order_and_a_direction(tmp_path):
    fmap = json.loads(json.dumps(MAP))
    fmap["factors"]["EDUCATION"].update(
        direction="increasing", categories=["school", "college", "university"]
    )
    table, factors = _write(tmp_path, None, fmap)
    out = tmp_path / "r.json"
    res = _run(table, factors, "--folds", "2", "--json", str(out))
    assert res.exit_code == 0, res.output
    assert json.loads(out.read_text())["text_features"]["EDUCATION"] == [
        "school",
        "college",
        "university",
    ]
    df = _table()
    df.loc[0, "EDUCATION"] = "phd"
    assert "['phd'] not in its categories" in _fails(tmp_path, df, fmap)


def test_missing_values_are_kept_as_nan(tmp_path):
    df = _table()
    df.loc[::7, "LIMIT_BAL"] = np.nan
    df.loc[::5, "EDUCATION"] = None
    table, factors = _write(tmp_path, df)
    assert _run(table, factors, "--folds", "2").exit_code == 0


def test_duplicate_ids_and_too_many_folds_are_refused(tmp_path):
    df = _table()
    df.loc[1, "ID"] = df.loc[0, "ID"]
    assert "repeats values" in _fails(tmp_path, df)
    df = _table(n=60)
    df["default"] = 0
    df.loc[:2, "default"] = 1
    assert "need at least 5 rows of each class" in _fails(tmp_path, df, None, "--folds", "5")


def test_missing_files_and_bad_segment_rules_exit_2(tmp_path):
    _table, factors = _write(tmp_path)
    res = runner.invoke(
        _app(), ["evaluate", str(tmp_path / "none.csv"), "--label", "default",
                 "--factors", str(factors)],
    )  # fmt: skip
    assert res.exit_code == 2 and "no such file" in res.output
    fmap = json.loads(json.dumps(MAP))
    fmap["segment"] = [
        {"name": "late", "when": "\"CHANNEL\" = 'online'"},
        {"name": "big", "when": "1=0"},
    ]
    msg = _fails(tmp_path, None, fmap)
    assert "match no segment rule" in msg
    fmap["segment"] = [{"name": "late", "when": '"NOPE" > 0'}, {"name": "rest"}]
    assert "cannot evaluate the rules" in _fails(tmp_path, None, fmap)
    fmap["segment"] = [{"name": "late", "when": '"PAY_0" > 0'}, {"name": "rest"}]
    msg = _fails(tmp_path, None, fmap)
    assert "segment[0] (late).when: reads 'PAY_0', which has direction 'decreasing'" in msg
    fmap = json.loads(json.dumps(MAP))
    fmap["derived"]["LATE_ANY"]["sql"] = "no_such_function(1)"
    assert "derived.LATE_ANY: cannot evaluate" in _fails(tmp_path, None, fmap)
