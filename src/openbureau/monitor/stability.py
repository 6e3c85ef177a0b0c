"""Population stability: how far a scored population has moved from the development one.

PSI is computed on fixed bins cut from the development population (its deciles), so
the same bins serve every later comparison; the usual reading is < 0.1 stable,
0.1-0.25 watch, > 0.25 shifted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

EPS = 1e-6


@dataclass(frozen=True)
class Bins:
    """Bin edges fixed on a development sample, with its share per bin."""

    edges: tuple[float, ...]
    expected: tuple[float, ...]

    @classmethod
    def from_sample(cls, values: np.ndarray, n_bins: int = 10) -> Bins:
        if n_bins < 2:
            raise ValueError(f"n_bins must be at least 2, got {n_bins}")
        values = np.asarray(values, dtype=float)
        values = values[np.isfinite(values)]
        if values.size == 0:
            raise ValueError("cannot cut bins from an empty sample")
        inner = np.unique(np.quantile(values, np.linspace(0, 1, n_bins + 1)[1:-1]))
        edges = tuple(float(e) for e in inner)
        return cls(edges, tuple(float(s) for s in shares(values, edges)))

    def to_dict(self) -> dict[str, list[float]]:
        return {"edges": list(self.edges), "expected": list(self.expected)}

    @classmethod
    def from_dict(cls, data: dict[str, list[float]]) -> Bins:
        return cls(tuple(data["edges"]), tuple(data["expected"]))


def shares(values: np.ndarray, edges: tuple[float, ...]) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    counts = np.bincount(np.searchsorted(edges, values, side="right"), minlength=len(edges) + 1)
    return counts / max(counts.sum(), 1)


def psi(bins: Bins, actual: np.ndarray) -> float:
    """Population stability index of ``actual`` against the development bins.

    >>> b = Bins.from_sample(np.arange(1000.0))
    >>> round(psi(b, np.arange(1000.0)), 6)
    0.0
    >>> psi(b, np.arange(500.0, 1500.0)) > 0.25
    True
    """
    expected = np.clip(np.asarray(bins.expected), EPS, None)
    observed = np.clip(shares(actual, bins.edges), EPS, None)
    return float(np.sum((observed - expected) * np.log(observed / expected)))
