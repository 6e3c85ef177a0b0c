"""Card and account transactions: the behavior factor's raw material.

Each person has a category mix (prudent people buy groceries, impulsive ones dine out and
buy electronics; a minority gambles or lives on cash withdrawals), a volume, and a
regularity that sets how much monthly spend and single amounts swing. Income arrives as a
monthly credit transfer, so transactions also echo capacity.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from openbureau.contract import MERCHANT_CATEGORIES
from openbureau.sim import arrow
from openbureau.sim.block import EMPLOYED, S_TXN, Block, expand

CHANNELS = ("card_present", "online", "mobile", "transfer", "atm", "direct_debit")
_CAT = {c: i for i, c in enumerate(MERCHANT_CATEGORIES)}
# Typical amount and base share of purchases per category.
_PROFILE = {
    "groceries": (35.0, 0.22),
    "dining": (25.0, 0.10),
    "transport": (12.0, 0.07),
    "fuel": (55.0, 0.05),
    "travel": (250.0, 0.02),
    "utilities": (80.0, 0.04),
    "telecom": (35.0, 0.02),
    "clothing": (60.0, 0.05),
    "electronics": (150.0, 0.02),
    "home": (70.0, 0.04),
    "education": (90.0, 0.01),
    "entertainment": (30.0, 0.05),
    "gaming": (20.0, 0.02),
    "gambling": (40.0, 0.0),
    "cash_withdrawal": (100.0, 0.0),
    "transfer": (150.0, 0.06),
    "financial_services": (60.0, 0.02),
    "other": (40.0, 0.05),
}
_MEDIAN = np.array([_PROFILE[c][0] for c in MERCHANT_CATEGORIES])
_BASE = np.array([_PROFILE[c][1] for c in MERCHANT_CATEGORIES])
_DISCRETIONARY = np.isin(
    MERCHANT_CATEGORIES, ["dining", "clothing", "electronics", "entertainment", "gaming", "travel"]
)
_ESSENTIAL = np.isin(MERCHANT_CATEGORIES, ["groceries", "utilities", "home", "education"])
_REFUNDABLE = np.isin(MERCHANT_CATEGORIES, ["clothing", "electronics", "home", "travel", "other"])


def _channel_cum() -> np.ndarray:
    """Cumulative channel probabilities per category (rows follow MERCHANT_CATEGORIES)."""
    shop = [0.55, 0.25, 0.2, 0.0, 0.0, 0.0]
    rows = {c: shop for c in MERCHANT_CATEGORIES}
    rows.update(
        {
            "utilities": [0.0, 0.1, 0.05, 0.05, 0.0, 0.8],
            "telecom": [0.0, 0.15, 0.05, 0.0, 0.0, 0.8],
            "gambling": [0.1, 0.5, 0.4, 0.0, 0.0, 0.0],
            "gaming": [0.05, 0.55, 0.4, 0.0, 0.0, 0.0],
            "cash_withdrawal": [0.0, 0.0, 0.0, 0.0, 1.0, 0.0],
            "transfer": [0.0, 0.1, 0.3, 0.6, 0.0, 0.0],
            "financial_services": [0.0, 0.3, 0.2, 0.1, 0.0, 0.4],
            "electronics": [0.3, 0.55, 0.15, 0.0, 0.0, 0.0],
            "travel": [0.2, 0.6, 0.2, 0.0, 0.0, 0.0],
        }
    )
    return np.cumsum(np.array([rows[c] for c in MERCHANT_CATEGORIES]), axis=1)


_CHANNEL_CUM = _channel_cum()
_TRANSFER = _CAT["transfer"]


def category_mix(prudence: np.ndarray, gambling: np.ndarray, cash: np.ndarray) -> np.ndarray:
    """Per person, probabilities over MERCHANT_CATEGORIES (rows sum to one)."""
    w = np.tile(_BASE, (prudence.size, 1))
    w[:, _DISCRETIONARY] *= np.exp(-0.45 * prudence)[:, None]
    w[:, _ESSENTIAL] *= np.exp(0.25 * prudence)[:, None]
    w /= w.sum(axis=1, keepdims=True)
    special = gambling + cash
    scale = np.minimum(1.0, 0.8 / np.maximum(special, 1e-12))  # leave room for the rest
    gambling, cash = gambling * scale, cash * scale
    w *= (1.0 - gambling - cash)[:, None]
    w[:, _CAT["gambling"]] = gambling
    w[:, _CAT["cash_withdrawal"]] = cash
    return w


def draw_rows(cum: np.ndarray, row: np.ndarray, u: np.ndarray) -> np.ndarray:
    """For each draw, a column of ``cum[row]`` (cumulative probabilities) picked by ``u``.

    Row ``i``'s cumulative probabilities shifted by ``i`` make one increasing sequence, so a
    single searchsorted serves every row at once.
    """
    k = cum.shape[1]
    cum = cum / cum[:, -1:]
    flat = (cum + np.arange(cum.shape[0])[:, None]).ravel()
    pos = np.searchsorted(flat, row + u * (1 - 1e-12), side="right")
    return np.clip(pos - row * k, 0, k - 1)


def transactions_table(block: Block) -> pa.Table:
    rng = block.rng(S_TXN)
    cal, n, cfg = block.cal, block.n, block.cfg
    reg = block.trait("regularity")
    income = block.trait("income")
    m_first = np.maximum(cal.month_index(block.first_seen), 0)
    pm_person, pm_pos = expand(cal.months - m_first)
    pm_month = m_first[pm_person] + pm_pos
    vol = 0.15 + 0.7 * (1.0 - reg)
    salaried = rng.random(n) < 0.93  # whose income is paid into the observed account
    rate = np.maximum(cfg.txn_per_month - salaried, 0.2) * block.trait("activity")
    v = vol[pm_person]
    lam = rate[pm_person] * np.exp(v * rng.standard_normal(pm_person.size) - v * v / 2)
    counts = rng.poisson(lam)

    # Purchases and other debits.
    pm, _ = expand(counts)
    person, month = pm_person[pm], pm_month[pm]
    t = person.size
    mix = category_mix(block.trait("prudence"), block.trait("gambling"), block.trait("cash"))
    cat = draw_rows(np.cumsum(mix, axis=1), person, rng.random(t))
    sigma = (0.45 + 0.5 * (1.0 - reg))[person]
    amount = (
        _MEDIAN[cat] * (income[person] / 2000.0) ** 0.4 * np.exp(sigma * rng.standard_normal(t))
    )
    credit = (_REFUNDABLE[cat] & (rng.random(t) < 0.03)) | (
        (cat == _CAT["gambling"]) & (rng.random(t) < 0.25)
    )
    channel = draw_rows(_CHANNEL_CUM, cat, rng.random(t))
    starts = cal.month_starts()
    length = starts[month + 1] - starts[month]
    day = starts[month] + np.floor(rng.random(t) * length).astype(np.int64)
    second = np.floor(rng.random(t) * 86_400).astype(np.int64)

    # Monthly income credit on a fixed payday; steady for employees, not for the self-employed.
    pay_person = pm_person[salaried[pm_person]]
    pay_month = pm_month[salaried[pm_person]]
    p = pay_person.size
    steady = block.status[pay_person] == EMPLOYED
    noise = np.where(steady, 0.03, 0.3) * rng.standard_normal(p)
    payday = rng.integers(1, 29, n)
    pay_amount = income[pay_person] * np.exp(noise)
    pay_day = starts[pay_month] + payday[pay_person] - 1
    pay_second = 6 * 3600 + np.floor(rng.random(p) * 7200).astype(np.int64)

    person = np.concatenate([person, pay_person])
    day = np.concatenate([day, pay_day])
    second = np.concatenate([second, pay_second])
    amount = np.concatenate([amount, pay_amount])
    credit = np.concatenate([credit, np.ones(p, bool)])
    cat = np.concatenate([cat, np.full(p, _TRANSFER)])
    channel = np.concatenate([channel, np.full(p, CHANNELS.index("transfer"))])
    keep = (day >= block.first_seen[person]) & (day <= cal.end)
    order = np.flatnonzero(keep)
    sort_key = (person[order] * (cal.end - cal.start + 1) + day[order] - cal.start) * 86_400
    order = order[np.argsort(sort_key + second[order], kind="stable")]
    person, day, second = person[order], day[order], second[order]
    seq = expand(np.bincount(person, minlength=n))[1] + 1
    return arrow.table(
        "transactions",
        {
            "txn_id": arrow.child_ids("T", block.ids, person, seq, 6),
            "person_id": block.person_ids(person),
            "ts": arrow.timestamps(day, second),
            "amount": arrow.floats(np.maximum(amount[order], 0.01)),
            "direction": arrow.enum(("debit", "credit"), credit[order]),
            "merchant_category": arrow.enum(MERCHANT_CATEGORIES, cat[order]),
            "channel": arrow.enum(CHANNELS, channel[order]),
        },
    )
