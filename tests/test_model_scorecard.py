"""The WoE scorecard behind the same interface: exact tables, monotone, per-segment weights."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from openbureau.explain import counterfactual, explain
from openbureau.model import WoEScorecardClassifier
from openbureau.model.synthetic import make_population

from factories import UNBOUNDED


@pytest.fixture(scope="module")
def fitted():
    d = make_population(6_000, 8, seed=7)
    return WoEScorecardClassifier(d.features, calibration_cv=3, **UNBOUNDED).fit(d.table, d.y), d


def _core_raw(m, table):
    """The scorecard's own prediction: optbinning WoE times the segment's coefficients."""
    frame = m._frame(table)
    woe = m.binning_.transform(frame.values.T, metric="woe", metric_missing="empirical")
    return m.intercept_[frame.segment] + np.einsum("ij,ij->i", woe, m.coef_[frame.segment])


def test_tables_reproduce_the_scorecard_at_split_values_and_nans(fitted):
    m, d = fitted
    cols = {f.name: d.table.column(f.name).to_numpy()[:300].copy() for f in d.features}
    for j, f in enumerate(d.features):
        special = np.concatenate([[np.nan, 0.0], m.shapes_[j].breaks])
        cols[f.name][: special.size] = special
    cols["segment"] = d.table.column("segment").slice(0, 300)
    t = pa.table(cols)
    assert np.max(np.abs(m.raw_log_odds(t) - _core_raw(m, t))) < 1e-9


def test_monotone_in_its_own_predictions(fitted):
    m, d = fitted
    rows = d.table.slice(0, 100).to_pydict()
    for f in d.features:
        if f.direction == "none":
            continue
        x = d.table.column(f.name).to_numpy()
        grid = np.unique(np.nanquantile(x, np.linspace(0, 1, 31)))
        raws = []
        for v in grid:
            swept = dict(rows)
            swept[f.name] = [float(v)] * 100
            raws.append(_core_raw(m, pa.table(swept)))
        steps = np.diff(np.array(raws), axis=0) * (1 if f.direction == "increasing" else -1)
        assert steps.max() <= 1e-12, f.name


def test_same_interface_as_the_boosted_model(fitted):
    m, d = fitted
    res = m.score_breakdown(d.table)
    free = ~res.clipped
    total = np.rint((res.base + res.subscores.sum(axis=1)) * 10)
    assert np.array_equal(np.rint(res.score * 10)[free], total[free])
    assert m.coef_.shape == (2, len(d.features))
    assert not np.allclose(m.coef_[0], m.coef_[1])  # weights depend on the segment
    e = explain(m, d.table.slice(0, 10))
    assert all(r.points > 0 for x in e for r in x.reasons)
    cf = counterfactual(m, d.table.slice(0, 1), target=res.score[0] + 20)
    assert cf.score_after >= cf.score_before
    proba = m.predict_proba(d.table)
    assert proba.shape == (6000, 2) and np.allclose(proba.sum(axis=1), 1)
    assert m.metrics_["overall"]["auc"] > 0.65
    assert m.calibration_.method == "platt-oof"


@pytest.mark.parametrize(
    ("params", "error", "match"),
    [
        ({"max_n_bins": 1}, ValueError, "max_n_bins must be >= 2"),
        ({"min_bin_size": 0.9}, ValueError, r"min_bin_size must be in \(0, 0.5\]"),
        ({"C": -1.0}, ValueError, "C must be finite and > 0"),
        ({"C": "1"}, TypeError, "C must be a number"),
        ({"min_reason_points": -1}, ValueError, "min_reason_points must be finite and >= 0"),
    ],
)
def test_parameter_checks(params, error, match):
    d = make_population(200, 3, seed=1)
    with pytest.raises(error, match=match):
        WoEScorecardClassifier(d.features, **params).fit(d.table, d.y)
