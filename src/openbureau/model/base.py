"""What both additive models share: input handling, out-of-fold calibration, scoring.

A subclass says how to fit its core model, how to get raw log-odds from it and how to
compile it to step-function tables; everything a consumer sees (probabilities, the score,
sub-scores, reasons, factor weights) is computed here from the tables, the same way for
the boosted model and the WoE scorecard.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.model_selection import StratifiedKFold
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_array, check_is_fitted, column_or_1d

from openbureau.model.bounded import NetworkGate, bound_network, gated_raw
from openbureau.model.evaluation import calibration_table, metrics
from openbureau.model.frame import ALL_SEGMENT, Frame, column_names, has_column, to_frame
from openbureau.model.meta import FACTORS, FeatureMeta, resolve_features
from openbureau.model.scaling import Calibration, Scaling, fit_platt
from openbureau.model.scorer import Scorer, ScoreResult
from openbureau.model.tables import Shape

DEFAULT_SEGMENTS = ("thin", "established")


def check_int(name: str, value: object, low: int, *, allow_zero: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if not (value >= low or (allow_zero and value == 0)):
        extra = " or 0" if allow_zero else ""
        raise ValueError(f"{name} must be >= {low}{extra}, got {value}")


def check_float(name: str, value: object, low: float, *, strict: bool) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    if not np.isfinite(value) or value < low or (strict and value == low):
        op = ">" if strict else ">="
        raise ValueError(f"{name} must be finite and {op} {low}, got {value}")


def check_common(est: AdditiveModel) -> None:
    """Parameter checks shared by both models (precise types and ranges)."""
    segs = est.segments
    if not isinstance(segs, tuple | list) or not segs:
        raise TypeError(f"segments must be a non-empty tuple of str, got {segs!r}")
    if not all(isinstance(s, str) and s for s in segs) or len(set(segs)) != len(segs):
        raise ValueError(f"segments must be distinct non-empty strings, got {segs!r}")
    if not isinstance(est.segment_column, str) or not est.segment_column:
        raise TypeError(f"segment_column must be a non-empty str, got {est.segment_column!r}")
    if est.scaling is not None and not isinstance(est.scaling, Scaling):
        raise TypeError(f"scaling must be a Scaling or None, got {type(est.scaling).__name__}")
    check_int("calibration_cv", est.calibration_cv, 2, allow_zero=True)
    check_int("max_reasons", est.max_reasons, 1)
    check_float("min_reason_points", est.min_reason_points, 0.0, strict=False)
    if est.random_state is not None:
        check_int("random_state", est.random_state, 0)
    check_float("network_cap", est.network_cap, 0.0, strict=True)
    check_int("network_min_contacts", est.network_min_contacts, 1)
    contacts = est.network_contacts_feature
    if not isinstance(contacts, str) or not contacts:
        raise TypeError(f"network_contacts_feature must be a non-empty str, got {contacts!r}")
    ex = est.network_exposures
    if ex is not None and (
        isinstance(ex, str) or not all(isinstance(n, str) for n in ex)  # type: ignore[union-attr]
    ):
        raise TypeError(f"network_exposures must be a sequence of feature names, got {ex!r}")


def _dense(X: object, min_rows: int) -> object:
    """Tables pass through (selected by name later); anything else is checked like sklearn."""
    if sp.issparse(X):
        raise TypeError("sparse input is not supported; pass a dense array or a table")
    if column_names(X) is not None:
        return X
    return check_array(
        X, dtype=np.float64, ensure_all_finite="allow-nan", ensure_min_samples=min_rows
    )


def data_hash(frame: Frame, y: np.ndarray, names: Sequence[str]) -> str:
    h = hashlib.sha256()
    h.update("\x1f".join(names).encode())
    h.update(np.ascontiguousarray(frame.values).tobytes())
    h.update(frame.segment.astype(np.int64).tobytes())
    h.update(y.astype(np.int8).tobytes())
    return h.hexdigest()


class AdditiveModel(ClassifierMixin, BaseEstimator):
    """Base of the factor-additive classifiers. The positive class (the larger label) is default.

    ``score(X, y)`` is scikit-learn's accuracy, as the estimator contract requires; the
    350-950 credit score is ``predict_score`` and its breakdown ``score_breakdown``.
    """

    # subclasses set these in __init__
    features: Sequence[object] | None
    segments: Sequence[str]
    segment_column: str
    scaling: Scaling | None
    calibration_cv: int
    max_reasons: int
    min_reason_points: float
    random_state: int | None
    network_cap: float
    network_min_contacts: int
    network_contacts_feature: str
    network_exposures: Sequence[str] | None

    # --- the three steps a subclass provides -------------------------------------------
    def _check_params(self) -> None:
        raise NotImplementedError

    def _fit_core(self, frame: Frame, y: np.ndarray) -> Any:
        raise NotImplementedError

    def _raw(self, core: Any, frame: Frame) -> np.ndarray:
        raise NotImplementedError

    def _compile(self, core: Any, frame: Frame) -> tuple[list[Shape], np.ndarray]:
        raise NotImplementedError

    def _holdout(self, core: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
        """Raw scores, labels, segments and indices of rows the core held out."""
        return None

    # --- fitting -----------------------------------------------------------------------
    def _prepare(self, X: object, y: object) -> tuple[Frame, np.ndarray]:
        self._check_params()
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None"
            )
        X = _dense(X, min_rows=2)
        names = column_names(X)
        if self.features is not None:
            feat_names: list[str] = []
        elif names is not None:
            feat_names = [n for n in names if n != self.segment_column]
        else:
            feat_names = [f"x{i}" for i in range(np.shape(X)[1])]
        metas = resolve_features(self.features, feat_names)
        with_segments = has_column(X, self.segment_column)
        segments = tuple(self.segments) if with_segments else (ALL_SEGMENT,)
        frame = to_frame(X, [m.name for m in metas], segments, self.segment_column)
        if frame.n_rows < 2:
            raise ValueError(f"need at least 2 rows to fit, got {frame.n_rows}")
        y_arr = column_or_1d(y, warn=True)
        if y_arr.shape[0] != frame.n_rows:
            raise ValueError(f"y has {y_arr.shape[0]} labels for {frame.n_rows} rows")
        check_classification_targets(y_arr)
        classes = np.unique(y_arr)
        if classes.shape[0] > 2:
            raise ValueError(
                "Only binary classification is supported (good vs default); the type of the "
                f"target is {type_of_target(y_arr)}"
            )
        if classes.shape[0] < 2:
            raise ValueError("y holds one class: the model needs both good and default rows")
        self.classes_ = classes
        self.features_ = tuple(metas)
        self.n_features_in_ = len(metas)
        if frame.had_names:
            self.feature_names_in_ = np.array([m.name for m in metas], dtype=object)
        self.segments_ = segments
        return frame, (y_arr == classes[1]).astype(np.int8)

    def fit(self, X: object, y: object) -> AdditiveModel:
        frame, yb = self._prepare(X, y)
        cv = self.calibration_cv
        oof: np.ndarray | None = None
        if cv and np.bincount(yb, minlength=2).min() >= cv:
            oof = np.empty(frame.n_rows)
            folds = StratifiedKFold(cv, shuffle=True, random_state=self.random_state or 0)
            for tr, te in folds.split(np.zeros(frame.n_rows), yb):
                sub = Frame(frame.values[:, tr], frame.segment[tr], frame.had_names)
                core = self._fit_core(sub, yb[tr])
                oof[te] = self._raw(core, Frame(frame.values[:, te], frame.segment[te], True))
        core = self._fit_core(frame, yb)
        self._set_core(core)
        shapes, intercept = self._compile(core, frame)
        self.shapes_ = shapes
        self.intercept_ = intercept
        held_y, held_seg, held_rows = yb, frame.segment, np.arange(frame.n_rows)
        holdout = self._holdout(core)
        if oof is not None:
            held, how, method = oof, f"{cv}-fold out-of-fold", "platt-oof"
        elif holdout is not None and holdout[1].min() != holdout[1].max():
            held, held_y, held_seg, held_rows = holdout
            method = "platt-holdout"
            how = f"early-stopping holdout ({held_y.shape[0]} rows, before the refit)"
        else:
            held, how, method = self._raw(core, frame), "training data (in-sample)", "identity"

        def calibrate(raw: np.ndarray) -> Calibration:
            if method == "identity":
                return Calibration(1.0, 0.0, "identity")
            return fit_platt(raw, held_y, method)

        self.calibration_ = calibrate(held)
        self.scaling_ = self.scaling if self.scaling is not None else Scaling()
        self.network_gate_: NetworkGate | None = None
        self.network_bound_: dict[str, Any] = {}
        if any(m.factor == "network" for m in self.features_):
            held = self._bound_network(frame, held, held_rows, calibrate)
        held = self._settle_segments(frame, held, held_rows)
        self.scorer_ = self._build_scorer()
        cal = self.calibration_.apply(held)
        pd_held = 1.0 / (1.0 + np.exp(-cal))
        score_held = np.clip(self.scaling_.score(cal), self.scaling_.low, self.scaling_.high)
        self.metrics_ = metrics(held_y, pd_held, held_seg, self.segments_, how)
        self.calibration_table_ = calibration_table(
            held_y, pd_held, score_held, self.scaling_.low, self.scaling_.high
        )
        self.data_hash_ = data_hash(frame, yb, [m.name for m in self.features_])
        return self

    def _bound_network(
        self,
        frame: Frame,
        held: np.ndarray,
        held_rows: np.ndarray,
        calibrate: Any,
    ) -> np.ndarray:
        """Apply the network safeguards (``model.bounded``) and recalibrate on the result.

        Bounds are in score points, which depend on the calibration slope, which depends on
        the bounded tables: two rounds settle it, and the last bound uses the final slope,
        so the promises hold exactly for the published model. Returns the held-out raw
        scores as the bounded tables give them.
        """
        original = list(self.shapes_)
        sub = Frame(frame.values[:, held_rows], frame.segment[held_rows], frame.had_names)
        before = self._table_raw(original, None, sub)

        def bound() -> tuple[list[Shape], NetworkGate | None, dict[str, Any]]:
            return bound_network(
                original,
                self.features_,
                frame,
                self.scaling_.factor * self.calibration_.slope,
                cap=float(self.network_cap),
                min_contacts=int(self.network_min_contacts),
                contacts_feature=self.network_contacts_feature,
                exposures=self.network_exposures,
            )

        for _ in range(2):
            shapes, gate, _ = bound()
            self.calibration_ = calibrate(held + self._table_raw(shapes, gate, sub) - before)
        shapes, gate, report = bound()
        self.shapes_, self.network_gate_, self.network_bound_ = shapes, gate, report
        return held + self._table_raw(shapes, gate, sub) - before

    def _settle_segments(self, frame: Frame, held: np.ndarray, held_rows: np.ndarray) -> np.ndarray:
        """A last adjustment of the tables after the network bounds (none here)."""
        return held

    def _table_raw(
        self, shapes: Sequence[Shape], gate: NetworkGate | None, frame: Frame
    ) -> np.ndarray:
        """Raw log-odds from step tables (with the network gate), without the scorer."""
        raw = self.intercept_[frame.segment].copy()
        for j, shape in enumerate(shapes):
            raw += shape.values[frame.segment, shape.bin_index(frame.values[j])]
        return raw + gated_raw(shapes, gate, frame)

    def _set_core(self, core: Any) -> None:
        """Keep the fitted core model as a fitted attribute (subclasses name it)."""

    def _build_scorer(self) -> Scorer:
        return Scorer(
            self.shapes_,
            self.intercept_,
            [m.factor for m in self.features_],
            FACTORS,
            self.segments_,
            self.scaling_,
            self.calibration_,
            self.max_reasons,
            self.min_reason_points,
            getattr(self, "network_gate_", None),
        )

    # --- prediction --------------------------------------------------------------------
    def _frame(self, X: object) -> Frame:
        check_is_fitted(self, "scorer_")
        X = _dense(X, min_rows=1)
        if column_names(X) is None and np.shape(X)[1] != self.n_features_in_:
            raise ValueError(
                f"X has {np.shape(X)[1]} features, but {type(self).__name__} is expecting "
                f"{self.n_features_in_} features as input."
            )
        return to_frame(X, [m.name for m in self.features_], self.segments_, self.segment_column)

    def raw_log_odds(self, X: object) -> np.ndarray:
        """Uncalibrated log-odds of default from the tables (= the core model's raw output)."""
        frame = self._frame(X)
        return self._table_raw(self.shapes_, getattr(self, "network_gate_", None), frame)

    def decision_function(self, X: object) -> np.ndarray:
        """Calibrated log-odds of default."""
        raw = self.raw_log_odds(X)
        return self.calibration_.apply(raw)

    def predict_proba(self, X: object) -> np.ndarray:
        p = 1.0 / (1.0 + np.exp(-self.decision_function(X)))
        return np.column_stack([1.0 - p, p])

    def predict(self, X: object) -> np.ndarray:
        positive = self.decision_function(X) > 0
        return self.classes_[positive.astype(int)]

    def score_breakdown(self, X: object, threads: int | None = None) -> ScoreResult:
        """Scores, factor sub-scores, base points and top reasons for every row."""
        return self.scorer_.score(self._frame(X), threads)

    def predict_score(self, X: object) -> np.ndarray:
        """The 350-950 score (higher = lower odds of default), to one decimal."""
        return self.score_breakdown(X).score

    # --- profile-dependent weights -----------------------------------------------------
    def factor_ranges(self) -> pd.DataFrame:
        """Most points each factor can give, per segment: the weights the model itself sets."""
        check_is_fitted(self, "scorer_")
        best = np.zeros((len(self.segments_), len(FACTORS)))
        for j, m in enumerate(self.features_):
            best[:, FACTORS.index(m.factor)] += self.scorer_.best_points[j]
        return pd.DataFrame(best, index=list(self.segments_), columns=list(FACTORS))

    def factor_weights(self, X: object) -> pd.DataFrame:
        """Each factor's share of the spread of scores within each segment, on data X.

        Share = variance of the factor's sub-score over the sum of the five variances; rows
        sum to 1. A factor that separates thin files strongly but established files weakly
        gets a larger weight for thin files: the profile-dependent weighting, measured.
        """
        res = self.score_breakdown(X)
        rows = {}
        for i, s in enumerate(self.segments_):
            sub = res.subscores[res.segment == i]
            var = sub.var(axis=0) if sub.shape[0] > 1 else np.zeros(len(FACTORS))
            total = var.sum()
            rows[s] = var / total if total > 0 else np.full(len(FACTORS), np.nan)
        return pd.DataFrame.from_dict(rows, orient="index", columns=list(FACTORS))

    @property
    def feature_metas(self) -> tuple[FeatureMeta, ...]:
        check_is_fitted(self, "scorer_")
        return self.features_
