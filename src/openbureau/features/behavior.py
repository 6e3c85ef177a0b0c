"""Behaviour: how steady and prudent spending is, read from transactions of the last 180 days.

The window is cut into six 30-day buckets counted back from as_of, so monthly spend and its
volatility do not depend on where calendar months fall. Months before the person's file
opened are not counted as months of zero spend. Only merchant categories are read, never
merchants, and time of day is not used: late-night spending says more about shift work
than about credit risk.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from openbureau.features.frame import Frame, days, drop, money, ratio
from openbureau.features.spec import KEYS, FeatureGroup, FeatureSpec

WINDOW_DAYS = 180
BUCKET_DAYS = 30
BUCKETS = WINDOW_DAYS // BUCKET_DAYS
# Months of observed spending a volatility needs before it means anything.
MIN_MONTHS_FOR_CV = 3
ESSENTIALS = ("groceries", "utilities", "telecom", "transport", "fuel", "home", "education")
DISCRETIONARY = ("dining", "clothing", "electronics", "entertainment", "gaming", "travel")


def _transactions(frame: Frame) -> ir.Table:
    t = frame.events("transactions", "ts", timestamp=True)
    age = days(t.as_of, t.ts.date())  # 1 for the day before as_of
    t = t.filter(age <= WINDOW_DAYS).mutate(_bucket=(age - 1) // BUCKET_DAYS)
    debit = t.direction == "debit"
    credit = t.direction == "credit"
    cat = t.merchant_category
    amount = money(t.amount)
    monthly = t.group_by([*KEYS, "_bucket"]).aggregate(
        spend=amount.sum(where=debit),
        debits=t.amount.count(where=debit),
        gambling=amount.sum(where=debit & (cat == "gambling")),
        cash=amount.sum(where=debit & (cat == "cash_withdrawal")),
        cash_count=t.amount.count(where=debit & (cat == "cash_withdrawal")),
        essentials=amount.sum(where=debit & cat.isin(ESSENTIALS)),
        discretionary=amount.sum(where=debit & cat.isin(DISCRETIONARY)),
        refunds=amount.sum(where=credit & (cat != "transfer")),
        transfers_in=t.amount.count(where=credit & (cat == "transfer")),
    )
    m = monthly.mutate(spend=money(monthly.spend.coalesce(0)))
    agg = m.group_by(KEYS).aggregate(
        _spend=m.spend.sum(),
        _spend_sq=(m.spend * m.spend).sum(),
        _debits=m.debits.sum(),
        _gambling=m.gambling.sum(),
        _cash=m.cash.sum(),
        _cash_count=m.cash_count.sum(),
        _essentials=m.essentials.sum(),
        _discretionary=m.discretionary.sum(),
        _refunds=m.refunds.sum(),
        months_with_incoming_transfers_6m=m._bucket.count(where=m.transfers_in > 0),
    )
    spine = frame.spine
    agg = agg.join(spine, [agg.person_id == spine.person_id, agg.as_of == spine.as_of]).select(
        *(agg[c] for c in agg.columns), _first_seen=spine.first_seen
    )
    # Months of the window the file was open: buckets before first_seen are not zero spend.
    known = ibis.least(days(agg.as_of, agg._first_seen) // BUCKET_DAYS, BUCKETS)
    n = ibis.greatest(known.coalesce(BUCKETS), 1).cast("float64")
    mean = agg._spend.cast("float64") / n
    var = ibis.greatest(agg._spend_sq.cast("float64") / n - mean * mean, 0.0)
    spend = agg._spend
    out = agg.mutate(
        monthly_spend_6m=mean,
        spend_cv_6m=ibis.ifelse(
            n >= MIN_MONTHS_FOR_CV, ratio(var.sqrt(), mean), ibis.null("float64")
        ),
        gambling_share_6m=ratio(agg._gambling.coalesce(0), spend),
        cash_withdrawal_share_6m=ratio(agg._cash.coalesce(0), spend),
        essentials_share_6m=ratio(agg._essentials.coalesce(0), spend),
        discretionary_share_6m=ratio(agg._discretionary.coalesce(0), spend),
        refund_share_6m=ratio(agg._refunds.coalesce(0), spend),
        cash_withdrawals_per_month_6m=agg._cash_count.cast("float64") / n,
        debits_per_month_6m=agg._debits.cast("float64") / n,
    )
    return drop(out, *(c for c in out.columns if c.startswith("_")))


GROUPS = (FeatureGroup("transactions", ("transactions",), _transactions),)


def _spec(
    name: str,
    reason: str,
    direction: str,
    actionable: bool,
    description: str,
    unit: str = "",
) -> FeatureSpec:
    # No transactions in the window: spending is unknown, not zero.
    return FeatureSpec(
        name, "behavior", reason, direction, actionable, description, "transactions", None, unit
    )


SPECS = (
    _spec(
        "spend_cv_6m",
        "Spending that swings a lot from month to month",
        "decreasing",
        True,
        "Coefficient of variation of spending per 30-day period over the last 180 days "
        "(needs 3 months of file); steady spending makes repayments easier to plan.",
        "ratio",
    ),
    _spec(
        "monthly_spend_6m",
        "Your level of monthly spending",
        "none",
        False,
        "Mean spending per 30-day period over the last 180 days; its level alone says "
        "nothing of risk without income, hence no direction.",
        "amount",
    ),
    _spec(
        "gambling_share_6m",
        "Spending on gambling",
        "decreasing",
        True,
        "Share of spending at gambling merchants in the last 180 days.",
        "share",
    ),
    _spec(
        "cash_withdrawal_share_6m",
        "A large share of money taken out as cash",
        "decreasing",
        True,
        "Share of spending withdrawn as cash in the last 180 days (cash-out pattern).",
        "share",
    ),
    _spec(
        "cash_withdrawals_per_month_6m",
        "Frequent cash withdrawals",
        "decreasing",
        True,
        "Cash withdrawals per 30-day period over the last 180 days.",
        "count",
    ),
    _spec(
        "essentials_share_6m",
        "A small share of spending goes to essentials",
        "increasing",
        True,
        "Share of spending on groceries, utilities, telecom, transport, fuel, home and "
        "education in the last 180 days.",
        "share",
    ),
    _spec(
        "discretionary_share_6m",
        "Share of spending on non-essentials",
        "none",
        True,
        "Share of spending on dining, clothing, electronics, entertainment, gaming and "
        "travel; no direction is imposed, tastes differ.",
        "share",
    ),
    _spec(
        "refund_share_6m",
        "Many refunds or reversed payments",
        "none",
        False,
        "Refunds and other money back (incoming, not transfers) over spending, last 180 days.",
        "ratio",
    ),
    _spec(
        "debits_per_month_6m",
        "Number of card and account payments",
        "none",
        False,
        "Outgoing transactions per 30-day period over the last 180 days (activity).",
        "count",
    ),
)
