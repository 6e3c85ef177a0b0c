"""A small population with known additive, monotone, per-segment structure.

For tests, examples and benchmarks until the feature catalog lands: the true log-odds are a
sum of per-feature shapes (steps, saturation, one free U-shape), capacity matters less for
thin files, and some features have missing values that carry risk of their own.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from openbureau.model.meta import FACTORS, FeatureMeta

_DIRS = ("decreasing", "increasing", "decreasing", "none")  # cycled over features


@dataclass(frozen=True)
class Synthetic:
    table: pa.Table
    y: np.ndarray
    features: list[FeatureMeta]
    log_odds: np.ndarray


def make_population(
    n: int = 5_000,
    n_features: int = 10,
    seed: int = 0,
    missing: float = 0.05,
    thin_share: float = 0.3,
) -> Synthetic:
    """n people, ``n_features`` features spread over the five factors."""
    if n < 10 or n_features < 1:
        raise ValueError("need n >= 10 and n_features >= 1")
    rng = np.random.default_rng(seed)
    thin = rng.random(n) < thin_share
    metas: list[FeatureMeta] = []
    cols: dict[str, np.ndarray] = {}
    logit = np.full(n, -2.6) + 0.4 * thin
    for j in range(n_features):
        factor = FACTORS[j % len(FACTORS)]
        direction = _DIRS[j % len(_DIRS)]
        name = f"{factor}_{j}"
        kind = j % 3
        if kind == 0:  # counts (e.g. late payments)
            x = rng.poisson(0.7, n).astype(np.float64)
        elif kind == 1:  # a bounded ratio
            x = np.round(rng.beta(2, 3, n), 4)
        else:  # a skewed amount
            x = np.round(rng.lognormal(7.5, 0.6, n), 2)
        z = (x - x.mean()) / (x.std() + 1e-12)
        weight = 0.5 / (1 + j // len(FACTORS))
        if factor == "capacity":
            weight *= np.where(thin, 0.3, 1.0)  # capacity says less about thin files
        if direction == "increasing":
            effect = -weight * np.tanh(z)  # higher value, lower risk, saturating
        elif direction == "decreasing":
            effect = weight * np.minimum(z, 1.5)
        else:
            effect = weight * 0.6 * z**2  # U-shaped: no direction
        if missing > 0 and j % 2 == 0:
            gone = rng.random(n) < missing
            x[gone] = np.nan
            effect = np.where(gone, 0.3, effect)  # missing is a little risky
        logit += effect
        cols[name] = x
        metas.append(
            FeatureMeta(
                name=name,
                factor=factor,
                reason=f"{factor.capitalize()} signal {j} is unfavourable",
                direction=direction,
                actionable=direction != "none",
                description=f"synthetic {factor} feature {j}",
            )
        )
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int8)
    segment = np.where(thin, "thin", "established")
    table = pa.table({**cols, "segment": pa.array(segment, pa.string())})
    return Synthetic(table, y, metas, logit)
