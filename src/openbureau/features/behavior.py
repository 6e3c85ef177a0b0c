"""Behaviour: how steady and prudent spending is, read from transactions of the last year.

The year is cut into twelve 30-day buckets counted back from as_of, so monthly spend and its
volatility do not depend on where calendar months fall. The main features read the last six
buckets (recent habits); the 12-month versions of the steadiest signals (volatility,
gambling, cash-out, essentials) read all twelve, so one unusual month weighs half as much.
Months before the person's file opened are not counted as months of zero spend. Only
merchant categories are read, never merchants, and time of day is not used: late-night
spending says more about shift work than about credit risk.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from openbureau.features.frame import Frame, days, drop, money, ratio
from openbureau.features.spec import KEYS, FeatureGroup, for_factor

WINDOW_DAYS = 360
BUCKET_DAYS = 30
BUCKETS = WINDOW_DAYS // BUCKET_DAYS
RECENT = 6  # buckets of the main (6-month) features
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
    recent = m._bucket < RECENT
    agg = m.group_by(KEYS).aggregate(
        _spend=m.spend.sum(where=recent),
        _spend_sq=(m.spend * m.spend).sum(where=recent),
        _debits=m.debits.sum(where=recent),
        _gambling=m.gambling.sum(where=recent),
        _cash=m.cash.sum(where=recent),
        _cash_count=m.cash_count.sum(where=recent),
        _essentials=m.essentials.sum(where=recent),
        _discretionary=m.discretionary.sum(where=recent),
        _refunds=m.refunds.sum(where=recent),
        months_with_incoming_transfers_6m=m._bucket.count(where=recent & (m.transfers_in > 0)),
        _spend_12=m.spend.sum(),
        _spend_sq_12=(m.spend * m.spend).sum(),
        _gambling_12=m.gambling.sum(),
        _cash_12=m.cash.sum(),
        _essentials_12=m.essentials.sum(),
    )
    spine = frame.spine
    agg = agg.join(spine, [agg.person_id == spine.person_id, agg.as_of == spine.as_of]).select(
        *(agg[c] for c in agg.columns), _first_seen=spine.first_seen
    )
    # Months of the window the file was open: buckets before first_seen are not zero spend.
    known = days(agg.as_of, agg._first_seen) // BUCKET_DAYS

    def months(cap: int) -> ir.FloatingValue:
        return ibis.greatest(ibis.least(known, cap).coalesce(cap), 1).cast("float64")

    def cv(total: ir.NumericValue, squares: ir.NumericValue, n: ir.FloatingValue) -> ir.Value:
        mean = total.cast("float64") / n
        var = ibis.greatest(squares.cast("float64") / n - mean * mean, 0.0)
        return ibis.ifelse(n >= MIN_MONTHS_FOR_CV, ratio(var.sqrt(), mean), ibis.null("float64"))

    n, n12 = months(RECENT), months(BUCKETS)
    spend, spend12 = agg._spend, agg._spend_12
    out = agg.mutate(
        monthly_spend_6m=spend.cast("float64") / n,
        spend_cv_6m=cv(spend, agg._spend_sq, n),
        gambling_share_6m=ratio(agg._gambling.coalesce(0), spend),
        cash_withdrawal_share_6m=ratio(agg._cash.coalesce(0), spend),
        essentials_share_6m=ratio(agg._essentials.coalesce(0), spend),
        discretionary_share_6m=ratio(agg._discretionary.coalesce(0), spend),
        refund_share_6m=ratio(agg._refunds.coalesce(0), spend),
        cash_withdrawals_per_month_6m=agg._cash_count.cast("float64") / n,
        debits_per_month_6m=agg._debits.cast("float64") / n,
        spend_cv_12m=cv(spend12, agg._spend_sq_12, n12),
        gambling_share_12m=ratio(agg._gambling_12.coalesce(0), spend12),
        cash_withdrawal_share_12m=ratio(agg._cash_12.coalesce(0), spend12),
        essentials_share_12m=ratio(agg._essentials_12.coalesce(0), spend12),
    )
    return drop(out, *(c for c in out.columns if c.startswith("_")))


GROUPS = (FeatureGroup("transactions", ("transactions",), _transactions),)


# No transactions in the window: spending is unknown, not zero.
_spec = for_factor("behavior", fixed={"group": "transactions", "default": None})


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
        "Monthly spending",
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
        "Share of payments refunded or reversed",
        "none",
        False,
        "Refunds and other money back (incoming, not transfers) over spending, last 180 days.",
        "ratio",
    ),
    _spec(
        "debits_per_month_6m",
        "Number of card and account payments each month",
        "none",
        False,
        "Outgoing transactions per 30-day period over the last 180 days (activity).",
        "count",
    ),
    _spec(
        "spend_cv_12m",
        "Spending that swings a lot from month to month over the year",
        "decreasing",
        True,
        "Coefficient of variation of spending per 30-day period over the last 360 days "
        "(needs 3 months of file): the steadiness of the whole year, not just recent months.",
        "ratio",
    ),
    _spec(
        "gambling_share_12m",
        "Spending on gambling over the last year",
        "decreasing",
        True,
        "Share of spending at gambling merchants in the last 360 days.",
        "share",
    ),
    _spec(
        "cash_withdrawal_share_12m",
        "A large share of money taken out as cash over the last year",
        "decreasing",
        True,
        "Share of spending withdrawn as cash in the last 360 days.",
        "share",
    ),
    _spec(
        "essentials_share_12m",
        "A small share of spending goes to essentials over the last year",
        "increasing",
        True,
        "Share of spending on essentials (as essentials_share_6m) in the last 360 days.",
        "share",
    ),
)
