"""The audit-only table: each simulated person's sex, age band and a simulated ethnic group.

Written under ``_audit/`` (ingest skips paths starting with ``_``, and the contract refuses
these columns in any table it reads), so group membership reaches the fairness audit and
never a model. Membership is realistic rather than random: the ethnic group clusters by
community and is more common in communities with lower incomes, and sex leans weakly on
income; neither looks at the planted default risk. A model that sees income and community
effects will then score the groups differently on average, which is what the audit has to
measure, yet a model that is well calibrated within groups can pass it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from openbureau.sim import arrow
from openbureau.sim.population import Population, global_rng, sigmoid

AUDIT = "_audit"
STREAM_AUDIT = 5  # a global stream of its own: adding it shifts no other draw
SEXES = ("female", "male")
AGE_BANDS = ("18-24", "25-34", "35-49", "50-64", "65+")
AGE_EDGES = (25.0, 35.0, 50.0, 65.0)
ETHNIC_GROUPS = ("group_a", "group_b", "group_c")

AUDIT_SCHEMA = pa.schema(
    [
        pa.field("person_id", pa.string(), nullable=False),
        pa.field("sex", pa.string(), nullable=False),
        pa.field("age_band", pa.string(), nullable=False),
        pa.field("ethnic_group", pa.string(), nullable=False),
    ]
)


@dataclass(frozen=True)
class AuditGroups:
    """Group codes for the whole population (indices into the tuples above)."""

    sex: np.ndarray
    age_band: np.ndarray
    ethnic_group: np.ndarray


def audit_groups(pop: Population, seed: int) -> AuditGroups:
    """Draw every person's groups once, so the table does not depend on chunking."""
    rng = global_rng(seed, STREAM_AUDIT)
    n = pop.size
    log_income = np.log(pop.income.astype(np.float64))
    z_income = (log_income - log_income.mean()) / max(float(log_income.std()), 1e-9)
    n_comm = int(pop.community_region.size)
    counts = np.bincount(pop.community, minlength=n_comm)
    comm_sum = np.bincount(pop.community, weights=z_income, minlength=n_comm)
    comm_income = comm_sum / np.maximum(counts, 1)
    # the minority group lives more in poorer communities (residential clustering)
    share_b = sigmoid(-1.3 - 1.2 * comm_income + 0.5 * rng.standard_normal(n_comm))
    share_c = np.full(n_comm, 0.07)
    u = rng.random(n)
    p_b, p_c = share_b[pop.community], share_c[pop.community]
    ethnic = np.where(u < p_b, 1, np.where(u < p_b + p_c, 2, 0)).astype(np.int8)
    female = rng.random(n) < sigmoid(0.05 - 0.15 * z_income)
    sex = np.where(female, 0, 1).astype(np.int8)
    age_band = np.searchsorted(AGE_EDGES, pop.age.astype(np.float64), side="right").astype(np.int8)
    return AuditGroups(sex, age_band, ethnic)


def audit_table(groups: AuditGroups, lo: int, hi: int, width: int) -> pa.Table:
    """The rows of people [lo, hi)."""
    s = slice(lo, hi)
    return arrow.build(
        AUDIT_SCHEMA,
        {
            "person_id": arrow.person_ids(np.arange(lo, hi), width),
            "sex": arrow.enum(SEXES, groups.sex[s]),
            "age_band": arrow.enum(AGE_BANDS, groups.age_band[s]),
            "ethnic_group": arrow.enum(ETHNIC_GROUPS, groups.ethnic_group[s]),
        },
    )
