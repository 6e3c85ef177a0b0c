"""The factor-additive boosted model: exact tables, constraints, sums, weights, checks."""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import lightgbm as lgb
import numpy as np
import pyarrow as pa
import pytest
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

from openbureau.model import FACTORS, FactorAdditiveClassifier, FeatureMeta, Scaling
from openbureau.model.compile import audit_trees, reached_features
from openbureau.model.synthetic import make_population

from factories import UNBOUNDED


@pytest.fixture(scope="module")
def data():
    return make_population(8_000, 10, seed=3)


@pytest.fixture(scope="module")
def model(data):
    return FactorAdditiveClassifier(
        data.features, n_estimators=250, num_threads=1, **UNBOUNDED
    ).fit(data.table, data.y)


def _matrix(model, table):
    frame = model._frame(table)
    return model._matrix(frame, len(model.segments_))


def _with_edge_values(model, table, rng):
    """Rows holding NaN, +-inf, 0 and every threshold value exactly, in every feature."""
    n = 400
    cols = {}
    for j, m in enumerate(model.features_):
        base = table.column(m.name).to_numpy()[:n].copy()
        special = np.concatenate([[np.nan, np.inf, -np.inf, 0.0], model.shapes_[j].breaks])
        k = min(n, special.size)
        base[rng.choice(n, k, replace=False)] = special[:k]
        cols[m.name] = base
    cols["segment"] = table.column("segment").slice(0, n)
    return pa.table(cols)


def test_tables_reproduce_lightgbm_raw_scores_with_nans_and_thresholds(model, data):
    edge = _with_edge_values(model, data.table, np.random.default_rng(0))
    for table in (data.table, edge):
        ours = model.raw_log_odds(table)
        theirs = model.booster_.predict(_matrix(model, table), raw_score=True)
        assert np.max(np.abs(ours - theirs)) < 1e-9


def test_zero_as_missing_splits_are_reproduced(data):
    """Forbidden with directions (zero would escape them), but compiled exactly without."""
    free = [FeatureMeta(f.name, f.factor, f.reason) for f in data.features]
    with pytest.raises(ValueError, match="may not set"):
        FactorAdditiveClassifier(free, extra_params={"zero_as_missing": True}).fit(
            data.table, data.y
        )
    m = FactorAdditiveClassifier(free, n_estimators=60, calibration_cv=0, **UNBOUNDED)
    m._check_params = lambda: None  # reach LightGBM's missing_type 'Zero' on purpose
    m.extra_params = {"zero_as_missing": True}
    m.fit(data.table, data.y)
    dump = m.booster_.dump_model()
    assert '"missing_type": "Zero"' in str(dump).replace("'", '"')
    cols = {f.name: data.table.column(f.name).to_numpy()[:300].copy() for f in data.features}
    for x in cols.values():
        x[:6] = [0.0, 1e-36, -1e-36, np.nan, 2e-35, -0.0]
    cols["segment"] = data.table.column("segment").slice(0, 300)
    t = pa.table(cols)
    theirs = m.booster_.predict(_matrix(m, t), raw_score=True)
    assert np.max(np.abs(m.raw_log_odds(t) - theirs)) < 1e-9


def test_every_tree_path_uses_one_feature_and_every_tree_one_factor_per_segment(model):
    dump = model.booster_.dump_model()
    J = len(model.features_)
    factors = [m.factor for m in model.features_] + ["segment"]
    audit = audit_trees(dump, factors, seg_index=J)
    assert audit.n_trees == model.booster_.num_trees() > 100
    assert audit.violations == []
    for path_factors in audit.path_factors:
        assert all(len(p) <= 1 for p in path_factors)
    used = set().union(*audit.path_features)
    assert len(used) >= J - 1  # the constraint did not just starve the model
    for info in dump["tree_info"]:
        for s in range(len(model.segments_)):
            feats = reached_features(info["tree_structure"], J, s)
            assert len({factors[f] for f in feats}) <= 1


def test_monotone_in_the_models_own_predictions(model, data):
    rng = np.random.default_rng(1)
    rows = rng.choice(data.y.size, 150, replace=False)
    X = _matrix(model, data.table)[rows]
    for j, m in enumerate(model.features_):
        if m.sign == 0:
            continue
        col = X[:, j]
        grid = np.unique(np.nanquantile(_matrix(model, data.table)[:, j], np.linspace(0, 1, 41)))
        grid = np.concatenate([[grid[0] - 1], grid, [grid[-1] + 1]])
        sweep = np.repeat(X, grid.size, axis=0)
        sweep[:, j] = np.tile(grid, X.shape[0])
        raw = model.booster_.predict(sweep, raw_score=True).reshape(X.shape[0], grid.size)
        # a higher value may never raise the log-odds of default of an 'increasing' feature
        steps = np.diff(raw, axis=1) * m.sign
        assert steps.max() <= 1e-12, m.name
        assert np.isfinite(col).any()


def test_subscores_add_up_to_the_score(model, data):
    res = model.score_breakdown(data.table)
    tenths = np.rint((res.base + res.subscores.sum(axis=1)) * 10).astype(np.int64)
    free = ~res.clipped
    assert free.mean() > 0.9
    assert np.array_equal(np.rint(res.score[free] * 10).astype(np.int64), tenths[free])
    assert np.array_equal(res.score, np.clip(tenths, 3500, 9500) / 10)
    assert (res.subscores >= 0).all()
    ranges = model.factor_ranges().to_numpy()[res.segment]
    assert (res.subscores <= ranges + 0.05).all()
    assert ((res.score >= 350) & (res.score <= 950)).all()


def test_score_follows_the_published_scaling(model, data):
    res = model.score_breakdown(data.table)
    log_odds = model.decision_function(data.table)
    expected = model.scaling_.score(log_odds)
    free = ~res.clipped
    assert np.max(np.abs(res.score[free] - expected[free])) <= 0.35  # 6 roundings to 0.1
    pd = model.predict_proba(data.table)[:, 1]
    assert np.allclose(pd, res.pd, atol=1e-12)
    # higher score, lower probability of default
    order = np.argsort(res.score[free])
    assert np.all(np.diff(np.round(res.log_odds[free][order], 6)) <= 0.35 / model.scaling_.factor)
    s = Scaling(600, 50, 40)
    assert s.score(np.log(np.array([1 / 50, 1 / 100]))) == pytest.approx([600, 640])


def test_accuracy_matches_unconstrained_lightgbm_on_additive_data(model, data):
    """On additive data the constraints must cost (almost) nothing against free LightGBM."""
    X = _matrix(model, data.table)
    oof = np.empty(data.y.size)
    for tr, te in StratifiedKFold(3, shuffle=True, random_state=0).split(X, data.y):
        free = lgb.LGBMClassifier(
            n_estimators=250, learning_rate=0.05, num_leaves=8, verbose=-1, num_threads=1
        ).fit(X[tr], data.y[tr])
        oof[te] = free.predict_proba(X[te])[:, 1]
    assert model.metrics_["overall"]["auc"] >= roc_auc_score(data.y, oof) - 0.003
    assert model.metrics_["evaluated_on"] == "3-fold out-of-fold"
    assert model.calibration_.method == "platt-oof"
    pd = model.predict_proba(data.table)[:, 1]
    assert abs(pd.mean() - data.y.mean()) < 0.01


def test_factor_weights_differ_by_segment_as_the_truth_does(model, data):
    w = model.factor_weights(data.table)
    assert list(w.columns) == list(FACTORS)
    assert np.allclose(w.sum(axis=1), 1.0)
    # the synthetic truth gives capacity 30% of its weight for thin files
    assert w.loc["thin", "capacity"] < 0.6 * w.loc["established", "capacity"]
    r = model.factor_ranges()
    assert (r.to_numpy() >= 0).all() and r.loc["thin", "capacity"] < r.loc[
        "established", "capacity"
    ]


def test_unknown_segment_and_missing_columns_are_errors(model, data):
    bad = data.table.set_column(
        data.table.schema.get_field_index("segment"),
        "segment",
        pa.array(["thin"] * (data.y.size - 1) + ["premium"]),
    )
    with pytest.raises(ValueError, match="unknown segment"):
        model.predict_score(bad)
    with pytest.raises(ValueError, match="lacks the segment column"):
        model.predict_score(data.table.drop_columns(["segment"]))
    with pytest.raises(ValueError, match="lacks feature column"):
        model.predict_score(data.table.drop_columns([data.features[0].name]))


def test_accepts_any_spec_like_object_and_pandas(data):
    class Spec:
        def __init__(self, m):
            for k in ("name", "factor", "reason", "direction", "actionable", "description"):
                setattr(self, k, getattr(m, k))

    df = data.table.slice(0, 3000).to_pandas()
    y = data.y[:3000]
    m = FactorAdditiveClassifier(
        [Spec(f) for f in data.features], n_estimators=30, calibration_cv=0
    ).fit(df, y)
    assert m.features_ == tuple(data.features)
    assert np.allclose(m.predict_score(df), m.predict_score(data.table.slice(0, 3000)))


@pytest.mark.parametrize(
    ("params", "error", "match"),
    [
        ({"n_estimators": 0}, ValueError, "n_estimators must be >= 1"),
        ({"n_estimators": "10"}, TypeError, "n_estimators must be an int"),
        ({"learning_rate": 0.0}, ValueError, "learning_rate must be finite and > 0"),
        ({"num_leaves": 1}, ValueError, "num_leaves must be >= 2"),
        ({"subsample": 1.5}, ValueError, r"subsample must be in \(0, 1\]"),
        ({"calibration_cv": 1}, ValueError, "calibration_cv must be >= 2 or 0"),
        ({"segments": ()}, TypeError, "segments must be a non-empty tuple"),
        ({"segments": ("a", "a")}, ValueError, "segments must be distinct"),
        ({"scaling": {"pdo": 40}}, TypeError, "scaling must be a Scaling"),
        ({"extra_params": {"interaction_constraints": []}}, ValueError, "may not set"),
        ({"max_reasons": 0}, ValueError, "max_reasons must be >= 1"),
    ],
)
def test_parameter_checks(data, params, error, match):
    with pytest.raises(error, match=match):
        FactorAdditiveClassifier(data.features, **params).fit(data.table, data.y)


def test_feature_spec_checks(data):
    good = data.features[0]
    with pytest.raises(ValueError, match="factor 'credit' not in"):
        FeatureMeta(good.name, "credit", "r")
    with pytest.raises(ValueError, match="direction 'up' not in"):
        FeatureMeta(good.name, "history", "r", direction="up")
    with pytest.raises(TypeError, match="actionable must be a bool"):
        FeatureMeta(good.name, "history", "r", actionable="yes")
    with pytest.raises(TypeError, match="lacks attributes"):
        FactorAdditiveClassifier([object()]).fit(data.table, data.y)
    with pytest.raises(ValueError, match="listed twice"):
        FactorAdditiveClassifier([good, good]).fit(data.table, data.y)
    with pytest.raises(ValueError, match=r"Scaling.pdo must be > 0"):
        Scaling(pdo=0)
