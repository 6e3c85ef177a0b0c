"""On a simulated population the features carry the signal the simulator planted.

The simulator draws defaults from five factor terms; the best single feature of each
scored factor must separate defaulters from the rest (AUC > 0.55) once turned by its
declared direction, and no feature with a direction may point clearly the wrong way.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from sklearn.metrics import roc_auc_score

from openbureau.contract import TABLES
from openbureau.features import CATALOG, training_set
from openbureau.sim import simulate

PEOPLE = 4_000


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> tuple[pa.Table, pa.Table]:
    out = tmp_path_factory.mktemp("signal") / "sim"
    simulate(out, people=PEOPLE, months=24, seed=2)
    con = duckdb.connect()
    for t in TABLES:
        con.execute(
            f"CREATE TABLE {t.name} AS SELECT * FROM read_parquet('{out / t.name}/*.parquet')"
        )
    truth = pq.read_table(out / "_truth")
    as_of = truth["as_of"][0].as_py()
    assert pc.all(pc.equal(truth["as_of"], as_of)).as_py()
    return training_set(con, [as_of]), truth


def _aligned(ts: pa.Table, truth: pa.Table) -> pa.Table:
    idx = pc.index_in(ts["person_id"], truth["person_id"])
    return truth.take(idx)


def test_labels_are_the_simulated_defaults(sim: tuple[pa.Table, pa.Table]) -> None:
    ts, truth = sim
    assert ts.num_rows == PEOPLE  # everyone was known before as_of, no one had defaulted
    t = _aligned(ts, truth)
    assert ts["label"].to_numpy().astype(bool).tolist() == t["defaulted"].to_pylist()
    assert 0.02 < ts["label"].to_numpy().mean() < 0.15


def test_the_simulators_thin_files_fall_in_the_thin_segment(
    sim: tuple[pa.Table, pa.Table],
) -> None:
    ts, truth = sim
    t = _aligned(ts, truth)
    thin = np.asarray(t["thin_file"].to_pylist())
    segment = np.asarray(ts["segment"].to_pylist())
    assert (segment[thin] == "thin").all()
    assert 0.5 < (segment[~thin] == "established").mean() < 1.0


def directional_auc(ts: pa.Table) -> dict[str, tuple[str, float, int]]:
    """Per directional feature: factor, AUC of 'riskier by declared direction', rows used."""
    y = ts["label"].to_numpy()
    out = {}
    for s in CATALOG:
        if s.direction == "none":
            continue
        x = ts[s.name].to_numpy()
        known = ~np.isnan(x)
        yk = y[known]
        if yk.sum() < 30 or (1 - yk).sum() < 30 or np.ptp(x[known]) == 0:
            continue
        risk = -x[known] if s.direction == "increasing" else x[known]
        out[s.name] = (s.factor, float(roc_auc_score(yk, risk)), int(known.sum()))
    return out


def test_each_scored_factor_has_a_feature_with_signal(sim: tuple[pa.Table, pa.Table]) -> None:
    aucs = directional_auc(sim[0])
    for factor in ("history", "behavior", "capacity", "identity"):
        best = max(a for f, a, _ in aucs.values() if f == factor)
        assert best > 0.55, (factor, best)


def test_no_feature_points_the_wrong_way(sim: tuple[pa.Table, pa.Table]) -> None:
    aucs = directional_auc(sim[0])
    assert len(aucs) >= 30
    wrong = {name: round(a, 3) for name, (_, a, _) in aucs.items() if a < 0.45}
    assert wrong == {}


def test_features_hold_no_impossible_values(sim: tuple[pa.Table, pa.Table]) -> None:
    ts = sim[0]
    shares = [s.name for s in CATALOG if s.unit in ("share", "flag")]
    for name in shares:
        x = ts[name].to_numpy()
        x = x[~np.isnan(x)]
        assert ((x >= 0) & (x <= 1)).all(), name
    signed = {"buffer_months"}  # deposits may be overdrawn
    units = ("count", "days", "months", "years")
    counts = [s.name for s in CATALOG if s.unit in units and s.name not in signed]
    for name in counts:
        x = ts[name].to_numpy()
        assert (x[~np.isnan(x)] >= 0).all(), name
    for s in CATALOG:
        x = ts[s.name].to_numpy()
        assert not np.isinf(x).any(), s.name
        if s.default is not None:
            assert not np.isnan(x).any(), s.name  # a default means never unknown


def test_thin_and_established_both_present(sim: tuple[pa.Table, pa.Table]) -> None:
    segments = set(sim[0]["segment"].to_pylist())
    assert segments == {"thin", "established"}
