"""Monthly repayments of credit accounts, and the payment habit shared with bills.

Lateness follows the payment-discipline trait plus a month-to-month stress shock; before
as_of nothing anticipates a default. From a defaulter's ``default_start`` (inside the label
window) every instalment stays unpaid.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from openbureau.sim import arrow
from openbureau.sim.block import S_REPAY, Block, expand
from openbureau.sim.calendar import month_of
from openbureau.sim.credit import Accounts
from openbureau.sim.population import sigmoid


def repayments_table(block: Block, acc: Accounts) -> pa.Table:
    """One row per monthly due date inside the window while the account is open."""
    rng = block.rng(S_REPAY)
    cal = block.cal
    last = np.where(acc.closed >= 0, acc.closed, cal.end)
    m0 = np.maximum(cal.month_index(acc.first_due), 0)
    m1 = cal.month_index(last)
    a, pos = expand(np.maximum(m1 - m0 + 1, 0))
    month = m0[a] + pos
    due = cal.month_starts()[month] + acc.due_day[a] - 1
    keep = (due >= acc.first_due[a]) & (due <= last[a]) & (due <= cal.end)
    a, month, due = a[keep], month[keep], due[keep]
    r = a.size
    owner = acc.owner[a]
    d_start = block.default_start[owner]
    defaulted = due >= d_start

    # Instalments: annuity balance after k payments; frozen once payments stop.
    k = month_of(due) - month_of(acc.first_due[a]) + 1
    kd = np.where(acc.default_due[a] >= 0, month_of(acc.default_due[a]), month_of(d_start))
    k_paid = np.where(defaulted, np.minimum(k, kd - month_of(acc.first_due[a])), k)
    term = np.maximum(acc.term[a], 1)
    k_paid = np.clip(k_paid, 0, term)
    rm = acc.rate[a] / 12.0
    principal = np.nan_to_num(acc.principal[a])
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        grow_t, grow_k = (1 + rm) ** term, (1 + rm) ** k_paid
        inst_bal = np.where(
            rm > 0, principal * (grow_t - grow_k) / (grow_t - 1), principal * (1 - k_paid / term)
        )
    payment = acc.payment[a]

    # Revolving: utilisation around the account's usual level, rising once in default.
    revolving = acc.revolving[a]
    shock = block.shock[owner, block.month_of_row(due)]
    util = np.clip(acc.util[a] + 0.08 * rng.standard_normal(r) + 0.04 * shock, 0.0, 1.15)
    months_in_default = np.maximum(month_of(due) - month_of(np.minimum(d_start, due)), 0)
    util = np.where(
        defaulted, np.clip(np.maximum(util, 0.9) + 0.04 * months_in_default, 0, 1.4), util
    )
    rev_bal = util * np.nan_to_num(acc.limit[a])
    rev_due = np.where(rev_bal < 1.0, 0.0, np.minimum(rev_bal, np.maximum(25.0, 0.03 * rev_bal)))
    balance = np.round(np.where(revolving, rev_bal, np.maximum(inst_bal, 0.0)), 2)
    amount_due = np.round(np.where(revolving, rev_due, payment), 2)

    disc = block.trait("discipline")[owner]
    paid, amount_paid = pay(rng, due, amount_due, disc, shock, cal.end, -2.7, 1.7)
    paid = np.where(defaulted, -1, paid)
    amount_paid = np.where(defaulted, 0.0, amount_paid)
    return arrow.table(
        "repayments",
        {
            "account_id": acc.ids.take(pa.array(a)),
            "due_date": arrow.dates(due),
            "amount_due": arrow.floats(amount_due),
            "paid_date": arrow.dates(np.maximum(paid, 0), paid < 0),
            "amount_paid": arrow.floats(amount_paid),
            "balance": arrow.floats(balance),
        },
    )


def pay(
    rng: np.random.Generator,
    due: np.ndarray,
    amount: np.ndarray,
    discipline: np.ndarray,
    shock: np.ndarray,
    end: int,
    base: float,
    slope: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Paid date (-1 = unpaid) and amount paid for each due amount, from payment discipline.

    Late payments get likelier and longer as discipline falls; some are partial, a few
    never paid; a payment that would land after the window's end is still unpaid.
    """
    r = due.size
    p_late = sigmoid(base - slope * discipline + shock)
    late = rng.random(r) < p_late
    never = late & (rng.random(r) < 0.06 + 0.25 * sigmoid(-2.0 - 1.5 * discipline))
    partial = late & ~never & (rng.random(r) < 0.25)
    days_late = 1 + np.floor(rng.gamma(1.2, 5.0 + 20.0 * sigmoid(-discipline), r)).astype(np.int64)
    on_time = due - np.floor(rng.random(r) * 5).astype(np.int64)
    paid = np.where(late, due + np.where(partial, days_late // 2, days_late), on_time)
    share = np.where(partial, rng.uniform(0.2, 0.9, r), 1.0)
    amount_paid = np.round(amount * share, 2)
    unpaid = never | (paid > end)
    paid = np.where(unpaid, -1, paid)
    amount_paid = np.where(unpaid, 0.0, amount_paid)
    nothing_due = amount <= 0
    return np.where(nothing_due, due, paid), np.where(nothing_due, 0.0, amount_paid)
