"""End to end on a store: one contact's new recorded default moves any score by <= cap/k."""

from __future__ import annotations

import datetime as dt
import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
import pyarrow as pa
import pytest

from openbureau.features import build_features, feature_specs, training_set
from openbureau.ingest import ingest
from openbureau.model import FactorAdditiveClassifier
from openbureau.network import SEED_DEPENDENT, NetworkConfig
from openbureau.sim import simulate
from openbureau.store import Store
from test_features import put

CAP = 30.0
K = NetworkConfig().min_contacts  # the features' k and the model's k must agree
AS_OF = dt.date(2024, 12, 31)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("netbound")
    simulate(root / "sim", people=1500, months=24, seed=3)
    store = Store(root / "store")
    ingest([root / "sim"], store)
    data = training_set(store.con, [AS_OF])
    # Labels driven hard by contacts' defaults, so the fitted network shapes are steep and
    # the safeguards must bind (the simulator's own network effect is mild).
    rng = np.random.default_rng(0)
    walk = np.nan_to_num(data.column("network_walk_default_ratio").to_numpy(), nan=0.1)
    share = np.nan_to_num(data.column("network_default_share").to_numpy(), nan=0.0)
    y = (rng.random(data.num_rows) < 1 / (1 + np.exp(3.0 - 12 * walk - 4 * share))).astype(int)
    model = FactorAdditiveClassifier(
        list(feature_specs()),
        n_estimators=120,
        num_threads=1,
        network_cap=CAP,
        network_min_contacts=K,
        network_exposures=list(SEED_DEPENDENT),
    ).fit(data, y)
    assert model.network_bound_["one_contact_shrink"][0] < 1  # the bound binds
    yield store, model
    store.close()


def test_one_contacts_new_default_moves_every_score_by_at_most_cap_over_k(world):
    store, model = world
    before = build_features(store, AS_OF)
    scores = model.predict_score(before)
    contacts = before.column("network_contacts").to_numpy()
    shares = before.column("network_default_share").to_numpy()
    # a contact of someone with enough contacts, who has no recorded default yet
    edges = store.con.sql(
        "SELECT person_a, person_b FROM relationships "
        "WHERE consent_a AND consent_b AND since < DATE '2024-12-31'"
    ).fetchall()
    ids = before.column("person_id").to_pylist()
    index = {p: i for i, p in enumerate(ids)}
    target = None
    for a, b in edges:
        if a in index and b in index and contacts[index[a]] >= K and shares[index[a]] == 0:
            target = b
            break
    assert target is not None
    store.con.execute("BEGIN")
    try:
        put(store.con, "outcomes", [{"person_id": target, "event_date": AS_OF - dt.timedelta(30),
                                     "kind": "charge_off"}])  # fmt: skip
        after = build_features(store, AS_OF)
    finally:
        store.con.execute("ROLLBACK")
    moved = np.abs(model.predict_score(after) - scores)
    assert after.column("person_id").to_pylist() == ids
    assert moved.max() <= CAP / K + 1e-9
    assert moved.max() > 0  # the contact's default did reach someone
    assert moved[index[target]] == 0  # never the person's own score (out of fold)
    changed = pa.array(moved > 0)
    assert before.filter(changed).num_rows >= 1
