"""The ground truth behind the tables: latent traits, factor log-odds, true PD, label.

Written under ``_truth/`` (ingest skips paths starting with ``_``) so models can be judged
against the oracle, and tests can check each factor really drives default.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from openbureau.sim import arrow
from openbureau.sim.calendar import Calendar
from openbureau.sim.population import NO_DEFAULT, Population
from openbureau.sim.risk import FACTORS

TRAITS = (
    "general",
    "discipline",
    "prudence",
    "gambling",
    "cash",
    "regularity",
    "capacity",
    "income",
    "buffer",
    "debt_load",
    "stability",
)
_TRAIT_COLUMNS = {
    "gambling": "gambling_propensity",
    "cash": "cash_propensity",
    "buffer": "buffer_months",
}

TRUTH_SCHEMA = pa.schema(
    [
        pa.field("person_id", pa.string(), nullable=False),
        pa.field("as_of", pa.date32(), nullable=False),
        pa.field("true_pd", pa.float64(), nullable=False),
        pa.field("defaulted", pa.bool_(), nullable=False),
        pa.field("default_start", pa.date32()),
        pa.field("thin_file", pa.bool_(), nullable=False),
        pa.field("community", pa.int64(), nullable=False),
        pa.field("degree", pa.int64(), nullable=False),
        pa.field("contact_risk", pa.float64(), nullable=False),
    ]
    + [pa.field(_TRAIT_COLUMNS.get(t, t), pa.float64(), nullable=False) for t in TRAITS]
    + [pa.field(f"logit_{f}", pa.float64(), nullable=False) for f in FACTORS]
    + [pa.field("intercept", pa.float64(), nullable=False)]
)


def truth_table(pop: Population, lo: int, hi: int, cal: Calendar, width: int) -> pa.Table:
    s = slice(lo, hi)
    n = hi - lo
    start = pop.default_start[s]
    cols: dict[str, pa.Array | np.ndarray] = {
        "person_id": arrow.person_ids(np.arange(lo, hi), width),
        "as_of": arrow.dates(np.full(n, cal.as_of)),
        "true_pd": pop.true_pd[s],
        "defaulted": pop.defaulted[s],
        "default_start": arrow.dates(np.where(start == NO_DEFAULT, 0, start), start == NO_DEFAULT),
        "thin_file": pop.thin[s],
        "community": pop.community[s].astype(np.int64),
        "degree": pop.degree[s].astype(np.int64),
        "contact_risk": pop.contact_risk[s].astype(np.float64),
    }
    for t in TRAITS:
        cols[_TRAIT_COLUMNS.get(t, t)] = getattr(pop, t)[s].astype(np.float64)
    for f in FACTORS:
        cols[f"logit_{f}"] = pop.logits[f][s].astype(np.float64)
    cols["intercept"] = np.full(n, pop.intercept)
    return arrow.build(TRUTH_SCHEMA, cols)
