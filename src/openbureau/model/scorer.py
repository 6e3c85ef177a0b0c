"""Vectorised scoring from the compiled tables: score, factor sub-scores, reasons, PD.

Per feature: one ``np.searchsorted`` finds the bin, one ``take`` reads its points and one
its cost. Points are measured from the worst attainable bin (so every feature, hence every
factor, earns >= 0 points) and cost from the best attainable bin in the person's segment
(so a reason's points are exactly what that feature costs). Rows go in chunks that fit in
cache, on a few threads: numpy releases the GIL in these calls.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from openbureau.model.bounded import NetworkGate
from openbureau.model.frame import Frame
from openbureau.model.scaling import Calibration, Scaling
from openbureau.model.tables import Shape

CHUNK = 16_384


@dataclass(frozen=True)
class ScoreResult:
    """Scores of n people. Points are rounded to 0.1; ``score = clip(base + sum(subscores))``.

    ``reason_index[i, r]`` is the r-th costliest feature of person i (-1: no more reasons),
    ``reason_points`` what it costs (unrounded; NaN where there is no reason).
    """

    factors: tuple[str, ...]
    features: tuple[str, ...]
    segments: tuple[str, ...]
    segment: np.ndarray
    score: np.ndarray
    base: np.ndarray
    subscores: np.ndarray
    clipped: np.ndarray
    log_odds: np.ndarray
    pd: np.ndarray
    reason_index: np.ndarray
    reason_points: np.ndarray

    def __len__(self) -> int:
        return int(self.score.shape[0])


class Scorer:
    """Scores people from compiled shapes; built once per model, reused for every call."""

    def __init__(
        self,
        shapes: Sequence[Shape],
        intercept: np.ndarray,
        feature_factors: Sequence[str],
        factors: Sequence[str],
        segments: Sequence[str],
        scaling: Scaling,
        calibration: Calibration,
        max_reasons: int = 4,
        min_points: float = 0.05,
        gate: NetworkGate | None = None,
    ) -> None:
        self.shapes = tuple(shapes)
        self.factors = tuple(factors)
        self.segments = tuple(segments)
        self.scaling = scaling
        self.calibration = calibration
        self.max_reasons = min(int(max_reasons), len(self.shapes))
        self.min_points = float(min_points)
        self.feature_factor = np.array([self.factors.index(f) for f in feature_factors], np.intp)
        per_point = scaling.factor * calibration.slope  # points per unit of raw log-odds
        worst_total = np.asarray(intercept, dtype=np.float64).copy()
        self._lookup, self._side, self._width, self._pts, self._cost = [], [], [], [], []
        self.points = []  # (S, L) per feature: points earned in each bin
        self.best_points = []  # (S,) per feature: the most that feature can earn
        for sh in self.shapes:
            v = sh.values
            worst = v.max(axis=1)
            best = v.min(axis=1)
            pts = per_point * (worst[:, None] - v)
            cost = per_point * (v - best[:, None])  # exactly 0 in the best bin
            worst_total += worst
            self.points.append(pts)
            self.best_points.append(pts.max(axis=1))
            self._lookup.append(sh.lookup_breaks())
            self._side.append(sh.side)
            self._width.append(v.shape[1])
            self._pts.append(np.ascontiguousarray(pts).ravel())
            self._cost.append(np.ascontiguousarray(cost).ravel())
        self.gate = gate
        if gate is not None:  # points of the neutral network sub-score, per segment
            worst_net = sum(self.shapes[j].values.max(axis=1) for j in gate.members)
            self.neutral_points = per_point * (worst_net - gate.neutral_raw)
            self.network = self.factors.index("network")
        # score of the worst attainable person in each segment, before rounding
        self.base_exact = scaling.score(calibration.apply(worst_total))
        self.base_tenths = np.rint(self.base_exact * 10.0).astype(np.int64)

    @property
    def base(self) -> np.ndarray:
        """The published constant per segment: score = base + sum of factor sub-scores."""
        return self.base_tenths / 10.0

    def bins(self, frame: Frame) -> np.ndarray:
        """(J, n) bin index of every value; the last bin of each feature is NaN."""
        return np.stack(
            [
                np.searchsorted(self._lookup[j], frame.values[j], side=self._side[j])
                for j in range(len(self.shapes))
            ]
        )

    def feature_points(self, frame: Frame) -> tuple[np.ndarray, np.ndarray]:
        """(n, J) points each feature earns and (n, J) points each costs vs the best bin."""
        n, J = frame.n_rows, len(self.shapes)
        pts = np.empty((n, J))
        cost = np.empty((n, J))
        for j, idx in enumerate(self.bins(frame)):
            flat = idx + frame.segment * self._width[j]
            pts[:, j] = self._pts[j].take(flat)
            cost[:, j] = self._cost[j].take(flat)
        return pts, cost

    def score(self, frame: Frame, threads: int | None = None) -> ScoreResult:
        n = frame.n_rows
        F, R = len(self.factors), self.max_reasons
        out_sub = np.empty((n, F))
        out_raw = np.empty(n)
        out_ri = np.empty((n, R), dtype=np.int16)
        out_rp = np.empty((n, R))
        starts = range(0, n, CHUNK)

        def work(lo: int) -> None:
            hi = min(lo + CHUNK, n)
            sub, raw, ri, rp = self._chunk(frame.values[:, lo:hi], frame.segment[lo:hi])
            out_sub[lo:hi], out_raw[lo:hi], out_ri[lo:hi], out_rp[lo:hi] = sub, raw, ri, rp

        workers = threads if threads is not None else min(2, os.cpu_count() or 1)
        if workers <= 1 or n <= CHUNK:
            for lo in starts:
                work(lo)
        else:
            with ThreadPoolExecutor(workers) as pool:
                list(pool.map(work, starts))
        sub_t = np.rint(out_sub * 10.0).astype(np.int64)
        total_t = self.base_tenths[frame.segment] + sub_t.sum(axis=1)
        lo_t, hi_t = round(self.scaling.low * 10), round(self.scaling.high * 10)
        score_t = np.clip(total_t, lo_t, hi_t)
        log_odds = self.scaling.log_odds(out_raw)
        return ScoreResult(
            factors=self.factors,
            features=tuple(s.name for s in self.shapes),
            segments=self.segments,
            segment=frame.segment,
            score=score_t / 10.0,
            base=self.base[frame.segment],
            subscores=sub_t / 10.0,
            clipped=score_t != total_t,
            log_odds=log_odds,
            pd=1.0 / (1.0 + np.exp(-log_odds)),
            reason_index=out_ri,
            reason_points=out_rp,
        )

    def _chunk(
        self, values: np.ndarray, seg: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        m, J = seg.shape[0], len(self.shapes)
        sub = np.zeros((len(self.factors), m))
        cost = np.empty((J, m))
        multi = len(self.segments) > 1
        for j in range(J):
            idx = np.searchsorted(self._lookup[j], values[j], side=self._side[j])
            if multi:
                idx += seg * self._width[j]
            sub[self.feature_factor[j]] += self._pts[j].take(idx)
            self._cost[j].take(idx, out=cost[j])
        if self.gate is not None:  # too few consented contacts: neutral, and no reason
            g = self.gate.gated(values)
            if g.any():
                sub[self.network, g] = self.neutral_points[seg[g]]
                for j in self.gate.members:
                    cost[j, g] = 0.0
        raw = self.base_exact[seg] + sub.sum(axis=0)
        ri, rp = top_reasons(cost, self.max_reasons, self.min_points)
        return sub.T, raw, ri, rp


def top_reasons(cost: np.ndarray, k: int, min_points: float) -> tuple[np.ndarray, np.ndarray]:
    """The k costliest features per column of a (J, m) cost matrix, ties to the lower index.

    Only costs > 0 and >= min_points count: a feature that costs nothing is never a reason.
    """
    m = cost.shape[1]
    c = np.ascontiguousarray(cost.T)
    ri = np.full((m, k), -1, dtype=np.int16)
    rp = np.full((m, k), np.nan)
    rows = np.arange(m)
    for r in range(k):
        a = c.argmax(axis=1)
        v = c[rows, a]
        ok = (v > 0) & (v >= min_points)
        if not ok.any():
            break
        ri[ok, r] = a[ok]
        rp[ok, r] = v[ok]
        c[rows, a] = -np.inf
    return ri, rp
