"""The release gate's thresholds, checked once, and the tolerance rule every calibration
comparison shares.

Defaults are documented in docs/release.md: a candidate may lose at most 0.005 AUC and
0.01 KS against the champion on the same out-of-time sample; observed and predicted
default rates may differ by the larger of 2 points and three binomial standard errors; a
PSI from 0.1 warns and from 0.25 fails.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from openbureau.benefits import DEFAULT_OFFERS

BENEFIT_THRESHOLDS: tuple[float, ...] = tuple(sorted({o.min_score for o in DEFAULT_OFFERS}))


def _number(name: str, value: object, low: float, high: float = math.inf) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    v = float(value)
    if not math.isfinite(v) or not low <= v <= high:
        raise ValueError(f"{name} must be between {low:g} and {high:g}, got {value!r}")
    return v


def _count(name: str, value: object, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < low:
        raise ValueError(f"{name} must be >= {low}, got {value}")
    return value


def check_thresholds(values: object) -> tuple[float, ...]:
    """Benefit thresholds: a non-empty sequence of scores within 350-950."""
    if isinstance(values, str | bytes) or not hasattr(values, "__iter__"):
        raise TypeError(f"thresholds must be a sequence of scores, got {values!r}")
    out = tuple(_number("threshold", v, 350.0, 950.0) for v in values)
    if not out:
        raise ValueError("thresholds must name at least one score")
    return tuple(sorted(set(out)))


@dataclass(frozen=True)
class Tolerance:
    """|observed - predicted| may reach max(abs_tol, z * sqrt(p (1 - p) / n)), p predicted:
    small bands and groups get room for chance, large ones are held to ``abs_tol``."""

    abs_tol: float = 0.02
    z: float = 3.0

    def __post_init__(self) -> None:
        _number("calibration abs_tol", self.abs_tol, 0.0, 1.0)
        _number("calibration z", self.z, 0.0, 10.0)

    def allowed(self, predicted: float, people: int) -> float:
        p = min(max(predicted, 0.0), 1.0)
        se = math.sqrt(p * (1.0 - p) / people) if people > 0 else math.inf
        return max(self.abs_tol, self.z * se)


@dataclass(frozen=True)
class GateRules:
    """Every threshold of the gate; the defaults are the documented ones."""

    auc_margin: float = 0.005
    ks_margin: float = 0.01
    psi_warn: float = 0.1
    psi_fail: float = 0.25
    psi_min_width: float = 10.0  # points: narrower PSI bins are merged (immaterial moves)
    calibration: Tolerance = field(default_factory=Tolerance)
    min_band: int = 1  # bands with fewer people are shown but not tested
    additivity_tol: float = 0.05  # points: sub-scores are rounded to 0.1

    def __post_init__(self) -> None:
        _number("auc_margin", self.auc_margin, 0.0, 1.0)
        _number("ks_margin", self.ks_margin, 0.0, 1.0)
        _number("psi_warn", self.psi_warn, 0.0)
        _number("psi_fail", self.psi_fail, 0.0)
        _number("psi_min_width", self.psi_min_width, 0.0, 600.0)
        if self.psi_warn > self.psi_fail:
            raise ValueError(
                f"psi_warn ({self.psi_warn:g}) must not exceed psi_fail ({self.psi_fail:g})"
            )
        if not isinstance(self.calibration, Tolerance):
            raise TypeError(
                f"calibration must be a Tolerance, got {type(self.calibration).__name__}"
            )
        _count("min_band", self.min_band, 1)
        _number("additivity_tol", self.additivity_tol, 0.0, 10.0)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
