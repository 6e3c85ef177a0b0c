"""Drift monitoring end to end: a simulated population scored again is quiet; drift injected
into the simulator's files before ingest (incomes halved, employment records removed for a
quarter of people, extra defaults after as_of) is flagged by name, through the library, the
CLI (exit code 4) and the service's drift page (SQLite and PostgreSQL), and in Chromium."""

# ruff: noqa: F811 (the session fixtures are imported by name, then requested)
from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from conftest_service import (  # noqa: F401
    ADMIN,
    TRAIN_AS_OF,
    bureau_data,
    database_url,
    fresh_database,
)
from openbureau.cli import app
from openbureau.features import build_features
from openbureau.ingest import ingest
from openbureau.monitor.drift import (
    NO_FEATURE_BINS,
    Development,
    align_features,
    compare,
    monitor_files,
    read_scores,
    run_monitor,
)
from openbureau.monitor.reference import csi, feature_bins, missing_share
from openbureau.monitor.thresholds import Thresholds
from openbureau.store import Store
from openbureau.workflow import score_store
from openbureau.workflow.score import prepare_scoring

EXTRA_DEFAULT = dt.date(2025, 3, 15)  # inside the 12-month horizon after TRAIN_AS_OF
EMPLOYMENT_INPUTS = ("employment_tenure_months", "unemployed")


def _features(store: Path, model: Path, out: Path) -> Path:
    """The scored people's features as ``rescore`` writes them (the model's pack's
    parameters, every column: monitoring drops the forbidden ones itself)."""
    _, pack = prepare_scoring(model)
    with Store(store, read_only=True) as db:
        pq.write_table(build_features(db.con, TRAIN_AS_OF, params=pack.feature_params()), out)
    return out


@pytest.fixture(scope="module")
def development(bureau_data, tmp_path_factory):
    """The development population scored again (same store, the training as_of)."""
    root = tmp_path_factory.mktemp("monitor-dev")
    score_store(bureau_data.store, bureau_data.model, TRAIN_AS_OF, root / "scores.parquet")
    return root / "scores.parquet", _features(
        bureau_data.store, bureau_data.model, root / "features.parquet"
    )


def _rewrite(folder: Path, change) -> None:
    for part in sorted(folder.glob("*.parquet")):
        pq.write_table(change(pq.read_table(part)), part)


@pytest.fixture(scope="module")
def drifted(bureau_data, tmp_path_factory):
    """The same simulated people with drift injected into the simulator's files, ingested
    into a store of their own and scored at the training as_of with the same model."""
    root = tmp_path_factory.mktemp("monitor-drift")
    sim = root / "sim"
    shutil.copytree(bureau_data.root / "sim", sim)
    people = sorted(pq.read_table(sim / "people", columns=["person_id"]).column(0).to_pylist())
    blanked = pa.array(people[::4])

    def halve(t: pa.Table) -> pa.Table:
        i = t.schema.get_field_index("monthly_income")
        return t.set_column(i, t.schema.field(i), pc.multiply(t.column(i), 0.5))

    _rewrite(sim / "incomes", halve)
    _rewrite(sim / "employment", lambda t: t.filter(pc.invert(pc.is_in(t["person_id"], blanked))))
    outcomes = pq.read_table(sim / "outcomes")
    have = set(outcomes.column("person_id").to_pylist())
    extra = [p for p in people[2::5] if p not in have]
    rows = pa.table(
        {
            "person_id": extra,
            "event_date": [EXTRA_DEFAULT] * len(extra),
            "kind": ["default_90dpd"] * len(extra),
            "account_id": pa.array([None] * len(extra), pa.string()),
        }
    ).cast(outcomes.schema)
    pq.write_table(rows, sim / "outcomes" / "part-extra.parquet")
    with Store(root / "store") as store:
        assert ingest([sim], store).clean
    score_store(root / "store", bureau_data.model, TRAIN_AS_OF, root / "scores.parquet")
    features = _features(root / "store", bureau_data.model, root / "features.parquet")
    return root, root / "scores.parquet", features, set(blanked.to_pylist())


def _flags(result: dict, metric: str) -> dict[str, dict]:
    return {f["subject"]: f for f in result["flags"] if f["metric"] == metric}


def test_scoring_the_development_population_again_is_not_flagged(
    bureau_data,
    development,
    tmp_path,
):
    scores, _ = development
    result = run_monitor(bureau_data.model, scores, tmp_path, store=bureau_data.store)
    assert result["status"] == "ok" and result["exit_code"] == 0, result["flags"]
    assert result["flags"] == []
    assert result["stability"]["score"]["psi"] < 0.05
    rows = result["inputs"]["features"]
    dev = Development.load(bureau_data.model)
    assert result["inputs"]["available"] and {r["name"] for r in rows} == set(dev.feature_bins)
    assert max(r["csi"] for r in rows) < 0.10
    assert result["inputs"]["input_hash_mismatches"] == 0  # exactly the inputs scored
    assert [r["csi"] for r in rows] == sorted((r["csi"] for r in rows), reverse=True)
    assert json.loads((tmp_path / "monitor.json").read_text()) == result
    page = (tmp_path / "monitor.html").read_text()
    assert 'data-status="ok"' in page and 'id="no-flags"' in page
    assert "http://" not in page and "https://" not in page  # no CDN: viewable offline


def test_drift_injected_at_the_store_is_flagged_naming_inputs_and_factor(
    bureau_data,
    drifted,
    tmp_path,
):
    root, scores, features, _ = drifted
    result = run_monitor(bureau_data.model, scores, tmp_path, store=root / "store")
    from_file = monitor_files(bureau_data.model, scores, features=features)
    assert from_file["inputs"] == result["inputs"] and from_file["flags"] == result["flags"]
    assert result["status"] == "alert" and result["exit_code"] == 4
    csi_flags, psi_flags = _flags(result, "csi"), _flags(result, "psi")
    assert csi_flags["monthly_income"]["level"] == "alert"
    assert "monthly_income (capacity)" in csi_flags["monthly_income"]["message"]
    assert {"debt_to_income", "savings_to_income"} <= set(csi_flags)  # derived from income
    assert "capacity" in psi_flags  # the factor incomes feed
    assert "identity" in psi_flags  # the factor employment feeds
    # nothing was changed in repayment histories: neither the factor nor its inputs move
    dev = Development.load(bureau_data.model)
    history = {n for n, f in dev.factor_of.items() if f == "history"}
    assert "history" not in psi_flags and not history & set(csi_flags)
    page = (tmp_path / "monitor.html").read_text()
    assert 'data-status="alert"' in page
    first_flag = page.index('id="flags"')
    assert first_flag < page.index('id="psi"') < page.index('id="csi"')  # flags come first
    assert page.index('data-feature="monthly_income"') < page.index('data-feature="max_dpd_3m"')


def test_blanked_employment_records_raise_the_missing_rate_flag(
    bureau_data,
    development,
    drifted,
    tmp_path,
):
    _, scores, features, blanked = drifted
    result = monitor_files(bureau_data.model, scores, features=features)
    missing = _flags(result, "missing_rate")
    assert set(EMPLOYMENT_INPUTS) <= set(missing)
    # the change is the share of people who had an employment record and lost it
    before = pq.read_table(development[1])
    had = pc.invert(pc.is_nan(before.column("employment_tenure_months")))
    lost = pc.and_(had, pc.is_in(before.column("person_id"), pa.array(sorted(blanked))))
    expected_points = 100 * pc.sum(lost).as_py() / before.num_rows
    row = {r["name"]: r for r in result["inputs"]["features"]}["employment_tenure_months"]
    now = missing_share(pq.read_table(features).column("employment_tenure_months"))
    assert row["now_missing"] == pytest.approx(now)
    assert row["now_missing"] - missing_share(before.column("employment_tenure_months")) == (
        pytest.approx(expected_points / 100)
    )
    assert missing["employment_tenure_months"]["level"] == "alert" and expected_points > 10
    assert "monthly_income" not in missing  # incomes were halved, not removed


def _scored_labels(scores: Path, outcomes: Path, horizon_end: dt.date) -> tuple[int, int]:
    """(people at risk, defaults) counted from the simulator's outcome files directly."""
    people = set(pq.read_table(scores, columns=["person_id"]).column(0).to_pylist())
    rows = pq.read_table(outcomes).to_pylist()
    before = {r["person_id"] for r in rows if r["event_date"] < TRAIN_AS_OF}
    hits = {r["person_id"] for r in rows if TRAIN_AS_OF <= r["event_date"] < horizon_end}
    at_risk = people - before
    return len(at_risk), len(hits & at_risk)


def test_default_rates_by_band_once_outcomes_exist(bureau_data, development, drifted, tmp_path):
    scores, features = development
    calm = monitor_files(
        bureau_data.model,
        scores,
        features=features,
        store=bureau_data.store,
        outcomes=True,
    )
    o = calm["outcomes"]
    assert o["available"] and o["elapsed_share"] == 1.0 and o["elapsed_months"] == 12.0
    at_risk, defaults = _scored_labels(
        scores, bureau_data.root / "sim" / "outcomes", dt.date(2025, 12, 31)
    )
    assert (o["people_at_risk"], o["defaults"]) == (at_risk, defaults) and defaults > 0
    assert sum(b["people"] for b in o["bands"]) == at_risk
    assert sum(b["defaults"] for b in o["bands"]) == defaults
    assert calm["status"] == "ok", calm["flags"]  # the model is calibrated on its own sample
    lows = [b["observed_rate"] for b in o["bands"][:3]]
    highs = [b["observed_rate"] for b in o["bands"][-2:]]
    assert min(lows) > max(highs)  # low bands default more

    root, d_scores, d_features, _ = drifted
    shifted = run_monitor(
        bureau_data.model,
        d_scores,
        tmp_path / "b",
        features=d_features,
        store=root / "store",
        outcomes=True,
    )
    bands = _flags(shifted, "default_rate")
    assert bands and all(f["value"] > f["threshold"] for f in bands.values())
    assert all("more than the model's PD allows" in f["message"] for f in bands.values())
    page = (tmp_path / "b" / "monitor.html").read_text()
    assert 'id="bands"' in page and "12.0 of 12 months" in page


def test_before_the_horizon_starts_there_are_no_outcomes_yet(
    bureau_data,
    development,
    tmp_path,
):
    scores, features = development
    result = monitor_files(
        bureau_data.model,
        scores,
        features=features,
        store=bureau_data.store,
        outcomes=True,
        observed_until=TRAIN_AS_OF - dt.timedelta(days=1),
    )
    o = result["outcomes"]
    assert not o["available"] and o["elapsed_share"] == 0 and o["bands"] == []
    assert o["reason"].startswith("no outcomes yet")


def test_an_old_model_folder_without_feature_bins_says_csi_unavailable(
    bureau_data,
    development,
    tmp_path,
):
    old = tmp_path / "old-model"
    shutil.copytree(bureau_data.model, old)
    dev_file = old / "evaluation" / "development.json"
    dev = json.loads(dev_file.read_text())
    del dev["feature_bins"], dev["missing_rates"]
    dev_file.write_text(json.dumps(dev))
    scores, features = development
    result = run_monitor(old, scores, tmp_path / "out", features=features)
    assert result["status"] == "ok"  # not an error: score and factor PSI still work
    assert not result["inputs"]["available"] and result["inputs"]["reason"] == NO_FEATURE_BINS
    assert set(result["inputs"]["missing_now"]) == set(Development.load(old).factor_of)
    assert "CSI unavailable" in (tmp_path / "out" / "monitor.html").read_text()


def test_thresholds_are_configurable_and_checked(bureau_data, drifted):
    _, scores_path, features_path, _ = drifted
    dev = Development.load(bureau_data.model)
    scores = read_scores(scores_path, list(dev.factor_bins))
    features = align_features(scores, pq.read_table(features_path), "features")
    quiet = dict(psi_warn=5, psi_alert=9, csi_warn=5, csi_alert=9, missing_warn=50)
    result = compare(dev, scores, features, thresholds=Thresholds(**quiet, missing_alert=90))
    assert result["status"] == "ok" and result["thresholds"]["csi_alert"] == 9
    warn_only = {**quiet, "csi_warn": 0.001, "csi_alert": 10}
    result = compare(dev, scores, features, thresholds=Thresholds(**warn_only, missing_alert=90))
    assert result["status"] == "warn" and result["exit_code"] == 0
    assert {f["metric"] for f in result["flags"]} == {"csi"}
    with pytest.raises(ValueError, match=r"psi_warn \(0.3\) must not exceed psi_alert"):
        Thresholds(psi_warn=0.3, psi_alert=0.2)
    with pytest.raises(TypeError, match="csi_warn must be a number"):
        Thresholds(csi_warn="0.1")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="band_confidence must be below 1"):
        Thresholds(band_confidence=1.0)
    with pytest.raises(ValueError, match="missing_alert must be a positive number"):
        Thresholds(missing_alert=-1)


def test_csi_bins_keep_zeros_apart_and_count_missing_and_unseen_values():
    counts = pa.array([0.0] * 90 + [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, None])
    ref = feature_bins("late", counts)
    assert ref.edges[0] == 0.0 and ref.expected[0] == pytest.approx(0.9)
    assert ref.missing == pytest.approx(0.01)
    assert csi(ref, counts) == pytest.approx(0.0, abs=1e-12)
    # everyone one late payment more: the zeros bin empties and CSI shows it
    assert csi(ref, pc.add(counts, 1.0)) > 1.0
    seg = feature_bins("segment", pa.array(["thin"] * 30 + ["established"] * 70))
    assert seg.kind == "categorical" and seg.categories == ("established", "thin")
    shares = seg.shares(pa.array(["thin", "new", None, "established"]))
    assert list(shares) == [0.25, 0.25, 0.25, 0.25]  # established, thin, unseen, missing
    with pytest.raises(ValueError, match="n_bins must be at least 2"):
        feature_bins("x", counts, n_bins=1)
    with pytest.raises(TypeError, match="n_bins must be an int"):
        feature_bins("x", counts, n_bins=2.5)  # type: ignore[arg-type]


def test_cli_exit_codes_and_outputs(bureau_data, development, drifted, tmp_path):
    runner = CliRunner()
    scores, features = development
    args = ["monitor", "--model", str(bureau_data.model)]
    ok = runner.invoke(
        app,
        [*args, "--scores", str(scores), "--features", str(features), "--out", str(tmp_path / "a")],
    )
    assert ok.exit_code == 0, ok.output
    assert "status ok" in ok.output and (tmp_path / "a" / "monitor.html").is_file()
    _, d_scores, d_features, _ = drifted
    alert = runner.invoke(
        app,
        [
            *args,
            "--scores",
            str(d_scores),
            "--features",
            str(d_features),
            "--out",
            str(tmp_path / "b"),
            "--json",
        ],
    )
    assert alert.exit_code == 4, alert.output
    body = json.loads(alert.stdout)
    assert body["status"] == "alert" and body == json.loads(
        (tmp_path / "b" / "monitor.json").read_text()
    )
    missing = runner.invoke(
        app, [*args, "--scores", str(tmp_path / "nope.parquet"), "--out", str(tmp_path / "c")]
    )
    assert missing.exit_code == 2 and "nope.parquet does not exist" in missing.output
    bad = runner.invoke(
        app, [*args, "--scores", str(scores), "--out", str(tmp_path / "d"), "--psi-warn", "0.5"]
    )
    assert bad.exit_code == 2 and "psi_warn (0.5) must not exceed psi_alert" in bad.output
    no_features = runner.invoke(
        app, [*args, "--scores", str(scores), "--out", str(tmp_path / "e"), "--json"]
    )
    assert no_features.exit_code == 0
    assert "give --features" in json.loads(no_features.stdout)["inputs"]["reason"]


@pytest.fixture(scope="module")
def service(database_url, bureau_data):
    from openbureau.service import Settings, create_app

    app = create_app(Settings(database_url=database_url, admin_key="admin-secret"))
    with TestClient(app) as client:
        r = client.post(
            "/admin/score-versions",
            json={
                "scores": str(bureau_data.scores),
                "model": str(bureau_data.model),
                "store": str(bureau_data.store),
            },
            headers=ADMIN,
        )
        assert r.status_code == 201, r.text
        yield client


def test_the_drift_page_renders_in_the_service(service, bureau_data, tmp_path):
    shell = service.get("/analyst/monitor")
    assert shell.status_code == 200 and "/web/monitor.js" in shell.text
    assert service.get("/web/monitor.js").status_code == 200
    assert service.get("/analyst/monitor/report").status_code == 401
    assert service.get("/analyst/monitor.json", headers={"X-Admin-Key": "wrong"}).status_code == 401
    page = service.get("/analyst/monitor/report", headers=ADMIN)
    assert page.status_code == 200 and "Drift monitor" in page.text
    found = service.get("/analyst/monitor.json", headers=ADMIN).json()
    assert page.headers["X-Monitor-Status"] == found["status"]
    assert f'data-status="{found["status"]}"' in page.text
    # the same numbers as the CLI computes from the scores file and the store
    cli = monitor_files(bureau_data.model, bureau_data.scores, store=bureau_data.store)
    assert found["population"]["people"] == cli["population"]["people"]
    assert found["stability"]["score"]["psi"] == pytest.approx(cli["stability"]["score"]["psi"])
    db_csi = {r["name"]: r["csi"] for r in found["inputs"]["features"]}
    cli_csi = {r["name"]: r["csi"] for r in cli["inputs"]["features"]}
    assert db_csi == pytest.approx(cli_csi, abs=1e-9)
    assert [f["subject"] for f in found["flags"] if f["metric"] != "default_rate"] == [
        f["subject"] for f in cli["flags"]
    ]


def test_features_that_are_not_the_scored_inputs_are_flagged(bureau_data, development, tmp_path):
    scores, features = development
    table = pq.read_table(features)
    i = table.schema.get_field_index("monthly_income")
    changed = pc.if_else(
        pa.array([k < 10 for k in range(table.num_rows)]),
        pc.add(table.column(i), 1.0),
        table.column(i),
    )
    pq.write_table(table.set_column(i, "monthly_income", changed), tmp_path / "other.parquet")
    result = monitor_files(bureau_data.model, scores, features=tmp_path / "other.parquet")
    flag = _flags(result, "input_hash")["features"]
    assert flag["level"] == "warn" and "do not reproduce" in flag["message"]
    unknown = pc.sum(pc.is_nan(table.column(i).slice(0, 10))).as_py()  # NaN + 1 is NaN
    assert result["inputs"]["input_hash_mismatches"] == 10 - unknown > 0


@pytest.mark.slow
def test_the_drift_page_in_chromium(bureau_data, tmp_path):
    """The analyst signs in with the admin key and sees the drift page in its frame."""
    from openbureau.service import Settings, create_app
    from web_support import ADMIN_KEY, chromium, running, screenshot

    gen = fresh_database("sqlite", tmp_path)
    url = next(gen)
    app = create_app(Settings(database_url=url, admin_key=ADMIN_KEY))
    with TestClient(app) as client:
        r = client.post(
            "/admin/score-versions",
            json={"scores": str(bureau_data.scores), "model": str(bureau_data.model)},
            headers=ADMIN,
        )
        assert r.status_code == 201, r.text
    with running(app) as base, chromium() as browser:
        page = browser.new_context(viewport={"width": 1200, "height": 1000}).new_page()
        page.goto(f"{base}/analyst/monitor")
        page.fill("#admin-key", ADMIN_KEY)
        page.click("#monitor-go")
        page.wait_for_selector("#monitor:not([hidden])", timeout=120_000)
        status = page.text_content("#monitor-status")
        frame = page.frame_locator("#monitor")
        shown = frame.locator("#status").get_attribute("data-status")
        assert shown in ("ok", "warn", "alert") and f"status {shown}" in status
        # published without a store: the page says why CSI is missing instead of failing
        assert "without feature snapshots" in frame.locator("#csi-unavailable").inner_text()
        screenshot(page, tmp_path, "analyst-drift-monitor")
    gen.close()
