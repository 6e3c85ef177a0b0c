"""The network features on a simulated store: the sparse engine (DuckDB reads, scipy walks)
and the relational engine (Ibis joins and group-bys) agree, consent and as_of are kept,
and build_features / training_set carry the columns."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator
from typing import Any

import ibis
import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openbureau.features import (
    CATALOG,
    FeatureParams,
    build_features,
    catalog_version,
    feature_names,
    training_set,
)
from openbureau.features.build import DATES, query, source_tables
from openbureau.ingest import ingest
from openbureau.network import FEATURES, NetworkConfig
from openbureau.network.relational import fold_of, network_table
from openbureau.network.store import network_frame
from openbureau.sim import simulate
from openbureau.store import Store
from test_features import put

# The simulator's outcomes fall after its own as_of (2024-12-31); these dates see some.
AS_OFS = (dt.date(2025, 5, 1), dt.date(2025, 9, 1))
CONFIG = NetworkConfig()


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    root = tmp_path_factory.mktemp("network")
    simulate(root / "sim", people=1500, months=24, seed=7, mean_contacts=8)
    s = Store(root / "store")
    assert ingest([root / "sim"], s).clean
    yield s
    s.close()


@pytest.fixture(scope="module")
def sparse(store: Store) -> pa.Table:
    return network_frame(store.con, AS_OFS, CONFIG)


def _relational(store: Store, config: NetworkConfig = CONFIG) -> pa.Table:
    backend = ibis.duckdb.from_connection(store.con)
    dates = ibis.memtable(pa.table({"as_of": pa.array(AS_OFS, pa.date32())}))
    return network_table(source_tables(backend), dates, config).to_pyarrow()


def _keyed(t: pa.Table) -> dict[tuple[str, dt.date], np.ndarray]:
    values = np.column_stack([t[name].to_numpy() for name in FEATURES])
    keys = zip(t["person_id"].to_pylist(), t["as_of"].to_pylist(), strict=True)
    return dict(zip(keys, values, strict=True))


def test_the_two_engines_agree(store: Store, sparse: pa.Table) -> None:
    rel = _keyed(_relational(store))
    sp = _keyed(sparse)
    assert set(rel) <= set(sp) and len(rel) > 1000
    got = np.array([sp[key] for key in rel])
    want = np.array(list(rel.values()))
    # the same bits: the walk's sums are of grid values and tenure sums whole days, so
    # DuckDB's hash aggregates and scipy's kernel add the same numbers in any order
    np.testing.assert_array_equal(got, want)
    # people without consented contacts: no relational row; sparse says 0 contacts, unknown
    rest = np.array([v for key, v in sp.items() if key not in rel])
    assert (rest[:, 0] == 0).all() and np.isnan(
        rest[:, FEATURES.index("network_tenure_months")]
    ).all()
    # and the store does hold recorded defaults that reach contacts
    share = got[:, FEATURES.index("network_default_share")]
    assert (share > 0).sum() > 20


def test_the_fold_is_the_same_md5_rule_in_sql_and_python(store: Store) -> None:
    ids = [r[0] for r in store.con.sql("SELECT person_id FROM people LIMIT 200").fetchall()]
    t = ibis.memtable({"person_id": ids})
    got = t.select(f=fold_of(t.person_id, 7)).to_pyarrow()["f"].to_pylist()
    want = [int(hashlib.md5(p.encode()).hexdigest()[:6], 16) % 7 for p in ids]
    assert got == want and len(set(want)) == 7


class _Rollback:
    def __init__(self, store: Store) -> None:
        self.con = store.con

    def __enter__(self) -> None:
        self.con.execute("BEGIN TRANSACTION")

    def __exit__(self, *exc: object) -> None:
        self.con.execute("ROLLBACK")


def _same(a: pa.Table, b: pa.Table) -> bool:
    return a.num_rows == b.num_rows and all(
        np.array_equal(a[c].to_numpy(), b[c].to_numpy(), equal_nan=True) for c in FEATURES
    )


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_unusable_relationships_and_future_outcomes_change_nothing(
    store: Store, sparse: pa.Table, data: st.DataObject
) -> None:
    as_of = data.draw(st.sampled_from(AS_OFS), label="as_of")
    people = sparse.filter(pa.compute.equal(sparse["as_of"], as_of))["person_id"].to_pylist()
    what = data.draw(st.sampled_from(["no consent a", "no consent b", "since on or after as_of",
                                      "outcome on or after as_of"]), label="what")  # fmt: skip
    rows: list[tuple[str, dict[str, Any]]] = []
    for _ in range(data.draw(st.integers(1, 4), label="rows")):
        a, b = sorted(data.draw(st.lists(st.sampled_from(people), min_size=2, max_size=2,
                                         unique=True), label="pair"))  # fmt: skip
        later = as_of + dt.timedelta(days=data.draw(st.integers(0, 300)))
        earlier = as_of - dt.timedelta(days=data.draw(st.integers(1, 300)))
        if what == "outcome on or after as_of":
            rows.append(("outcomes", {"person_id": a, "event_date": later, "kind": "charge_off"}))
            continue
        rel = {"person_a": a, "person_b": b, "kind": "family", "since": earlier,
               "consent_a": True, "consent_b": True, "interactions": 5}  # fmt: skip
        if what == "no consent a":
            rel["consent_a"] = False
        elif what == "no consent b":
            rel["consent_b"] = False
        else:
            rel["since"] = later
        rows.append(("relationships", rel))
    base = sparse.filter(pa.compute.equal(sparse["as_of"], as_of))
    with _Rollback(store):
        for table, row in rows:
            put(store.con, table, [row])
        after = network_frame(store.con, [as_of], CONFIG)
    assert _same(base, after), what


def test_a_usable_relationship_and_a_past_outcome_do_count(store: Store, sparse: pa.Table) -> None:
    as_of = AS_OFS[1]
    base = sparse.filter(pa.compute.equal(sparse["as_of"], as_of))
    loners = base.filter(pa.compute.equal(base["network_contacts"], 0))["person_id"].to_pylist()
    a, b = sorted(loners[:2])
    with _Rollback(store):
        put(store.con, "relationships", [{"person_a": a, "person_b": b, "kind": "friend",
            "since": as_of - dt.timedelta(days=1), "consent_a": True, "consent_b": True,
            "interactions": 3}])  # fmt: skip
        put(store.con, "outcomes", [{"person_id": b, "event_date": as_of - dt.timedelta(days=1),
                                     "kind": "charge_off"}])  # fmt: skip
        after = network_frame(store.con, [as_of], CONFIG)
    rows = {p: i for i, p in enumerate(after["person_id"].to_pylist())}
    assert after["network_contacts"][rows[a]].as_py() == 1
    folds = [int(hashlib.md5(p.encode()).hexdigest()[:6], 16) % CONFIG.folds for p in (a, b)]
    expected = 0.0 if folds[0] == folds[1] else 1 / CONFIG.min_contacts
    assert after["network_default_share"][rows[a]].as_py() == pytest.approx(expected)
    assert after["network_default_share"][rows[b]].as_py() == 0.0  # not their own default


def test_build_features_and_training_sets_carry_the_network_columns(
    store: Store, sparse: pa.Table
) -> None:
    names = feature_names()
    network = [s.name for s in CATALOG if s.factor == "network"]
    assert names[-len(network) :] == network == list(FEATURES)
    features = build_features(store, AS_OFS[1])
    assert features.column_names[3:] == names
    want = _keyed(sparse.filter(pa.compute.equal(sparse["as_of"], AS_OFS[1])))
    got = _keyed(features)
    assert set(got) <= set(want)
    for key in list(got)[:300]:
        expected = np.where(np.isnan(want[key]) & (np.arange(len(FEATURES)) < 4), 0, want[key])
        np.testing.assert_array_equal(got[key], expected)
    ts = training_set(store, AS_OFS, horizon_months=3)
    assert ts.column_names[3:-1] == names
    assert set(ts["as_of"].to_pylist()) == set(AS_OFS)


def test_the_relational_matrix_matches_the_duckdb_matrix(store: Store) -> None:
    """What a Spark cluster would run (the whole catalog as one Ibis expression, network
    included) gives the same matrix as DuckDB with the sparse network engine."""
    backend = ibis.duckdb.from_connection(store.con)
    dates = ibis.memtable(pa.table({"as_of": pa.array(AS_OFS[:1], pa.date32())}))
    relational = query(source_tables(backend), dates, DATES, FeatureParams()).to_pyarrow()
    duck = build_features(store, AS_OFS[0])
    assert relational["person_id"].to_pylist() == duck["person_id"].to_pylist()
    for name in FEATURES:
        np.testing.assert_allclose(
            relational[name].to_numpy(zero_copy_only=False).astype(float),
            duck[name].to_numpy(), rtol=0, atol=1e-9, err_msg=name,
        )  # fmt: skip


def test_the_catalog_version_tracks_the_network_definition() -> None:
    v = catalog_version()
    assert v == catalog_version(FeatureParams(network=NetworkConfig()))
    assert catalog_version(FeatureParams(network=NetworkConfig(min_contacts=4))) != v
    assert catalog_version(FeatureParams(network=NetworkConfig(restart=0.2))) != v
    with pytest.raises(TypeError, match="network"):
        FeatureParams(network={"min_contacts": 3})  # type: ignore[arg-type]
