"""One block of people: their traits, a random stream per table, and facts several tables share."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pyarrow as pa

from openbureau.sim import arrow
from openbureau.sim.calendar import Calendar
from openbureau.sim.config import BLOCK_SIZE, SimConfig
from openbureau.sim.population import Population, block_rng, sigmoid

# Per-block random streams (one per generator, so tables never shift each other's draws).
S_SHARED, S_PEOPLE, S_ACCOUNTS, S_REPAY, S_BILLS, S_RECORDS = 1, 2, 3, 4, 5, 6
S_TXN, S_BAL, S_INCOME, S_VERIFY, S_ADDRESS, S_JOBS, S_OUTCOMES = 7, 8, 9, 10, 11, 12, 13

HOUSING = ("own", "rent", "family", "other")
EMPLOYMENT = ("employed", "self_employed", "student", "retired", "unemployed")
OWN, RENT, FAMILY, OTHER = range(4)
EMPLOYED, SELF_EMPLOYED, STUDENT, RETIRED, UNEMPLOYED = range(5)


def expand(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Owner of each expanded row and the row's 0-based position within its owner."""
    counts = np.asarray(counts, dtype=np.int64)
    owner = np.repeat(np.arange(counts.size), counts)
    starts = np.cumsum(counts) - counts
    return owner, np.arange(owner.size) - starts[owner]


def rank_within(owner: np.ndarray) -> np.ndarray:
    """1-based position of each row within its (sorted, contiguous) owner."""
    if owner.size == 0:
        return np.zeros(0, np.int64)
    counts = np.bincount(owner)
    return expand(counts)[1] + 1


@dataclass
class Block:
    """People [lo, hi) of the population, seen through block-local arrays."""

    index: int
    cfg: SimConfig
    cal: Calendar
    pop: Population
    id_width: int

    @property
    def lo(self) -> int:
        return self.index * BLOCK_SIZE

    @property
    def hi(self) -> int:
        return min(self.pop.size, self.lo + BLOCK_SIZE)

    @property
    def n(self) -> int:
        return self.hi - self.lo

    def rng(self, stream: int) -> np.random.Generator:
        return block_rng(self.cfg.seed, self.index, stream)

    def trait(self, name: str) -> np.ndarray:
        return np.asarray(getattr(self.pop, name)[self.lo : self.hi], dtype=np.float64)

    def get(self, name: str) -> np.ndarray:
        return np.asarray(getattr(self.pop, name)[self.lo : self.hi])

    @cached_property
    def ids(self) -> pa.Array:
        return arrow.person_ids(np.arange(self.lo, self.hi), self.id_width)

    def person_ids(self, local: np.ndarray) -> pa.Array:
        return self.ids.take(pa.array(np.asarray(local, dtype=np.int64)))

    @cached_property
    def first_seen(self) -> np.ndarray:
        return self.get("first_seen").astype(np.int64)

    @cached_property
    def default_start(self) -> np.ndarray:
        return self.get("default_start").astype(np.int64)

    @cached_property
    def _shared(self) -> dict[str, np.ndarray]:
        rng = self.rng(S_SHARED)
        n, age = self.n, self.trait("age")
        cap, stab = self.trait("capacity"), self.trait("stability")
        u = rng.random(n)
        p_own = sigmoid(-1.6 + 0.9 * cap + 0.06 * (age - 35.0))
        p_family = np.where(age < 26, 0.45, 0.03)
        housing = np.select(
            [u < p_own, u < p_own + p_family * (1 - p_own), u > 0.97], [OWN, FAMILY, OTHER], RENT
        )
        u = rng.random(n)
        status = np.full(n, EMPLOYED)
        status[u < 0.1] = SELF_EMPLOYED
        status[(age < 25) & (rng.random(n) < 0.4)] = STUDENT
        status[rng.random(n) < sigmoid(-3.4 - 0.9 * cap - 0.5 * stab)] = UNEMPLOYED
        status[(age >= 65) & (rng.random(n) < 0.85)] = RETIRED
        # Month-to-month stress shared by all of a person's payments: lateness clusters.
        shock = rng.normal(0.0, 0.3, (n, self.cal.months + 1))
        return {"housing": housing, "status": status, "shock": shock}

    @property
    def housing(self) -> np.ndarray:
        return self._shared["housing"]

    @property
    def status(self) -> np.ndarray:
        return self._shared["status"]

    @property
    def shock(self) -> np.ndarray:
        return self._shared["shock"]

    def month_of_row(self, days: np.ndarray) -> np.ndarray:
        """Window month of each date, clipped to the window (for the stress matrix)."""
        return np.clip(self.cal.month_index(days), 0, self.cal.months)
