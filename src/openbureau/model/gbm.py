"""The factor-additive gradient-boosted classifier.

LightGBM with interaction constraints ``[[feature, segment] for each feature]``: every
root-to-leaf path splits on one feature (and maybe the segment), so in each segment the
log-odds are a constant plus one shape function per feature, and the factor sub-models are
sums of their features' shapes. Monotone constraints use the 'basic' method, the only one
under which LightGBM keeps interaction constraints (LightGBM issue 4044). Both properties
are re-checked on the fitted trees and tables at the end of ``fit``.

Two optional training aids close most of the gap to an unconstrained model without
touching the structure: early stopping on a stratified holdout of the training rows (the
booster is then refitted on all rows), and distillation, where the target is blended with
out-of-fold probabilities of an unconstrained LightGBM "teacher" fitted on the same rows.
The teacher's smoother targets let the additive model find its best shapes with less noise;
the fitted model is still one shape per feature and segment, and the teacher is discarded.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import lightgbm as lgb
import numpy as np
from sklearn.model_selection import StratifiedKFold, train_test_split

from openbureau.model.base import (
    DEFAULT_SEGMENTS,
    AdditiveModel,
    check_common,
    check_float,
    check_int,
)
from openbureau.model.compile import compile_dump
from openbureau.model.frame import Frame
from openbureau.model.meta import SEGMENT_ORDERS
from openbureau.model.monotone import (
    monotone_violations,
    segment_order_shift,
    segment_order_violations,
)
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
# An unconstrained LightGBM: the distillation teacher here, and the reference every
# evaluation compares against (evaluate.models), so both are the same model.
UNCONSTRAINED_PARAMS: dict[str, Any] = {
    "objective": "binary",
    "learning_rate": 0.05,
    "num_leaves": 15,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "verbose": -1,
    "deterministic": True,
    "force_row_wise": True,
}
TEACHER_PARAMS = UNCONSTRAINED_PARAMS
TEACHER_FOLDS = 3
REFIT_ROUNDS = 1.1  # refitted on all rows: a little more data supports a few more rounds


@dataclass
class _Core:
    boosters: list[lgb.Booster]  # bags: the model is their average
    rounds: int
    holdout: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None  # raw, y, seg, rows


def _auc_stop(rounds: int) -> Any:
    return lgb.early_stopping(rounds, first_metric_only=True, verbose=False)


def _scale_leaves(node: dict[str, Any], w: float) -> dict[str, Any]:
    if "leaf_value" in node:
        return {**node, "leaf_value": node["leaf_value"] * w}
    return {
        **node,
        "left_child": _scale_leaves(node["left_child"], w),
        "right_child": _scale_leaves(node["right_child"], w),
    }


def merge_dumps(dumps: list[dict[str, Any]]) -> dict[str, Any]:
    """One dump whose trees, leaves scaled by 1/len, sum to the average of the boosters."""
    if len(dumps) == 1:
        return dumps[0]
    w = 1.0 / len(dumps)
    trees = [
        {**info, "tree_structure": _scale_leaves(info["tree_structure"], w)}
        for d in dumps
        for info in d["tree_info"]
    ]
    return {**dumps[0], "tree_info": trees}


def early_stopped_rounds(
    params: Mapping[str, Any],
    X: np.ndarray,
    target: np.ndarray | Callable[[np.ndarray], np.ndarray],
    y: np.ndarray,
    *,
    max_rounds: int,
    stop: int,
    folds: int = 1,
    fraction: float = 0.2,
    seed: int | None = 0,
) -> tuple[int, np.ndarray, np.ndarray] | None:
    """Boosting rounds for a refit on all rows, from AUC early stopping on held-out rows.

    ``folds=1`` holds out a stratified ``fraction``; ``folds=k`` uses k stratified folds
    (steadier on small tables) and averages their best rounds. Training uses ``target``
    (maybe soft; a function of the training row indices when it must be built from those
    rows alone, as a teacher's must), validation the true 0/1 ``y``. Returns the rounds,
    the held-out row indices and their raw scores at the best round (for calibration), or
    None when a class has too few rows to hold any out.
    """
    if np.bincount(y, minlength=2).min() < max(10, folds):
        return None
    if folds > 1:
        splits = list(StratifiedKFold(folds, shuffle=True, random_state=seed).split(X, y))
    else:
        idx = np.arange(y.shape[0])
        tr, va = train_test_split(idx, test_size=fraction, stratify=y, random_state=seed)
        splits = [(tr, va)]
    best, rows, raws = [], [], []
    for tr, va in splits:
        soft = target(tr) if callable(target) else target[tr]
        booster = lgb.train(
            {**params, "metric": "auc"},
            lgb.Dataset(X[tr], label=soft),
            num_boost_round=max_rounds,
            valid_sets=[lgb.Dataset(X[va], label=y[va])],
            callbacks=[_auc_stop(stop)],
        )
        b = booster.best_iteration or max_rounds
        best.append(b)
        rows.append(va)
        raws.append(booster.predict(X[va], raw_score=True, num_iteration=b))
    rounds = max(1, math.ceil(float(np.mean(best)) * REFIT_ROUNDS))
    return rounds, np.concatenate(rows), np.concatenate(raws)


class FactorAdditiveClassifier(AdditiveModel):
    """Gradient boosting whose log-odds are a sum of per-feature, per-segment shapes.

    Parameters mirror LightGBM's; ``extra_params`` passes any other LightGBM parameter
    except those that would break additivity or monotonicity (``RESERVED``).
    ``early_stopping_rounds`` > 0 holds out ``validation_fraction`` of the rows (stratified),
    stops when the holdout AUC has not improved for that many rounds (``n_estimators`` is
    then the ceiling) and refits on all rows; ``early_stopping_folds=k`` > 1 uses k
    stratified folds instead and averages their best rounds (steadier on small tables).
    With ``calibration_cv=0`` the Platt calibration is fitted on the held-out rows.
    ``distill`` in [0, 1) is the weight of the teacher's out-of-fold probability in the
    training target (``teacher_params`` override ``TEACHER_PARAMS``). ``n_bags`` > 1 fits
    that many boosters with seeds ``random_state + b`` (use ``subsample`` < 1 or a
    ``feature_fraction`` so they differ) and averages them: an average of additive,
    monotone models is additive and monotone, and its shapes are steadier on small tables.
    Fitted: ``booster_`` (the first lightgbm.Booster), ``boosters_`` (all bags),
    ``shapes_``/``intercept_`` (the compiled tables), ``calibration_``, ``scaling_``,
    ``scorer_``, ``metrics_``, ``calibration_table_``, ``features_``, ``segments_``,
    ``classes_``, ``data_hash_``, ``n_rounds_`` (boosting rounds of each booster).
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
        n_bags: int = 1,
        early_stopping_rounds: int = 0,
        early_stopping_folds: int = 1,
        validation_fraction: float = 0.2,
        distill: float = 0.0,
        teacher_params: Mapping[str, Any] | None = None,
        extra_params: Mapping[str, Any] | None = None,
        network_cap: float = 60.0,
        network_min_contacts: int = 3,
        network_contacts_feature: str = "network_contacts",
        network_exposures: Sequence[str] | None = None,
        segment_order: str = "none",
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
        self.n_bags = n_bags
        self.early_stopping_rounds = early_stopping_rounds
        self.early_stopping_folds = early_stopping_folds
        self.validation_fraction = validation_fraction
        self.distill = distill
        self.teacher_params = teacher_params
        self.extra_params = extra_params
        self.network_cap = network_cap
        self.network_min_contacts = network_min_contacts
        self.network_contacts_feature = network_contacts_feature
        self.network_exposures = network_exposures
        self.segment_order = segment_order

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
        if self.segment_order not in SEGMENT_ORDERS:
            raise ValueError(
                f"segment_order must be one of {SEGMENT_ORDERS}, got {self.segment_order!r}"
            )
        check_int("num_threads", self.num_threads, 1)
        check_int("n_bags", self.n_bags, 1)
        check_int("early_stopping_rounds", self.early_stopping_rounds, 1, allow_zero=True)
        check_int("early_stopping_folds", self.early_stopping_folds, 1)
        check_float("validation_fraction", self.validation_fraction, 0.0, strict=True)
        if self.validation_fraction >= 0.5:
            raise ValueError(
                f"validation_fraction must be in (0, 0.5), got {self.validation_fraction}"
            )
        check_float("distill", self.distill, 0.0, strict=False)
        if self.distill >= 1:
            raise ValueError(f"distill must be in [0, 1), got {self.distill}")
        if self.teacher_params is not None and not isinstance(self.teacher_params, Mapping):
            raise TypeError(
                f"teacher_params must be a mapping, got {type(self.teacher_params).__name__}"
            )
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
        seg_sign = 1 if self.segment_order == "increasing" else 0
        mono = [m.sign for m in self.features_] + ([seg_sign] if seg else [])
        params: dict[str, Any] = {
            # soft (distilled) targets need the cross-entropy objective; same loss on 0/1
            "objective": "cross_entropy" if self.distill else "binary",
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

    def _teacher(self, X: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Out-of-fold default probabilities of an unconstrained LightGBM on the same rows."""
        params = {
            **TEACHER_PARAMS,
            "min_data_in_leaf": int(self.min_child_samples),
            "num_threads": int(self.num_threads),
            "seed": int(self.random_state or 0),
            "metric": "auc",
            **dict(self.teacher_params or {}),
        }
        out = np.empty(y.shape[0])
        folds = StratifiedKFold(TEACHER_FOLDS, shuffle=True, random_state=self.random_state)
        for tr, te in folds.split(X, y):
            # the predicted fold also stops the teacher: training rows only, and the
            # student's own holdout is judged on the true labels
            valid = lgb.Dataset(X[te], label=y[te])
            booster = lgb.train(
                params,
                lgb.Dataset(X[tr], label=y[tr]),
                num_boost_round=int(self.n_estimators),
                valid_sets=[valid],
                callbacks=[_auc_stop(50)],
            )
            out[te] = booster.predict(X[te], num_iteration=booster.best_iteration)
        return out

    def _fit_core(self, frame: Frame, y: np.ndarray) -> _Core:
        S = len(self.segments_)
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        X = self._matrix(frame, S)
        params = self.lgb_params(frame.values.shape[0], S)

        def targets(rows: np.ndarray) -> np.ndarray:
            """Training targets of ``rows``, from those rows alone (the teacher's too)."""
            hard = y[rows].astype(np.float64)
            if not self.distill or np.bincount(y[rows], minlength=2).min() < TEACHER_FOLDS:
                return hard
            return self.distill * self._teacher(X[rows], y[rows]) + (1.0 - self.distill) * hard

        target = targets(np.arange(y.shape[0]))
        rounds = int(self.n_estimators)
        holdout = None
        if self.early_stopping_rounds:
            found = early_stopped_rounds(
                params,
                X,
                targets if self.distill else target,
                y,
                max_rounds=rounds,
                stop=int(self.early_stopping_rounds),
                folds=int(self.early_stopping_folds),
                fraction=float(self.validation_fraction),
                seed=self.random_state,
            )
            if found is not None:
                rounds, rows, raw = found
                holdout = (raw, y[rows], frame.segment[rows], rows)
        data = lgb.Dataset(X, label=target, free_raw_data=False)
        seed = int(self.random_state or 0)
        boosters = [
            lgb.train({**params, "seed": seed + b}, data, num_boost_round=rounds)
            for b in range(int(self.n_bags))
        ]
        return _Core(boosters, rounds, holdout)

    def fit(self, X: object, y: object) -> FactorAdditiveClassifier:
        super().fit(X, y)
        if self.segment_order == "increasing":  # again, with the network bounds and gate
            bad = segment_order_violations(
                self.shapes_, self.intercept_, self.segments_, self.network_gate_
            )
            if bad:
                raise RuntimeError("fitted model breaks the segment order: " + "; ".join(bad))
        return self

    def _settle_segments(self, frame: Frame, held: np.ndarray, held_rows: np.ndarray) -> np.ndarray:
        """Keep the segment order after the network bounds, which shrink per segment."""
        self.segment_order_shift_ = np.zeros(len(self.segments_))
        if self.segment_order != "increasing":
            return held
        shift = segment_order_shift(
            self.shapes_, self.intercept_, self.segments_, self.network_gate_
        )
        if not shift.any():
            return held
        self.intercept_ = self.intercept_ - shift
        self.segment_order_shift_ = shift
        return held - shift[frame.segment[held_rows]]

    def _raw(self, core: _Core, frame: Frame) -> np.ndarray:
        m = self._matrix(frame, len(self.segments_))
        raws = [
            b.predict(m, raw_score=True, num_threads=int(self.num_threads)) for b in core.boosters
        ]
        return np.mean(raws, axis=0)

    def _set_core(self, core: _Core) -> None:
        self.booster_ = core.boosters[0]
        self.boosters_ = list(core.boosters)
        self.n_rounds_ = core.rounds

    def _holdout(self, core: _Core) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
        return core.holdout

    def _compile(self, core: _Core, frame: Frame) -> tuple[list[Shape], np.ndarray]:
        names = [m.name for m in self.features_]
        shapes, intercept = compile_dump(
            merge_dumps([b.dump_model() for b in core.boosters]),
            names,
            len(self.segments_),
            frame.values,
        )
        bad = monotone_violations(shapes, self.features_)
        if self.segment_order == "increasing":
            bad += segment_order_violations(shapes, intercept, self.segments_)
        if bad:  # LightGBM has had monotonicity bugs: refuse a model that breaks the promise
            raise RuntimeError("fitted model breaks monotone constraints: " + "; ".join(bad[:3]))
        return shapes, intercept

    def __sklearn_tags__(self):  # type: ignore[no-untyped-def]
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.classifier_tags.multi_class = False
        return tags
