"""The classic scorecard: optbinning WoE bins, one logistic regression per segment.

For users who must file a traditional scorecard. It compiles to the same step-function
tables as the boosted model, so scores, sub-scores, reasons, counterfactuals and artifacts
work identically. Bins are shared (pooled); coefficients are per segment (the profile-
dependent weights). A feature whose coefficient would reverse its declared direction in a
segment is dropped from that segment's regression, as scorecard practice does.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression

from openbureau.model.base import (
    DEFAULT_SEGMENTS,
    AdditiveModel,
    check_common,
    check_float,
    check_int,
)
from openbureau.model.frame import Frame
from openbureau.model.monotone import monotone_violations
from openbureau.model.scaling import Scaling
from openbureau.model.tables import Shape, bin_ranges

_TREND = {"increasing": "descending", "decreasing": "ascending", "none": "auto"}
MIN_SEGMENT_ROWS = 50


@dataclass
class _Core:
    binning: Any  # optbinning.BinningProcess
    coef: np.ndarray  # (S, J)
    intercept: np.ndarray  # (S,)


def _woe(binning: Any, frame: Frame) -> np.ndarray:
    return np.asarray(
        binning.transform(
            frame.values.T, metric="woe", metric_missing="empirical", metric_special="empirical"
        ),
        dtype=np.float64,
    )


class WoEScorecardClassifier(AdditiveModel):
    """WoE-binned logistic scorecard behind the same interface as the boosted model.

    Fitted: ``binning_`` (optbinning.BinningProcess), ``coef_`` (segments x features),
    ``shapes_``/``intercept_``, ``calibration_``, ``scaling_``, ``scorer_``, ``metrics_``,
    ``calibration_table_``, ``features_``, ``segments_``, ``classes_``, ``data_hash_``.
    """

    def __init__(
        self,
        features: Sequence[object] | None = None,
        *,
        segments: Sequence[str] = DEFAULT_SEGMENTS,
        segment_column: str = "segment",
        max_n_bins: int = 8,
        min_bin_size: float = 0.05,
        C: float = 1.0,
        scaling: Scaling | None = None,
        calibration_cv: int = 0,
        max_reasons: int = 4,
        min_reason_points: float = 0.05,
        random_state: int | None = 0,
        network_cap: float = 60.0,
        network_min_contacts: int = 3,
        network_contacts_feature: str = "network_contacts",
        network_exposures: Sequence[str] | None = None,
    ) -> None:
        self.features = features
        self.segments = segments
        self.segment_column = segment_column
        self.max_n_bins = max_n_bins
        self.min_bin_size = min_bin_size
        self.C = C
        self.scaling = scaling
        self.calibration_cv = calibration_cv
        self.max_reasons = max_reasons
        self.min_reason_points = min_reason_points
        self.random_state = random_state
        self.network_cap = network_cap
        self.network_min_contacts = network_min_contacts
        self.network_contacts_feature = network_contacts_feature
        self.network_exposures = network_exposures

    def _check_params(self) -> None:
        check_common(self)
        check_int("max_n_bins", self.max_n_bins, 2)
        check_float("min_bin_size", self.min_bin_size, 0.0, strict=True)
        if self.min_bin_size > 0.5:
            raise ValueError(f"min_bin_size must be in (0, 0.5], got {self.min_bin_size}")
        check_float("C", self.C, 0.0, strict=True)

    def _fit_core(self, frame: Frame, y: np.ndarray) -> _Core:
        logging.getLogger("cvxpy").setLevel(logging.ERROR)
        from optbinning import BinningProcess

        names = [m.name for m in self.features_]
        binning = BinningProcess(
            names,
            max_n_prebins=20,
            max_n_bins=int(self.max_n_bins),
            min_bin_size=float(self.min_bin_size),
            binning_fit_params={
                m.name: {"monotonic_trend": _TREND[m.direction]} for m in self.features_
            },
        ).fit(frame.values.T, y)
        woe = _woe(binning, frame)
        S, J = len(self.segments_), len(names)
        coef, intercept = np.zeros((S, J)), np.zeros(S)
        pooled = self._regress(woe, y, np.ones(J, bool))
        for s in range(S):
            rows = frame.segment == s
            ys = y[rows]
            if rows.sum() < MIN_SEGMENT_ROWS or ys.min() == ys.max():
                coef[s], intercept[s] = pooled
                continue
            keep = np.ones(J, bool)
            while True:
                c, b = self._regress(woe[rows], ys, keep)
                # optbinning's WoE is high where defaults are rare, so a monotone feature
                # keeps its direction only with a coefficient <= 0 on the default log-odds
                wrong = keep & (c > 0) & np.array([m.sign != 0 for m in self.features_])
                if not wrong.any():
                    break
                keep[np.argmax(np.where(wrong, c, -np.inf))] = False
            coef[s], intercept[s] = c, b
        return _Core(binning, coef, intercept)

    def _regress(
        self, woe: np.ndarray, y: np.ndarray, keep: np.ndarray
    ) -> tuple[np.ndarray, float]:
        coef = np.zeros(woe.shape[1])
        if not keep.any():
            rate = float(np.clip(y.mean(), 1e-6, 1 - 1e-6))
            return coef, float(np.log(rate / (1 - rate)))
        lr = LogisticRegression(C=float(self.C), max_iter=1000).fit(woe[:, keep], y)
        coef[keep] = lr.coef_[0]
        return coef, float(lr.intercept_[0])

    def _raw(self, core: _Core, frame: Frame) -> np.ndarray:
        woe = _woe(core.binning, frame)
        return core.intercept[frame.segment] + np.einsum("ij,ij->i", woe, core.coef[frame.segment])

    def _set_core(self, core: _Core) -> None:
        self.binning_ = core.binning
        self.coef_ = core.coef

    def _compile(self, core: _Core, frame: Frame) -> tuple[list[Shape], np.ndarray]:
        shapes = []
        for j, m in enumerate(self.features_):
            var = core.binning.get_binned_variable(m.name)
            splits = getattr(var, "splits", None)
            breaks = np.asarray([] if splits is None else splits, dtype=np.float64).ravel()
            low, high = bin_ranges(breaks, False, frame.values[j])
            probe = Shape(m.name, breaks, False, np.zeros((1, breaks.size + 2)), low, high)
            reps = probe.representatives()
            woe = np.asarray(
                var.transform(
                    reps, metric="woe", metric_missing="empirical", metric_special="empirical"
                ),
                dtype=np.float64,
            )
            values = core.coef[:, j : j + 1] * woe[None, :]
            shapes.append(Shape(m.name, breaks, False, values, low, high))
        bad = monotone_violations(shapes, self.features_)
        if bad:
            raise RuntimeError("scorecard breaks monotone constraints: " + "; ".join(bad[:3]))
        return shapes, core.intercept.copy()

    def __sklearn_tags__(self):  # type: ignore[no-untyped-def]
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.classifier_tags.multi_class = False
        return tags
