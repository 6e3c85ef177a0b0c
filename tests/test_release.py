"""The release gate on a small simulated bureau: a worse candidate is refused with the
failing check named, a stable one passes, a first release has nothing to compare with,
and the champion-challenger swaps add up.

The simulation labels defaults over two years after its as_of, at a steady hazard, so a
model trained on 2024-06-30 with a six-month horizon can be judged out of time on the
people eligible at 2024-12-31 and their next six months.
"""

from __future__ import annotations

import datetime as dt
import json
import os

import numpy as np
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from openbureau.cli import app
from openbureau.ingest import ingest
from openbureau.policy import load_pack
from openbureau.release import GateRules, audit_fairness, checks, compare_decisions, run_release
from openbureau.sim import simulate
from openbureau.store import Store
from openbureau.workflow import train_from_store

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
TRAIN_AS_OF = dt.date(2024, 6, 30)
AS_OF = dt.date(2024, 12, 31)
HORIZON = 6
PARAMS = {"n_estimators": 100, "calibration_cv": 2}
FAIR_COLUMNS = ["sex", "ethnic_group"]  # age is a planted risk driver: see docs/release.md


@pytest.fixture(scope="module")
def bureau(tmp_path_factory):
    root = tmp_path_factory.mktemp("release")
    simulate(
        root / "sim", people=3000, months=36, label_months=24, seed=5, target_default_rate=0.15
    )
    with Store(root / "store") as store:
        assert ingest([root / "sim"], store).clean

    def train(name: str, **kw) -> str:
        params = {**PARAMS, **kw.pop("params", {})}
        train_from_store(
            root / "store", TRAIN_AS_OF, root / name, horizon_months=HORIZON, seed=1,
            model_params=params, **kw,
        )  # fmt: skip
        return str(root / name)

    models = {
        "champion": train("champion"),
        # the same data, ten more boosting rounds: a close, honest retrain
        "stable": train("stable", params={"n_estimators": 110}),
        # honestly worse: fitted on a 5% sample (95% held out)
        "worse": train("worse", holdout=0.95),
    }
    return root, models


@pytest.fixture(scope="module")
def stable(bureau):
    root, models = bureau
    return run_release(
        models["stable"],
        root / "store",
        AS_OF,
        root / "release-stable",
        champion=models["champion"],
        horizon=HORIZON,
        audit_groups=root / "sim" / "_audit",
        fairness_columns=FAIR_COLUMNS,
    )


def test_a_stable_fair_candidate_passes_every_check(stable, bureau):
    _, models = bureau
    rep = json.loads((stable.out / "release.json").read_text())
    assert stable.passed and rep["passed"] and rep["failed_checks"] == []
    assert rep["verdict"].startswith("PASSED")
    names = [c["name"] for c in rep["checks"]]
    assert names == [
        "discrimination_auc", "discrimination_ks", "calibration", "monotonicity",
        "factor_additivity", "score_stability", "fairness", "policy",
    ]  # fmt: skip
    for c in rep["checks"]:
        assert set(c) >= {"name", "passed", "status", "values", "thresholds", "why"}
        assert c["status"] in ("pass", "warn") and c["why"] and "\n" not in c["why"]
    auc = rep["checks"][0]
    assert abs(auc["values"]["difference"]) <= 0.005
    assert rep["candidate"]["model_id"] != rep["champion"]["model_id"]
    assert rep["candidate"]["path"] == models["stable"]
    assert rep["champion"]["path"] == models["champion"]
    assert rep["as_of"] == "2024-12-31" and rep["sample"]["defaults"] > 30
    additivity = rep["checks"][4]["values"]
    assert additivity["trees"] > 0 and additivity["rows_off"] == 0
    assert rep["checks"][5]["values"]["psi"]["score"] < 0.1


def test_the_candidates_scores_are_what_openbureau_score_writes(stable, bureau):
    rep = stable.report
    scores = pq.read_table(rep["scores"])
    assert scores.num_rows == 3000  # everyone known at as_of, as `score` scores them
    assert set(scores.column("model_id").to_pylist()) == {rep["candidate"]["model_id"]}
    assert {"score", "base", "pd", "reason_1", "reason_1_text", "input_hash"} <= set(
        scores.column_names
    )


def test_the_registry_reads_the_report_it_promotes_on(stable):
    from openbureau.registry.release import load_release

    report = load_release(stable.out)
    assert report.passed and report.failing() == []
    assert report.candidate_id == stable.report["candidate"]["model_id"]
    assert report.champion_id == stable.report["champion"]["model_id"]
    assert report.scores is not None and report.scores.is_file()
    assert report.as_of == AS_OF


def test_the_html_report_is_readable_offline(stable):
    page = (stable.out / "release.html").read_text()
    assert stable.report["verdict"] in page
    assert page.count("data:image/png;base64,") == 3  # ROC, distributions, calibration
    assert "http://" not in page and "https://" not in page
    for title in ("Checks", "Fairness audit", "Champion-challenger", "Calibration by score band"):
        assert title in page


def test_challenger_swaps_add_up(stable):
    rep = stable.report["challenger"]
    a = pq.read_table(stable.report["champion_scores"], columns=["person_id", "score"])
    b = pq.read_table(stable.report["scores"], columns=["person_id", "score"])
    a, b = a.sort_by("person_id"), b.sort_by("person_id")
    s_a, s_b = a.column("score").to_numpy(), b.column("score").to_numpy()
    assert rep["applicable"] and rep["people"] == len(s_a)
    changed = np.zeros(len(s_a), bool)
    for d in rep["decisions"]:
        t = d["threshold"]
        assert d["swap_in"] == int(((s_b >= t) & (s_a < t)).sum())
        assert d["swap_out"] == int(((s_a >= t) & (s_b < t)).sum())
        assert d["swap_in"] - d["swap_out"] == d["candidate_approved"] - d["champion_approved"]
        assert sum(x["swap_in"] for x in d["by_band"]) == d["swap_in"]
        assert sum(x["swap_out"] for x in d["by_band"]) == d["swap_out"]
        assert sum(x["count"] for x in d["swap_in_reasons"]) == d["swap_in"]
        assert sum(x["count"] for x in d["swap_out_reasons"]) == d["swap_out"]
        assert d["change_rate"] == pytest.approx((d["swap_in"] + d["swap_out"]) / len(s_a))
        changed |= (s_a >= t) != (s_b >= t)
    assert rep["any_change_rate"] == pytest.approx(changed.mean())
    assert 0 < rep["any_change_rate"] < 0.5


def test_a_worse_candidate_is_refused_and_the_failing_check_named(bureau, tmp_path):
    root, models = bureau
    out = tmp_path / "release-worse"
    result = CliRunner().invoke(
        app,
        [
            "release", "--candidate", models["worse"], "--champion", models["champion"],
            "--store", str(root / "store"), "--as-of", "2024-12-31", "--horizon", "6",
            "--audit-groups", str(root / "sim" / "_audit"), "--fairness-columns",
            ",".join(FAIR_COLUMNS), "--out", str(out), "--json",
        ],
    )  # fmt: skip
    assert result.exit_code == 3, result.output
    rep = json.loads(result.stdout)
    assert rep == json.loads((out / "release.json").read_text())
    assert not rep["passed"] and "discrimination_auc" in rep["failed_checks"]
    auc = next(c for c in rep["checks"] if c["name"] == "discrimination_auc")
    assert not auc["passed"] and auc["values"]["difference"] < -0.005
    assert "below the champion's" in auc["why"] and "the margin is 0.005" in auc["why"]
    assert rep["verdict"].startswith("REFUSED") and "discrimination_auc" in rep["verdict"]
    page = (out / "release.html").read_text()
    assert page.index("discrimination_auc") < page.index("monotonicity")  # failed first


def test_a_first_release_has_no_comparisons_to_fail(bureau, stable, tmp_path):
    root, models = bureau
    res = run_release(
        models["champion"], root / "store", AS_OF, tmp_path / "first", horizon=HORIZON,
        audit_groups=root / "sim" / "_audit", fairness_columns=FAIR_COLUMNS,
    )  # fmt: skip
    rep = res.report
    assert res.passed and rep["champion"] is None and rep["champion_scores"] is None
    by_name = {c["name"]: c for c in rep["checks"]}
    for name in ("discrimination_auc", "discrimination_ks", "score_stability"):
        assert by_name[name]["status"] == "not_applicable"
        assert by_name[name]["why"].startswith("not applicable: no champion")
    assert rep["challenger"] == {"applicable": False, "why": checks.NO_CHAMPION}
    assert by_name["calibration"]["status"] == "pass"
    # the full audit (age bands included) finds what the simulator planted: older people
    # score higher, so younger bands are approved less at the higher thresholds
    scores = pq.read_table(rep["scores"])
    groups = pq.read_table(root / "sim" / "_audit")
    full = audit_fairness(scores, groups, columns=["age_band"])
    assert any(r["ratio"] is not None and r["ratio"] < 0.8 for r in full["air"])

    # the lifecycle end to end on the real gate's reports: the first release makes the
    # champion, the stable candidate's release (judged against it) replaces it, and the
    # service's current scores switch with the champion
    from openbureau.registry import champion, promote, register
    from openbureau.service.db import make_engine, migrate, session_factory
    from openbureau.service.models import CurrentVersion, ScoreVersion

    engine = make_engine(f"sqlite:///{tmp_path / 'service.db'}")
    migrate(engine)
    sessions = session_factory(engine)
    ids = {k: register(sessions, models[k], actor="test").model_id for k in ("champion", "stable")}
    with pytest.raises(ValueError, match="champion"):  # judged against a champion not in place
        promote(sessions, ids["stable"], stable.out, actor="test", reason="too early")
    promote(sessions, ids["champion"], res.out, actor="test", reason="first", store=root / "store")
    promote(
        sessions, ids["stable"], stable.out, actor="test", reason="retrain", store=root / "store"
    )
    with sessions() as s:
        current = s.get(ScoreVersion, s.get(CurrentVersion, "current").version_id)
        assert champion(s).model_id == current.model_id == ids["stable"]
        assert current.people == 3000 and current.feature_columns
    engine.dispose()


def test_as_of_not_after_training_and_bad_options_are_usage_errors(bureau, tmp_path):
    root, models = bureau
    runner = CliRunner()
    base = ["release", "--candidate", models["stable"], "--store", str(root / "store"),
            "--out", str(tmp_path / "x"), "--horizon", "6"]  # fmt: skip
    r = runner.invoke(app, [*base, "--as-of", "2024-06-30"])
    assert r.exit_code == 2
    assert "not after the candidate's training as_of 2024-06-30" in " ".join(r.output.split())
    r = runner.invoke(app, [*base, "--as-of", "2024-13-01"])
    assert r.exit_code == 2 and "--as-of '2024-13-01' is not a date" in r.output
    r = runner.invoke(app, [*base, "--as-of", "2024-12-31", "--champion", models["stable"]])
    assert r.exit_code == 2 and "same model" in r.output
    r = runner.invoke(app, [*base, "--as-of", "2024-12-31", "--psi-warn", "0.5"])
    assert r.exit_code == 2 and "psi_warn" in r.output
    assert not (tmp_path / "x" / "release.json").exists()
    with pytest.raises(TypeError, match=r"as_of must be a datetime\.date"):
        run_release(models["stable"], root / "store", "2024-12-31", tmp_path / "y")


def test_the_policy_check_names_a_forbidden_factor_and_audit_columns(bureau):
    _, models = bureau
    from pathlib import Path

    manifest = json.loads((Path(models["stable"]) / "artifact.json").read_text())
    ok = checks.policy(manifest, load_pack("us"), models["stable"], ["sex", "ethnic_group"])
    assert ok["status"] == "pass"
    eu = checks.policy(manifest, load_pack("eu"), models["stable"], [])
    assert eu["status"] == "fail" and "network" in eu["why"] and "eu" in eu["why"]
    feature = manifest["features"][0]["name"]
    clash = checks.policy(manifest, load_pack("us"), models["stable"], [feature])
    assert clash["status"] == "fail"
    assert f"input {feature!r} is an audit-group column" in clash["values"]["problems"]


def test_calibration_names_the_failing_band():
    rng = np.random.default_rng(0)
    score = np.concatenate([np.full(400, 520.0), np.full(400, 720.0)])
    pd_ = np.concatenate([np.full(400, 0.10), np.full(400, 0.02)])
    y = np.concatenate([rng.random(400) < 0.30, rng.random(400) < 0.02]).astype(int)
    import pyarrow as pa

    table = pa.table({"score": score, "pd": pd_})
    rec = checks.calibration(y, table, GateRules())
    assert rec["status"] == "fail" and rec["values"]["failing_bands"] == ["500-549"]
    assert "band 500-549" in rec["why"] and "beyond the tolerance" in rec["why"]
    rec = checks.calibration((rng.random(800) < pd_).astype(int), table, GateRules())
    assert rec["status"] == "pass"


def test_compare_decisions_on_random_scores_and_bad_input():
    import pyarrow as pa

    rng = np.random.default_rng(1)
    n = 5000
    ids = [f"P{i:05d}" for i in range(n)]
    a = rng.uniform(350, 950, n).round(1)
    b = np.clip(a + rng.normal(0, 30, n), 350, 950).round(1)
    reasons = pa.array(rng.choice(["r1", "r2", "r3"], n))
    champ = pa.table({"person_id": ids, "score": a, "reason_1": reasons})
    cand = pa.table({"person_id": ids[::-1], "score": b[::-1], "reason_1": reasons[::-1]})
    rep = compare_decisions(champ, cand)
    for d in rep["decisions"]:
        assert d["swap_in"] - d["swap_out"] == int((b >= d["threshold"]).sum()) - int(
            (a >= d["threshold"]).sum()
        )
    with pytest.raises(ValueError, match="scored different people"):
        compare_decisions(champ, cand.slice(1))
    with pytest.raises(ValueError, match="no score column"):
        compare_decisions(champ, cand.drop_columns(["score"]))


def test_stability_fails_a_shifted_score_and_reports_sub_score_level_moves():
    import pyarrow as pa

    rng = np.random.default_rng(0)
    n = 2000
    score = rng.normal(620, 80, n)
    network = np.where(rng.random(n) < 0.3, 0.0, 2.9)
    champ = pa.table({"score": score, "points_network": network})
    # the same people, the score 60 points higher: fails
    up = pa.table({"score": score + 60, "points_network": network})
    moved = checks.stability(up, champ, GateRules())
    assert moved["status"] == "fail" and moved["values"]["psi"]["score"] > 0.25
    assert "PSI of the score against the champion" in moved["why"]
    # a narrow sub-score whose level moves by ~10 points: under the bin width, so said, not
    # failed (sub-scores are measured from each model's worst bin)
    shifted = pa.table({"score": score + 1, "points_network": network + 10.1})
    rec = checks.stability(shifted, champ, GateRules())
    assert rec["status"] == "pass" and "network moves +10.1 points" in rec["why"]
    assert rec["values"]["mean_shift_points"]["network"] == pytest.approx(10.1)
    assert checks.stability(shifted, None, GateRules())["status"] == "not_applicable"


def test_monotonicity_checks_the_promised_segment_order(bureau):
    """``train`` promises an established file never scores below a thin one on equal
    inputs; a model whose tables break that is refused by the monotonicity check."""
    from openbureau.features import build_features
    from openbureau.model import load

    root, models = bureau
    model = load(models["champion"])
    assert model.segment_order == "increasing"
    with Store(root / "store", read_only=True) as store:
        features = build_features(store, AS_OF)
    ok = checks.monotonicity(model, features)
    assert ok["status"] == "pass", ok
    assert ok["values"]["segment_order_checked"] is True
    assert "segment order thin < established" in ok["why"]
    later = model.segments_.index("established")
    model.intercept_ = model.intercept_.copy()
    model.intercept_[later] += 0.5  # the later segment's log-odds of default rise
    bad = checks.monotonicity(model, features)
    assert bad["status"] == "fail"
    assert "'established' can score below 'thin'" in bad["why"]
