"""Adverse reason codes and the factor breakdown, person by person or in bulk.

A reason is a feature that costs the person points against the best value attainable in
their segment; reasons are ranked by those points (ties: catalog order). The scorer finds
them vectorised; this module attaches the plain-language text and the factor.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from openbureau.model.base import AdditiveModel
from openbureau.model.scorer import ScoreResult


@dataclass(frozen=True)
class Reason:
    """One adverse reason: feature ``code`` costs ``points`` in ``factor``."""

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
    out = []
    for i in range(len(res)):
        reasons = []
        for j, pts in zip(res.reason_index[i], res.reason_points[i], strict=True):
            if j < 0:
                break
            m = metas[j]
            v = float(frame.values[j, i])
            reasons.append(
                Reason(m.name, m.factor, m.reason, round(float(pts), 1), None if np.isnan(v) else v)
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
