"""Credit accounts: how many (file depth), what kind, how large (capacity), when opened.

A defaulter needs an account to default on: if none is open when their payments stop,
they took an instalment loan after as_of, so nothing before as_of gives the label away.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from openbureau.sim import arrow
from openbureau.sim.block import (
    OWN,
    S_ACCOUNTS,
    Block,
    expand,
    rank_within,
)
from openbureau.sim.calendar import due_on_or_after
from openbureau.sim.population import NO_DEFAULT, sigmoid

KINDS = ("loan", "card", "credit_line", "instalment", "mortgage")
LOAN, CARD, LINE, INSTAL, MORTGAGE = range(5)
_P_ESTABLISHED = np.cumsum([0.17, 0.38, 0.10, 0.25, 0.10])
_P_THIN = np.cumsum([0.10, 0.45, 0.0, 0.45, 0.0])
_TERMS = {
    LOAN: np.array([12, 24, 36, 48, 60, 72, 84]),
    INSTAL: np.array([3, 6, 10, 12, 18, 24]),
    MORTGAGE: np.array([120, 180, 240, 300, 360]),
}
LENDERS = tuple(f"bank-{i}" for i in range(1, 61))


@dataclass
class Accounts:
    """A block's accounts, sorted by (owner, opened); owner is the block-local person index."""

    owner: np.ndarray
    kind: np.ndarray
    opened: np.ndarray
    closed: np.ndarray  # -1 while open
    due_day: np.ndarray
    limit: np.ndarray  # nan for instalment kinds
    principal: np.ndarray  # nan for revolving kinds
    term: np.ndarray  # 0 for revolving kinds
    rate: np.ndarray
    util: np.ndarray  # account's usual utilisation (revolving)
    first_due: np.ndarray
    default_due: np.ndarray  # first missed due date of the defaulted account, else -1
    ids: pa.Array

    @property
    def revolving(self) -> np.ndarray:
        return (self.kind == CARD) | (self.kind == LINE)

    @property
    def payment(self) -> np.ndarray:
        r = self.rate / 12.0
        t = np.maximum(self.term, 1)
        with np.errstate(divide="ignore", invalid="ignore"):
            annuity = np.where(r > 0, self.principal * r / (1 - (1 + r) ** -t), self.principal / t)
        return np.where(self.revolving, 0.0, annuity)


def _pick(cum: np.ndarray, u: np.ndarray) -> np.ndarray:
    return np.minimum(np.searchsorted(cum, u, side="right"), cum.size - 1)


def make_accounts(block: Block) -> Accounts:
    """Accounts for each person: file depth from thin/established, sizes from capacity."""
    rng = block.rng(S_ACCOUNTS)
    cal, n = block.cal, block.n
    thin = block.get("thin")
    cap, age = block.trait("capacity"), block.trait("age")
    first_seen, start = block.first_seen, block.default_start
    est_count = 1 + rng.poisson(1.5 + 0.6 * sigmoid(cap) + 0.4 * np.clip((age - 25) / 20, 0, 1))
    pre = rng.random(n) < 0.45
    post = rng.random(n) < 0.15
    count = np.where(thin, pre.astype(int) + post, est_count)
    owner, pos = expand(count)
    m = owner.size
    u = rng.random(m)
    fs = first_seen[owner]
    span = np.maximum(cal.end - fs, 1)
    opened_est = np.where(pos == 0, fs + np.floor(u * 30), fs + np.floor(u * span))
    thin_pre = thin[owner] & (pos == 0) & pre[owner]
    opened_thin = np.where(
        thin_pre,
        fs + np.floor(u * np.maximum(cal.as_of - 1 - fs, 1)),
        cal.as_of + 1 + np.floor(u * (cal.end - cal.as_of - 1)),
    )
    opened = np.minimum(np.where(thin[owner], opened_thin, opened_est), cal.end).astype(np.int64)
    kind_thin = _pick(_P_THIN, rng.random(m))
    kind = np.where(thin[owner], kind_thin, _pick(_P_ESTABLISHED, rng.random(m)))
    kind = np.where((kind == MORTGAGE) & (block.housing[owner] != OWN), CARD, kind)
    cols = _terms(block, rng, owner, kind, opened)

    # A defaulter defaults on an account open when payments stop; one who has none took
    # an instalment loan after as_of and never paid it.
    d_start = start[owner]
    closed = cols["closed"]
    live = (d_start != NO_DEFAULT) & (opened < d_start) & ((closed < 0) | (closed >= d_start))
    has_live = np.bincount(owner[live], minlength=n) > 0
    needs = np.flatnonzero((start != NO_DEFAULT) & ~has_live)
    if needs.size:
        # Opened on or after as_of (invisible to features at as_of), before payments stop.
        room = start[needs] - cal.as_of
        new_open = cal.as_of + np.floor(rng.random(needs.size) * room).astype(np.int64)
        new_kind = np.full(needs.size, INSTAL)
        extra = _terms(block, rng, needs, new_kind, new_open)
        extra["closed"][:] = -1
        owner = np.concatenate([owner, needs])
        opened = np.concatenate([opened, new_open])
        kind = np.concatenate([kind, new_kind])
        cols = {k: np.concatenate([v, extra[k]]) for k, v in cols.items()}
    order = np.lexsort((opened, owner))
    owner, opened, kind = owner[order], opened[order], kind[order]
    cols = {k: v[order] for k, v in cols.items()}

    # A defaulter's accounts still open when delinquency starts are never settled.
    d_start = start[owner]
    closed = cols["closed"]
    closed = np.where((d_start != NO_DEFAULT) & ((closed < 0) | (closed >= d_start)), -1, closed)
    due_day = cols["due_day"]
    first_due = due_on_or_after(opened + 15, due_day)
    next_due = np.maximum(first_due, due_on_or_after(np.minimum(d_start, cal.end), due_day))
    candidate = (d_start != NO_DEFAULT) & (opened < d_start) & (closed < 0)
    default_due = np.full(owner.size, -1, np.int64)
    if candidate.any():
        idx = np.flatnonzero(candidate)
        idx = idx[np.lexsort((next_due[idx], owner[idx]))]
        first = idx[np.unique(owner[idx], return_index=True)[1]]
        default_due[first] = next_due[first]
    seq = rank_within(owner)
    return Accounts(
        owner=owner,
        kind=kind,
        opened=opened,
        closed=closed,
        due_day=due_day,
        limit=cols["limit"],
        principal=cols["principal"],
        term=cols["term"],
        rate=cols["rate"],
        util=cols["util"],
        first_due=first_due,
        default_due=default_due,
        ids=arrow.child_ids("A", block.ids, owner, seq, 2),
    )


def _terms(
    block: Block, rng: np.random.Generator, owner: np.ndarray, kind: np.ndarray, opened: np.ndarray
) -> dict[str, np.ndarray]:
    """Limits, principals, terms, rates, closing dates and usual utilisation of accounts."""
    m = owner.size
    end = block.cal.end
    term = np.zeros(m, np.int64)
    for k, terms in _TERMS.items():
        sel = kind == k
        term[sel] = rng.choice(terms, size=int(sel.sum()))
    income = block.trait("income")[owner]
    debt = block.trait("debt_load")[owner]
    cap = block.trait("capacity")[owner]
    revolving = (kind == CARD) | (kind == LINE)
    limit = np.round(income * rng.uniform(0.5, 2.5, m) * np.exp(0.25 * cap), -2)
    limit = np.where(revolving, np.maximum(limit, 200.0), np.nan)
    size = np.select(
        [kind == LOAN, kind == INSTAL, kind == MORTGAGE],
        [
            income * rng.uniform(1.0, 8.0, m) * (0.6 + 1.6 * debt),
            rng.lognormal(np.log(700.0), 0.7, m) * (0.6 + 1.6 * debt),
            income * rng.uniform(40.0, 110.0, m),
        ],
        np.nan,
    )
    principal = np.where(revolving, np.nan, np.maximum(np.round(size, -1), 50.0))
    rate = np.select(
        [kind == LOAN, kind == INSTAL, kind == MORTGAGE],
        [
            0.05 + 0.07 * rng.random(m),
            np.where(rng.random(m) < 0.5, 0.0, 0.12),
            0.025 + 0.025 * rng.random(m),
        ],
        0.0,
    )
    term_days = term * 30.4375
    early = rng.random(m) < 0.1
    payoff = opened + np.floor(np.where(early, rng.random(m), 1.0) * term_days)
    closes = rng.random(m) < 0.12
    card_close = np.where(closes, opened + np.floor(rng.random(m) * (end - opened + 1)), -1)
    closed = np.where(revolving, card_close, payoff).astype(np.int64)
    closed = np.where(closed > end, -1, closed)
    return {
        "limit": limit,
        "principal": principal,
        "term": term,
        "rate": rate,
        "closed": closed,
        "due_day": rng.integers(1, 29, m),
        "util": np.clip(debt * np.exp(rng.normal(0.0, 0.3, m)) * 1.3, 0.0, 1.0),
    }


def accounts_table(block: Block, acc: Accounts) -> pa.Table:
    rng = block.rng(S_ACCOUNTS + 100)
    m = acc.owner.size
    lender = np.minimum(rng.zipf(1.6, m), len(LENDERS)) - 1
    revolving = acc.revolving
    return arrow.table(
        "accounts",
        {
            "account_id": acc.ids,
            "person_id": block.person_ids(acc.owner),
            "kind": arrow.enum(KINDS, acc.kind),
            "lender": pa.array(np.asarray(LENDERS)[lender], mask=rng.random(m) < 0.04),
            "opened": arrow.dates(acc.opened),
            "closed": arrow.dates(np.maximum(acc.closed, 0), acc.closed < 0),
            "credit_limit": arrow.floats(np.nan_to_num(acc.limit), ~revolving),
            "principal": arrow.floats(np.nan_to_num(acc.principal), revolving),
            "term_months": pa.array(acc.term, pa.int64(), mask=revolving),
        },
    )
