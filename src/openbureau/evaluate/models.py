"""The models an evaluation fits on each fold: openbureau's, and an unconstrained reference.

Settings are fixed in advance, never chosen on a test fold: the number of boosting rounds
comes from early stopping on rows held out of the training rows (a 20% holdout, or 5 inner
folds on tables under 20,000 rows where one small holdout is too noisy), the leaf size
grows with the number of training rows (``leaf_size``), and small tables get EBM-like
round-robin trees and bagging (``small_table_settings``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from openbureau.evaluate.table import SEGMENT_COLUMN
from openbureau.model.meta import FeatureMeta

# openbureau's five-factor model under evaluation (FactorAdditiveClassifier parameters)
MODEL_DEFAULTS: dict[str, Any] = {
    "n_estimators": 5000,  # a ceiling: early stopping picks the rounds
    "learning_rate": 0.05,
    "num_leaves": 8,
    "reg_lambda": 1.0,
    "early_stopping_rounds": 100,
    "validation_fraction": 0.2,
    "distill": 0.5,
    "calibration_cv": 0,  # calibrated on the early-stopping holdout
}
REFERENCE_ROUNDS = 5000
EARLY_STOPPING_ROUNDS = 100
VALIDATION_FRACTION = 0.2
SMALL_TABLE = 20_000
SMALL_BAGS = 8


def leaf_size(n_rows: int) -> int:
    """Fewest rows per leaf: 20 for small tables, up to 100 from 100,000 rows on."""
    return int(min(100, max(20, n_rows // 1000)))


def stopping_folds(n_rows: int) -> int:
    """Inner folds for early stopping: 5 on small tables, else one 20% holdout."""
    return 5 if n_rows < SMALL_TABLE else 1


@dataclass(frozen=True)
class Context:
    """What a fold's model may know: the feature metadata, segments, size and seed."""

    features: Sequence[FeatureMeta]
    segments: tuple[str, ...] | None
    n_rows: int
    seed: int = 0
    threads: int = 2

    @property
    def names(self) -> list[str]:
        return [m.name for m in self.features]


def small_table_settings(ctx: Context) -> dict[str, Any]:
    """Extra settings for tables under ``SMALL_TABLE`` rows, where shapes are noisy.

    Each tree gets one feature at random ('cyclic', the round robin of EBMs) instead of
    the best one, so a strong feature cannot crowd out the rest and be overfitted, and
    ``SMALL_BAGS`` boosters on 70% subsamples are averaged. On large tables the greedy
    choice is both faster and more accurate, and one booster suffices.
    """
    if ctx.n_rows >= SMALL_TABLE:
        return {}
    n_cols = len(ctx.features) + (1 if ctx.segments else 0)
    return {"n_bags": SMALL_BAGS, "subsample": 0.7, "feature_fraction": 1.0 / n_cols}


def factor_model(ctx: Context, overrides: Mapping[str, Any] | None = None) -> Any:
    """openbureau's FactorAdditiveClassifier with the evaluation settings."""
    from openbureau.model import FactorAdditiveClassifier

    small = small_table_settings(ctx)
    overrides = dict(overrides or {})
    extra = dict(overrides.pop("extra_params", None) or {})
    if "feature_fraction" in small:
        extra.setdefault("feature_fraction", small.pop("feature_fraction"))
    params = {
        **MODEL_DEFAULTS,
        **small,
        "min_child_samples": leaf_size(ctx.n_rows),
        "early_stopping_folds": stopping_folds(ctx.n_rows),
        "num_threads": ctx.threads,
        "random_state": ctx.seed,
        **overrides,
        "extra_params": extra or None,
    }
    if ctx.segments is not None:
        params["segments"] = ctx.segments
        params["segment_column"] = SEGMENT_COLUMN
    try:
        return FactorAdditiveClassifier(list(ctx.features), **params)
    except TypeError as exc:
        raise ValueError(f"model parameters: {exc}") from None


class ReferenceGBM:
    """Unconstrained LightGBM on the same features (no segment column), early-stopped."""

    def __init__(self, ctx: Context, params: Mapping[str, Any] | None = None) -> None:
        self.ctx = ctx
        from openbureau.model.gbm import UNCONSTRAINED_PARAMS

        self.params = {
            **UNCONSTRAINED_PARAMS,
            "min_data_in_leaf": leaf_size(ctx.n_rows),
            "num_threads": ctx.threads,
            "seed": ctx.seed,
            **dict(params or {}),
        }

    def _x(self, X: pd.DataFrame) -> np.ndarray:
        return np.ascontiguousarray(X[self.ctx.names].to_numpy(dtype=np.float64))

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> ReferenceGBM:
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        import lightgbm as lgb

        from openbureau.model.gbm import early_stopped_rounds

        x = self._x(X)
        found = early_stopped_rounds(
            self.params,
            x,
            y.astype(np.float64),
            y,
            max_rounds=REFERENCE_ROUNDS,
            stop=EARLY_STOPPING_ROUNDS,
            folds=stopping_folds(self.ctx.n_rows),
            fraction=VALIDATION_FRACTION,
            seed=self.ctx.seed,
        )
        rounds = REFERENCE_ROUNDS if found is None else found[0]
        self.n_rounds_ = rounds
        self.booster_ = lgb.train(self.params, lgb.Dataset(x, label=y), num_boost_round=rounds)
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        p = self.booster_.predict(self._x(X), num_threads=self.ctx.threads)
        return np.column_stack([1.0 - p, p])
