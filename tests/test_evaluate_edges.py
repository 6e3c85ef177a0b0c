"""`openbureau evaluate --edges`: network features from a bring-your-own graph, out of fold."""

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

from openbureau.evaluate import evaluate_table
from openbureau.evaluate.command import evaluate
from openbureau.evaluate.edges import fold_network_features, read_edges
from openbureau.evaluate.table import TableError

FMAP = {
    "label": "bad",
    "id": "id",
    "factors": {
        "late": {"factor": "history", "direction": "decreasing", "reason": "Late payments"},
        "income": {"factor": "capacity", "direction": "increasing", "reason": "Low income"},
    },
}


def planted(n: int = 3000, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Communities that share risk: contacts' labels say what own columns cannot."""
    rng = np.random.default_rng(seed)
    community = rng.integers(0, n // 15, n)
    risk = rng.normal(0, 1.2, community.max() + 1)[community]
    late = rng.poisson(0.4, n)
    income = rng.lognormal(8, 0.4, n).round(0)
    logit = -2.4 + 0.6 * late - 0.4 * (np.log(income) - 8) / 0.4 + risk
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    ids = np.array([f"u{i}" for i in range(n)])
    src, dst = [], []
    for _ in range(4 * n):
        a = rng.integers(0, n)
        same = np.flatnonzero(community == community[a])
        b = rng.choice(same) if rng.random() < 0.85 else rng.integers(0, n)
        if a != b:
            src.append(ids[a])
            dst.append(ids[b])
    table = pd.DataFrame({"id": ids, "late": late, "income": income, "bad": y})
    edges = pd.DataFrame(
        {
            "source": src,
            "target": dst,
            "weight": rng.integers(1, 5, len(src)),
            "timestamp": rng.integers(1.5e9, 1.6e9, len(src)),
        }
    )
    return table, edges


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("edges")
    table, edges = planted()
    table.to_csv(root / "table.csv", index=False)
    edges.to_csv(root / "edges.csv", index=False)
    (root / "map.yaml").write_text(yaml.safe_dump(FMAP))
    return root


@pytest.fixture(scope="module")
def result(files):
    out, _, _ = evaluate_table(
        files / "table.csv", files / "map.yaml", folds=3, edges=files / "edges.csv"
    )
    return out


def test_the_network_factor_recovers_planted_homophily(result):
    assert result["auc"] > result["auc_without_network"] + 0.02
    assert result["network_lift"] == pytest.approx(result["auc"] - result["auc_without_network"])
    assert result["network"]["edges"] > 0
    names = {f["name"] for f in result["network"]["features"]}
    assert {"network_default_share", "network_walk_default_ratio"} <= names


def test_test_rows_labels_never_feed_their_own_features(files):
    table = pd.read_csv(files / "table.csv")
    graph = read_edges(files / "edges.csv", table["id"].to_numpy())
    y = table["bad"].to_numpy()
    train = np.arange(0, 2000)
    base = fold_network_features(graph, y, train, seed=0)
    flipped = y.copy()
    flipped[2000:] = 1 - flipped[2000:]  # only test rows' labels change
    again = fold_network_features(graph, flipped, train, seed=0)
    pd.testing.assert_frame_equal(base, again)
    # and a training row's own label does not reach its own features
    one = y.copy()
    one[5] = 1 - one[5]
    moved = fold_network_features(graph, one, train, seed=0)
    pd.testing.assert_series_equal(
        moved.iloc[5], base.iloc[5], check_names=False
    )  # its own row is unchanged
    assert not moved.equals(base)  # but its contacts see it


def test_cli_writes_both_aucs(files, tmp_path):
    app = typer.Typer()
    app.command(name="evaluate")(evaluate)
    app.command(name="noop")(lambda: None)
    out = tmp_path / "r.json"
    res = CliRunner().invoke(
        app,
        [
            "evaluate", str(files / "table.csv"), "--factors", str(files / "map.yaml"),
            "--folds", "2", "--edges", str(files / "edges.csv"), "--json", str(out),
        ],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    data = json.loads(out.read_text())
    assert {"auc", "auc_without_network", "reference_auc"} <= data.keys()
    assert "AUC lift" in res.output


def test_bad_edges_files_are_refused_with_the_line(tmp_path):
    ids = np.array(["a", "b", "c"])
    p = tmp_path / "e.csv"
    p.write_text("from,to\na,b\n")
    with pytest.raises(TableError, match="missing column"):
        read_edges(p, ids)
    p.write_text("source,target,weight\na,b,1\nb,,2\n")
    with pytest.raises(TableError, match="column target: empty id at line 3"):
        read_edges(p, ids)
    p.write_text("source,target,timestamp\na,b,2024-01-02\nb,c,yesterday\n")
    with pytest.raises(TableError, match=r"timestamp.*line 3"):
        read_edges(p, ids)
    p.write_text("source,target,weight\na,b,1\nb,zz,0\nc,c,2\na,c,-3\n")
    g = read_edges(p, ids)
    assert g.n_nodes == 4 and g.n_edges == 2 and g.dropped_self_loops == 1
    assert g.dropped_negative == 1


def test_edges_need_an_id_column(files, tmp_path):
    fmap = {k: v for k, v in FMAP.items() if k != "id"}
    table = pd.read_csv(files / "table.csv").drop(columns=["id"])
    table.to_csv(tmp_path / "t.csv", index=False)
    (tmp_path / "m.yaml").write_text(yaml.safe_dump(fmap))
    with pytest.raises(TableError, match="--edges needs the table's id column"):
        evaluate_table(tmp_path / "t.csv", tmp_path / "m.yaml", edges=files / "edges.csv")
