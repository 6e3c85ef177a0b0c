"""Bitcoin-OTC adapter: the time split, own features, labels, refusals, ground truth.

Every test builds a tiny rating file of its own; none reads ../shared.
"""

from __future__ import annotations

import datetime as dt
import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from openbureau.datasets import bitcoin_otc as otc
from openbureau.evaluate import load_factor_map, load_inputs

CUT = dt.datetime(2013, 1, 1)
T0 = (CUT - dt.datetime(1970, 1, 1)).total_seconds()
DAY = 86_400.0


def day(d: float) -> float:
    """Epoch seconds ``d`` days from the cutoff (negative = before)."""
    return T0 + d * DAY


RATINGS = [
    # before the cutoff
    (1, 2, 5, day(-100)),
    (2, 1, 3, day(-90)),
    (1, 3, -4, day(-50)),
    (3, 4, 2, day(-10)),
    (4, 3, 1, day(-5)),
    (5, 1, 2, day(-2)),
    # after: 3 gets a negative, 2 only positives, 4 nothing; 6 is new (not in the table)
    (1, 3, -2, day(0)),  # exactly at the cutoff: in the window, not the history
    (4, 2, 4, day(30)),
    (6, 1, 1, day(40)),
    (2, 5, -1, day(400)),  # after a 365-day horizon: ignored
]


def write(tmp: Path, rows: list[tuple], name: str = "r.csv", gz: bool = False) -> Path:
    text = "".join(",".join(str(v) for v in r) + "\n" for r in rows)
    path = tmp / (name + (".gz" if gz else ""))
    if gz:
        with gzip.open(path, "wt") as f:
            f.write(text)
    else:
        path.write_text(text)
    return path


def test_split_features_labels_and_edges(tmp_path: Path) -> None:
    data = otc.load(write(tmp_path, RATINGS, gz=True), CUT)
    nodes = data.nodes.set_index("id")
    # active before the cutoff: 1..5; rated in the window: 1 (by 6), 2 (by 4), 3 (by 1)
    assert list(nodes.index) == [1, 2, 3]
    assert nodes.loc[3, "distrusted"] == 1  # the rating at exactly the cutoff counts
    assert nodes.loc[2, "distrusted"] == 0 and nodes.loc[1, "distrusted"] == 0
    # user 1 before the cutoff: received 3 (from 2) and 2 (from 5); gave +5 and -4
    one = nodes.loc[1]
    assert one["ratings_received"] == 2 and one["received_mean"] == pytest.approx(2.5)
    assert one["received_share_negative"] == 0 and one["received_negatives"] == 0
    assert one["ratings_given"] == 2 and one["given_mean"] == pytest.approx(0.5)
    assert one["given_share_negative"] == pytest.approx(0.5)
    assert one["account_age_days"] == pytest.approx(100)
    assert one["days_since_last_rating"] == pytest.approx(2)
    assert one["ratings_per_month"] == pytest.approx(4 / 100 * otc.DAYS_PER_MONTH)
    three = nodes.loc[3]
    assert three["received_negatives"] == 1 and three["received_share_negative"] == 0.5
    # the edges are the ratings before the cutoff, nothing after
    assert len(data.edges) == 6
    assert list(data.edges.columns) == list(otc.EDGE_COLUMNS)
    assert (pd.to_datetime(data.edges["timestamp"]) < pd.Timestamp(CUT, tz="UTC")).all()
    assert data.edges["weight"].tolist() == [5, 3, -4, 2, 1, 2]
    assert data.base_rate == pytest.approx(1 / 3)


def test_all_active_keeps_unobserved_users_as_zero(tmp_path: Path) -> None:
    data = otc.load(write(tmp_path, RATINGS), CUT, rated_after_only=False)
    assert data.nodes["id"].tolist() == [1, 2, 3, 4, 5]
    assert data.nodes["distrusted"].tolist() == [0, 0, 1, 0, 0]
    nodes = data.nodes.set_index("id")
    assert nodes.loc[5, "ratings_received"] == 0 and np.isnan(nodes.loc[5, "received_mean"])


def test_features_never_see_the_window(tmp_path: Path) -> None:
    base = otc.load(write(tmp_path, RATINGS, "a.csv"), CUT)
    changed = [r if r[3] < T0 else (r[0], r[1], -r[2], r[3] + 1) for r in RATINGS]
    other = otc.load(write(tmp_path, changed, "b.csv"), CUT)
    cols = list(otc.FEATURES)
    pd.testing.assert_frame_equal(
        base.nodes.set_index("id")[cols], other.nodes.set_index("id").loc[base.nodes["id"], cols]
    )
    pd.testing.assert_frame_equal(base.edges, other.edges)


def test_horizon_bounds_the_label_window(tmp_path: Path) -> None:
    short = otc.load(write(tmp_path, RATINGS), CUT, horizon_days=10)
    assert short.nodes["id"].tolist() == [3]  # only the rating at day 0 is in 10 days
    longer = otc.load(write(tmp_path, RATINGS, "b.csv"), "2013-01-01", horizon_days=500)
    assert 5 in longer.nodes["id"].tolist()  # rated at day 400


def test_factor_map_fits_the_table(tmp_path: Path) -> None:
    data = otc.load(write(tmp_path, RATINGS), CUT)
    fmap = load_factor_map(data.factor_map)
    assert {f.name for f in fmap.features} == set(otc.FEATURES)
    assert fmap.label == otc.LABEL and fmap.id == otc.ID
    assert {f.meta.factor for f in fmap.features} == {"history", "behavior", "identity"}
    table, edges, fmap_path = data.write(tmp_path / "out")
    _, prep = load_inputs(table, fmap_path)  # every column mapped, label and id accepted
    assert prep.n_rows == 3 and int(prep.y.sum()) == 1
    assert pd.read_csv(edges).shape == (6, 4)
    ds = data.dataset()
    assert ds.label == otc.LABEL and ds.id == otc.ID and ds.table is data.nodes


@pytest.mark.parametrize(
    ("lines", "match"),
    [
        ("source,target,rating,time\n1,2,3,4\n", r"line 1: source is not a finite number.*header"),
        ("1,2,3,4\n1,2,11,5\n", r"line 2: rating must be a whole number from -10 to 10"),
        ("1,2,3,4\n1,2,2.5,5\n", r"line 2: rating must be a whole number"),
        ("1,2,3,4\n3,3,1,5\n", r"line 2: a user rates themselves"),
        ("1,2,3,4\n1,,3,5\n", r"line 2: target is empty"),
        ("1,2,3,4\n-1,2,3,5\n", r"line 2: source must be a non-negative integer"),
        ("1,2,3,4\n1.5,2,3,5\n", r"line 2: source must be a non-negative integer"),
        ("1,2,3,-4\n", r"line 1: time must be epoch seconds"),
        ("1,2,3\n", r"3 columns, expected 4"),
        ("1,2,3,4\n1,2,3,4,5\n", r"not a 4-column CSV"),
        ("", r"empty file"),
        ("1,2,3,4\n1,2,x,5\n1,2,y,6\n", r"line 2: rating.*'x'.*1 more line"),
    ],
)
def test_bad_input_names_file_line_and_why(tmp_path: Path, lines: str, match: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(lines)
    with pytest.raises(ValueError, match=match) as info:
        otc.read_ratings(path)
    assert str(path) in str(info.value)


def test_bad_settings(tmp_path: Path) -> None:
    path = write(tmp_path, RATINGS)
    with pytest.raises(FileNotFoundError):
        otc.load(tmp_path / "missing.csv")
    with pytest.raises(ValueError, match="not an ISO date"):
        otc.load(path, "July 2013")
    with pytest.raises(ValueError, match="horizon_days"):
        otc.load(path, CUT, horizon_days=0)
    with pytest.raises(ValueError, match="no rating before the cutoff"):
        otc.load(path, "2000-01-01")
    with pytest.raises(ValueError, match="was rated in the"):
        otc.load(path, "2016-01-01")


def test_module_entry_point(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = write(tmp_path, RATINGS)
    out = tmp_path / "out"
    assert otc.main([str(src), str(out), "--cutoff", "2013-01-01"]) == 0
    assert {p.name for p in out.iterdir()} == {"table.csv", "edges.csv", "factors.yaml"}
    assert "3 users, 1 distrusted" in capsys.readouterr().out
    assert otc.main([str(tmp_path / "nope.csv"), str(out)]) == 2
    assert "no such file" in capsys.readouterr().err


def test_founder_ground_truth() -> None:
    rows = [
        (1, 2, 6, 1.0),  # founder trusts 2
        (1, 3, -5, 2.0),  # founder: 3 is fraudulent
        (1, 4, 2, 3.0),  # a weak rating: 4 is not trusted, not labelled
        (2, 5, -7, 4.0),  # trusted 2: 5 is fraudulent
        (2, 6, 5, 5.0),  # trusted 2: 6 is benign
        (4, 7, -10, 6.0),  # 4 is not trusted: 7 stays unlabelled
        (2, 3, 8, 7.0),  # trusted 2 disagrees with the founder on 3: the founder wins
        (2, 1, 9, 8.0),  # the founder is labelled by those he trusts
    ]
    ratings = pd.DataFrame(rows, columns=["source", "target", "rating", "time"])
    gt = otc.founder_ground_truth(ratings).set_index("id")["fraudulent"].to_dict()
    assert gt == {1: 0, 2: 0, 3: 1, 5: 1, 6: 0}
