"""The three numbers a credit model is judged by: AUC, KS and the Brier score."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from sklearn.metrics import brier_score_loss, roc_auc_score, roc_curve


def ks(y: np.ndarray, p: np.ndarray) -> float:
    """Kolmogorov-Smirnov: the largest gap between the score distributions of goods and bads."""
    fpr, tpr, _ = roc_curve(y, p)
    return float(np.max(tpr - fpr))


def scores(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """AUC, KS and Brier of default probabilities ``p`` against 0/1 labels ``y``."""
    return {
        "auc": float(roc_auc_score(y, p)),
        "ks": ks(y, p),
        "brier": float(brier_score_loss(y, p)),
    }


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for one value) over folds."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.size == 0:
        return math.nan, math.nan
    return float(arr.mean()), float(arr.std(ddof=1)) if arr.size > 1 else 0.0
