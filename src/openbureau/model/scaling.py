"""The published map from log-odds to the 350-950 score, and the Platt calibration before it.

score = anchor_score + pdo / ln 2 * (ln(odds of good) - ln(anchor_odds)), clipped to
[low, high]. The map is linear in the log-odds, so a sum of per-feature log-odds terms
becomes a sum of per-feature points: the factor breakdown stays exact.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Scaling:
    """Score = anchor_score at odds of good anchor_odds:1; +pdo points doubles the odds."""

    anchor_score: float = 600.0
    anchor_odds: float = 30.0
    pdo: float = 50.0
    low: float = 350.0
    high: float = 950.0

    def __post_init__(self) -> None:
        for name in ("anchor_score", "anchor_odds", "pdo", "low", "high"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise TypeError(f"Scaling.{name} must be a number, got {type(value).__name__}")
            if not math.isfinite(value):
                raise ValueError(f"Scaling.{name} must be finite, got {value}")
        if self.anchor_odds <= 0:
            raise ValueError(f"Scaling.anchor_odds must be > 0, got {self.anchor_odds}")
        if self.pdo <= 0:
            raise ValueError(f"Scaling.pdo must be > 0, got {self.pdo}")
        if not self.low < self.high:
            raise ValueError(f"Scaling.low ({self.low}) must be below high ({self.high})")

    @property
    def factor(self) -> float:
        """Points per unit of log-odds."""
        return self.pdo / math.log(2.0)

    def score(self, log_odds_bad: np.ndarray) -> np.ndarray:
        """Unclipped score of calibrated log-odds of default."""
        return self.anchor_score - self.factor * (
            np.asarray(log_odds_bad) + math.log(self.anchor_odds)
        )

    def log_odds(self, score: np.ndarray) -> np.ndarray:
        """Calibrated log-odds of default at an (unclipped) score: the inverse of ``score``."""
        return (self.anchor_score - np.asarray(score)) / self.factor - math.log(self.anchor_odds)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Calibration:
    """Platt scaling, calibrated log-odds = slope * raw + intercept, fitted out of fold.

    Linear on purpose: an isotonic map would bend the score and break the exact sum of
    sub-scores. ``method`` records how it was fitted ('platt-oof', 'platt-in-sample',
    'identity').
    """

    slope: float = 1.0
    intercept: float = 0.0
    method: str = "identity"

    def apply(self, raw: np.ndarray) -> np.ndarray:
        return self.slope * np.asarray(raw) + self.intercept

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def fit_platt(raw: np.ndarray, y: np.ndarray, method: str) -> Calibration:
    """Maximum-likelihood slope and intercept by Newton's method (2 parameters, no penalty).

    A slope that is not positive would reverse the score; then the raw log-odds are kept.
    """
    raw = np.asarray(raw, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    rate = float(np.clip(y.mean(), 1e-6, 1 - 1e-6))
    w = np.array([1.0, math.log(rate / (1 - rate)) - float(raw.mean())])
    X = np.column_stack([raw, np.ones_like(raw)])
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-(X @ w)))
        grad = X.T @ (p - y)
        hess = (X * (p * (1 - p))[:, None]).T @ X + 1e-9 * np.eye(2)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.max(np.abs(step)) < 1e-12:
            break
    if not (np.all(np.isfinite(w)) and w[0] > 0):
        return Calibration(1.0, 0.0, "identity")
    return Calibration(float(w[0]), float(w[1]), method)
