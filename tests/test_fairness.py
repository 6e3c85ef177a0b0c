"""The fairness audit on hand-made data (answers known by arithmetic), and the simulator's
audit-only table: written apart, never ingested, refused by the contract anywhere else."""

from __future__ import annotations

import math
import shutil

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from openbureau.contract import prohibited_category
from openbureau.features import feature_names
from openbureau.ingest import ingest
from openbureau.ingest.discover import discover
from openbureau.release import FairnessRules, Tolerance, audit_fairness, read_audit_groups
from openbureau.sim import simulate
from openbureau.sim.audit import AGE_BANDS, ETHNIC_GROUPS, SEXES
from openbureau.store import Store


def _people(group: str, n: int, high: int, defaults: int, start: int) -> dict[str, list]:
    """n people of ``group``: ``high`` of them score 700, the rest 500; all predicted 10%."""
    ids = [f"P{start + i:05d}" for i in range(n)]
    return {
        "person_id": ids,
        "group": [group] * n,
        "score": [700.0] * high + [500.0] * (n - high),
        "pd": [0.1] * n,
        "label": [1] * defaults + [0] * (n - defaults),
    }


def _tables(*parts: dict[str, list]) -> tuple[pa.Table, pa.Table]:
    merged = {k: [v for p in parts for v in p[k]] for k in parts[0]}
    scores = pa.table({k: merged[k] for k in ("person_id", "score", "pd", "label")})
    groups = pa.table({"person_id": merged["person_id"], "ethnic_group": merged["group"]})
    return scores, groups


@pytest.fixture(scope="module")
def unfair():
    # A: 200 people, 120 approved at 600/650/700 (60%), 20 defaults (10%, as predicted)
    # B: 200 people, 60 approved (30%), 60 defaults (30% against 10% predicted)
    # C: 10 people: too small to test
    scores, groups = _tables(
        _people("A", 200, 120, 20, 0), _people("B", 200, 60, 60, 1000), _people("C", 10, 5, 1, 2000)
    )
    return audit_fairness(scores, groups)


def test_adverse_impact_ratio_is_the_approval_rate_ratio_and_fails_when_significant(unfair):
    rows = [r for r in unfair["air"] if r["group"] == "B"]
    assert [r["threshold"] for r in rows] == [600.0, 650.0, 700.0, 750.0]
    tested = [r for r in rows if r["threshold"] <= 700]
    for r in tested:
        assert r["reference"] == "A" and r["rate"] == 0.3 and r["reference_rate"] == 0.6
        assert r["ratio"] == pytest.approx(0.5)
        pooled = 180 / 400
        z = 0.3 / math.sqrt(pooled * (1 - pooled) * (2 / 200))
        assert r["z"] == pytest.approx(z)
        assert r["status"] == "fail" and "adverse impact ratio 0.500" in r["why"]
    # three ratios were tested, so the gap must pass Bonferroni's z at 0.05 / 3
    assert unfair["air_z"] == pytest.approx(2.128, abs=1e-3)
    # nobody reaches 750: nothing to compare
    (at_750,) = [r for r in rows if r["threshold"] == 750]
    assert at_750["status"] == "not_tested" and at_750["ratio"] is None


def test_cohens_d_against_the_largest_group(unfair):
    (row,) = unfair["smd"]
    assert (row["group"], row["reference"]) == ("B", "A")
    var_a = 0.6 * 0.4 * 200**2 * 200 / 199  # sample variance of 120 x 700 and 80 x 500
    var_b = 0.3 * 0.7 * 200**2 * 200 / 199
    d = (560 - 620) / math.sqrt((var_a + var_b) / 2)
    assert row["d"] == pytest.approx(d) and row["d"] == pytest.approx(-0.6309, abs=1e-4)
    assert row["status"] == "fail"


def test_calibration_within_groups_uses_the_band_tolerance(unfair):
    rows = {r["group"]: r for r in unfair["calibration"]}
    assert rows["A"]["observed"] == pytest.approx(0.1) and rows["A"]["status"] == "pass"
    assert rows["B"]["observed"] == pytest.approx(0.3) and rows["B"]["status"] == "fail"
    assert rows["B"]["tolerance"] == pytest.approx(max(0.02, 3 * math.sqrt(0.09 / 200)))


def test_small_groups_are_reported_not_tested_and_failures_are_sentences(unfair):
    sizes = {g["group"]: g for g in unfair["groups"]}
    assert sizes["C"]["people"] == 10 and not sizes["C"]["tested"]
    assert "too small" in sizes["C"]["why"]
    assert all(r["group"] != "C" for r in unfair["air"] + unfair["smd"] + unfair["calibration"])
    assert not unfair["passed"]
    assert len(unfair["failures"]) == 3 + 1 + 1  # three ratios, d, calibration of B
    assert all(isinstance(s, str) and "ethnic_group=B" in s for s in unfair["failures"])


def test_a_ratio_below_four_fifths_on_a_small_group_only_warns():
    # A: 50% approved of 200; D: 23 of 60 (38.3%): ratio 0.767, z 1.59 below the one-sided
    # 5% level 1.645 (one ratio tested)
    scores, groups = _tables(_people("A", 200, 100, 20, 0), _people("D", 60, 23, 6, 1000))
    rep = audit_fairness(scores, groups, FairnessRules(thresholds=(600,), max_smd=5.0))
    (row,) = rep["air"]
    assert row["ratio"] == pytest.approx(23 / 60 / 0.5)
    assert rep["air_z"] == pytest.approx(1.645, abs=1e-3)
    assert row["z"] == pytest.approx(1.587, abs=1e-3)
    assert row["status"] == "warn" and rep["warnings"] == [row["why"]]
    assert rep["passed"]


def test_equal_groups_pass():
    scores, groups = _tables(_people("A", 100, 50, 10, 0), _people("B", 100, 50, 10, 1000))
    rep = audit_fairness(scores, groups)
    assert rep["passed"] and not rep["failures"] and not rep["warnings"]
    assert all(r["ratio"] == 1.0 for r in rep["air"] if r["ratio"] is not None)


def test_bad_input_is_named(tmp_path):
    scores, groups = _tables(_people("A", 60, 30, 6, 0))
    with pytest.raises(ValueError, match="no person_id column"):
        audit_fairness(scores, groups.drop_columns(["person_id"]))
    dup = pa.table({"person_id": ["P1", "P1"], "sex": ["female", "male"]})
    with pytest.raises(ValueError, match="person_id 'P1' appears more than once"):
        audit_fairness(scores, dup)
    with pytest.raises(ValueError, match="no scored person appears in the audit table"):
        audit_fairness(scores, pa.table({"person_id": ["X"], "sex": ["female"]}))
    with pytest.raises(TypeError, match="min_group must be an int"):
        FairnessRules(min_group=2.5)
    with pytest.raises(ValueError, match="min_air must be between 0 and 1"):
        FairnessRules(min_air=1.5)
    with pytest.raises(ValueError, match="threshold must be between 350 and 950"):
        FairnessRules(thresholds=(300,))
    with pytest.raises(ValueError, match="calibration z"):
        Tolerance(z=-1)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_audit_groups(tmp_path / "nope.parquet")


# --- the simulator's audit-only table ------------------------------------------------------


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    root = tmp_path_factory.mktemp("audit-sim")
    simulate(root / "sim", people=1100, months=24, seed=4, chunk_size=1000)
    return root


def test_the_simulator_writes_one_audit_row_per_person_apart_from_the_tables(sim):
    audit = read_audit_groups(sim / "sim" / "_audit")
    people = pq.read_table(sim / "sim" / "people")
    assert sorted(audit.column("person_id").to_pylist()) == sorted(
        people.column("person_id").to_pylist()
    )
    assert audit.column_names == ["person_id", "sex", "age_band", "ethnic_group"]
    assert set(audit.column("sex").to_pylist()) == set(SEXES)
    assert set(audit.column("age_band").to_pylist()) <= set(AGE_BANDS)
    assert set(audit.column("ethnic_group").to_pylist()) == set(ETHNIC_GROUPS)
    # two parts (chunks of 1,000); the same seed in one chunk gives the same groups
    assert len(list((sim / "sim" / "_audit").glob("part-*.parquet"))) == 2
    simulate(sim / "one", people=1100, months=24, seed=4, chunk_size=5000)
    assert read_audit_groups(sim / "one" / "_audit").equals(audit)


def test_group_membership_follows_community_income_not_the_planted_risk(sim):
    audit = pq.read_table(sim / "sim" / "_audit").to_pandas()
    truth = pq.read_table(sim / "sim" / "_truth").to_pandas()
    d = audit.merge(truth, on="person_id")
    minority = d["ethnic_group"] == "group_b"
    # more common in poorer communities...
    by_comm = d.groupby("community").agg(b=("ethnic_group", lambda s: (s == "group_b").mean()),
                                         inc=("income", lambda s: np.log(s).mean()))  # fmt: skip
    assert np.corrcoef(by_comm["b"], by_comm["inc"])[0, 1] < -0.2
    # ...but within a community, membership carries no information on the planted risk
    resid = d["true_pd"] - d.groupby("community")["true_pd"].transform("mean")
    assert abs(resid[minority].mean() - resid[~minority].mean()) < 0.01
    assert 0.1 < minority.mean() < 0.4


def test_ingest_skips_the_audit_folder_and_the_catalog_never_reads_it(sim, tmp_path):
    found = discover([sim / "sim"])
    assert found and not any("_audit" in f.path.parts for f in found)
    with Store(tmp_path / "store") as store:
        report = ingest([sim / "sim"], store)
        assert report.clean
        columns = store.records("SELECT table_name, column_name FROM information_schema.columns")
    names = {r["column_name"].lower() for r in columns}
    assert not names & {"sex", "age_band", "ethnic_group"}
    assert not {"_audit", "audit"} & {r["table_name"].lower() for r in columns}
    for name in feature_names():
        assert prohibited_category(name) is None, name
        assert not {"sex", "ethnic", "age_band"} & set(name.split("_")), name


def test_the_audit_table_ingested_as_a_normal_table_is_refused(sim, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    part = next((sim / "sim" / "_audit").glob("part-*.parquet"))
    shutil.copy(part, folder / "people.parquet")
    only_sex = pq.read_table(part).select(["person_id", "sex"])
    pq.write_table(only_sex, folder / "people-sex.parquet")
    with Store(tmp_path / "store") as store:
        report = ingest([folder], store)
        refused = {f.path.name if hasattr(f.path, "name") else str(f.path): f for f in report.files}
        assert store.table_counts()["people"] == 0
    messages = [f.error_message for f in refused.values()]
    assert all(f.error_code == "prohibited_columns" for f in refused.values())
    assert any("'ethnic_group' carries ethnicity or race" in m for m in messages)
    assert all("'sex' carries sex or gender" in m for m in messages)
