"""The model options evaluation relies on: early stopping, distillation, holdout calibration.

Also a regression test for compiling trees whose segment split leads to other features.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
import pytest

from openbureau.model import FactorAdditiveClassifier, load, save
from openbureau.model.compile import eval_tree
from openbureau.model.synthetic import make_population

from factories import UNBOUNDED


@pytest.fixture(scope="module")
def data():
    return make_population(6_000, 8, seed=5)


@pytest.fixture(scope="module")
def model(data):
    return FactorAdditiveClassifier(
        data.features,
        n_estimators=2000,
        early_stopping_rounds=30,
        distill=0.5,
        calibration_cv=0,
        num_threads=1,
        **UNBOUNDED,
    ).fit(data.table, data.y)


def test_early_stopping_picks_the_rounds_and_calibrates_on_the_holdout(model, data):
    assert 1 <= model.n_rounds_ < 2000
    assert model.booster_.num_trees() == model.n_rounds_
    assert model.calibration_.method == "platt-holdout"
    assert model.metrics_["evaluated_on"].startswith("early-stopping holdout")
    assert model.metrics_["overall"]["rows"] == pytest.approx(0.2 * data.table.num_rows, abs=2)


def test_distilled_model_is_still_exact_tables_and_monotone(model, data):
    raw = model.booster_.predict(model._matrix(model._frame(data.table), 2), raw_score=True)
    assert np.max(np.abs(model.raw_log_odds(data.table) - raw)) < 1e-9
    assert model.lgb_params(8, 2)["objective"] == "cross_entropy"
    res = model.score_breakdown(data.table)
    unclipped = ~res.clipped
    total = res.base + res.subscores.sum(axis=1)
    assert np.allclose(total[unclipped], res.score[unclipped], atol=0.051)


def test_distilled_model_round_trips_through_an_artifact(model, data, tmp_path):
    back = load(save(model, tmp_path / "m", "test"))
    assert back.distill == 0.5 and back.early_stopping_rounds == 30
    assert np.array_equal(back.predict_score(data.table), model.predict_score(data.table))


def test_distillation_keeps_accuracy_close_to_plain_training(data):
    from sklearn.metrics import roc_auc_score

    n = 4_000
    train, test = data.table.slice(0, n), data.table.slice(n)
    common = {"n_estimators": 2000, "early_stopping_rounds": 30, "calibration_cv": 0}
    plain = FactorAdditiveClassifier(data.features, **common).fit(train, data.y[:n])
    dist = FactorAdditiveClassifier(data.features, distill=0.5, **common).fit(train, data.y[:n])
    auc_plain = roc_auc_score(data.y[n:], plain.predict_proba(test)[:, 1])
    auc_dist = roc_auc_score(data.y[n:], dist.predict_proba(test)[:, 1])
    assert auc_dist > auc_plain - 0.02


@pytest.mark.parametrize(
    ("params", "error", "message"),
    [
        ({"early_stopping_rounds": -1}, ValueError, "early_stopping_rounds must be >= 1 or 0"),
        ({"early_stopping_rounds": 1.5}, TypeError, "early_stopping_rounds must be an int"),
        ({"validation_fraction": 0.6}, ValueError, "validation_fraction must be in"),
        ({"validation_fraction": 0.0}, ValueError, "validation_fraction must be finite and >"),
        ({"distill": 1.0}, ValueError, "distill must be in [0, 1)"),
        ({"distill": "a"}, TypeError, "distill must be a number"),
        ({"teacher_params": [1]}, TypeError, "teacher_params must be a mapping"),
    ],
)
def test_new_parameters_are_checked(data, params, error, message):
    with pytest.raises(error, match=message.replace("[", r"\[").replace(")", r"\)")):
        FactorAdditiveClassifier(data.features, **params).fit(data.table, data.y)


def test_tree_branches_no_row_takes_are_skipped():
    # the segment (feature 2) sends every row of segment 0 left, to feature 0; the right
    # branch splits on feature 1, whose values are not given for this segment
    tree = {
        "split_feature": 2,
        "threshold": 0.5,
        "decision_type": "<=",
        "default_left": True,
        "missing_type": "None",
        "left_child": {
            "split_feature": 0,
            "threshold": 1.0,
            "decision_type": "<=",
            "default_left": True,
            "missing_type": "NaN",
            "left_child": {"leaf_value": -1.0},
            "right_child": {"leaf_value": 1.0},
        },
        "right_child": {
            "split_feature": 1,
            "threshold": 0.0,
            "decision_type": "<=",
            "default_left": True,
            "missing_type": "None",
            "left_child": {"leaf_value": 5.0},
            "right_child": {"leaf_value": 6.0},
        },
    }
    cols = {2: np.zeros(3), 0: np.array([0.0, 2.0, np.nan])}
    assert eval_tree(tree, cols, 3).tolist() == [-1.0, 1.0, -1.0]


def test_bagged_model_tables_are_the_average_of_its_boosters(data, tmp_path):
    m = FactorAdditiveClassifier(
        data.features, n_estimators=80, n_bags=3, subsample=0.7, num_threads=1, **UNBOUNDED
    ).fit(data.table, data.y)
    assert len(m.boosters_) == 3 and m.booster_ is m.boosters_[0]
    X = m._matrix(m._frame(data.table), 2)
    raws = [b.predict(X, raw_score=True) for b in m.boosters_]
    assert not np.allclose(raws[0], raws[1])  # the bags differ
    assert np.max(np.abs(m.raw_log_odds(data.table) - np.mean(raws, axis=0))) < 1e-9
    back = load(save(m, tmp_path / "bagged", "test"))
    assert len(back.boosters_) == 3
    assert np.array_equal(back.predict_score(data.table), m.predict_score(data.table))
    with pytest.raises(ValueError, match="n_bags must be >= 1"):
        FactorAdditiveClassifier(data.features, n_bags=0).fit(data.table, data.y)
