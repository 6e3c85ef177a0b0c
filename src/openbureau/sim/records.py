"""Non-credit bills and public records: payment habits seen outside credit files.

Bills give the history factor something to read for thin files too; court judgments are
rare and concentrate among people with poor payment discipline.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from openbureau.sim import arrow
from openbureau.sim.block import FAMILY, RENT, S_BILLS, S_RECORDS, SELF_EMPLOYED, Block, expand
from openbureau.sim.outcomes import Defaults
from openbureau.sim.payments import pay
from openbureau.sim.population import sigmoid

BILL_KINDS = ("utility", "phone", "rent", "internet", "insurance", "tax")
_CADENCE = np.array([1, 1, 1, 1, 3, 12])
RECORD_KINDS = ("court_judgment", "bankruptcy", "tax_lien")
COURTS = tuple(f"district-court-{i:02d}" for i in range(1, 41))


def bills_table(block: Block) -> pa.Table:
    rng = block.rng(S_BILLS)
    cal, n = block.cal, block.n
    housing, status = block.housing, block.status
    hold = np.column_stack(
        [
            rng.random(n) < np.where(housing == FAMILY, 0.3, 0.8),
            rng.random(n) < 0.92,
            (housing == RENT) & (rng.random(n) < 0.95),
            rng.random(n) < 0.6,
            rng.random(n) < 0.45,
            rng.random(n) < np.where(status == SELF_EMPLOYED, 0.8, 0.08),
        ]
    )
    person, kind = np.nonzero(hold)
    income = block.trait("income")[person]
    s = person.size
    base = np.select(
        [kind == 0, kind == 1, kind == 2, kind == 3, kind == 4],
        [
            rng.lognormal(np.log(85.0), 0.35, s),
            rng.lognormal(np.log(30.0), 0.4, s),
            income * rng.uniform(0.22, 0.4, s),
            rng.lognormal(np.log(35.0), 0.2, s),
            rng.lognormal(np.log(150.0), 0.5, s),
        ],
        rng.lognormal(np.log(900.0), 0.8, s),
    )
    due_day = rng.integers(1, 29, s)
    cadence = _CADENCE[kind]
    phase = np.floor(rng.random(s) * cadence).astype(np.int64)
    m_first = np.maximum(cal.month_index(block.first_seen[person]) + 1, 0)
    b, pos = expand(np.maximum(cal.months - m_first, 0))
    month = m_first[b] + pos
    keep = (month - phase[b]) % cadence[b] == 0
    b, month = b[keep], month[keep]
    due = cal.month_starts()[month] + due_day[b] - 1
    owner = person[b]
    keep = (due <= cal.end) & (due > block.first_seen[owner])
    b, month, due, owner = b[keep], month[keep], due[keep], owner[keep]
    r = b.size
    season = np.where(kind[b] == 0, 1 + 0.15 * np.cos(2 * np.pi * (month % 12) / 12), 1.0)
    amount = np.round(base[b] * season * np.exp(rng.normal(0.0, 0.08, r)), 2)
    disc = block.trait("discipline")[owner]
    shock = block.shock[owner, block.month_of_row(due)]
    paid, amount_paid = pay(rng, due, amount, disc, shock, cal.end, -2.9, 1.7)
    stopped = (due >= block.default_start[owner]) & (rng.random(r) < 0.7)
    paid = np.where(stopped, -1, paid)
    amount_paid = np.where(stopped, 0.0, amount_paid)
    order = np.lexsort((kind[b], due, owner))
    owner, kind_r, due = owner[order], kind[b][order], due[order]
    amount, paid, amount_paid = amount[order], paid[order], amount_paid[order]
    seq = expand(np.bincount(owner, minlength=n))[1] + 1
    return arrow.table(
        "bills",
        {
            "bill_id": arrow.child_ids("B", block.ids, owner, seq, 4),
            "person_id": block.person_ids(owner),
            "kind": arrow.enum(BILL_KINDS, kind_r),
            "due_date": arrow.dates(due),
            "amount_due": arrow.floats(amount),
            "paid_date": arrow.dates(np.maximum(paid, 0), paid < 0),
            "amount_paid": arrow.floats(amount_paid),
        },
    )


def public_records_table(block: Block, defaults: Defaults) -> pa.Table:
    rng = block.rng(S_RECORDS)
    cal, n = block.cal, block.n
    disc, cap = block.trait("discipline"), block.trait("capacity")
    p = sigmoid(-4.5 - 1.0 * disc - 0.3 * cap) * np.where(block.get("thin"), 0.3, 1.0)
    count = (rng.random(n) < p) * (1 + (rng.random(n) < 0.25))
    person = expand(count)[0]
    m = person.size
    kind = np.where(rng.random(m) < 0.88, 0, 2)
    filed = cal.end - np.floor(rng.random(m) * 6 * 365).astype(np.int64)
    amount = rng.lognormal(np.log(2500.0), 1.0, m)
    settles = rng.random(m) < sigmoid(0.8 * disc[person])
    satisfied = filed + np.floor(rng.gamma(1.5, 150.0, m)).astype(np.int64)
    satisfied = np.where(settles & (satisfied <= cal.end), satisfied, -1)
    # Bankruptcies that end some defaults are public too.
    nb = defaults.bankrupt_person.size
    person = np.concatenate([person, defaults.bankrupt_person])
    kind = np.concatenate([kind, np.ones(nb, np.int64)])
    filed = np.concatenate([filed, defaults.bankrupt_date])
    amount = np.concatenate([amount, rng.lognormal(np.log(20000.0), 0.8, nb)])
    satisfied = np.concatenate([satisfied, np.full(nb, -1)])
    order = np.lexsort((filed, person))
    person, kind, filed = person[order], kind[order], filed[order]
    amount, satisfied = amount[order], satisfied[order]
    seq = expand(np.bincount(person, minlength=n))[1] + 1
    court = rng.integers(0, len(COURTS), person.size)
    return arrow.table(
        "public_records",
        {
            "record_id": arrow.child_ids("J", block.ids, person, seq, 2),
            "person_id": block.person_ids(person),
            "kind": arrow.enum(RECORD_KINDS, kind),
            "filed_date": arrow.dates(filed),
            "amount": arrow.floats(amount),
            "satisfied_date": arrow.dates(np.maximum(satisfied, 0), satisfied < 0),
            "court": arrow.enum(COURTS, court),
        },
    )
