"""Point-in-time correctness, as properties: the future never leaks, the past always counts.

The store holds a small simulated population plus the hand-made people of
test_features.py. Each example opens a transaction, adds events (or settles existing
rows) dated on or after as_of in any contract table, rebuilds the features, and rolls
back: the features must not move. Events just before as_of must move the features they
feed, and only those of the person concerned.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openbureau.contract import MERCHANT_CATEGORIES, get_table
from openbureau.features import CATALOG, build_features
from openbureau.ingest import ingest
from openbureau.sim import simulate
from openbureau.store import Store
from test_features import HAND, put

AS_OFS = (dt.date(2024, 6, 15), dt.date(2024, 12, 31), dt.date(2025, 1, 1))
HAND_AS_OF = dt.date(2025, 1, 1)
NETWORK = {s.name for s in CATALOG if s.factor == "network"}
PIT = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@dataclass(repr=False)
class World:
    store: Store
    people: list[str]
    accounts: list[str]
    baseline: dict[tuple[dt.date, str], pa.Table]

    def __repr__(self) -> str:
        return f"World({len(self.people)} people)"

    def spine(self, as_of: dt.date) -> pa.Table:
        ids = [*self.people[:25], "X1", "X2"]
        return pa.table({"person_id": ids, "as_of": pa.array([as_of] * len(ids), pa.date32())})

    def build(self, as_of: dt.date) -> dict[str, pa.Table]:
        return {
            "date": build_features(self.store, as_of),
            "spine": build_features(self.store, self.spine(as_of)),
        }


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("pit")
    simulate(root / "sim", people=60, months=24, seed=11)
    store = Store(root / "store")
    report = ingest([root / "sim"], store)
    assert report.clean
    for table, rows in HAND.items():
        put(store.con, table, rows)
    people = [r[0] for r in store.con.execute("SELECT person_id FROM people ORDER BY 1").fetchall()]
    accounts = [
        r[0] for r in store.con.execute("SELECT account_id FROM accounts ORDER BY 1").fetchall()
    ]
    w = World(store, people, accounts, {})
    for as_of in AS_OFS:
        for mode, table in w.build(as_of).items():
            w.baseline[(as_of, mode)] = table
    yield w
    store.close()


def same(a: pa.Table, b: pa.Table) -> list[str]:
    """Names of the columns that differ (NaN equals NaN)."""
    if a.num_rows != b.num_rows or a.column_names != b.column_names:
        return ["<shape>"]
    diff = []
    for name in a.column_names:
        x, y = a[name].to_numpy(zero_copy_only=False), b[name].to_numpy(zero_copy_only=False)
        equal = np.array_equal(x, y, equal_nan=True) if x.dtype.kind == "f" else (x == y).all()
        if not equal:
            diff.append(name)
    return diff


# --- events on or after as_of --------------------------------------------------------------

_n = iter(range(10**9))


def _enum(data: st.DataObject, table: str, field: str) -> str:
    return data.draw(st.sampled_from(get_table(table).field(field).enum or ("x",)))


def _money(data: st.DataObject, low: float = 0.0) -> float:
    return data.draw(st.floats(low, 1e5, allow_nan=False, allow_infinity=False))


def future_insert(data: st.DataObject, w: World, as_of: dt.date) -> tuple[str, dict[str, Any]]:
    """A new row of any contract table, dated on or after as_of."""
    table = data.draw(st.sampled_from([t for t in HAND] + ["relationships"]), label="table")
    day = as_of + dt.timedelta(days=data.draw(st.integers(0, 700), label="days after"))
    later = day + dt.timedelta(days=data.draw(st.integers(0, 90)))
    maybe_later = data.draw(st.sampled_from([None, later]))
    person = data.draw(st.sampled_from(w.people), label="person")
    n = next(_n)
    rows: dict[str, dict[str, Any]] = {
        "people": {"person_id": f"N{n}", "first_seen": day},
        "accounts": {
            "account_id": f"NA{n}", "person_id": person,
            "kind": _enum(data, "accounts", "kind"), "opened": day, "closed": maybe_later,
            "credit_limit": _money(data), "principal": _money(data), "term_months": 12,
        },
        "repayments": {
            "account_id": data.draw(st.sampled_from(w.accounts)), "due_date": day,
            "amount_due": _money(data), "paid_date": maybe_later, "amount_paid": _money(data),
            "balance": _money(data),
        },
        "bills": {
            "bill_id": f"NB{n}", "person_id": person, "kind": _enum(data, "bills", "kind"),
            "due_date": day, "amount_due": _money(data), "paid_date": maybe_later,
            "amount_paid": _money(data),
        },
        "public_records": {
            "record_id": f"NR{n}", "person_id": person,
            "kind": _enum(data, "public_records", "kind"), "filed_date": day,
            "amount": _money(data), "satisfied_date": maybe_later,
        },
        "transactions": {
            "txn_id": f"NT{n}", "person_id": person,
            # from exactly as_of 00:00:00 on
            "ts": dt.datetime.combine(as_of, dt.time())
            + dt.timedelta(seconds=data.draw(st.integers(0, 700 * 86_400))),
            "amount": _money(data), "direction": _enum(data, "transactions", "direction"),
            "merchant_category": data.draw(st.sampled_from(MERCHANT_CATEGORIES)),
            "channel": _enum(data, "transactions", "channel"),
        },
        "balances": {
            "person_id": person, "as_of": day,
            "account_kind": _enum(data, "balances", "account_kind"),
            "balance": data.draw(st.floats(-1e4, 1e5, allow_nan=False)),
        },
        "incomes": {
            "person_id": person, "as_of": day, "monthly_income": _money(data),
            "source": _enum(data, "incomes", "source"), "verified": data.draw(st.booleans()),
        },
        "identity_verifications": {
            "person_id": person, "kind": _enum(data, "identity_verifications", "kind"),
            "verified_at": day, "status": _enum(data, "identity_verifications", "status"),
        },
        "addresses": {
            "person_id": person, "since": day, "until": maybe_later,
            "housing": _enum(data, "addresses", "housing"),
        },
        "employment": {
            "person_id": person, "since": day, "until": maybe_later,
            "status": _enum(data, "employment", "status"),
        },
        "relationships": {
            "person_a": person, "person_b": data.draw(st.sampled_from(w.people)),
            "kind": _enum(data, "relationships", "kind"), "since": day, "consent_a": True,
            "consent_b": True, "interactions": 3,
        },
        "outcomes": {
            "person_id": person, "event_date": day, "kind": _enum(data, "outcomes", "kind"),
        },
    }  # fmt: skip
    return table, rows[table]


# Rows settled on or after as_of: a payment made, a judgment satisfied, an account closed,
# a home or a job left. At as_of none of it had happened yet.
SETTLE = {
    "pay instalments": "UPDATE repayments SET paid_date = $day, amount_paid = amount_due "
    "WHERE due_date < $as_of AND (paid_date IS NULL OR paid_date >= $as_of)",
    "pay bills": "UPDATE bills SET paid_date = $day, amount_paid = amount_due "
    "WHERE due_date < $as_of AND (paid_date IS NULL OR paid_date >= $as_of)",
    "satisfy judgments": "UPDATE public_records SET satisfied_date = $day "
    "WHERE filed_date < $as_of AND (satisfied_date IS NULL OR satisfied_date >= $as_of)",
    "close accounts": "UPDATE accounts SET closed = $day "
    "WHERE opened < $as_of AND (closed IS NULL OR closed >= $as_of)",
    "move out": "UPDATE addresses SET until = $day "
    "WHERE since < $as_of AND (until IS NULL OR until >= $as_of)",
    "leave jobs": "UPDATE employment SET until = $day "
    "WHERE since < $as_of AND (until IS NULL OR until >= $as_of)",
}


@PIT
@given(data=st.data())
def test_no_event_on_or_after_as_of_changes_any_feature(world: World, data: st.DataObject):
    as_of = data.draw(st.sampled_from(AS_OFS), label="as_of")
    steps = data.draw(st.integers(1, 5), label="events")
    with _transaction(world):
        for _ in range(steps):
            if data.draw(st.booleans(), label="settle?"):
                what = data.draw(st.sampled_from(sorted(SETTLE)), label="settle")
                day = as_of + dt.timedelta(days=data.draw(st.integers(0, 400)))
                world.store.con.execute(SETTLE[what], {"day": day, "as_of": as_of})
            else:
                table, new = future_insert(data, world, as_of)
                put(world.store.con, table, [new])
        for mode, table in world.build(as_of).items():
            moved = same(table, world.baseline[(as_of, mode)])
            assert moved == [], f"{mode} build at {as_of}: {moved} moved"


class _transaction:
    def __init__(self, w: World) -> None:
        self.con = w.store.con

    def __enter__(self) -> None:
        self.con.execute("BEGIN TRANSACTION")

    def __exit__(self, *exc: object) -> None:
        self.con.execute("ROLLBACK")


# --- events just before as_of ----------------------------------------------------------------

Check = Callable[[dict[str, Any], dict[str, Any]], bool]


def past_event(table: str, day: dt.date, n: int) -> tuple[dict[str, Any], Check]:
    """A row for X1 dated ``day`` (before as_of), and what it must do to X1's features."""
    x1 = {"person_id": "X1"}
    events: dict[str, tuple[dict[str, Any], Check]] = {
        "accounts": (
            {**x1, "account_id": f"PA{n}", "kind": "card", "opened": day, "credit_limit": 500.0},
            lambda a, b: b["accounts_opened"] == a["accounts_opened"] + 1,
        ),
        "repayments": (
            {"account_id": "XA1", "due_date": day, "amount_due": 100.0, "amount_paid": 0.0,
             "balance": 900.0},
            lambda a, b: b["unpaid_instalments"] == a["unpaid_instalments"] + 1,
        ),
        "bills": (
            {**x1, "bill_id": f"PB{n}", "kind": "internet", "due_date": day, "amount_due": 40.0},
            lambda a, b: b["bill_unpaid_count"] == a["bill_unpaid_count"] + 1,
        ),
        "public_records": (
            {**x1, "record_id": f"PR{n}", "kind": "court_judgment", "filed_date": day,
             "amount": 800.0},
            lambda a, b: b["public_records_unsatisfied"] == a["public_records_unsatisfied"] + 1,
        ),
        "transactions": (
            {**x1, "txn_id": f"PT{n}", "ts": dt.datetime.combine(day, dt.time(12)),
             "amount": 100.0, "direction": "debit", "merchant_category": "gambling",
             "channel": "online"},
            lambda a, b: b["gambling_share_6m"] > a["gambling_share_6m"],
        ),
        "balances": (
            {**x1, "as_of": day, "account_kind": "current", "balance": -50.0},
            lambda a, b: b["overdraft_months_12m"] == a["overdraft_months_12m"] + 1,
        ),
        "incomes": (
            {**x1, "as_of": max(day, dt.date(2024, 12, 26)), "monthly_income": 7777.0,
             "source": "payroll", "verified": True},
            lambda a, b: b["monthly_income"] == 7777.0,
        ),
        "identity_verifications": (
            {**x1, "kind": "passport", "verified_at": day, "status": "failed"},
            lambda a, b: b["failed_verifications_24m"] == a["failed_verifications_24m"] + 1,
        ),
        "addresses": (
            {**x1, "since": day, "housing": "rent"},
            lambda a, b: b["address_changes_24m"] == a["address_changes_24m"] + 1
            and b["home_owner"] == 0,
        ),
        "employment": (
            {**x1, "since": day, "status": "unemployed"},
            lambda a, b: b["unemployed"] == 1 and b["employment_tenure_months"] == 0,
        ),
    }  # fmt: skip
    return events[table]


PAST_TABLES = [
    "accounts", "repayments", "bills", "public_records", "transactions", "balances",
    "incomes", "identity_verifications", "addresses", "employment",
]  # fmt: skip


@PIT
@given(table=st.sampled_from(PAST_TABLES), days_before=st.integers(1, 150))
def test_an_event_before_as_of_moves_its_feature_for_that_person_only(
    world: World, table: str, days_before: int
) -> None:
    before = world.baseline[(HAND_AS_OF, "date")]
    day = HAND_AS_OF - dt.timedelta(days=days_before)
    new, check = past_event(table, day, next(_n))
    with _transaction(world):
        put(world.store.con, table, [new])
        after = build_features(world.store, HAND_AS_OF)
    assert after["person_id"].to_pylist() == before["person_id"].to_pylist()
    rows_a, rows_b = before.to_pylist(), after.to_pylist()
    x1 = before["person_id"].to_pylist().index("X1")
    assert check(rows_a[x1], rows_b[x1]), f"{table} row on {day} did not move its feature"
    others = [i for i in range(before.num_rows) if i != x1]
    moved = same(before.take(others), after.take(others))
    # A new account (a borrower) or a repayment 90+ days late (a recorded default) may move
    # other people's network features, through their contacts and the population rate;
    # nothing else of anyone else's may move.
    assert set(moved) <= NETWORK, f"other people's {moved} moved"


@PIT
@given(days_before=st.integers(1, 400), kind=st.sampled_from(["outcomes", "relationships"]))
def test_outcomes_and_relationships_feed_only_network_features(
    world: World, days_before: int, kind: str
) -> None:
    """A past outcome is a recorded default: it may move contacts' network features, never
    the person's own row (out of fold); a relationship moves network features only."""
    day = HAND_AS_OF - dt.timedelta(days=days_before)
    row = (
        {"person_id": "X1", "event_date": day, "kind": "charge_off"}
        if kind == "outcomes"
        else {"person_a": "X1", "person_b": "X2", "kind": "friend", "since": day,
              "consent_a": True, "consent_b": True, "interactions": 9}
    )  # fmt: skip
    before = world.baseline[(HAND_AS_OF, "date")]
    with _transaction(world):
        put(world.store.con, kind, [row])
        after = build_features(world.store, HAND_AS_OF)
    assert set(same(before, after)) <= NETWORK
    if kind == "outcomes":
        x1 = before["person_id"].to_pylist().index("X1")
        assert same(before.slice(x1, 1), after.slice(x1, 1)) == []


def test_a_new_person_enters_only_once_first_seen_is_before_as_of(world: World) -> None:
    before = world.baseline[(HAND_AS_OF, "date")]
    for first_seen, enters in ((HAND_AS_OF, False), (HAND_AS_OF - dt.timedelta(days=1), True)):
        with _transaction(world):
            put(world.store.con, "people", [{"person_id": "NEW", "first_seen": first_seen}])
            after = build_features(world.store, HAND_AS_OF)
        assert ("NEW" in after["person_id"].to_pylist()) is enters
        assert after.num_rows == before.num_rows + enters
