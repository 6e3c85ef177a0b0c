"""Monotonicity over the whole model: a segment boundary on a directional input breaks it.

A segment rule on utilisation sends rows crossing 0.5 to another segment's shapes; each
segment's shapes are monotone, yet the score can rise with utilisation at the boundary.
The per-segment check cannot see it; the whole-model check (which recomputes the segment
from the rules for every value it tries) does, and the factor map refuses such rules.
"""

from __future__ import annotations

import os
from dataclasses import replace

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
import pandas as pd
import pytest

from openbureau.datasets import factor_map_path
from openbureau.evaluate import FactorMapError, TextCoder, load_factor_map, parse_factor_map
from openbureau.evaluate.factormap import FactorMap, MappedFeature, SegmentRule
from openbureau.evaluate.models import Context, factor_model
from openbureau.evaluate.monotone import whole_model_violations
from openbureau.evaluate.table import SEGMENT_COLUMN, prepare
from openbureau.model.meta import FeatureMeta
from openbureau.model.monotone import monotone_violations

FEATURES = {
    "util": {"factor": "capacity", "direction": "decreasing", "reason": "High utilisation"},
    "late": {"factor": "history", "direction": "decreasing", "reason": "Late payments"},
    "lines": {"factor": "behavior", "direction": "none", "reason": "Open lines"},
}


def _table(n: int = 6000, seed: int = 3) -> pd.DataFrame:
    """Default odds rise with utilisation, but drop by e^-2.5 above 0.5 (a population
    effect: heavy users here are another kind of borrower)."""
    rng = np.random.default_rng(seed)
    util = rng.uniform(0, 1, n)
    late = rng.poisson(0.4, n).astype(float)
    lines = rng.integers(0, 12, n).astype(float)
    logit = -2.5 + 4.0 * util + 0.8 * late - 2.5 * (util > 0.5)
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-logit))).astype(int)
    return pd.DataFrame({"util": util, "late": late, "lines": lines, "y": y})


def _old_style_map() -> FactorMap:
    """The map the parser now refuses, built directly: a segment rule on utilisation."""
    feats = tuple(
        MappedFeature(FeatureMeta(n, s["factor"], s["reason"], s["direction"]))
        for n, s in FEATURES.items()
    )
    rules = (SegmentRule("high-use", '"util" > 0.5', ("util",)), SegmentRule("low-use", None))
    return FactorMap(features=feats, segments=rules, label="y", source="old.yaml")


def _fit(fmap: FactorMap, df: pd.DataFrame):
    prep = prepare(df, "<t>", fmap, fmap.label or "y", id_column=fmap.id)
    X = TextCoder(prep.text).fit(prep.data, prep.y).transform(prep.data).astype(np.float64)
    if prep.segment is not None:
        X[SEGMENT_COLUMN] = prep.segment
    ctx = Context(fmap.metas, prep.segment_names, prep.n_rows)
    quick = {"n_estimators": 300, "early_stopping_rounds": 0, "distill": 0.0}
    model = factor_model(ctx, {**fmap.model, **quick})
    model.fit(X, prep.y)
    return model, X, prep


def test_a_segment_rule_on_a_directional_input_breaks_the_whole_model_not_each_segment():
    fmap = _old_style_map()
    model, X, prep = _fit(fmap, _table())
    # each segment's shapes are monotone: the model's own check passes...
    assert monotone_violations(model.shapes_, model.features_) == []
    # ...but crossing util = 0.5 raises the score of (nearly) every row
    bad = whole_model_violations(model, fmap, X, prep.context, rows=100)
    assert [v.feature for v in bad] == ["util"]
    assert bad[0].rows > 50 and bad[0].points > 5.0
    # and it is the boundary, not a shape: the jump sits between the two sides of 0.5
    row = X.iloc[[0] * 2].reset_index(drop=True)
    row["util"] = [0.5, np.nextafter(0.5, 1.0)]
    row[SEGMENT_COLUMN] = ["low-use", "high-use"]
    low, high = model.predict_score(row)
    assert high > low


def test_the_factor_map_refuses_segment_rules_on_directional_inputs():
    base = {"label": "y", "factors": FEATURES}
    cases = [
        ('"util" > 0.5', "reads 'util', which has direction 'decreasing' (factors.util)"),
        ("UTIL > 0.5", "reads 'UTIL', which has direction 'decreasing' (factors.util)"),
        ('"t"."late" >= 1', "reads 'late', which has direction 'decreasing' (factors.late)"),
        ('"lines" > 3 AND "late_any" = 1', "(derived.late_any)"),
        ('"raw_late" > 0', "reads column 'raw_late', from which derived.late_any"),
    ]
    for when, message in cases:
        m = {
            **base,
            "derived": {
                "late_any": {
                    "sql": 'CAST("raw_late" > 0 AS DOUBLE)',
                    "factor": "history",
                    "direction": "decreasing",
                    "reason": "Any late payment",
                }
            },
            "ignore": ["raw_late"],
            "segment": [{"name": "a", "when": when}, {"name": "b"}],
        }
        with pytest.raises(FactorMapError) as err:
            parse_factor_map(m, "m.yaml")
        assert str(err.value).startswith("m.yaml: segment[0] (a).when: "), str(err.value)
        assert message in str(err.value)
    # an input without a direction is fine, and so is a derived one without a direction
    ok = {**base, "segment": [{"name": "a", "when": '"lines" > 3'}, {"name": "b"}]}
    assert parse_factor_map(ok, "m.yaml").segments[0].reads == ("lines",)


def test_a_segment_on_an_input_without_direction_keeps_the_whole_model_monotone():
    fmap = parse_factor_map(
        {
            "label": "y",
            "factors": FEATURES,
            "segment": [{"name": "many", "when": '"lines" > 5'}, {"name": "few"}],
        },
        "new.yaml",
    )
    model, X, prep = _fit(fmap, _table())
    assert whole_model_violations(model, fmap, X, prep.context, rows=100) == []


def _gmsc_like(n: int = 4000, seed: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    util = np.where(rng.uniform(size=n) < 0.07, 0.0, rng.beta(0.7, 1.5, n))
    late30 = rng.poisson(0.3, n)
    late60 = rng.poisson(0.08, n)
    late90 = rng.poisson(0.06, n)
    income = np.where(rng.uniform(size=n) < 0.2, np.nan, rng.lognormal(8.5, 0.6, n))
    logit = -3.2 + 2.2 * util + 0.6 * late30 + 0.9 * late60 + 1.2 * late90
    logit += 1.0 * util * (late30 + late90 > 0)  # the lateness x utilisation interaction
    logit -= 1.0 * (util > 0.5)  # heavy users here are another kind of borrower
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-logit))).astype(int)
    return pd.DataFrame(
        {
            "ID": np.arange(n) + 1,
            "SeriousDlqin2yrs": y,
            "RevolvingUtilizationOfUnsecuredLines": util,
            "age": rng.integers(21, 90, n),
            "NumberOfTime30-59DaysPastDueNotWorse": late30,
            "DebtRatio": rng.uniform(0, 1, n),
            "MonthlyIncome": income,
            "NumberOfOpenCreditLinesAndLoans": rng.integers(0, 20, n),
            "NumberOfTimes90DaysLate": late90,
            "NumberRealEstateLoansOrLines": rng.integers(0, 4, n),
            "NumberOfTime60-89DaysPastDueNotWorse": late60,
            "NumberOfDependents": rng.integers(0, 4, n).astype(float),
        }
    )


@pytest.mark.parametrize(
    "name", ["give_me_some_credit", "german_credit", "home_credit", "lending_club"]
)
def test_no_shipped_segment_rule_reads_a_directional_input(name):
    fmap = load_factor_map(factor_map_path(name))  # refused at parse time otherwise
    directional = {f.name.lower() for f in fmap.features if f.meta.direction != "none"}
    for r in fmap.segments:
        assert not {c.lower() for c in r.reads} & directional, (r.name, r.reads)


def test_the_shipped_gmsc_map_is_monotone_on_the_whole_model():
    fmap = load_factor_map(factor_map_path("give_me_some_credit"))
    assert fmap.segments  # the map still learns per-profile shapes
    data = _gmsc_like()
    model, X, prep = _fit(fmap, data)
    assert whole_model_violations(model, fmap, X, prep.context, rows=80) == []
    # the segments it shipped before (built directly: the parser refuses them) are not
    old = (
        SegmentRule(
            "delinquent-high-use",
            '"TotalLate" > 0 AND "RevolvingUtilization" > 0.5',
            ("TotalLate", "RevolvingUtilization"),
        ),
        SegmentRule("delinquent", '"TotalLate" > 0', ("TotalLate",)),
        SegmentRule("clean-high-use", '"RevolvingUtilization" > 0.5', ("RevolvingUtilization",)),
        SegmentRule("clean", None),
    )
    before = replace(fmap, segments=old)
    model, X, prep = _fit(before, data)
    bad = whole_model_violations(model, before, X, prep.context, rows=80)
    assert "RevolvingUtilization" in [v.feature for v in bad]


def _ordered_map(rules: list[dict]) -> dict:
    return {"label": "y", "factors": FEATURES, "segment": rules, "segment_order": "increasing"}


RISKY_FIRST = [{"name": "high-use", "when": '"util" > 0.5'}, {"name": "low-use"}]


def test_ordered_segments_may_read_directional_inputs_and_stay_monotone_on_the_whole_model():
    fmap = parse_factor_map(_ordered_map(RISKY_FIRST), "ordered.yaml")
    assert fmap.segment_order == "increasing" and fmap.model["segment_order"] == "increasing"
    model, X, prep = _fit(fmap, _table())  # the data that broke the free segments
    assert model.segment_order == "increasing"
    assert whole_model_violations(model, fmap, X, prep.context, rows=100) == []


def test_ordered_segments_in_the_wrong_order_are_refused_on_the_table():
    from openbureau.evaluate import TableError

    safe_first = [{"name": "low-use", "when": '"util" <= 0.5'}, {"name": "high-use"}]
    fmap = parse_factor_map(_ordered_map(safe_first), "ordered.yaml")
    with pytest.raises(TableError) as err:
        prepare(_table(200), "<t>", fmap, "y")
    msg = str(err.value)
    assert msg.startswith("ordered.yaml: segment: with segment_order increasing"), msg
    assert "raising util (direction decreasing) from" in msg
    assert "moves a row from segment 'low-use' to 'high-use'" in msg


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"segment_order": "decreasing"}, "segment_order: 'decreasing' is not one of"),
        ({"segment": None}, "segment_order: orders segments, but the map has none"),
        ({"model": {"segment_order": "none"}}, "model.segment_order: set it with the top-level"),
    ],
)
def test_segment_order_settings_are_checked(change, message):
    with pytest.raises(FactorMapError, match=message):
        parse_factor_map({**_ordered_map(RISKY_FIRST), **change}, "m.yaml")


def test_ordered_segments_still_refuse_raw_columns_behind_directional_derived_features():
    m = _ordered_map([{"name": "a", "when": '"raw_util" > 0.5'}, {"name": "b"}])
    m["derived"] = {
        "util2": {"sql": '"raw_util" * 2', "factor": "capacity", "direction": "decreasing",
                  "reason": "High utilisation"},
    }  # fmt: skip
    m["ignore"] = ["raw_util"]
    with pytest.raises(FactorMapError, match=r"reads column 'raw_util', from which derived\.util2"):
        parse_factor_map(m, "m.yaml")
