"""The feature catalog on hand-made data: values worked out by hand, spines, training sets.

Person X1 has a full file (two accounts, late and unpaid instalments, bills, incomes,
balances, transactions, verifications, addresses, jobs); X2 a thin file with public
records around the expiry boundary; X3 arrives exactly on as_of. Every expected number
below is computed from the rows in ``HAND``, in the comment next to it.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import duckdb
import ibis
import numpy as np
import pyarrow as pa
import pytest

from openbureau.contract import get_table
from openbureau.features import (
    CATALOG,
    FeatureParams,
    build,
    build_features,
    feature_names,
    training_set,
)
from openbureau.store import Store

AS_OF = dt.date(2025, 1, 1)
M = 30.4375  # days per month

HAND: dict[str, list[dict[str, Any]]] = {
    "people": [
        {"person_id": "X1", "birth_year": 1980, "country": "DE", "first_seen": "2020-01-01"},
        {"person_id": "X2", "birth_year": 1999, "country": "DE", "first_seen": "2024-06-01"},
        {"person_id": "X3", "birth_year": 2000, "country": "FR", "first_seen": "2025-01-01"},
    ],
    "accounts": [
        {"account_id": "XA1", "person_id": "X1", "kind": "card", "opened": "2023-01-10",
         "credit_limit": 1000.0},
        {"account_id": "XA2", "person_id": "X1", "kind": "loan", "opened": "2024-09-15",
         "principal": 5000.0, "term_months": 24},
        {"account_id": "XA3", "person_id": "X3", "kind": "card", "opened": "2025-01-01",
         "credit_limit": 500.0},
    ],
    "repayments": [
        # card: on time, on time, 10 days late, 45 days late, paid after as_of (27 dpd then)
        {"account_id": "XA1", "due_date": "2024-08-05", "amount_due": 50.0,
         "paid_date": "2024-08-03", "amount_paid": 50.0, "balance": 400.0},
        {"account_id": "XA1", "due_date": "2024-09-05", "amount_due": 50.0,
         "paid_date": "2024-09-05", "amount_paid": 50.0, "balance": 500.0},
        {"account_id": "XA1", "due_date": "2024-10-05", "amount_due": 50.0,
         "paid_date": "2024-10-15", "amount_paid": 50.0, "balance": 600.0},
        {"account_id": "XA1", "due_date": "2024-11-05", "amount_due": 50.0,
         "paid_date": "2024-12-20", "amount_paid": 50.0, "balance": 700.0},
        {"account_id": "XA1", "due_date": "2024-12-05", "amount_due": 50.0,
         "paid_date": "2025-01-10", "amount_paid": 50.0, "balance": 800.0},
        {"account_id": "XA1", "due_date": "2025-01-05", "amount_due": 50.0,
         "paid_date": None, "amount_paid": 0.0, "balance": 990.0},
        # loan: on time, partial on the due date, unpaid (17 dpd at as_of)
        {"account_id": "XA2", "due_date": "2024-10-15", "amount_due": 230.0,
         "paid_date": "2024-10-14", "amount_paid": 230.0, "balance": 4800.0},
        {"account_id": "XA2", "due_date": "2024-11-15", "amount_due": 230.0,
         "paid_date": "2024-11-15", "amount_paid": 100.0, "balance": 4600.0},
        {"account_id": "XA2", "due_date": "2024-12-15", "amount_due": 230.0,
         "paid_date": None, "amount_paid": 0.0, "balance": 4600.0},
    ],
    "bills": [
        {"bill_id": "XB1", "person_id": "X1", "kind": "rent", "due_date": "2024-12-01",
         "amount_due": 700.0, "paid_date": "2024-12-05", "amount_paid": 700.0},
        {"bill_id": "XB2", "person_id": "X1", "kind": "phone", "due_date": "2024-12-10",
         "amount_due": 30.0, "paid_date": "2024-12-09", "amount_paid": 30.0},
        {"bill_id": "XB3", "person_id": "X1", "kind": "utility", "due_date": "2024-12-20",
         "amount_due": 80.0, "paid_date": None, "amount_paid": 0.0},
        {"bill_id": "XB4", "person_id": "X1", "kind": "phone", "due_date": "2025-01-10",
         "amount_due": 30.0, "paid_date": None, "amount_paid": 0.0},
    ],
    "public_records": [
        # Filed 2018-01-01: 7 years later is as_of itself, so it has just expired.
        {"record_id": "XR1", "person_id": "X2", "kind": "court_judgment",
         "filed_date": "2018-01-01", "amount": 1000.0},
        {"record_id": "XR2", "person_id": "X2", "kind": "court_judgment",
         "filed_date": "2018-01-02", "amount": 2000.0},
        {"record_id": "XR3", "person_id": "X2", "kind": "tax_lien", "filed_date": "2020-05-01",
         "amount": 300.0, "satisfied_date": "2021-01-01"},
        {"record_id": "XR4", "person_id": "X2", "kind": "court_judgment",
         "filed_date": "2022-01-01", "amount": 700.0, "satisfied_date": "2025-02-01"},
        {"record_id": "XR5", "person_id": "X2", "kind": "court_judgment",
         "filed_date": "2025-01-01", "amount": 9000.0},
    ],
    "transactions": [
        {"txn_id": "XT1", "person_id": "X1", "ts": "2024-12-31 23:59:59", "amount": 100.0,
         "direction": "debit", "merchant_category": "groceries", "channel": "card_present"},
        {"txn_id": "XT2", "person_id": "X1", "ts": "2025-01-01 00:00:00", "amount": 500.0,
         "direction": "debit", "merchant_category": "gambling", "channel": "online"},
        {"txn_id": "XT3", "person_id": "X1", "ts": "2024-12-10 12:00:00", "amount": 50.0,
         "direction": "debit", "merchant_category": "gambling", "channel": "online"},
        {"txn_id": "XT4", "person_id": "X1", "ts": "2024-11-20 09:00:00", "amount": 150.0,
         "direction": "debit", "merchant_category": "cash_withdrawal", "channel": "atm"},
        {"txn_id": "XT5", "person_id": "X1", "ts": "2024-11-05 06:00:00", "amount": 3000.0,
         "direction": "credit", "merchant_category": "transfer", "channel": "transfer"},
        {"txn_id": "XT6", "person_id": "X1", "ts": "2024-10-15 15:00:00", "amount": 20.0,
         "direction": "credit", "merchant_category": "clothing", "channel": "online"},
        {"txn_id": "XT7", "person_id": "X1", "ts": "2024-10-10 20:00:00", "amount": 200.0,
         "direction": "debit", "merchant_category": "dining", "channel": "card_present"},
    ],
    "balances": [
        {"person_id": "X1", "as_of": "2024-11-30", "account_kind": "current", "balance": 1000.0},
        {"person_id": "X1", "as_of": "2024-12-31", "account_kind": "current", "balance": -200.0},
        {"person_id": "X1", "as_of": "2024-12-31", "account_kind": "savings", "balance": 5000.0},
        {"person_id": "X1", "as_of": "2025-01-31", "account_kind": "savings", "balance": 9e4},
    ],
    "incomes": [
        {"person_id": "X1", "as_of": "2024-06-25", "monthly_income": 3000.0,
         "source": "payroll", "verified": True},
        {"person_id": "X1", "as_of": "2024-11-25", "monthly_income": 4000.0,
         "source": "self_declared", "verified": False},
        {"person_id": "X1", "as_of": "2024-12-25", "monthly_income": 2800.0,
         "source": "bank_statement", "verified": True},
        {"person_id": "X1", "as_of": "2025-01-25", "monthly_income": 9999.0,
         "source": "payroll", "verified": True},
    ],
    "identity_verifications": [
        {"person_id": "X1", "kind": "phone", "verified_at": "2020-02-01", "status": "verified"},
        {"person_id": "X1", "kind": "email", "verified_at": "2024-03-01", "status": "failed"},
        {"person_id": "X1", "kind": "email", "verified_at": "2024-03-05", "status": "verified"},
        {"person_id": "X1", "kind": "national_id", "verified_at": "2021-01-01",
         "status": "verified"},
        {"person_id": "X1", "kind": "national_id", "verified_at": "2024-06-01",
         "status": "revoked"},
        {"person_id": "X1", "kind": "passport", "verified_at": "2025-01-01", "status": "verified"},
    ],
    "addresses": [
        {"person_id": "X1", "since": "2019-05-01", "until": "2023-02-28", "housing": "rent"},
        {"person_id": "X1", "since": "2023-03-01", "until": "2025-01-01", "housing": "own"},
        {"person_id": "X1", "since": "2025-01-01", "until": None, "housing": "rent"},
    ],
    "employment": [
        {"person_id": "X1", "since": "2018-01-01", "until": "2022-12-31", "status": "employed"},
        {"person_id": "X1", "since": "2023-01-15", "until": None, "status": "employed"},
        {"person_id": "X2", "since": "2024-09-01", "until": None, "status": "unemployed"},
    ],
    "outcomes": [
        {"person_id": "X1", "event_date": "2025-03-01", "kind": "default_90dpd"},
        {"person_id": "X2", "event_date": "2024-12-01", "kind": "default_90dpd"},
    ],
}  # fmt: skip


def _typed(table: str, rows: list[dict[str, Any]]) -> pa.Table:
    schema = get_table(table).schema
    out = []
    for row in rows:
        r = dict(row)
        for f in schema:
            v = r.get(f.name)
            if isinstance(v, str) and pa.types.is_date32(f.type):
                r[f.name] = dt.date.fromisoformat(v)
            elif isinstance(v, str) and pa.types.is_timestamp(f.type):
                r[f.name] = dt.datetime.fromisoformat(v)
        out.append(r)
    return pa.Table.from_pylist(out, schema=schema)


def put(con: duckdb.DuckDBPyConnection, table: str, rows: list[dict[str, Any]]) -> None:
    """Insert contract rows straight into a store table (lineage columns set to 0)."""
    con.register("_put_rows", _typed(table, rows))
    try:
        con.execute(
            f'INSERT INTO "{table}" BY NAME '
            "SELECT *, 0 AS _batch_id, 0 AS _file_id, 0 AS _row FROM _put_rows"
        ).fetchall()
    finally:
        con.unregister("_put_rows")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    s = Store(tmp_path_factory.mktemp("features") / "store")
    for table, rows in HAND.items():
        put(s.con, table, rows)
    yield s
    s.close()


@pytest.fixture(scope="module")
def features(store: Store) -> pa.Table:
    return build_features(store, AS_OF)


def row(table: pa.Table, person: str, as_of: dt.date = AS_OF) -> dict[str, Any]:
    rows = [r for r in table.to_pylist() if r["person_id"] == person and r["as_of"] == as_of]
    assert len(rows) == 1, (person, as_of, len(rows))
    return rows[0]


def test_output_has_keys_segment_and_every_feature_as_float64(features: pa.Table) -> None:
    assert features.column_names == ["person_id", "as_of", "segment", *feature_names()]
    assert features.schema.field("person_id").type == pa.string()
    assert features.schema.field("as_of").type == pa.date32()
    assert features.schema.field("segment").type == pa.string()
    assert all(features.schema.field(s.name).type == pa.float64() for s in CATALOG)
    assert all(features[s.name].null_count == 0 for s in CATALOG)  # unknown is NaN
    # X3 arrived on as_of itself: not known before it.
    assert features["person_id"].to_pylist() == ["X1", "X2"]


def test_repayment_history_by_hand(features: pa.Table) -> None:
    x = row(features, "X1")
    # dpd: card 0, 0, 10, 45, 27 (paid after as_of: Dec 5 -> Jan 1); loan 0, 0, 17 (unpaid).
    assert x["max_dpd_3m"] == 45
    assert x["max_dpd_12m"] == 45
    assert x["late_30_count_24m"] == 1
    assert x["late_60_count_24m"] == 0
    assert x["late_count_12m"] == 4
    assert x["unpaid_instalments"] == 2
    assert x["current_dpd"] == 27
    # Owed but not covered at as_of: card Dec 50, loan Nov 230-100, loan Dec 230.
    assert x["unpaid_amount"] == pytest.approx(410.0)
    # In full and on time: card Aug, Sep; loan Oct (the Nov payment was partial).
    assert x["on_time_share_12m"] == pytest.approx(3 / 8)
    assert x["payment_ratio_12m"] == pytest.approx((4 * 50 + 230 + 100) / (5 * 50 + 3 * 230))
    assert x["months_since_last_late"] == pytest.approx(17 / M)  # last late due 2024-12-15


def test_accounts_and_utilisation_by_hand(features: pa.Table) -> None:
    x = row(features, "X1")
    assert x["accounts_opened"] == 2
    assert (x["open_accounts"], x["open_revolving_accounts"], x["open_instalment_accounts"]) == (
        2, 1, 1,
    )  # fmt: skip
    assert x["oldest_account_months"] == pytest.approx(722 / M)  # 2023-01-10 -> 2025-01-01
    assert x["newest_account_months"] == pytest.approx(108 / M)  # 2024-09-15 -> 2025-01-01
    assert x["new_accounts_6m"] == 1
    assert x["utilisation_latest"] == pytest.approx(0.8)  # Dec statement 800 / 1000
    assert x["utilisation_avg_12m"] == pytest.approx(0.6)  # 400..800 over 1000
    assert x["utilisation_max_12m"] == pytest.approx(0.8)


def test_bills_by_hand(features: pa.Table) -> None:
    x = row(features, "X1")
    # rent 4 days late, phone on time, utility unpaid (12 days at as_of); Jan phone unseen.
    assert x["bill_on_time_share_12m"] == pytest.approx(1 / 3)
    assert x["bill_late_count_12m"] == 2
    assert x["bill_max_days_late_12m"] == 12
    assert x["bill_unpaid_count"] == 1
    assert x["rent_on_time_share_12m"] == 0
    assert x["utility_on_time_share_12m"] == pytest.approx(1 / 2)


def test_capacity_by_hand(features: pa.Table) -> None:
    x = row(features, "X1")
    assert x["monthly_income"] == 2800  # latest verified before as_of, not the 9999 after
    assert x["income_verified"] == 1
    assert x["debt_to_income"] == pytest.approx((50 + 230) / 2800)  # December dues
    assert x["deposits_balance"] == pytest.approx(-200 + 5000)
    assert x["overdraft_months_12m"] == 1
    assert x["savings_to_income"] == pytest.approx(5000 / 2800)
    assert x["balance_volatility_6m"] == pytest.approx(np.std([1000, -200], ddof=1) / 2800)
    assert x["buffer_months"] == pytest.approx(4800 / (500 / 6))
    assert x["months_with_incoming_transfers_6m"] == 1


def test_spending_by_hand(features: pa.Table) -> None:
    x = row(features, "X1")
    # 30-day buckets back from as_of: 100 + 50 | 150 | 200 | 0 | 0 | 0 (the as_of 00:00
    # gambling debit is not seen).
    monthly = np.array([150.0, 150.0, 200.0, 0.0, 0.0, 0.0])
    assert x["monthly_spend_6m"] == pytest.approx(monthly.mean())
    assert x["spend_cv_6m"] == pytest.approx(monthly.std() / monthly.mean())
    assert x["gambling_share_6m"] == pytest.approx(50 / 500)
    assert x["cash_withdrawal_share_6m"] == pytest.approx(150 / 500)
    assert x["essentials_share_6m"] == pytest.approx(100 / 500)
    assert x["discretionary_share_6m"] == pytest.approx(200 / 500)
    assert x["refund_share_6m"] == pytest.approx(20 / 500)
    assert x["cash_withdrawals_per_month_6m"] == pytest.approx(1 / 6)
    assert x["debits_per_month_6m"] == pytest.approx(4 / 6)


def test_identity_by_hand(features: pa.Table) -> None:
    x = row(features, "X1")
    # latest checks: phone verified, email verified (after a failure), national ID revoked;
    # the passport check on as_of is not seen yet.
    assert x["verified_kinds"] == 2
    assert x["id_document_verified"] == 0
    assert x["revoked_verifications"] == 1
    assert x["failed_verifications_24m"] == 1
    # The owned home ends on as_of, so it is still current; the next one starts on as_of.
    assert x["years_at_address"] == pytest.approx(672 / 365.25)  # since 2023-03-01
    assert x["home_owner"] == 1
    assert x["address_changes_24m"] == 1
    assert x["employment_tenure_months"] == pytest.approx(717 / M)  # since 2023-01-15
    assert x["unemployed"] == 0
    assert x["job_changes_24m"] == 1
    assert x["file_age_months"] == pytest.approx(1827 / M)
    assert x["segment"] == "established"


def test_public_records_expire_and_satisfied_ones_count_less(features: pa.Table) -> None:
    x = row(features, "X2")
    # XR1 expired on as_of; XR2 open; XR3 satisfied (half); XR4 satisfied only after as_of.
    assert x["public_records"] == pytest.approx(1 + 0.5 + 1)
    assert x["public_records_unsatisfied"] == 2
    assert x["public_record_amount_unsatisfied"] == pytest.approx(2000 + 700)
    assert x["months_since_public_record"] == pytest.approx(1096 / M)  # 2022-01-01


def test_public_record_expiry_and_weight_are_parameters(store: Store) -> None:
    longer = row(build_features(store, AS_OF, params=FeatureParams(10, 0.0)), "X2")
    assert longer["public_records"] == pytest.approx(1 + 0 + 1 + 1)  # XR1 back, XR3 free
    assert longer["public_records_unsatisfied"] == 3
    assert longer["public_record_amount_unsatisfied"] == pytest.approx(3700)
    later = row(build_features(store, dt.date(2025, 1, 3)), "X2", dt.date(2025, 1, 3))
    # XR2 expired on 2025-01-02; XR4 still open; XR5, filed on as_of, is now seen.
    assert later["public_records_unsatisfied"] == 2
    assert later["public_record_amount_unsatisfied"] == pytest.approx(700 + 9000)


def test_thin_file_has_zero_counts_and_unknowns(features: pa.Table) -> None:
    x = row(features, "X2")
    assert x["segment"] == "thin"  # no accounts, file 7 months old
    assert x["accounts_opened"] == 0 and x["max_dpd_12m"] == 0 and x["late_count_12m"] == 0
    for unknown in ("on_time_share_12m", "monthly_income", "utilisation_latest", "spend_cv_6m"):
        assert math.isnan(x[unknown]), unknown
    assert x["income_verified"] == 0
    assert x["unemployed"] == 1 and x["employment_tenure_months"] == 0


def test_segment_rule_follows_the_params(store: Store) -> None:
    strict = build_features(store, AS_OF, params=FeatureParams(thin_min_accounts=3))
    assert row(strict, "X1")["segment"] == "thin"
    young = build_features(store, AS_OF, params=FeatureParams(thin_min_file_months=0))
    assert row(young, "X1")["segment"] == "established"
    assert row(young, "X2")["segment"] == "thin"  # still no accounts


def test_a_spine_builds_many_dates_at_once_like_one_date_each(store: Store) -> None:
    early = dt.date(2024, 11, 1)
    spine = pa.table(
        {
            "person_id": ["X1", "X1", "X2", "NOBODY", "X1"],
            "as_of": pa.array([AS_OF, early, AS_OF, AS_OF, AS_OF], pa.date32()),
        }
    )
    many = build_features(store, spine)
    assert many.num_rows == 4  # duplicates collapse
    assert many["as_of"].to_pylist() == [early, AS_OF, AS_OF, AS_OF]
    for person, day in (("X1", AS_OF), ("X1", early), ("X2", AS_OF)):
        alone = row(build_features(store, day), person, day)
        together = row(many, person, day)
        assert alone.keys() == together.keys()
        for k, v in alone.items():
            assert v == together[k] or (v != v and together[k] != together[k]), k
    x_early = row(many, "X1", early)
    assert x_early["max_dpd_3m"] == 10  # only the Oct instalment (10 days late) counts yet
    nobody = row(many, "NOBODY")
    assert nobody["segment"] == "thin" and math.isnan(nobody["file_age_months"])


def test_every_kind_of_source_gives_the_same_matrix(
    store: Store, features: pa.Table, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = ibis.duckdb.from_connection(store.con)
    for source in (store.con, backend):
        assert _same(build_features(source, AS_OF), features)
    labelled = training_set(store, [AS_OF, dt.date(2024, 7, 1)])
    # The portable path: the Ibis expression executed by the backend, as on Spark.
    monkeypatch.setattr(build, "_duckdb_connection", lambda source: None)
    assert _same(build_features(backend, AS_OF), features)
    assert _same(training_set(backend, [AS_OF, dt.date(2024, 7, 1)]), labelled)
    with pytest.raises(TypeError):
        build_features(object(), AS_OF)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        build_features(store, dt.datetime(2025, 1, 1))


def test_building_leaves_the_store_connection_settings_alone(store: Store) -> None:
    def settings() -> list[tuple[Any, ...]]:
        return store.con.execute(
            "SELECT current_setting('TimeZone'), current_setting('python_enable_replacements')"
        ).fetchall()

    before = settings()
    build_features(store, AS_OF)
    assert settings() == before


def _same(a: pa.Table, b: pa.Table) -> bool:
    if a.schema != b.schema or a.num_rows != b.num_rows:
        return False
    for name in a.column_names:
        x, y = a[name].to_numpy(zero_copy_only=False), b[name].to_numpy(zero_copy_only=False)
        if x.dtype.kind == "f":
            if not np.array_equal(x, y, equal_nan=True):
                return False
        elif not (x == y).all():
            return False
    return True


def test_training_set_labels_the_window_after_as_of(store: Store, features: pa.Table) -> None:
    ts = training_set(store, [AS_OF])
    # X2 defaulted before as_of: not eligible. X1 defaults 2025-03-01, inside 12 months.
    assert ts["person_id"].to_pylist() == ["X1"]
    assert ts.schema.field("label").type == pa.int8()
    assert ts["label"].to_pylist() == [1]
    assert ts.column_names == [*features.column_names, "label"]
    assert _same(
        ts.drop_columns(["label"]), features.filter(pa.compute.equal(features["person_id"], "X1"))
    )
    short = training_set(store, AS_OF, horizon_months=2)  # window ends on 2025-03-01, open
    assert short["label"].to_pylist() == [0]


def test_training_set_over_several_dates(store: Store) -> None:
    ts = training_set(store, [AS_OF, dt.date(2024, 7, 1)])
    got = list(
        zip(
            ts["as_of"].to_pylist(),
            ts["person_id"].to_pylist(),
            ts["label"].to_pylist(),
            strict=True,
        )
    )
    assert got == [
        (dt.date(2024, 7, 1), "X1", 1),
        (dt.date(2024, 7, 1), "X2", 1),  # known since June, defaults in December
        (AS_OF, "X1", 1),
    ]
    with pytest.raises(ValueError):
        training_set(store, [])
    with pytest.raises(ValueError):
        training_set(store, AS_OF, horizon_months=0)
