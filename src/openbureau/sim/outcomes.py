"""Default events, the training labels: 90 days past due, some charge-offs and bankruptcies.

The first missed instalment of the defaulted account is exactly 90 days past due on the
default_90dpd event date, which always falls inside the label window.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from openbureau.sim import arrow
from openbureau.sim.block import S_OUTCOMES, Block
from openbureau.sim.credit import Accounts

OUTCOME_KINDS = ("default_90dpd", "charge_off", "bankruptcy")
DAYS_PAST_DUE = 90


@dataclass
class Defaults:
    """Per defaulter (block-local) the default event; bankruptcies also become public records."""

    person: np.ndarray
    event: np.ndarray
    bankrupt_person: np.ndarray
    bankrupt_date: np.ndarray


def outcomes_table(block: Block, acc: Accounts) -> tuple[pa.Table, Defaults]:
    rng = block.rng(S_OUTCOMES)
    end = block.cal.end
    a = np.flatnonzero(acc.default_due >= 0)
    person = acc.owner[a]
    event = acc.default_due[a] + DAYS_PAST_DUE
    n = a.size
    charge = event + 60 + np.floor(rng.random(n) * 90).astype(np.int64)
    charged = (rng.random(n) < 0.15) & (charge <= end)
    bank = event + np.floor(rng.random(n) * 90).astype(np.int64)
    bankrupt = (rng.random(n) < 0.05) & (bank <= end)
    rows_person = np.concatenate([person, person[charged], person[bankrupt]])
    rows_date = np.concatenate([event, charge[charged], bank[bankrupt]])
    rows_kind = np.concatenate([np.zeros(n, int), np.ones(charged.sum(), int),
                                np.full(bankrupt.sum(), 2)])  # fmt: skip
    rows_acc = np.concatenate([a, a[charged], np.zeros(bankrupt.sum(), np.int64)])
    order = np.lexsort((rows_kind, rows_date, rows_person))
    rows_person, rows_date = rows_person[order], rows_date[order]
    rows_kind, rows_acc = rows_kind[order], rows_acc[order]
    table = arrow.table(
        "outcomes",
        {
            "person_id": block.person_ids(rows_person),
            "event_date": arrow.dates(rows_date),
            "kind": arrow.enum(OUTCOME_KINDS, rows_kind),
            "account_id": pc_mask(acc.ids.take(pa.array(rows_acc, pa.int64())), rows_kind == 2),
        },
    )
    return table, Defaults(person, event, person[bankrupt], bank[bankrupt])


def pc_mask(values: pa.Array, null: np.ndarray) -> pa.Array:
    """``values`` with nulls where ``null`` is true."""
    return pc.if_else(pa.array(null, pa.bool_()), pa.scalar(None, values.type), values)
