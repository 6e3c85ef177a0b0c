"""The compiled model: one step function per feature and segment, on the log-odds scale.

Both the boosted model and the WoE scorecard compile to this form, so scoring, reasons,
counterfactuals and artifacts are written once. Each feature j has sorted ``breaks``; bin i
holds the values between ``breaks[i-1]`` and ``breaks[i]`` (``right_closed`` says which end
belongs to it: LightGBM sends ``x <= t`` left, optbinning puts ``x == t`` right), plus a last
bin for NaN. Missing values get their own bin, filled from where the real model sends them,
so a NaN is never looked up as some other value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


def _nan_to_none(values: np.ndarray) -> list[Any]:
    return [None if np.isnan(v) else float(v) for v in np.asarray(values, float).ravel()]


def _none_to_nan(values: Sequence[Any]) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


@dataclass(frozen=True)
class Shape:
    """Feature ``name``'s contribution to the log-odds of default, per segment and bin."""

    name: str
    breaks: np.ndarray  # (k,) strictly increasing, finite
    right_closed: bool
    values: np.ndarray  # (n_segments, k + 2): k + 1 value bins, then the NaN bin
    low: np.ndarray  # (k + 1,) smallest training value seen in each bin (NaN: none)
    high: np.ndarray  # (k + 1,) largest training value seen in each bin

    def __post_init__(self) -> None:
        k = self.breaks.shape[0]
        if k and not np.all(np.diff(self.breaks) > 0):
            raise ValueError(f"{self.name}: breaks must be strictly increasing")
        if not np.all(np.isfinite(self.breaks)):
            raise ValueError(f"{self.name}: breaks must be finite")
        if self.values.ndim != 2 or self.values.shape[1] != k + 2:
            raise ValueError(f"{self.name}: values must have shape (segments, {k + 2})")
        if self.low.shape != (k + 1,) or self.high.shape != (k + 1,):
            raise ValueError(f"{self.name}: low/high must have {k + 1} entries")

    @property
    def n_bins(self) -> int:
        """Number of bins including the NaN bin."""
        return self.breaks.shape[0] + 2

    def lookup_breaks(self) -> np.ndarray:
        """Breaks for ``np.searchsorted`` so that NaN, and only NaN, lands in the last bin.

        numpy orders NaN after +inf. Right-closed bins search with side='left': a trailing
        +inf takes every x above the last break (+inf too), and NaN finds the NaN slot.
        Left-closed bins search with side='right': a trailing NaN sits above every number,
        and NaN, not below itself, goes past it.
        """
        tail = [np.inf, np.nan] if self.right_closed else [np.nan]
        return np.concatenate([self.breaks, tail])

    @property
    def side(self) -> str:
        return "left" if self.right_closed else "right"

    def bin_index(self, x: np.ndarray) -> np.ndarray:
        """Bin of each value: 0..k for numbers, k + 1 for NaN."""
        return np.searchsorted(self.lookup_breaks(), x, side=self.side)

    def representatives(self) -> np.ndarray:
        """One value inside each bin (then NaN): evaluating the real model there fills it."""
        b = self.breaks
        if b.shape[0] == 0:
            return np.array([0.0, np.nan])
        if self.right_closed:  # (b[i-1], b[i]]: b[i] itself; above the last: just past it
            inner = [*b, np.nextafter(b[-1], np.inf)]
        else:  # [b[i-1], b[i]): b[i-1]; below the first: just under it
            inner = [np.nextafter(b[0], -np.inf), *b]
        return np.array([*inner, np.nan], dtype=np.float64)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "breaks": [float(v) for v in self.breaks],
            "right_closed": self.right_closed,
            "values": [[float(v) for v in row] for row in self.values],
            "low": _nan_to_none(self.low),
            "high": _nan_to_none(self.high),
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Shape:
        return cls(
            name=d["name"],
            breaks=np.array(d["breaks"], dtype=np.float64),
            right_closed=bool(d["right_closed"]),
            values=np.array(d["values"], dtype=np.float64).reshape(len(d["values"]), -1),
            low=_none_to_nan(d["low"]),
            high=_none_to_nan(d["high"]),
        )


def bin_ranges(
    breaks: np.ndarray, right_closed: bool, x: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Smallest and largest observed value in each value bin (NaN where a bin saw none)."""
    k = breaks.shape[0]
    x = np.asarray(x, dtype=np.float64)
    x = x[np.isfinite(x)]
    idx = np.searchsorted(breaks, x, side="left" if right_closed else "right")
    low = np.full(k + 1, np.inf)
    high = np.full(k + 1, -np.inf)
    np.minimum.at(low, idx, x)
    np.maximum.at(high, idx, x)
    low[np.isinf(low)] = np.nan
    high[np.isinf(high)] = np.nan
    return low, high
