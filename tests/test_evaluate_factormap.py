"""The factor-map loader: what it accepts, and a precise message for everything it refuses."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from openbureau.evaluate import (
    FactorMapError,
    TextCoder,
    load_factor_map,
    parse_factor_map,
)
from openbureau.evaluate.metrics import ks

GOOD = {
    "label": "y",
    "factors": {
        "a": {"factor": "history", "direction": "decreasing", "reason": "Late"},
        "b": {
            "factor": "identity",
            "reason": "Tenure",
            "direction": "increasing",
            "categories": ["short", "long"],
            "actionable": True,
            "description": "time in job",
        },
    },
    "derived": {"c": {"sql": '"a" * 2', "factor": "capacity", "reason": "Twice a"}},
    "ignore": ["SEX"],
    "segment": [{"name": "x", "when": '"c" > 0'}, {"name": "rest"}],  # no direction
    "model": {"learning_rate": 0.1},
}


def _with(**changes: object) -> dict:
    d = {k: (dict(v) if isinstance(v, dict) else v) for k, v in GOOD.items()}
    d.update(changes)
    return d


def test_a_good_map_is_parsed_into_feature_metadata():
    fm = parse_factor_map(GOOD, "m.yaml")
    assert [f.name for f in fm.features] == ["a", "b", "c"]
    assert fm.columns == ["a", "b"] and [f.name for f in fm.derived] == ["c"]
    b = fm.features[1]
    assert (
        b.meta.direction == "increasing"
        and b.meta.actionable
        and b.categories
        == (
            "short",
            "long",
        )
    )
    assert fm.features[2].meta.direction == "none"  # the default
    assert fm.ignore == {"SEX": ""} and fm.segment_names == ("x", "rest")
    assert fm.label == "y" and fm.model == {"learning_rate": 0.1}


def test_ignore_may_say_why():
    fm = parse_factor_map(_with(ignore={"SEX": "protected", "ID": None}))
    assert fm.ignore == {"SEX": "protected", "ID": ""}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"factors": {}}, "factors: must map at least one column"),
        ({"factors": {"a": "history"}}, "factors.a: must be a mapping"),
        ({"factors": {"a": {"factor": "history"}}}, "factors.a: lacks 'reason'"),
        ({"factors": {"a": {"reason": "r"}}}, "factors.a: lacks 'factor'"),
        (
            {"factors": {"a": {"factor": "mood", "reason": "r"}}},
            "factors.a.factor: 'mood' is not one of history, behavior",
        ),
        (
            {"factors": {"a": {"factor": "history", "reason": "r", "direction": "up"}}},
            "factors.a.direction: 'up' is not one of increasing, decreasing, none",
        ),
        (
            {"factors": {"a": {"factor": "history", "reason": "r", "colour": 1}}},
            "factors.a: unknown key(s) ['colour']",
        ),
        (
            {"factors": {"a": {"factor": "history", "reason": "  "}}},
            "factors.a.reason: must not be empty",
        ),
        (
            {"factors": {"a": {"factor": "history", "reason": "r", "actionable": "yes"}}},
            "factors.a.actionable: must be true or false",
        ),
        (
            {"factors": {"a": {"factor": "history", "reason": "r", "categories": ["x", "x"]}}},
            "factors.a.categories: lists ['x'] more than once",
        ),
        (
            {"factors": {"Religion": {"factor": "identity", "reason": "r"}}},
            "factors.Religion: carries a prohibited attribute (religion or belief",
        ),
        (
            {"derived": {"tweet_count": {"sql": "1", "factor": "network", "reason": "r"}}},
            "derived.tweet_count: carries a prohibited attribute (speech or post content",
        ),
        ({"derived": {"c": {"factor": "capacity", "reason": "r"}}}, "derived.c: lacks 'sql'"),
        (
            {"derived": {"a": {"sql": "1", "factor": "capacity", "reason": "r"}}},
            "['a'] named both as a column and a derived feature",
        ),
        ({"ignore": ["a"]}, "ignore: ['a'] are both mapped to a factor and ignored"),
        ({"ignore": "SEX"}, "ignore: must be a list of columns or a mapping"),
        ({"segment": [{"name": "only"}]}, "segment: must be a list of at least two"),
        (
            {"segment": [{"name": "x"}, {"name": "y"}]},
            "segment[0].when: only the last rule may omit 'when'",
        ),
        (
            {"segment": [{"name": "x", "when": "1=1"}, {"name": "x"}]},
            "segment names must be distinct",
        ),
        ({"segment": [{"name": "a/b", "when": "1=1"}, {"name": "x"}]}, "segment[0].name"),
        ({"model": [1]}, "model: must be a mapping"),
        ({"colour": 1}, "top level: unknown key(s) ['colour']"),
    ],
)
def test_bad_maps_are_refused_with_the_key(change, message):
    with pytest.raises(FactorMapError) as exc:
        parse_factor_map(_with(**change), "m.yaml")
    assert str(exc.value).startswith("m.yaml: ")
    assert message in str(exc.value)


def test_not_a_mapping_is_refused():
    with pytest.raises(FactorMapError, match="top level: must be a mapping"):
        parse_factor_map([1, 2], "m.yaml")


def test_load_reports_missing_files_and_bad_yaml(tmp_path):
    with pytest.raises(FactorMapError, match="no such factor map file"):
        load_factor_map(tmp_path / "none.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("factors: [unclosed\n")
    with pytest.raises(FactorMapError, match=r"bad\.yaml: not valid YAML"):
        load_factor_map(bad)
    good = tmp_path / "good.yaml"
    good.write_text("factors:\n  a: {factor: history, reason: Late}\n")
    assert load_factor_map(good).source == str(good)


def test_bad_model_parameters_are_refused_before_fitting(tmp_path):
    from openbureau.evaluate import evaluate_table

    table = tmp_path / "t.csv"
    pd.DataFrame({"a": [0, 1] * 10, "y": [0, 1] * 10}).to_csv(table, index=False)
    fm = parse_factor_map(
        {"factors": {"a": {"factor": "history", "reason": "r"}}, "model": {"num_leaves": 1}},
        "m.yaml",
    )
    with pytest.raises(FactorMapError, match=r"m\.yaml: model: num_leaves must be >= 2"):
        evaluate_table(table, fm, "y", folds=2)
    fm = parse_factor_map(
        {"factors": {"a": {"factor": "history", "reason": "r"}}, "model": {"bogus": 1}}, "m.yaml"
    )
    with pytest.raises(FactorMapError, match=r"m\.yaml: model: .*bogus"):
        evaluate_table(table, fm, "y", folds=2)


def test_text_coder_orders_unlisted_text_by_shrunk_default_rate_on_training_rows():
    data = pd.DataFrame({"t": ["a"] * 50 + ["b"] * 50 + ["c"] * 2, "u": ["lo", "hi"] * 51})
    y = np.array([1] * 40 + [0] * 10 + [0] * 50 + [1, 1])
    coder = TextCoder({"t": None, "u": ("lo", "hi")}, prior=20).fit(data, y)
    codes = coder.to_json()
    assert codes["t"] == ["b", "c", "a"]  # 'c' (2 of 2 bad) is shrunk below 'a' (40 of 50)
    assert codes["u"] == ["lo", "hi"]  # listed order wins
    out = coder.transform(pd.DataFrame({"t": ["a", "zzz", None], "u": ["hi", "lo", None]}))
    assert out["t"].tolist()[0] == 2.0 and np.isnan(out["t"].tolist()[1:]).all()
    assert out["u"].tolist()[:2] == [1.0, 0.0]


def test_ks_is_the_largest_gap_between_score_distributions():
    y = np.array([0, 0, 1, 1])
    assert ks(y, np.array([0.1, 0.2, 0.8, 0.9])) == 1.0
    assert ks(y, np.array([0.1, 0.9, 0.1, 0.9])) == pytest.approx(0.0)


@pytest.mark.parametrize(
    ("section", "sql", "column", "category"),
    [
        ("derived", "CASE WHEN religion = 'x' THEN 1 ELSE 0 END", "religion", "religion or belief"),
        ("derived", '"ETHNIC_GROUP" = 3', "ETHNIC_GROUP", "ethnicity or race"),
        ("derived", 'CAST(t."applicant_sex" AS DOUBLE) * 2', "applicant_sex", "sex or gender"),
        ("derived", 'coalesce("a", length(politicalParty))', "politicalParty", "political"),
        ("segment", "\"voter_party\" = 'x'", "voter_party", "political opinion"),
        ("segment", '"a" > 0 AND health_score > 2', "health_score", "health"),
    ],
)
def test_expressions_reading_a_prohibited_column_are_refused(section, sql, column, category):
    m = _with()
    if section == "derived":
        m["derived"] = {"c": {"sql": sql, "factor": "capacity", "reason": "Twice a"}}
        m["segment"] = None
        where = "m.yaml: derived.c.sql: "
    else:
        m["segment"] = [{"name": "x", "when": sql}, {"name": "rest"}]
        where = "m.yaml: segment[0] (x).when: "
    m["ignore"] = [column]  # ignoring the column does not let an expression read it
    with pytest.raises(FactorMapError) as err:
        parse_factor_map(m, "m.yaml")
    msg = str(err.value)
    assert msg.startswith(where + f"reads column {column!r}, which carries a prohibited"), msg
    assert category in msg


def test_expressions_reading_a_column_the_map_ignores_as_protected_are_refused():
    m = _with(ignore={"SEX": "sex", "foreign_worker": "protected attribute (citizenship)"})
    m["derived"] = {"c": {"sql": '"foreign_worker" = 1', "factor": "identity", "reason": "X"}}
    with pytest.raises(
        FactorMapError,
        match=r"derived\.c\.sql: reads column 'foreign_worker', "
        r"which this map ignores as 'protected attribute \(citizenship\)'",
    ):
        parse_factor_map(m, "m.yaml")


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("COLUMNS('relig.*') > 0", "reads columns by a star or a pattern"),
        ("hash(t.*)", "reads columns by a star or a pattern"),
        ('"a" +', "is not a DuckDB expression"),
        ('1), ("religion"', "must be exactly one expression"),
    ],
)
def test_expressions_whose_inputs_cannot_be_checked_are_refused(sql, message):
    m = _with()
    m["derived"] = {"c": {"sql": sql, "factor": "capacity", "reason": "Twice a"}}
    m["segment"] = None
    with pytest.raises(FactorMapError, match=r"m\.yaml: derived\.c\.sql: .*" + message):
        parse_factor_map(m, "m.yaml")


def test_the_columns_an_expression_reads_are_recorded():
    fm = parse_factor_map(_with(), "m.yaml")
    assert fm.derived[0].reads == ("a",) and fm.segments[0].reads == ("c",)
