"""Capacity: income, deposits, and how much of it existing credit already takes.

Income is the latest verified figure of the last 24 months, else the latest of any source
(a self-declared figure is inflated on average; ``income_verified`` tells the model which
it got). Ratios to income or spending are derived after every group is joined, so each
source table is still read once.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from openbureau.features.frame import Frame, drop, money, ratio, within
from openbureau.features.history import REVOLVING, repayment_rows
from openbureau.features.spec import DERIVED, KEYS, FeatureGroup, for_factor

# Among incomes established on the same day, the most reliable source wins.
SOURCE_RANK = {"payroll": 3, "tax_return": 2, "bank_statement": 1, "self_declared": 0}
BALANCE_KINDS = ("current", "savings", "investment", "wallet")


def _credit_use(frame: Frame) -> ir.Table:
    """Utilisation of revolving limits and the monthly dues of all credit (repayments)."""
    r = repayment_rows(frame)
    revolving = r.kind.isin(REVOLVING) & (r.credit_limit > 0)
    m12 = revolving & within(r, r.due_date, 12)
    per_account = r.group_by([*KEYS, "account_id"]).aggregate(
        latest_balance=r.balance.argmax(r.due_date, where=revolving),
        credit_limit=r.credit_limit.max(where=revolving),
        is_open=(r.closed.isnull() | (r.closed >= r.as_of)).max(),
        balance_12m=money(r.balance).sum(where=m12),
        limit_12m=money(r.credit_limit).sum(where=m12),
        util_max=ratio(r.balance, r.credit_limit).max(where=m12),
        dues=r._due.sum(where=within(r, r.due_date, 1)),
    )
    a = per_account
    live = a.is_open & a.latest_balance.notnull()
    agg = a.group_by(KEYS).aggregate(
        _balance=money(a.latest_balance).sum(where=live),
        _limit=money(a.credit_limit).sum(where=live),
        _balance_12m=a.balance_12m.sum(),
        _limit_12m=a.limit_12m.sum(),
        utilisation_max_12m=a.util_max.max(),
        _monthly_dues=a.dues.sum(),
    )
    return drop(
        agg.mutate(
            utilisation_latest=ratio(agg._balance, agg._limit),
            utilisation_avg_12m=ratio(agg._balance_12m, agg._limit_12m),
        ),
        "_balance",
        "_limit",
        "_balance_12m",
        "_limit_12m",
    )


def _incomes(frame: Frame) -> ir.Table:
    i = frame.events("incomes", "observed")
    i = i.filter(within(i, i.observed, 24))
    rank = i.source.substitute(SOURCE_RANK, else_=0)
    key = i.observed.delta(ibis.date(1970, 1, 1), unit="day") * 4 + rank
    agg = i.group_by(KEYS).aggregate(
        _verified=i.monthly_income.argmax(key, where=i.verified),
        _any=i.monthly_income.argmax(key),
    )
    return drop(
        agg.mutate(
            monthly_income=agg._verified.coalesce(agg._any),
            income_verified=agg._verified.notnull().cast("float64"),
        ),
        "_verified",
        "_any",
    )


def _balances(frame: Frame) -> ir.Table:
    b = frame.events("balances", "observed")
    b = b.filter(within(b, b.observed, 12))
    current = b.account_kind == "current"
    latest = {k: b.balance.argmax(b.observed, where=b.account_kind == k) for k in BALANCE_KINDS}
    recent = current & within(b, b.observed, 6)
    cents = money(b.balance)
    agg = b.group_by(KEYS).aggregate(
        **{f"_{k}": v for k, v in latest.items()},
        overdraft_months_12m=b.balance.count(where=current & (b.balance < 0)),
        _n=b.balance.count(where=recent),
        _s1=cents.sum(where=recent),
        _s2=(cents * cents).sum(where=recent),
    )
    total = sum((agg[f"_{k}"].coalesce(0.0) for k in BALANCE_KINDS), ibis.literal(0.0))
    n, s1, s2 = agg._n.cast("float64"), agg._s1.cast("float64"), agg._s2.cast("float64")
    var = ibis.greatest((s2 - s1 * s1 / n) / (n - 1), 0.0)
    return drop(
        agg.mutate(
            deposits_balance=total,
            _saved=agg._savings.coalesce(0.0) + agg._investment.coalesce(0.0),
            _current_sd_6m=ibis.ifelse(agg._n >= 2, var.sqrt(), ibis.null("float64")),
        ),
        *(f"_{k}" for k in BALANCE_KINDS),
        "_n",
        "_s1",
        "_s2",
    )


GROUPS = (
    FeatureGroup("credit_use", ("accounts", "repayments"), _credit_use),
    FeatureGroup("incomes", ("incomes",), _incomes),
    FeatureGroup("balances", ("balances",), _balances),
)


_spec = for_factor("capacity", defaults={"default": None})


SPECS = (
    _spec(
        "monthly_income",
        "Low income",
        "increasing",
        False,
        "Latest verified monthly net income of the last 24 months, else the latest stated one.",
        "incomes",
        unit="amount",
    ),
    _spec(
        "income_verified",
        "Income not verified",
        "increasing",
        True,
        "1 if an income of the last 24 months was verified at its source, else 0.",
        "incomes",
        default=0.0,
        unit="flag",
    ),
    _spec(
        "debt_to_income",
        "Credit repayments take a large part of income",
        "decreasing",
        True,
        "Credit payments due in the last month (instalments and card minimums) over "
        "monthly income.",
        DERIVED,
        unit="ratio",
        derive=lambda t: ratio(t._monthly_dues.coalesce(0.0), t.monthly_income),
    ),
    _spec(
        "utilisation_latest",
        "High use of your credit limits",
        "decreasing",
        True,
        "Balances over limits of open cards and credit lines at their latest statement "
        "before as_of; unknown without revolving credit.",
        "credit_use",
        unit="ratio",
    ),
    _spec(
        "utilisation_avg_12m",
        "High use of your credit limits over the last year",
        "decreasing",
        True,
        "Mean statement balance over limit of cards and credit lines, last 12 months.",
        "credit_use",
        unit="ratio",
    ),
    _spec(
        "utilisation_max_12m",
        "Credit limits reached or exceeded in the last year",
        "decreasing",
        True,
        "Highest statement balance over limit of a card or credit line, last 12 months.",
        "credit_use",
        unit="ratio",
    ),
    _spec(
        "deposits_balance",
        "Little money in bank accounts",
        "increasing",
        True,
        "Sum of the latest balances of current, savings, investment and wallet accounts "
        "in the last 12 months (negative when overdrawn).",
        "balances",
        unit="amount",
    ),
    _spec(
        "savings_to_income",
        "Low savings compared with income",
        "increasing",
        True,
        "Latest savings and investment balances over monthly income.",
        DERIVED,
        unit="months",
        derive=lambda t: ratio(t._saved, t.monthly_income),
    ),
    _spec(
        "buffer_months",
        "Savings would cover few months of spending",
        "increasing",
        True,
        "Deposits over mean monthly spending: how many months the person could keep "
        "paying their way without income.",
        DERIVED,
        unit="months",
        derive=lambda t: ratio(t.deposits_balance, t.monthly_spend_6m),
    ),
    _spec(
        "overdraft_months_12m",
        "Bank account often overdrawn",
        "decreasing",
        True,
        "Month-end current-account balances below zero in the last 12 months.",
        "balances",
        default=0.0,
        unit="count",
    ),
    _spec(
        "balance_volatility_6m",
        "Bank balance swings a lot",
        "decreasing",
        True,
        "Standard deviation of month-end current-account balances over the last 6 months, "
        "in months of income.",
        DERIVED,
        unit="ratio",
        derive=lambda t: ratio(t._current_sd_6m, t.monthly_income),
    ),
    _spec(
        "months_with_incoming_transfers_6m",
        "Money does not come in regularly",
        "increasing",
        False,
        "30-day periods of the last 180 days with at least one incoming transfer "
        "(wages, benefits, pensions).",
        "transactions",
        unit="count",
    ),
)
