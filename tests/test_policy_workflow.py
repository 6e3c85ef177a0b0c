"""Policy packs in training and scoring: forbidden factors never reach a score."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from openbureau.features import build_features as real_build_features
from openbureau.features import catalog_version, feature_specs
from openbureau.ingest import ingest
from openbureau.model import FactorAdditiveClassifier
from openbureau.model.synthetic import make_population
from openbureau.policy import PolicyError, apply_policy, check_model, load_pack
from openbureau.sim import simulate
from openbureau.store import Store
from openbureau.workflow import score_store, train_from_store
from test_policy_pack import PACKS

AS_OF = dt.date(2024, 12, 31)
SCORE_AS_OF = dt.date(2025, 12, 31)
FAST = {"n_estimators": 60}


def no_identity_pack(tmp_path, max_reasons=2):
    """A test pack that forbids the identity factor (the catalog has identity features
    today, so the store-level path runs before network features land) and, like eu, lets
    public records count for 3 years."""
    data = yaml.safe_load((PACKS / "us.yaml").read_text(encoding="utf-8"))
    data["name"] = "noid"
    data["public_record_expiry_years"] = 3
    data["allowed_factors"] = ["history", "behavior", "capacity", "network"]
    data["forbidden_factors"] = {"identity": {"cite": "Test Act s. 1", "why": "a test rule"}}
    data["adverse_action"]["max_reasons"] = max_reasons
    path = tmp_path / "noid.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("policy")
    simulate(root / "sim", people=1500, months=24, seed=5)
    with Store(root / "store") as db:
        assert ingest([root / "sim"], db).clean
    return root


@pytest.fixture(scope="module")
def models(store, tmp_path_factory):
    pack = no_identity_pack(tmp_path_factory.mktemp("pack"))
    reports = {
        name: train_from_store(
            store / "store",
            AS_OF,
            store / f"model_{name}",
            seed=1,
            policy=policy,
            model_params=FAST,
        )
        for name, policy in (("us", None), ("noid", pack))
    }
    return store, reports, pack


def test_training_drops_forbidden_features_and_records_the_pack(models):
    root, reports, _ = models
    identity = [s.name for s in feature_specs() if s.factor == "identity"]
    noid = reports["noid"]
    assert noid.policy == "noid" and noid.dropped_factors == {"identity": len(identity)}
    assert noid.policy_message == (
        f"policy noid forbids the identity factor (Test Act s. 1): dropped {len(identity)} features"
    )
    assert noid.policy_message in str(noid)
    manifest = json.loads((root / "model_noid" / "artifact.json").read_text())
    assert not {f["name"] for f in manifest["features"]} & set(identity)
    assert manifest["policy"]["pack"]["name"] == "noid"
    assert manifest["policy"]["pack"]["digest"] == noid.policy_digest
    assert manifest["policy"]["decision"]["dropped_features"] == identity
    card = json.loads((root / "model_noid" / "model_card.json").read_text())
    assert card["policy"]["decision"]["dropped_factors"] == {"identity": len(identity)}
    assert "## Jurisdiction policy" in (root / "model_noid" / "model_card.md").read_text()
    # the default pack is us, recorded, and keeps every feature
    us = json.loads((root / "model_us" / "artifact.json").read_text())
    assert us["policy"]["pack"]["name"] == "us"
    assert len(us["features"]) == len(feature_specs())
    assert us["catalog_version"] == catalog_version(load_pack("us").feature_params())
    if "network_cap" in us["params"]:  # the model bounds the network factor itself
        assert us["params"]["network_cap"] == 40.0 and us["params"]["network_min_contacts"] == 5


def test_the_pack_expiry_enters_the_catalog_version(models):
    root, _, pack = models
    noid = json.loads((root / "model_noid" / "artifact.json").read_text())
    assert noid["catalog_version"] == catalog_version(load_pack(pack).feature_params())
    assert noid["catalog_version"] != catalog_version(load_pack("us").feature_params())


def test_scoring_defaults_to_the_training_pack_and_names_it(models, tmp_path):
    root, _, _ = models
    root, _, pack = models
    out = tmp_path / "noid.parquet"
    report = score_store(root / "store", root / "model_noid", SCORE_AS_OF, out)
    table = pq.read_table(out)
    assert report.policy == "noid" and "under policy noid" in str(report)
    assert set(table.column("policy").to_pylist()) == {"noid"}
    assert set(table.column("policy_digest").to_pylist()) == {load_pack(pack).digest}


def test_scoring_under_a_pack_with_another_expiry_is_refused(models, tmp_path):
    root, _, _ = models
    with pytest.raises(
        ValueError,
        match=r"trained under policy noid \(public records expire after 3 years\), "
        r"but policy us sets 7 years: retrain it with --policy us",
    ):
        score_store(
            root / "store", root / "model_noid", SCORE_AS_OF, tmp_path / "x.parquet", policy="us"
        )


def test_scoring_a_model_that_uses_a_forbidden_factor_is_refused(models, tmp_path):
    root, _, pack = models
    out = tmp_path / "x.parquet"
    with pytest.raises(
        PolicyError, match=r"policy noid forbids the identity factor \(Test Act s\. 1\)"
    ):
        score_store(root / "store", root / "model_us", SCORE_AS_OF, out, policy=pack)
    assert not out.exists()


def test_forbidden_inputs_cannot_change_a_score_or_its_hash(models, tmp_path, monkeypatch):
    root, _, pack = models
    first = tmp_path / "first.parquet"
    score_store(root / "store", root / "model_noid", SCORE_AS_OF, first, policy=pack)
    identity = [s.name for s in feature_specs() if s.factor == "identity"]

    def scrambled(*args, **kwargs):
        table = real_build_features(*args, **kwargs)
        rng = np.random.default_rng(0)
        for name in identity:
            i = table.column_names.index(name)
            noise = rng.normal(0, 1e6, table.num_rows)
            table = table.set_column(
                i, name, pa.array(noise).cast(table.schema.field(name).type, safe=False)
            )
        return table

    monkeypatch.setattr("openbureau.features.build_features", scrambled)
    second = tmp_path / "second.parquet"
    score_store(root / "store", root / "model_noid", SCORE_AS_OF, second, policy=pack)
    a, b = pq.read_table(first), pq.read_table(second)
    assert a.equals(b)  # scores, sub-scores, reasons and input hashes: bit for bit
    # and the scramble does reach the features (so the test could fail)
    with Store(root / "store", read_only=True) as db:
        plain = real_build_features(db.con, SCORE_AS_OF)
        noisy = scrambled(db.con, SCORE_AS_OF)
    assert plain.column(identity[0]).to_pylist() != noisy.column(identity[0]).to_pylist()


def test_scores_state_at_most_the_packs_number_of_reasons(models, tmp_path):
    root, _, pack = models
    out = tmp_path / "noid.parquet"
    score_store(root / "store", root / "model_noid", SCORE_AS_OF, out, policy=pack)
    reasons = {c for c in pq.read_table(out).column_names if c.startswith("reason_")}
    assert reasons == {f"reason_{k}{s}" for k in (1, 2) for s in ("", "_text", "_points")}


def test_synthetic_model_network_inputs_are_dropped_under_eu():
    pop = make_population(n=3000, n_features=10, seed=2)
    network = [m.name for m in pop.features if m.factor == "network"]
    assert network  # the synthetic population has network features
    decision = apply_policy(pop.features, load_pack("eu"))
    assert [d.name for d in decision.dropped] == network
    model = FactorAdditiveClassifier(list(decision.kept), random_state=0, **FAST).fit(
        pop.table, pop.y
    )
    check_model(load_pack("eu"), model.feature_metas)
    before = model.score_breakdown(pop.table)
    shuffled = pop.table
    rng = np.random.default_rng(1)
    for name in network:
        i = shuffled.column_names.index(name)
        shuffled = shuffled.set_column(i, name, pa.array(rng.normal(0, 1e3, pop.table.num_rows)))
    after = model.score_breakdown(shuffled)
    assert np.array_equal(before.score, after.score)
    assert np.array_equal(before.subscores, after.subscores)
    assert not after.subscores[:, 4].any()  # the network sub-score is exactly 0 points

    full = FactorAdditiveClassifier(pop.features, random_state=0, **FAST).fit(pop.table, pop.y)
    with pytest.raises(PolicyError, match="policy eu forbids the network factor"):
        check_model(load_pack("eu"), full.feature_metas, model_id="full")
