"""Credit history: how a person has repaid credit and bills, and how deep their file is.

Payment state is judged as it stood at as_of: an instalment paid on or after as_of was
still unpaid then, so its days past due run to as_of. Public records count only until
they expire (``FeatureParams.public_record_expiry_years`` after filing).
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from openbureau.features.frame import (
    DAYS_PER_MONTH,
    Frame,
    days,
    drop,
    money,
    months_since,
    per_days,
    ratio,
    within,
)
from openbureau.features.spec import KEYS, FeatureGroup, for_factor

REVOLVING = ("card", "credit_line")
INSTALMENT = ("loan", "instalment")
UTILITY_BILLS = ("utility", "phone", "internet")


def with_lateness(t: ir.Table) -> ir.Table:
    """Add each due amount's state at as_of: paid yet, amount paid, owed, days past due."""
    paid = t.paid_date.notnull() & (t.paid_date < t.as_of)
    due = money(t.amount_due)
    paid_amount = ibis.ifelse(paid, money(t.amount_paid.coalesce(t.amount_due)), money(0))
    owed = t.amount_due > 0
    late_days = ibis.ifelse(
        paid, ibis.greatest(days(t.paid_date, t.due_date), 0), days(t.as_of, t.due_date)
    )
    t = t.mutate(
        _due=due,
        _paid=paid,
        _paid_amount=paid_amount,
        _owed=owed,
        _dpd=ibis.ifelse(owed, late_days, 0),
    )
    # On time: paid in full by the due date.
    return t.mutate(_on_time=t._owed & t._paid & (t._dpd == 0) & (t._paid_amount >= t._due))


def repayment_rows(frame: Frame) -> ir.Table:
    """Instalments due before as_of, with their person and account."""
    accounts = frame.table("accounts").select(
        "account_id", "person_id", "kind", "credit_limit", "closed"
    )
    rows = frame.events(accounts.join(frame.table("repayments"), "account_id"), "due_date")
    return with_lateness(rows)


def _repayments(frame: Frame) -> ir.Table:
    r = repayment_rows(frame)
    m3, m12, m24 = (within(r, r.due_date, n) for n in (3, 12, 24))
    unpaid = r._owed & ~r._paid
    agg = r.group_by(KEYS).aggregate(
        max_dpd_3m=r._dpd.max(where=m3),
        max_dpd_12m=r._dpd.max(where=m12),
        max_dpd_24m=r._dpd.max(where=m24),
        late_30_count_24m=r._dpd.count(where=m24 & (r._dpd >= 30)),
        late_60_count_24m=r._dpd.count(where=m24 & (r._dpd >= 60)),
        late_90_count_24m=r._dpd.count(where=m24 & (r._dpd >= 90)),
        late_count_12m=r._dpd.count(where=m12 & (r._dpd >= 1)),
        unpaid_instalments=r._dpd.count(where=unpaid),
        current_dpd=r._dpd.max(where=unpaid),
        unpaid_amount=(r._due - r._paid_amount).sum(where=r._owed & (r._paid_amount < r._due)),
        _owed_12m=r._dpd.count(where=m12 & r._owed),
        _on_time_12m=r._dpd.count(where=m12 & r._on_time),
        _due_12m=r._due.sum(where=m12 & r._owed),
        _paid_12m=r._paid_amount.sum(where=m12 & r._owed),
        _last_late=r.due_date.max(where=r._dpd >= 1),
    )
    return drop(
        agg.mutate(
            on_time_share_12m=ratio(agg._on_time_12m, agg._owed_12m),
            payment_ratio_12m=ratio(agg._paid_12m, agg._due_12m),
            months_since_last_late=months_since(agg, agg._last_late),
        ),
        "_owed_12m",
        "_on_time_12m",
        "_due_12m",
        "_paid_12m",
        "_last_late",
    )


def _accounts(frame: Frame) -> ir.Table:
    a = frame.events("accounts", "opened")
    open_ = a.closed.isnull() | (a.closed >= a.as_of)
    age = days(a.as_of, a.opened)  # whole days: their mean is exact
    return a.group_by(KEYS).aggregate(
        accounts_opened=a.account_id.count(),
        open_accounts=a.account_id.count(where=open_),
        open_revolving_accounts=a.account_id.count(where=open_ & a.kind.isin(REVOLVING)),
        open_instalment_accounts=a.account_id.count(where=open_ & a.kind.isin(INSTALMENT)),
        open_mortgage_accounts=a.account_id.count(where=open_ & (a.kind == "mortgage")),
        oldest_account_months=per_days(age.max(), DAYS_PER_MONTH),
        avg_account_age_months=per_days(age.mean(), DAYS_PER_MONTH),
        newest_account_months=per_days(age.min(), DAYS_PER_MONTH),
        new_accounts_6m=a.account_id.count(where=within(a, a.opened, 6)),
        new_accounts_12m=a.account_id.count(where=within(a, a.opened, 12)),
    )


def _bills(frame: Frame) -> ir.Table:
    b = with_lateness(frame.events("bills", "due_date"))
    m12 = within(b, b.due_date, 12)
    rent = m12 & (b.kind == "rent") & b._owed
    utility = m12 & b.kind.isin(UTILITY_BILLS) & b._owed
    agg = b.group_by(KEYS).aggregate(
        bill_late_count_12m=b._dpd.count(where=m12 & (b._dpd >= 1)),
        bill_max_days_late_12m=b._dpd.max(where=m12),
        bill_unpaid_count=b._dpd.count(where=b._owed & ~b._paid),
        _owed=b._dpd.count(where=m12 & b._owed),
        _on_time=b._dpd.count(where=m12 & b._on_time),
        _rent=b._dpd.count(where=rent),
        _rent_on_time=b._dpd.count(where=rent & b._on_time),
        _utility=b._dpd.count(where=utility),
        _utility_on_time=b._dpd.count(where=utility & b._on_time),
    )
    return drop(
        agg.mutate(
            bill_on_time_share_12m=ratio(agg._on_time, agg._owed),
            rent_on_time_share_12m=ratio(agg._rent_on_time, agg._rent),
            utility_on_time_share_12m=ratio(agg._utility_on_time, agg._utility),
        ),
        "_owed",
        "_on_time",
        "_rent",
        "_rent_on_time",
        "_utility",
        "_utility_on_time",
    )


def _public_records(frame: Frame) -> ir.Table:
    p = frame.events("public_records", "filed_date")
    years = frame.params.public_record_expiry_years
    p = p.filter(p.filed_date + ibis.interval(years=years) > p.as_of)
    open_ = p.satisfied_date.isnull() | (p.satisfied_date >= p.as_of)
    agg = p.group_by(KEYS).aggregate(
        public_records_unsatisfied=p.record_id.count(where=open_),
        _satisfied=p.record_id.count(where=~open_),
        public_record_amount_unsatisfied=money(p.amount).sum(where=open_),
        _last_filed=p.filed_date.max(),
    )
    weight = frame.params.satisfied_record_weight
    return drop(
        agg.mutate(
            public_records=agg.public_records_unsatisfied + weight * agg._satisfied,
            months_since_public_record=months_since(agg, agg._last_filed),
        ),
        "_satisfied",
        "_last_filed",
    )


GROUPS = (
    FeatureGroup("repayments", ("accounts", "repayments"), _repayments),
    FeatureGroup("accounts", ("accounts",), _accounts),
    FeatureGroup("bills", ("bills",), _bills),
    FeatureGroup("public_records", ("public_records",), _public_records),
)


_spec = for_factor("history")


LATE = "Recent late payments on credit accounts"
SPECS = (
    _spec(
        "max_dpd_3m",
        LATE,
        "decreasing",
        True,
        "Most days past due of any instalment due in the last 3 months (0 if none was due); "
        "one still unpaid at as_of counts its days up to as_of.",
        "repayments",
        unit="days",
    ),
    _spec(
        "max_dpd_12m",
        LATE,
        "decreasing",
        True,
        "Most days past due of any instalment due in the last 12 months.",
        "repayments",
        unit="days",
    ),
    _spec(
        "max_dpd_24m",
        "Late payments on credit accounts in the last two years",
        "decreasing",
        True,
        "Most days past due of any instalment due in the last 24 months.",
        "repayments",
        unit="days",
    ),
    _spec(
        "late_30_count_24m",
        "Payments 30 days or more late in the last two years",
        "decreasing",
        True,
        "Instalments due in the last 24 months that were, or still are, 30+ days past due.",
        "repayments",
        unit="count",
    ),
    _spec(
        "late_60_count_24m",
        "Payments 60 days or more late in the last two years",
        "decreasing",
        True,
        "Instalments due in the last 24 months that were, or still are, 60+ days past due.",
        "repayments",
        unit="count",
    ),
    _spec(
        "late_90_count_24m",
        "Payments 90 days or more late in the last two years",
        "decreasing",
        True,
        "Instalments due in the last 24 months that were, or still are, 90+ days past due.",
        "repayments",
        unit="count",
    ),
    _spec(
        "late_count_12m",
        "Number of late payments in the last year",
        "decreasing",
        True,
        "Instalments due in the last 12 months paid after their due date, or still unpaid.",
        "repayments",
        unit="count",
    ),
    _spec(
        "on_time_share_12m",
        "Not enough payments made in full and on time",
        "increasing",
        True,
        "Share of instalments due in the last 12 months paid in full by the due date; "
        "unknown when nothing was due.",
        "repayments",
        default=None,
        unit="share",
    ),
    _spec(
        "months_since_last_late",
        "A late payment not long ago",
        "increasing",
        True,
        "Months since the due date of the most recent instalment paid late; unknown if "
        "never late. The longer ago, the less it weighs.",
        "repayments",
        default=None,
        unit="months",
    ),
    _spec(
        "payment_ratio_12m",
        "Paying less than the amounts due",
        "increasing",
        True,
        "Amount paid by as_of over amount due, for instalments due in the last 12 months; "
        "unknown when nothing was due.",
        "repayments",
        default=None,
        unit="ratio",
    ),
    _spec(
        "unpaid_instalments",
        "Payments that are due and still unpaid",
        "decreasing",
        True,
        "Instalments due before as_of not yet paid at as_of.",
        "repayments",
        unit="count",
    ),
    _spec(
        "current_dpd",
        "An overdue payment is still outstanding",
        "decreasing",
        True,
        "Days past due of the oldest instalment still unpaid at as_of (0 if none).",
        "repayments",
        unit="days",
    ),
    _spec(
        "unpaid_amount",
        "Overdue amounts still unpaid",
        "decreasing",
        True,
        "Amount due before as_of and not paid by as_of, over all instalments.",
        "repayments",
        unit="amount",
    ),
    _spec(
        "accounts_opened",
        "Number of credit accounts on file",
        "none",
        False,
        "Credit accounts opened before as_of, open or closed (the depth of the file).",
        "accounts",
        unit="count",
    ),
    _spec(
        "open_accounts",
        "Number of open credit accounts",
        "none",
        True,
        "Credit accounts open at as_of.",
        "accounts",
        unit="count",
    ),
    _spec(
        "open_revolving_accounts",
        "Number of open credit cards and credit lines",
        "none",
        True,
        "Cards and credit lines open at as_of.",
        "accounts",
        unit="count",
    ),
    _spec(
        "open_instalment_accounts",
        "Number of open loans",
        "none",
        True,
        "Loans and instalment plans open at as_of.",
        "accounts",
        unit="count",
    ),
    _spec(
        "open_mortgage_accounts",
        "Number of open mortgages",
        "none",
        False,
        "Mortgages open at as_of.",
        "accounts",
        unit="count",
    ),
    _spec(
        "oldest_account_months",
        "Short credit history",
        "increasing",
        False,
        "Age in months of the oldest credit account; a longer record shows more about "
        "how a person repays. Unknown without accounts.",
        "accounts",
        default=None,
        unit="months",
    ),
    _spec(
        "avg_account_age_months",
        "Credit accounts are new on average",
        "increasing",
        False,
        "Mean age in months of the credit accounts opened before as_of.",
        "accounts",
        default=None,
        unit="months",
    ),
    _spec(
        "newest_account_months",
        "A credit account opened very recently",
        "increasing",
        True,
        "Months since the most recent account opening; recent credit is untested.",
        "accounts",
        default=None,
        unit="months",
    ),
    _spec(
        "new_accounts_6m",
        "Many credit accounts opened recently",
        "decreasing",
        True,
        "Credit accounts opened in the last 6 months (seeking credit in a short time).",
        "accounts",
        unit="count",
    ),
    _spec(
        "new_accounts_12m",
        "Many credit accounts opened in the last year",
        "decreasing",
        True,
        "Credit accounts opened in the last 12 months.",
        "accounts",
        unit="count",
    ),
    _spec(
        "bill_on_time_share_12m",
        "Bills not paid in full and on time",
        "increasing",
        True,
        "Share of household bills (utilities, phone, rent, internet, insurance, tax) due in "
        "the last 12 months paid in full by the due date; unknown without bills.",
        "bills",
        default=None,
        unit="share",
    ),
    _spec(
        "bill_late_count_12m",
        "Late bill payments in the last year",
        "decreasing",
        True,
        "Bills due in the last 12 months paid after their due date, or still unpaid.",
        "bills",
        unit="count",
    ),
    _spec(
        "bill_max_days_late_12m",
        "Bills paid very late in the last year",
        "decreasing",
        True,
        "Most days past due of a bill due in the last 12 months.",
        "bills",
        unit="days",
    ),
    _spec(
        "bill_unpaid_count",
        "Bills that are due and still unpaid",
        "decreasing",
        True,
        "Bills due before as_of not yet paid at as_of.",
        "bills",
        unit="count",
    ),
    _spec(
        "rent_on_time_share_12m",
        "Rent not paid on time",
        "increasing",
        True,
        "Share of rent due in the last 12 months paid in full by the due date; unknown "
        "for people who pay no rent.",
        "bills",
        default=None,
        unit="share",
    ),
    _spec(
        "utility_on_time_share_12m",
        "Utility or phone bills not paid on time",
        "increasing",
        True,
        "Share of utility, phone and internet bills due in the last 12 months paid in full "
        "by the due date.",
        "bills",
        default=None,
        unit="share",
    ),
    _spec(
        "public_records",
        "Court judgments or other public records of unpaid debt",
        "decreasing",
        False,
        "Public records filed before as_of and not yet expired; a satisfied one counts "
        "satisfied_record_weight (0.5 by default).",
        "public_records",
        unit="count",
    ),
    _spec(
        "public_records_unsatisfied",
        "Court judgments for debt not yet paid",
        "decreasing",
        True,
        "Unexpired public records not satisfied by as_of.",
        "public_records",
        unit="count",
    ),
    _spec(
        "public_record_amount_unsatisfied",
        "Amount owed under court judgments",
        "decreasing",
        True,
        "Amount of unexpired public records not satisfied by as_of.",
        "public_records",
        unit="amount",
    ),
    _spec(
        "months_since_public_record",
        "A recent court judgment or public record",
        "increasing",
        False,
        "Months since the latest unexpired public record was filed; unknown if none.",
        "public_records",
        default=None,
        unit="months",
    ),
)
