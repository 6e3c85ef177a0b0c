"""The factor-additive gradient-boosted classifier.

LightGBM with interaction constraints ``[[feature, segment] for each feature]``: every
root-to-leaf path splits on one feature (and maybe the segment), so in each segment the
log-odds are a constant plus one shape function per feature, and the factor sub-models are
sums of their features' shapes. Monotone constraints use the 'basic' method, the only one
under which LightGBM keeps interaction constraints (LightGBM issue 4044). Both properties
are re-checked on the fitted trees and tables at the end of ``fit``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import lightgbm as lgb
import numpy as np

from openbureau.model.base import (
    DEFAULT_SEGMENTS,
    AdditiveModel,
    check_common,
    check_float,
    check_int,
)
from openbureau.model.compile import compile_dump
from openbureau.model.frame import Frame
from openbureau.model.monotone import monotone_violations
from openbureau.model.scaling import Scaling
from openbureau.model.tables import Shape

RESERVED = frozenset(
    {
        "objective",
        "interaction_constraints",
        "monotone_constraints",
        "monotone_constraints_method",
        "linear_tree",
        "categorical_feature",
        "num_class",
        "zero_as_missing",  # a zero would escape the monotone constraints
    }
)


class FactorAdditiveClassifier(AdditiveModel):
    """Gradient boosting whose log-odds are a sum of per-feature, per-segment shapes.

    Parameters mirror LightGBM's; ``extra_params`` passes any other LightGBM parameter
    except those that would break additivity or monotonicity (``RESERVED``).
    Fitted: ``booster_`` (lightgbm.Booster), ``shapes_``/``intercept_`` (the compiled
    tables), ``calibration_``, ``scaling_``, ``scorer_``, ``metrics_``,
    ``calibration_table_``, ``features_``, ``segments_``, ``classes_``, ``data_hash_``.
    """

    def __init__(
        self,
        features: Sequence[object] | None = None,
        *,
        segments: Sequence[str] = DEFAULT_SEGMENTS,
        segment_column: str = "segment",
        n_estimators: int = 600,
        learning_rate: float = 0.05,
        num_leaves: int = 8,
        min_child_samples: int = 20,
        reg_lambda: float = 1.0,
        subsample: float = 1.0,
        max_bin: int = 255,
        num_threads: int = 2,
        scaling: Scaling | None = None,
        calibration_cv: int = 3,
        max_reasons: int = 4,
        min_reason_points: float = 0.05,
        random_state: int | None = 0,
        extra_params: Mapping[str, Any] | None = None,
    ) -> None:
        self.features = features
        self.segments = segments
        self.segment_column = segment_column
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.reg_lambda = reg_lambda
        self.subsample = subsample
        self.max_bin = max_bin
        self.num_threads = num_threads
        self.scaling = scaling
        self.calibration_cv = calibration_cv
        self.max_reasons = max_reasons
        self.min_reason_points = min_reason_points
        self.random_state = random_state
        self.extra_params = extra_params

    def _check_params(self) -> None:
        check_common(self)
        check_int("n_estimators", self.n_estimators, 1)
        check_float("learning_rate", self.learning_rate, 0.0, strict=True)
        check_int("num_leaves", self.num_leaves, 2)
        check_int("min_child_samples", self.min_child_samples, 1)
        check_float("reg_lambda", self.reg_lambda, 0.0, strict=False)
        check_float("subsample", self.subsample, 0.0, strict=True)
        if self.subsample > 1:
            raise ValueError(f"subsample must be in (0, 1], got {self.subsample}")
        check_int("max_bin", self.max_bin, 2)
        check_int("num_threads", self.num_threads, 1)
        if self.extra_params is not None:
            if not isinstance(self.extra_params, Mapping):
                raise TypeError(
                    f"extra_params must be a mapping, got {type(self.extra_params).__name__}"
                )
            clash = sorted(RESERVED.intersection(self.extra_params))
            if clash:
                raise ValueError(f"extra_params may not set {clash}: the model sets them")

    def lgb_params(self, n_features: int, n_segments: int) -> dict[str, Any]:
        """The LightGBM parameters, constraints included (published in the artifact)."""
        seg = [n_features] if n_segments > 1 else []
        mono = [m.sign for m in self.features_] + ([0] if seg else [])
        params: dict[str, Any] = {
            "objective": "binary",
            "learning_rate": float(self.learning_rate),
            "num_leaves": int(self.num_leaves),
            "min_data_in_leaf": int(self.min_child_samples),
            "lambda_l2": float(self.reg_lambda),
            "bagging_fraction": float(self.subsample),
            "bagging_freq": 1 if self.subsample < 1 else 0,
            "max_bin": int(self.max_bin),
            "num_threads": int(self.num_threads),
            "seed": int(self.random_state or 0),
            "deterministic": True,
            "force_row_wise": True,
            "verbose": -1,
            # a higher value never lowers the score == never raises the log-odds of default
            "monotone_constraints": [-s for s in mono],
            "monotone_constraints_method": "basic",
            "interaction_constraints": [[j, *seg] for j in range(n_features)],
        }
        params.update(dict(self.extra_params or {}))
        return params

    @staticmethod
    def _matrix(frame: Frame, n_segments: int) -> np.ndarray:
        cols = [frame.values]
        if n_segments > 1:
            cols.append(frame.segment[None, :].astype(np.float64))
        return np.ascontiguousarray(np.concatenate(cols, axis=0).T)

    def _fit_core(self, frame: Frame, y: np.ndarray) -> lgb.Booster:
        S = len(self.segments_)
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        data = lgb.Dataset(self._matrix(frame, S), label=y, free_raw_data=True)
        params = self.lgb_params(frame.values.shape[0], S)
        return lgb.train(params, data, num_boost_round=int(self.n_estimators))

    def _raw(self, core: lgb.Booster, frame: Frame) -> np.ndarray:
        m = self._matrix(frame, len(self.segments_))
        return core.predict(m, raw_score=True, num_threads=int(self.num_threads))

    def _set_core(self, core: lgb.Booster) -> None:
        self.booster_ = core

    def _compile(self, core: lgb.Booster, frame: Frame) -> tuple[list[Shape], np.ndarray]:
        names = [m.name for m in self.features_]
        shapes, intercept = compile_dump(
            core.dump_model(), names, len(self.segments_), frame.values
        )
        bad = monotone_violations(shapes, self.features_)
        if bad:  # LightGBM has had monotonicity bugs: refuse a model that breaks the promise
            raise RuntimeError("fitted model breaks monotone constraints: " + "; ".join(bad[:3]))
        return shapes, intercept

    def __sklearn_tags__(self):  # type: ignore[no-untyped-def]
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.classifier_tags.multi_class = False
        return tags
