"""How to improve: the smallest actionable changes that reach a target score.

Only features marked ``actionable`` move; a monotone feature moves only in its helpful
direction, a free one either way; every proposed value is one seen in training (the
smallest seen in the target bin when moving up, the largest when moving down); a missing
value is not moved, since no direction is helpful from "unknown". Search, on the real
model's compiled tables:

1. For each movable feature, the most points it can gain. Taking the largest gains first
   gives the fewest features that reach the target (or shows it is unreachable).
2. Then, from the smallest chosen gain up, pull each change back to the nearest bin that
   still reaches the target, re-scoring the whole row with the model each time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from openbureau.model.base import AdditiveModel
from openbureau.model.frame import Frame

THRESHOLDS = (600.0, 650.0, 700.0, 750.0)


@dataclass(frozen=True)
class Change:
    feature: str
    factor: str
    current: float
    proposed: float
    points: float  # what this change alone adds, before rounding


@dataclass(frozen=True)
class Counterfactual:
    """``score_after`` is the model's score with all ``changes`` applied."""

    target: float | None
    reachable: bool
    score_before: float
    score_after: float
    changes: tuple[Change, ...]
    message: str


def next_threshold(score: float, thresholds: Sequence[float] = THRESHOLDS) -> float | None:
    """The lowest benefit threshold above ``score`` (None when above them all)."""
    above = [t for t in sorted(thresholds) if t > score]
    return above[0] if above else None


def _candidates(model: AdditiveModel, j: int, seg: int, x: float) -> list[tuple[int, float, float]]:
    """(bin, proposed value, points gained) for each helpful move of feature j, nearest first."""
    shape = model.shapes_[j]
    meta = model.features_[j]
    pts = model.scorer_.points[j][seg]
    cur = int(shape.bin_index(np.array([x]))[0])
    out = []
    for b in range(shape.breaks.shape[0] + 1):
        if b == cur:
            continue
        up = b > cur
        if (meta.sign > 0 and not up) or (meta.sign < 0 and up):
            continue
        value = shape.low[b] if up else shape.high[b]
        gain = pts[b] - pts[cur]
        if np.isnan(value) or gain <= 0:
            continue
        out.append((b, float(value), float(gain)))
    out.sort(key=lambda c: abs(c[0] - cur))
    return out


def _score(model: AdditiveModel, values: np.ndarray, seg: int) -> float:
    frame = Frame(values[:, None], np.array([seg], np.intp), True)
    return float(model.scorer_.score(frame, threads=1).score[0])


def counterfactual(
    model: AdditiveModel,
    X: object,
    target: float | None = None,
    thresholds: Sequence[float] = THRESHOLDS,
) -> Counterfactual:
    """Changes for the single person in X to reach ``target`` (default: next threshold)."""
    frame = model._frame(X)
    if frame.n_rows != 1:
        raise ValueError(f"counterfactual explains one person, got {frame.n_rows} rows")
    x = frame.values[:, 0].copy()
    seg = int(frame.segment[0])
    before = _score(model, x, seg)
    if target is None:
        target = next_threshold(before, thresholds)
        if target is None:
            return Counterfactual(None, True, before, before, (), "already above every threshold")
    if before >= target:
        return Counterfactual(target, True, before, before, (), f"already at or above {target:g}")
    movable = [j for j, m in enumerate(model.features_) if m.actionable and not np.isnan(x[j])]
    options = {j: _candidates(model, j, seg, x[j]) for j in movable}
    best = sorted(
        ((max(c[2] for c in opts), j) for j, opts in options.items() if opts), reverse=True
    )
    chosen: dict[int, int] = {}  # feature -> index into its options
    trial = x.copy()
    reached = False
    for _, j in best:
        k = int(np.argmax([c[2] for c in options[j]]))
        chosen[j] = k
        trial[j] = options[j][k][1]
        if _score(model, trial, seg) >= target:
            reached = True
            break
    if reached:
        for j in reversed(list(chosen)):  # smallest gain first: pull each change back
            for k, (_, value, _) in [(-1, (0, x[j], 0.0)), *enumerate(options[j])]:
                test = trial.copy()
                test[j] = value
                if _score(model, test, seg) >= target:
                    trial = test
                    if k < 0:
                        del chosen[j]
                    else:
                        chosen[j] = k
                    break
    after = _score(model, trial, seg)
    changes = tuple(
        Change(
            model.features_[j].name,
            model.features_[j].factor,
            float(x[j]),
            options[j][k][1],
            options[j][k][2],
        )
        for j, k in sorted(chosen.items())
    )
    if reached:
        msg = f"{len(changes)} change(s) reach {after:g} (target {target:g})"
    else:
        msg = (
            f"target {target:g} is out of reach by actionable changes; "
            f"the best they give is {after:g}"
        )
    return Counterfactual(target, reached, before, after, changes, msg)
