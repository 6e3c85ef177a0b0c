"""Adverse reason codes and the factor breakdown, person by person or in bulk.

A reason is a feature that costs the person points against the best value attainable in
their segment; reasons are ranked by those points (ties: catalog order). The scorer finds
them vectorised; this module attaches the plain-language text and the factor.

A feature with a direction says by its text which way is bad ("Recent late payments"). A
feature without one ("Number of open loans") can cost points for being too high or too low,
so its text says which: the person's value is compared with the range that scores best in
their segment, and "— more than the level that scores best" (or less, or "not on file") is
added. Without that a person could not tell whether to open a loan or close one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from openbureau.model.base import AdditiveModel
from openbureau.model.frame import Frame
from openbureau.model.meta import FeatureMeta
from openbureau.model.scorer import ScoreResult
from openbureau.model.tables import Shape

# How a feature without a direction misses the best range: index into SIDE_WORDS.
AS_IS, HIGHER, LOWER, MISSING = 0, 1, 2, 3
SIDE_WORDS = (
    "",
    " — more than the level that scores best",
    " — less than the level that scores best",
    " — not on file",
)


def reason_variants(meta: FeatureMeta) -> tuple[str, str, str, str]:
    """The texts of one feature's reason, indexed by side (all alike for directed features)."""
    if meta.direction != "none":
        return (meta.reason,) * 4
    return tuple(meta.reason + w for w in SIDE_WORDS)  # type: ignore[return-value]


def _best_bins(shape: Shape) -> tuple[np.ndarray, np.ndarray]:
    """Per segment, the first and last value bin with the lowest log-odds (the best score)."""
    values = shape.values[:, :-1]  # value bins only: missing is never "the best level"
    best = values <= values.min(axis=1, keepdims=True) + 1e-12
    first = best.argmax(axis=1)
    last = values.shape[1] - 1 - best[:, ::-1].argmax(axis=1)
    return first, last


def reason_sides(
    shapes: tuple[Shape, ...] | list[Shape],
    frame: Frame,
    reason_index: np.ndarray,
    directions: tuple[str, ...],
) -> np.ndarray:
    """(rows, reasons) int8 side of each reason: HIGHER/LOWER/MISSING for undirected features."""
    sides = np.zeros(reason_index.shape, np.int8)
    undirected = [j for j, d in enumerate(directions) if d == "none"]
    for j in undirected:
        rows, cols = np.nonzero(reason_index == j)
        if rows.size == 0:
            continue
        shape = shapes[j]
        b = shape.bin_index(frame.values[j, rows])
        first, last = _best_bins(shape)
        seg = frame.segment[rows]
        side = np.where(b > last[seg], HIGHER, np.where(b < first[seg], LOWER, AS_IS))
        sides[rows, cols] = np.where(b == shape.n_bins - 1, MISSING, side)
    return sides


def reason_text_columns(model: AdditiveModel, X: object, res: ScoreResult) -> dict[str, pa.Array]:
    """``reason_<r>_text`` for every reason column of ``res`` (rows of X), dictionary-built."""
    frame = model._frame(X)
    metas = model.features_
    sides = reason_sides(model.shapes_, frame, res.reason_index, tuple(m.direction for m in metas))
    texts = pa.array([t for m in metas for t in reason_variants(m)], pa.string())
    out = {}
    for r in range(res.reason_index.shape[1]):
        idx = res.reason_index[:, r].astype(np.int32)
        mask = idx < 0
        code = np.where(mask, 0, idx * 4 + sides[:, r])
        out[f"reason_{r + 1}_text"] = pa.DictionaryArray.from_arrays(
            pa.array(code, mask=mask), texts
        ).cast(pa.string())
    return out


@dataclass(frozen=True)
class Reason:
    """One adverse reason: feature ``code`` costs ``points`` in ``factor``; ``value`` is the
    person's value (None when missing, and always for the network factor)."""

    code: str
    factor: str
    text: str
    points: float
    value: float | None


@dataclass(frozen=True)
class Explanation:
    """A score and why: ``score == clip(base + sum(subscores.values()))``."""

    score: float
    base: float
    segment: str
    subscores: dict[str, float]
    clipped: bool
    pd: float
    reasons: tuple[Reason, ...]

    def to_dict(self) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in ("score", "base", "segment", "clipped", "pd")}
        d["subscores"] = dict(self.subscores)
        d["reasons"] = [r.__dict__.copy() for r in self.reasons]
        return d


def explain(model: AdditiveModel, X: object) -> list[Explanation]:
    """Explanations for the (few) rows of X: the service path."""
    frame = model._frame(X)
    res = model.scorer_.score(frame, threads=1)
    metas = model.features_
    sides = reason_sides(model.shapes_, frame, res.reason_index, tuple(m.direction for m in metas))
    out = []
    for i in range(len(res)):
        reasons = []
        for r, (j, pts) in enumerate(zip(res.reason_index[i], res.reason_points[i], strict=True)):
            if j < 0:
                break
            m = metas[j]
            v = float(frame.values[j, i])
            # a network value (a share of 1 in 3 contacts, a count) could single a contact
            # out: network reasons are the aggregate text and points only
            hide = np.isnan(v) or m.factor == "network"
            text = reason_variants(m)[sides[i, r]]
            reasons.append(
                Reason(m.name, m.factor, text, round(float(pts), 1), None if hide else v)
            )
        out.append(
            Explanation(
                score=float(res.score[i]),
                base=float(res.base[i]),
                segment=res.segments[res.segment[i]],
                subscores={f: float(res.subscores[i, k]) for k, f in enumerate(res.factors)},
                clipped=bool(res.clipped[i]),
                pd=float(res.pd[i]),
                reasons=tuple(reasons),
            )
        )
    return out


def breakdown_table(res: ScoreResult) -> pa.Table:
    """Bulk output: score, base, sub-scores and reason code/points columns, no per-row Python.

    Reason codes are dictionary-encoded feature names (null: no further reason).
    """
    names = pa.array(list(res.features), pa.string())
    cols: dict[str, pa.Array] = {
        "score": pa.array(res.score),
        "base": pa.array(res.base),
        "segment": pa.DictionaryArray.from_arrays(
            pa.array(res.segment.astype(np.int32)), pa.array(list(res.segments))
        ),
        "pd": pa.array(res.pd),
        "clipped": pa.array(res.clipped),
    }
    for k, f in enumerate(res.factors):
        cols[f"points_{f}"] = pa.array(res.subscores[:, k])
    for r in range(res.reason_index.shape[1]):
        idx = res.reason_index[:, r].astype(np.int32)
        mask = idx < 0
        cols[f"reason_{r + 1}"] = pa.DictionaryArray.from_arrays(
            pa.array(np.where(mask, 0, idx), mask=mask), names
        )
        pts = np.round(res.reason_points[:, r], 1)
        cols[f"reason_{r + 1}_points"] = pa.array(pts, mask=mask)
    return pa.table(cols)
