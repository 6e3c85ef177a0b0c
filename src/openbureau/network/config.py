"""The knobs of the network factor, checked once, and the version of its code.

Both enter the feature catalog version, so a score names the exact network definition it
was computed with; change ``NETWORK_VERSION`` whenever the computation changes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

NETWORK_VERSION = "network-3"  # 3: walk states on the WALK_GRID, identical in every engine
# After each walk step every state value is rounded to a multiple of 2^-WALK_GRID_BITS
# (half up). States are at most 1, so a person's sum over contacts of grid values is exact
# in float64 in any order for up to 2^(53 - WALK_GRID_BITS) = 8,192 contacts: the sparse
# engine, DuckDB and Spark then add the same numbers to the same bits whatever order their
# joins and kernels sum in, and every feature (hence every score, reason and input hash)
# is identical across engines. What the rounding can move a feature by is
# ``NetworkConfig.rounding_bound`` (~6e-12 with the defaults).
WALK_GRID_BITS = 40
WALK_GRID = float(2**WALK_GRID_BITS)
# The most the rounding can add to how far one record moves a feature, for any allowed
# config (steps <= 1,000): two rounded walks, each within ``rounding_bound`` of exact.
ROUNDING_SLACK = 2.0 * 2.0 * 1_000 * 2.0 ** -(WALK_GRID_BITS + 1)
# A repayment this many days late is a recorded default (the usual bureau definition).
SERIOUS_DAYS_LATE = 90
KINDS = ("family", "friend", "colleague", "business", "other")


@dataclass(frozen=True)
class NetworkConfig:
    """How contacts' recorded defaults spread to a person.

    ``min_contacts`` (k) caps the weight of any one contact at 1/k: a step from a person
    with fewer than k contacts stops with the missing probability, so one person's record
    moves any seed-dependent feature of anyone by at most 1/k. ``restart`` (alpha) is the
    personalised-PageRank stop probability per step, ``steps`` where its series is cut,
    ``folds`` how many out-of-fold groups keep a person's own outcome from reaching them,
    ``prior_mass`` (m0, at least 1 so the 1/k bound holds) how many borrowers' worth of
    the population rate a sparse network is shrunk towards.
    """

    min_contacts: int = 3
    restart: float = 0.15
    steps: int = 10
    folds: int = 5
    prior_mass: float = 1.0

    def __post_init__(self) -> None:
        _int("min_contacts", self.min_contacts, 1, 10_000)
        _int("steps", self.steps, 1, 1_000)
        _int("folds", self.folds, 2, 1_000)
        if not isinstance(self.restart, int | float) or isinstance(self.restart, bool):
            raise TypeError(f"restart must be a number, got {type(self.restart).__name__}")
        if not 0.0 < self.restart < 1.0:
            raise ValueError(f"restart must be in (0, 1), got {self.restart}")
        if not isinstance(self.prior_mass, int | float) or isinstance(self.prior_mass, bool):
            raise TypeError(f"prior_mass must be a number, got {type(self.prior_mass).__name__}")
        if not (math.isfinite(self.prior_mass) and self.prior_mass >= 1.0):
            raise ValueError(f"prior_mass must be a finite number >= 1, got {self.prior_mass}")

    @property
    def weights(self) -> tuple[float, ...]:
        """alpha (1 - alpha)^(t-1) for t = 1..steps: the truncated PPR series."""
        a = float(self.restart)
        return tuple(a * (1.0 - a) ** (t - 1) for t in range(1, self.steps + 1))

    @property
    def rounding_bound(self) -> float:
        """Most a seed-dependent feature can differ from the unrounded walk's.

        Each step's rounding adds at most u = 2^-(WALK_GRID_BITS + 1) to a state and the
        substochastic step never enlarges an earlier error, so step t's state is off by
        at most t u: share by u, two-hop by 2u, each walk sum sum_t alpha (1 - alpha)^(t-1)
        x_t by min(steps, 1/alpha) u, and the ratio, whose denominator is at least
        prior_mass >= 1, by twice that. Any 1/k bound holds to within twice this (two
        rounded walks compared).
        """
        u = 2.0 ** -(WALK_GRID_BITS + 1)
        return 2.0 * min(float(self.steps), 1.0 / float(self.restart)) * u

    @property
    def min_borrowers(self) -> int:
        """k^2: the population rate divides by at least this many borrowers, so one
        record moves it by at most 1/k^2 (what keeps the ratio's 1/k bound)."""
        return self.min_contacts**2


def _int(name: str, value: object, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if not low <= value <= high:
        raise ValueError(f"{name} must be in {low}..{high}, got {value}")


# Features that read contacts' recorded defaults: each bounded in [0, 1], and one person's
# record moves each of them by at most 1/min_contacts for anyone.
SEED_DEPENDENT = (
    "network_default_share",
    "network_two_hop_exposure",
    "network_walk_default_ratio",
)
# Features of the consented graph alone.
CONTACT_KINDS = ("family", "friend", "colleague")
SEED_INDEPENDENT = (
    "network_contacts",
    *(f"network_{k}_contacts" for k in CONTACT_KINDS),
    "network_tenure_months",
    "network_interactions_per_contact",
)
FEATURES = (*SEED_INDEPENDENT, *SEED_DEPENDENT)
DAYS_PER_MONTH = 30.4375  # as the rest of the catalog
