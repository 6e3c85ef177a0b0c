"""Identity: how complete and stable the verified facts about a person are.

An address or job is current at as_of if it began before as_of and ended on or after it
(or has not ended); a check's latest outcome before as_of is what counts, so a fact
verified and later revoked is not verified. Age is not a feature.
"""

from __future__ import annotations

import ibis.expr.types as ir

from openbureau.features.frame import (
    DAYS_PER_YEAR,
    Frame,
    days,
    drop,
    months_since,
    per_days,
    within,
)
from openbureau.features.spec import KEYS, FeatureGroup, for_factor

ID_DOCUMENTS = ("national_id", "passport")


def _file(frame: Frame) -> ir.Table:
    s = frame.spine
    return s.select(*KEYS, file_age_months=months_since(s, s.first_seen))


def _verifications(frame: Frame) -> ir.Table:
    v = frame.events("identity_verifications", "verified_at")
    per_kind = v.group_by([*KEYS, "kind"]).aggregate(
        latest=v.status.argmax(v.verified_at),
        failed=v.status.count(where=(v.status == "failed") & within(v, v.verified_at, 24)),
    )
    k = per_kind
    verified = k.latest == "verified"
    return k.group_by(KEYS).aggregate(
        verified_kinds=k.kind.count(where=verified),
        id_document_verified=(verified & k.kind.isin(ID_DOCUMENTS)).max().cast("float64"),
        revoked_verifications=k.kind.count(where=k.latest == "revoked"),
        failed_verifications_24m=k.failed.sum(),
    )


def _addresses(frame: Frame) -> ir.Table:
    a = frame.events("addresses", "since")
    current = a.until.isnull() | (a.until >= a.as_of)
    agg = a.group_by(KEYS).aggregate(
        _since=a.since.max(where=current),
        home_owner=(a.housing == "own")
        .coalesce(False)
        .cast("float64")
        .argmax(a.since, where=current),
        address_changes_24m=a.since.count(where=within(a, a.since, 24)),
    )
    return drop(
        agg.mutate(years_at_address=per_days(days(agg.as_of, agg._since), DAYS_PER_YEAR)),
        "_since",
    )


def _employment(frame: Frame) -> ir.Table:
    e = frame.events("employment", "since")
    current = e.until.isnull() | (e.until >= e.as_of)
    agg = e.group_by(KEYS).aggregate(
        _since=e.since.max(where=current),
        _status=e.status.argmax(e.since, where=current),
        job_changes_24m=e.since.count(where=within(e, e.since, 24)),
    )
    unemployed = agg._status == "unemployed"
    return drop(
        agg.mutate(
            unemployed=unemployed.cast("float64"),
            employment_tenure_months=unemployed.ifelse(0.0, months_since(agg, agg._since)),
        ),
        "_since",
        "_status",
    )


GROUPS = (
    FeatureGroup("file", ("people",), _file),
    FeatureGroup("identity_verifications", ("identity_verifications",), _verifications),
    FeatureGroup("addresses", ("addresses",), _addresses),
    FeatureGroup("employment", ("employment",), _employment),
)


_spec = for_factor("identity")


SPECS = (
    _spec(
        "file_age_months",
        "The bureau has known you for a short time",
        "increasing",
        False,
        "Months since the person's file was opened at the bureau (first_seen).",
        "file",
        default=None,
        unit="months",
    ),
    _spec(
        "verified_kinds",
        "Few of your details are verified",
        "increasing",
        True,
        "Kinds of facts (phone, e-mail, ID, passport, bank account, address) whose latest "
        "check before as_of passed.",
        "identity_verifications",
        unit="count",
    ),
    _spec(
        "id_document_verified",
        "No identity document verified",
        "increasing",
        True,
        "1 if a national ID or passport check passed and was not later revoked.",
        "identity_verifications",
        unit="flag",
    ),
    _spec(
        "revoked_verifications",
        "A verification of your details was withdrawn",
        "decreasing",
        True,
        "Kinds of facts whose latest check was revoked.",
        "identity_verifications",
        unit="count",
    ),
    _spec(
        "failed_verifications_24m",
        "Checks of your details failed",
        "decreasing",
        False,
        "Verification checks that failed in the last 24 months.",
        "identity_verifications",
        unit="count",
    ),
    _spec(
        "years_at_address",
        "Short time at your current address",
        "increasing",
        False,
        "Years since the person moved into their current address; unknown if none on file.",
        "addresses",
        default=None,
        unit="years",
    ),
    _spec(
        "address_changes_24m",
        "Several changes of address recently",
        "decreasing",
        False,
        "Addresses moved into in the last 24 months.",
        "addresses",
        unit="count",
    ),
    _spec(
        "home_owner",
        "You do not own your home",
        "increasing",
        False,
        "1 if the current address is owned by the person, 0 otherwise; unknown without an address.",
        "addresses",
        default=None,
        unit="flag",
    ),
    _spec(
        "employment_tenure_months",
        "Short time in your current job",
        "increasing",
        False,
        "Months in the current work, study or retirement spell (0 when unemployed); "
        "unknown without employment records.",
        "employment",
        default=None,
        unit="months",
    ),
    _spec(
        "unemployed",
        "Currently without work",
        "decreasing",
        False,
        "1 if the current employment spell is unemployment; unknown without records.",
        "employment",
        default=None,
        unit="flag",
    ),
    _spec(
        "job_changes_24m",
        "Several job changes recently",
        "decreasing",
        False,
        "Employment spells begun in the last 24 months.",
        "employment",
        unit="count",
    ),
)
