"""Reasons and counterfactuals: exact on a hand-made model, checked against the real booster."""

from __future__ import annotations

import math
import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
import pyarrow as pa
import pytest

from openbureau.explain import breakdown_table, counterfactual, explain, next_threshold
from openbureau.model import Calibration, FactorAdditiveClassifier, FeatureMeta, Scaling
from openbureau.model.synthetic import make_population
from openbureau.model.tables import Shape

from factories import UNBOUNDED


def hand_model() -> FactorAdditiveClassifier:
    """Three features, one segment; 10 points per unit of log-odds (pdo = 10 ln 2)."""
    metas = (
        FeatureMeta("late", "history", "Late payments", "decreasing", True),
        FeatureMeta("income", "capacity", "Low income", "increasing", True),
        FeatureMeta("tenure", "identity", "Short address history", "increasing", False),
    )

    def shape(name, breaks, values):
        b = np.array(breaks, float)
        low = np.array([b[0] - 1, *b[:-1] + 0.5, b[-1] + 0.5]) if b.size else np.array([0.0])
        high = np.array([b[0], *b[1:], b[-1] + 10]) if b.size else np.array([0.0])
        return Shape(name, b, True, np.array([values], float), low, high)

    m = FactorAdditiveClassifier(list(metas), segments=("all",))
    # late: bins (-inf,0] (0,1] (1,inf) NaN -> log-odds 0, 0.8, 2.0, NaN 1.0
    # income: (-inf,10] (10,20] (20,inf) NaN -> 1.5, 0.5, 0.0, 0.9
    # tenure: (-inf,3] (3,inf) NaN -> 0.3, 0.0, 0.3
    m.shapes_ = [
        shape("late", [0, 1], [0.0, 0.8, 2.0, 1.0]),
        shape("income", [10, 20], [1.5, 0.5, 0.0, 0.9]),
        shape("tenure", [3], [0.3, 0.0, 0.3]),
    ]
    m.intercept_ = np.array([-3.0])
    m.features_ = metas
    m.n_features_in_ = 3
    m.classes_ = np.array([0, 1])
    m.segments_ = ("all",)
    m.scaling_ = Scaling(anchor_score=600, anchor_odds=1.0, pdo=10 * math.log(2))
    m.calibration_ = Calibration(1.0, 0.0, "identity")
    m.scorer_ = m._build_scorer()
    return m


def person(late, income, tenure):
    return pa.table({"late": [float(late)], "income": [float(income)], "tenure": [float(tenure)]})


def test_reasons_are_ranked_and_exact_on_a_hand_made_case():
    m = hand_model()
    (e,) = explain(m, person(1, 15, 2))
    # costs vs best: late 0.8 -> 8 points, income 0.5 -> 5, tenure 0.3 -> 3
    assert [(r.code, r.points) for r in e.reasons] == [
        ("late", 8.0),
        ("income", 5.0),
        ("tenure", 3.0),
    ]
    assert [r.text for r in e.reasons] == ["Late payments", "Low income", "Short address history"]
    assert [r.factor for r in e.reasons] == ["history", "capacity", "identity"]
    # score = 600 - 10 * (log-odds) = 600 - 10 * (-3 + 0.8 + 0.5 + 0.3) = 614
    assert e.score == 614.0
    # base = score of the worst person: 600 - 10 * (-3 + 2.0 + 1.5 + 0.3) = 592
    assert e.base == 592.0
    assert e.subscores == {
        "history": 12.0,
        "behavior": 0.0,
        "capacity": 10.0,
        "identity": 0.0,
        "network": 0.0,
    }
    assert e.base + sum(e.subscores.values()) == e.score
    (best,) = explain(m, person(0, 25, 5))
    assert best.reasons == () and best.score == 630.0
    (missing,) = explain(m, pa.table({"late": [np.nan], "income": [np.nan], "tenure": [9.0]}))
    assert [(r.code, r.points) for r in missing.reasons] == [("late", 10.0), ("income", 9.0)]


def test_counterfactual_on_the_hand_made_case():
    m = hand_model()
    cf = counterfactual(m, person(2, 5, 2), target=620)
    # 600 - 10 * (-3 + 2 + 1.5 + 0.3) = 592; late 2 -> 0 gives +20, income 5 -> 21 +15:
    # the largest gain (late) alone reaches 612 < 620, then income is added and pulled back
    assert cf.reachable and cf.score_before == 592.0 and cf.score_after >= 620
    assert {c.feature for c in cf.changes} == {"late", "income"}
    assert all(c.feature != "tenure" for c in cf.changes)  # not actionable
    late = next(c for c in cf.changes if c.feature == "late")
    assert late.proposed <= 0  # decreasing: only moves down
    unreachable = counterfactual(m, person(2, 5, 2), target=700)
    assert not unreachable.reachable and "out of reach" in unreachable.message
    assert unreachable.score_after == 627.0  # all actionable moves, tenure unchanged


@pytest.fixture(scope="module")
def fitted():
    d = make_population(6_000, 10, seed=5)
    m = FactorAdditiveClassifier(d.features, n_estimators=200, num_threads=1, **UNBOUNDED)
    m.fit(d.table, d.y)
    return m, d


def test_reasons_equal_a_counterfactual_sweep_with_the_booster(fitted):
    m, d = fitted
    rows = d.table.slice(0, 60)
    frame = m._frame(rows)
    X = m._matrix(frame, 2)
    per_point = m.scaling_.factor * m.calibration_.slope
    for i, e in enumerate(explain(m, rows)):
        pts = [r.points for r in e.reasons]
        assert pts == sorted(pts, reverse=True) and all(p > 0 for p in pts)
        assert len(e.reasons) <= 4
        for r in e.reasons:
            j = [f.name for f in m.features_].index(r.code)
            grid = np.concatenate([m.shapes_[j].representatives(), [np.nan]])
            sweep = np.repeat(X[i : i + 1], grid.size, axis=0)
            sweep[:, j] = grid
            raw = m.booster_.predict(sweep, raw_score=True)
            now = m.booster_.predict(X[i : i + 1], raw_score=True)[0]
            assert r.points == pytest.approx(round(per_point * (now - raw.min()), 1), abs=1e-9)
            meta = m.features_[j]
            if meta.direction != "none":
                assert r.text == meta.reason
                continue
            best = grid[:-2][np.argmin(raw[:-2])]  # the booster's best value (no NaN)
            v = X[i, j]
            expected = "not on file" if np.isnan(v) else "more than" if v > best else "less than"
            assert r.text.startswith(meta.reason + " — ") and expected in r.text


def test_counterfactual_reaches_the_target_with_the_real_model(fitted):
    m, d = fitted
    res = m.score_breakdown(d.table)
    cols = {f.name: d.table.column(f.name).to_numpy() for f in d.features}
    lo_hi = {k: (np.nanmin(v), np.nanmax(v)) for k, v in cols.items()}
    reached = 0
    for i in np.flatnonzero(res.score < 640)[:25]:
        row = d.table.slice(int(i), 1)
        target = next_threshold(float(res.score[i]), (500, 550, 600, 650))
        cf = counterfactual(m, row, target=target)
        if not cf.reachable:
            continue
        reached += 1
        changed = row.to_pydict()
        for c in cf.changes:
            meta = next(f for f in m.features_ if f.name == c.feature)
            assert meta.actionable
            assert (c.proposed - c.current) * meta.sign >= 0
            assert lo_hi[c.feature][0] <= c.proposed <= lo_hi[c.feature][1]
            changed[c.feature] = [c.proposed]
        new = pa.table(changed)
        assert m.predict_score(new)[0] == cf.score_after >= target
        raw = m.booster_.predict(m._matrix(m._frame(new), 2), raw_score=True)
        assert m.scaling_.score(m.calibration_.apply(raw))[0] == pytest.approx(
            cf.score_after, abs=0.35
        )
        for c in cf.changes:  # every change is needed
            without = dict(changed)
            without[c.feature] = [c.current]
            assert m.predict_score(pa.table(without))[0] < target
    assert reached >= 10


def test_breakdown_table_matches_explanations(fitted):
    m, d = fitted
    rows = d.table.slice(0, 50)
    t = breakdown_table(m.score_breakdown(rows))
    exps = explain(m, rows)
    assert t.column("score").to_pylist() == [e.score for e in exps]
    for r in range(4):
        codes = t.column(f"reason_{r + 1}").to_pylist()
        assert codes == [e.reasons[r].code if len(e.reasons) > r else None for e in exps]
    assert set(t.column("reason_1").to_pylist()) - {None} <= {f.name for f in m.features_}


def test_counterfactual_needs_one_row(fitted):
    m, d = fitted
    with pytest.raises(ValueError, match="one person"):
        counterfactual(m, d.table.slice(0, 2), target=700)


def undirected_model() -> FactorAdditiveClassifier:
    """One undirected feature, best in the middle bin (1, 3]; NaN costs too."""
    meta = FeatureMeta("loans", "history", "Number of open loans", "none", True)
    m = FactorAdditiveClassifier([meta], segments=("all",))
    breaks = np.array([1.0, 3.0])
    m.shapes_ = [
        Shape(
            "loans",
            breaks,
            True,
            np.array([[0.7, 0.0, 0.9, 0.5]]),
            np.array([0.0, 2.0, 4.0]),
            np.array([1.0, 3.0, 9.0]),
        )
    ]
    m.intercept_ = np.array([-3.0])
    m.features_ = (meta,)
    m.n_features_in_ = 1
    m.classes_ = np.array([0, 1])
    m.segments_ = ("all",)
    m.scaling_ = Scaling(anchor_score=600, anchor_odds=1.0, pdo=10 * math.log(2))
    m.calibration_ = Calibration(1.0, 0.0, "identity")
    m.scorer_ = m._build_scorer()
    return m


@pytest.mark.parametrize(
    ("value", "wording"),
    [
        (0.0, "Number of open loans — less than the level that scores best"),
        (5.0, "Number of open loans — more than the level that scores best"),
        (math.nan, "Number of open loans — not on file"),
    ],
)
def test_an_undirected_reason_says_which_way_it_misses(value, wording):
    from openbureau.explain import reason_text_columns

    m = undirected_model()
    X = pa.table({"loans": [value]})
    (e,) = explain(m, X)
    assert [r.text for r in e.reasons] == [wording]
    bulk = reason_text_columns(m, X, m.score_breakdown(X))
    assert bulk["reason_1_text"].to_pylist() == [wording]


def test_the_best_level_of_an_undirected_feature_is_no_reason():
    m = undirected_model()
    (e,) = explain(m, pa.table({"loans": [2.0]}))
    assert e.reasons == ()
