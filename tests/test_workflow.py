"""Train -> score -> report on a simulated store, through the library and the CLI."""

from __future__ import annotations

import datetime as dt
import json
import re

import numpy as np
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from openbureau.cli import app
from openbureau.ingest import ingest
from openbureau.monitor.report import build_report
from openbureau.sim import simulate
from openbureau.store import Store
from openbureau.workflow import score_store, train_from_store

AS_OF = dt.date(2024, 12, 31)
SCORE_AS_OF = dt.date(2025, 12, 31)
FACTORS = ("history", "behavior", "capacity", "identity", "network")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("workflow")
    sim = simulate(root / "sim", people=4000, months=24, seed=11)
    with Store(root / "store") as store:
        assert ingest([root / "sim"], store).clean
    report = train_from_store(root / "store", AS_OF, root / "model", seed=1)
    scores = root / "scores.parquet"
    score_store(root / "store", root / "model", SCORE_AS_OF, scores)
    return root, sim, report, scores


def test_training_learns_and_reports_honest_holdout_metrics(trained):
    _, sim, report, _ = trained
    assert 3000 < report.rows <= 4000  # eligible: known before as_of, not yet defaulted
    assert report.holdout_rows + report.train_rows == report.rows
    assert 0.65 < report.holdout_auc <= 1.0  # far above chance on a 4,000-person file
    assert report.holdout_auc < sim.oracle_auc + 0.05  # and not magically above the truth
    assert 0.0 < report.holdout_brier < 0.2


def test_the_score_never_falls_as_a_file_ages_across_the_thin_boundary(trained):
    """file_age_months is 'increasing' and also decides thin vs established: vary it over
    its range for real rows, recompute the segment by the catalog's rule, score."""
    from openbureau.features import FeatureParams, training_set
    from openbureau.model import load

    root, _, _, _ = trained
    model = load(root / "model")
    assert model.get_params()["segment_order"] == "increasing"
    with Store(root / "store", read_only=True) as store:
        table = training_set(store.con, [AS_OF])
    p = FeatureParams()
    names = [m.name for m in model.features_]
    df = table.select(names).to_pandas().sample(120, random_state=0).reset_index(drop=True)
    edge = float(p.thin_min_file_months)
    grid = np.unique(np.concatenate([np.linspace(0, 60, 61), [np.nextafter(edge, 0), edge]]))
    sweep = df.loc[df.index.repeat(grid.size)].reset_index(drop=True)
    sweep["file_age_months"] = np.tile(grid, df.shape[0])
    thin = (sweep["accounts_opened"] < p.thin_min_accounts) | (sweep["file_age_months"] < edge)
    sweep["segment"] = np.where(thin, "thin", "established")
    assert len(set(sweep["segment"])) == 2  # the sweep does cross the boundary
    score = model.scaling_.score(model.decision_function(sweep)).reshape(df.shape[0], -1)
    assert np.diff(score, axis=1).min() >= -1e-6


def test_scores_carry_breakdown_reasons_version_and_input_hash(trained):
    _, _, report, scores = trained
    table = pq.read_table(scores)
    assert table.num_rows > 3000
    score = table.column("score").to_numpy()
    assert score.min() >= 350 and score.max() <= 950
    parts = table.column("base").to_numpy() + sum(
        table.column(f"points_{f}").to_numpy() for f in FACTORS
    )
    unclipped = ~table.column("clipped").to_numpy(zero_copy_only=False)
    assert np.allclose(parts[unclipped], score[unclipped], atol=0.051)
    assert set(table.column("model_id").to_pylist()) == {report.model_id}
    hashes = table.column("input_hash").to_pylist()
    assert all(re.fullmatch(r"[0-9a-f]{32}", h) for h in hashes)
    assert len(set(hashes)) == len(hashes)
    first = table.column("reason_1_text").to_pylist()
    assert all(t is None or (t and t.lower() != "other") for t in first)
    # lower scores have reasons: every person below 600 is told why
    low = score < 600
    assert all(t is not None for t, is_low in zip(first, low, strict=True) if is_low)


def test_rescoring_reproduces_every_score_and_reason(trained, tmp_path):
    root, _, _, scores = trained
    again = tmp_path / "again.parquet"
    score_store(root / "store", root / "model", SCORE_AS_OF, again)
    assert pq.read_table(again).equals(pq.read_table(scores))


def test_report_has_every_chart_and_stability(trained, tmp_path):
    root, _, report, scores = trained
    page, numbers = build_report(root / "model", scores)
    assert page.count("data:image/png;base64,") == 5
    assert "http://" not in page and "https://" not in page  # viewable offline
    assert abs(numbers["auc"] - report.holdout_auc) < 1e-9
    assert set(numbers["psi"]) == {"score", *FACTORS}
    assert all(v >= 0 for v in numbers["psi"].values())
    assert {"thin", "established"} <= set(numbers["factor_weights"])


def test_cli_train_score_report(trained, tmp_path):
    root, _, _, _ = trained
    runner = CliRunner()
    model = tmp_path / "m"
    result = runner.invoke(
        app,
        [
            "train",
            "--store",
            str(root / "store"),
            "--as-of",
            "2024-12-31",
            "--out",
            str(model),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["holdout_auc"] > 0.6
    out = tmp_path / "s.parquet"
    result = runner.invoke(
        app,
        [
            "score",
            "--store",
            str(root / "store"),
            "--model",
            str(model),
            "--as-of",
            "2025-12-31",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    html = tmp_path / "r.html"
    result = runner.invoke(
        app, ["report", "--model", str(model), "--scores", str(out), "--out", str(html), "--json"]
    )
    assert result.exit_code == 0, result.output
    assert html.read_text().startswith("<!doctype html>")
    bad = runner.invoke(
        app,
        [
            "train",
            "--store",
            str(root / "store"),
            "--as-of",
            "31/12/2024",
            "--out",
            str(tmp_path / "x"),
        ],
    )
    assert bad.exit_code == 2 and "not a date" in bad.output


def test_scoring_refuses_a_model_from_another_feature_catalog(trained, tmp_path):
    import shutil

    root, _, _, _ = trained
    model = tmp_path / "model"
    shutil.copytree(root / "model", model)
    manifest = json.loads((model / "artifact.json").read_text())
    manifest["catalog_version"] = "0000000000000000"
    (model / "artifact.json").write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match="trained on feature catalog 0000000000000000"):
        score_store(root / "store", model, SCORE_AS_OF, tmp_path / "s.parquet")
