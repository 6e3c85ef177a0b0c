"""Out-of-fold metrics and the published calibration table (score band -> observed rate)."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score


def metrics(
    y: np.ndarray, pd: np.ndarray, segment: np.ndarray, segments: tuple[str, ...], how: str
) -> dict[str, Any]:
    """AUC, log loss and Brier score overall and per segment; ``how`` says on which data."""

    def block(mask: np.ndarray) -> dict[str, Any]:
        yy, pp = y[mask], pd[mask]
        two = yy.min() != yy.max() if yy.size else False
        return {
            "rows": int(mask.sum()),
            "default_rate": float(yy.mean()) if yy.size else None,
            "auc": float(roc_auc_score(yy, pp)) if two else None,
            "log_loss": float(log_loss(yy, pp, labels=[0, 1])) if yy.size else None,
            "brier": float(brier_score_loss(yy, pp)) if yy.size else None,
        }

    out: dict[str, Any] = {"evaluated_on": how, "overall": block(np.ones(y.shape, bool))}
    if len(segments) > 1:
        out["segments"] = {s: block(segment == i) for i, s in enumerate(segments)}
    return out


def calibration_table(
    y: np.ndarray, pd: np.ndarray, score: np.ndarray, low: float, high: float, width: float = 50.0
) -> list[dict[str, Any]]:
    """Observed default rate per score band, next to the predicted one: the published check."""
    edges = np.arange(low, high, width)
    band = np.clip(np.searchsorted(edges, score, side="right") - 1, 0, edges.size - 1)
    rows = []
    for b, lo in enumerate(edges):
        m = band == b
        n = int(m.sum())
        rows.append(
            {
                "band": f"{lo:g}-{min(lo + width, high):g}",
                "low": float(lo),
                "high": float(min(lo + width, high)),
                "rows": n,
                "defaults": int(y[m].sum()),
                "observed_rate": float(y[m].mean()) if n else None,
                "predicted_rate": float(pd[m].mean()) if n else None,
            }
        )
    return rows
