"""Deposit balances and income observations: what the capacity factor reads.

Savings track the buffer trait (months of income put aside), current accounts swing
around a level set by it and dip below zero for people with thin buffers; incomes are
observed through payroll, bank statements, tax returns or self-declaration (inflated).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from openbureau.sim import arrow
from openbureau.sim.block import (
    EMPLOYED,
    S_BAL,
    S_INCOME,
    SELF_EMPLOYED,
    Block,
    expand,
)
from openbureau.sim.credit import Accounts
from openbureau.sim.population import sigmoid

BALANCE_KINDS = ("current", "savings", "investment", "wallet")
INCOME_SOURCES = ("payroll", "tax_return", "bank_statement", "self_declared")
PAYROLL, TAX_RETURN, BANK_STATEMENT, SELF_DECLARED = range(4)


def _monthly(block: Block, person: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows (holder index, window month, month-end date) from each holder's first month."""
    cal = block.cal
    m_first = np.maximum(cal.month_index(block.first_seen[person]), 0)
    row, pos = expand(cal.months - m_first)
    month = m_first[row] + pos
    day = np.minimum(cal.month_starts()[month + 1] - 1, cal.end)
    return row, month, day


def balances_table(block: Block) -> pa.Table:
    rng = block.rng(S_BAL)
    n = block.n
    cap, age = block.trait("capacity"), block.trait("age")
    buffer = block.trait("buffer")
    hold = np.column_stack(
        [
            rng.random(n) < 0.97,
            ((buffer > 0.25) & (rng.random(n) < 0.95)) | (rng.random(n) < 0.05),
            rng.random(n) < sigmoid(-1.8 + 1.5 * cap),
            rng.random(n) < np.where(age < 30, 0.4, 0.15),
        ]
    )
    person, kind = np.nonzero(hold)
    invest = rng.uniform(0.5, 3.0, person.size)
    row, month, day = _monthly(block, person)
    owner, kind = person[row], kind[row]
    r = row.size
    income, buf = block.trait("income")[owner], buffer[owner]
    reg = block.trait("regularity")[owner]
    z = rng.standard_normal(r)
    current = income * (0.6 * np.tanh(buf) - 0.05 + 0.3 * (1.3 - reg) * z)
    savings = income * buf * np.exp(0.06 * z) * (1 + 0.004 * month)
    investment = income * buf * invest[row] * np.exp(0.08 * z)
    wallet = rng.uniform(0.0, 150.0, r)
    balance = np.choose(kind, [current, savings, investment, wallet])
    # After delinquency starts, deposits drain.
    drained = day >= block.default_start[owner]
    overdrawn = -income * rng.uniform(0.0, 0.3, r)
    balance = np.where(drained, np.where(kind == 0, overdrawn, balance * 0.3), balance)
    balance = np.where(kind == 0, balance, np.maximum(balance, 0.0))
    return arrow.table(
        "balances",
        {
            "person_id": block.person_ids(owner),
            "as_of": arrow.dates(day),
            "account_kind": arrow.enum(BALANCE_KINDS, kind),
            "balance": arrow.floats(balance),
        },
    )


def incomes_table(block: Block, acc: Accounts) -> pa.Table:
    rng = block.rng(S_INCOME)
    cal, n = block.cal, block.n
    status = block.status
    payroll = (status == EMPLOYED) & (rng.random(n) < 0.85)
    phase3, phase6 = rng.integers(0, 3, n), rng.integers(0, 6, n)
    row, month, _ = _monthly(block, np.arange(n))
    owner = row
    starts = cal.month_starts()
    on_payroll = payroll[owner] & ((month - phase3[owner]) % 3 == 0)
    on_statement = ~payroll[owner] & ((month - phase6[owner]) % 6 == 0)
    calendar_month = (cal.first_month + month) % 12
    on_tax = (status[owner] == SELF_EMPLOYED) & (calendar_month == 5)
    p_rows = np.flatnonzero(on_payroll)
    s_rows = np.flatnonzero(on_statement)
    t_rows = np.flatnonzero(on_tax)
    # Self-declared at account openings inside the window, once per person and day.
    opened_in = (acc.opened >= cal.start) & (acc.opened <= cal.end)
    decl = np.unique(acc.owner[opened_in].astype(np.int64) * (1 << 32) + acc.opened[opened_in])
    d_owner, d_day = decl >> 32, decl & ((1 << 32) - 1)

    person = np.concatenate([owner[p_rows], owner[s_rows], owner[t_rows], d_owner])
    day = np.concatenate(
        [
            starts[month[p_rows]] + 24,
            starts[month[s_rows]] + 27,
            starts[month[t_rows]] + 29,
            d_day,
        ]
    )
    source = np.concatenate(
        [
            np.full(p_rows.size, PAYROLL),
            np.full(s_rows.size, BANK_STATEMENT),
            np.full(t_rows.size, TAX_RETURN),
            np.full(d_owner.size, SELF_DECLARED),
        ]
    )
    r = person.size
    noise = np.array([0.02, 0.05, 0.12, 0.15])[source] * rng.standard_normal(r)
    bias = np.where(source == SELF_DECLARED, 0.1, 0.0)
    amount = block.trait("income")[person] * np.exp(noise + bias)
    verified = np.select(
        [source == PAYROLL, source == TAX_RETURN, source == BANK_STATEMENT],
        [rng.random(r) < 0.97, np.ones(r, bool), rng.random(r) < 0.6],
        False,
    )
    keep = (day <= cal.end) & (day >= block.first_seen[person])
    order = np.flatnonzero(keep)
    order = order[np.lexsort((source[order], day[order], person[order]))]
    return arrow.table(
        "incomes",
        {
            "person_id": block.person_ids(person[order]),
            "as_of": arrow.dates(day[order]),
            "monthly_income": arrow.floats(amount[order]),
            "source": arrow.enum(INCOME_SOURCES, source[order]),
            "verified": verified[order],
        },
    )
