"""When drift is worth a look (warn) and when it needs someone now (alert).

The defaults are the usual readings: a PSI or CSI below 0.10 is stable, 0.10-0.25 worth
watching, above 0.25 shifted; a missing-value rate that moved 5 points is worth a look,
10 points is a broken feed or a changed population. A score band's default rate is
flagged when the defaults counted fall outside the binomial interval (``band_confidence``)
around what the model's PD predicts for the elapsed part of its horizon.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass
from typing import Any

LEVELS = ("ok", "warn", "alert")
EXIT_OK = 0
EXIT_ALERT = 4


def _positive(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    v = float(value)
    if not math.isfinite(v) or v <= 0:
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    return v


@dataclass(frozen=True)
class Thresholds:
    """Warn and alert levels per metric; every warn level must not exceed its alert level."""

    psi_warn: float = 0.10
    psi_alert: float = 0.25
    csi_warn: float = 0.10
    csi_alert: float = 0.25
    missing_warn: float = 5.0  # percentage points of change
    missing_alert: float = 10.0
    band_confidence: float = 0.99

    def __post_init__(self) -> None:
        for metric in ("psi", "csi", "missing"):
            warn = _positive(f"{metric}_warn", getattr(self, f"{metric}_warn"))
            alert = _positive(f"{metric}_alert", getattr(self, f"{metric}_alert"))
            if warn > alert:
                raise ValueError(
                    f"{metric}_warn ({warn:g}) must not exceed {metric}_alert ({alert:g})"
                )
        c = _positive("band_confidence", self.band_confidence)
        if c >= 1:
            raise ValueError(f"band_confidence must be below 1, got {self.band_confidence!r}")

    def level(self, metric: str, value: float) -> str:
        """ok, warn or alert for a PSI/CSI value or a missing-rate change (in points)."""
        warn, alert = getattr(self, f"{metric}_warn"), getattr(self, f"{metric}_alert")
        v = abs(value)
        return "alert" if v >= alert else "warn" if v >= warn else "ok"

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


@dataclass(frozen=True)
class Flag:
    """One finding worth a person's attention, in words and in numbers."""

    metric: str  # psi | csi | missing_rate | default_rate
    subject: str  # score, a factor, a feature, a score band
    value: float
    threshold: float
    level: str  # warn | alert
    message: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def status(flags: list[Flag]) -> str:
    """The worst level among the flags (ok when there are none)."""
    worst = max((LEVELS.index(f.level) for f in flags), default=0)
    return LEVELS[worst]


def exit_code(state: str) -> int:
    """0 unless an alert was raised (4), so a scheduler can page someone."""
    return EXIT_ALERT if state == "alert" else EXIT_OK
