"""Monotone across the thin/established boundary, on the whole model's own predictions.

The catalog calls a file thin below 2 accounts or 12 months of file age, and file age has
direction 'increasing'. A file crossing 12 months moves to the established segment's
shapes: with free segments its score can fall although only its file age rose. With
``segment_order='increasing'`` the segment is itself a monotone input of every tree, so an
established file never scores below a thin one with the same features.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
import pandas as pd
import pytest

from openbureau.model import FactorAdditiveClassifier, FeatureMeta
from openbureau.model.monotone import monotone_violations, segment_order_violations

from factories import UNBOUNDED

FEATURES = [
    FeatureMeta("file_age_months", "identity", "Short file", "increasing"),
    FeatureMeta("accounts_opened", "history", "Few accounts", "none"),
    FeatureMeta("late", "history", "Late payments", "decreasing"),
]


def _segment(df: pd.DataFrame) -> np.ndarray:
    """The catalog's rule (features.matrix.segment) with its default parameters."""
    thin = (df["accounts_opened"] < 2) | (df["file_age_months"].fillna(0.0) < 12)
    return np.where(thin, "thin", "established")


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(11)
    n = 6000
    df = pd.DataFrame(
        {
            "file_age_months": rng.uniform(0, 48, n).round(1),
            "accounts_opened": rng.poisson(2.5, n).astype(float),
            "late": rng.poisson(0.5, n).astype(float),
        }
    )
    df["segment"] = _segment(df)
    # older files default less, but established files (a population effect of this data)
    # default more than thin files with equal features: free segments learn that jump
    logit = -2.0 - 0.02 * df["file_age_months"] + 0.7 * df["late"]
    logit += 1.2 * (df["segment"] == "established")
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-logit))).astype(int)
    return df, y


def _fit(data, order: str) -> FactorAdditiveClassifier:
    df, y = data
    return FactorAdditiveClassifier(
        FEATURES, n_estimators=200, num_threads=1, segment_order=order, **UNBOUNDED
    ).fit(df, y)


def _worst_drop_across_file_age(model, df: pd.DataFrame, rows: int = 150) -> float:
    """Largest score fall (points) as file age rises, the segment recomputed at each value."""
    sample = df.sample(rows, random_state=0).reset_index(drop=True)
    grid = np.unique(np.concatenate([np.linspace(0, 48, 49), [np.nextafter(12.0, 0), 12.0]]))
    sweep = sample.loc[sample.index.repeat(grid.size)].reset_index(drop=True)
    sweep["file_age_months"] = np.tile(grid, rows)
    sweep["segment"] = _segment(sweep)
    score = model.scaling_.score(model.decision_function(sweep)).reshape(rows, grid.size)
    return float(-np.diff(score, axis=1).min())


def test_free_segments_let_the_score_fall_as_the_file_ages(data):
    model = _fit(data, "none")
    assert monotone_violations(model.shapes_, model.features_) == []  # per segment: fine
    assert segment_order_violations(model.shapes_, model.intercept_, model.segments_)
    assert _worst_drop_across_file_age(model, data[0]) > 5.0  # the whole model: not


def test_ordered_segments_keep_the_whole_model_monotone_across_the_boundary(data):
    model = _fit(data, "increasing")
    assert model.lgb_params(3, 2)["monotone_constraints"][-1] == -1  # the segment column
    assert segment_order_violations(model.shapes_, model.intercept_, model.segments_) == []
    assert _worst_drop_across_file_age(model, data[0]) <= 1e-6


def test_segment_order_is_checked():
    with pytest.raises(ValueError, match="segment_order must be one of"):
        FactorAdditiveClassifier(FEATURES, segment_order="decreasing")._check_params()
