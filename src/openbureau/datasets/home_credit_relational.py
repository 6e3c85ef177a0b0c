"""Home Credit's relational sample mapped into openbureau's contract tables.

    python -m openbureau.datasets.home_credit_relational SRC OUT [--format csv|parquet]

SRC holds the seven CSV files of ``relational_sample_1000_applicants`` (application,
bureau, bureau_balance, previous_application, installments_payments, credit_card_balance,
pos_cash_balance); OUT receives one file per contract table, which ``openbureau ingest OUT``
accepts, plus ``_labels.csv`` (person_id, default) that ingest skips.

Home Credit counts days backwards from the application; every date here is
``APPLICATION_DATE + days``. The mapping, table by table:

* people: one per applicant (``HC<SK_ID_CURR>``); birth year from DAYS_BIRTH; first seen
  at the earliest credit on file or the application. Sex and family status are not mapped.
* accounts: bureau credits (``B<SK_ID_BUREAU>``, closed only when CREDIT_ACTIVE says so:
  the upstream imputation filled end dates of active credits too), approved previous
  applications (``P<SK_ID_PREV>``) and the credit applied for (``C<SK_ID_CURR>``).
* repayments: instalments (partial payments summed per account and due date), credit-card
  months (minimum due, payment, balance; paid SK_DPD days late), and bureau_balance
  months with a days-past-due status (amount unknown, so 0; paid late by the status band's
  midpoint, unpaid at status 5). Closed (C) and unknown (X) months carry no payment.
* incomes (declared, unverified), employment (spell from DAYS_EMPLOYED; 365243 means none),
  addresses (since the last registration change; housing type), identity_verifications
  (phone, e-mail, national id as flagged).
* outcomes: DEFAULTED = 1 becomes a default_90dpd on the credit applied for, 180 days after
  the application. POS_CASH_balance adds nothing the instalments lack and is not mapped.

Rows of the side tables whose applicant is not in the sample are kept, so the ingest
report shows them quarantined as ``unknown_reference`` rather than silently dropped.
Build training sets as of ``TRAIN_AS_OF`` (the day after the applications): applicants
with no earlier credit are first seen on the application day itself, and a person enters
a training set only if the bureau knew them before its date.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

APPLICATION_DATE = date(2018, 6, 1)
TRAIN_AS_OF = date(2018, 6, 2)
NOT_A_DAY = 365243  # Home Credit's code for "no such date"
DEFAULT_AFTER_DAYS = 180
FILES = (
    "application",
    "bureau",
    "bureau_balance",
    "previous_application",
    "installments_payments",
    "credit_card_balance",
)
BUREAU_KIND = {
    "Credit card": "card",
    "Mortgage": "mortgage",
    "Real estate loan": "mortgage",
}  # everything else is a loan
PREVIOUS_KIND = {"Cash loans": "loan", "Consumer loans": "instalment", "Revolving loans": "card"}
CURRENT_KIND = {"Cash loans": "loan", "Revolving loans": "card"}
EMPLOYMENT = {
    "Working": "employed",
    "Commercial associate": "employed",
    "State servant": "employed",
    "Maternity leave": "employed",
    "Businessman": "self_employed",
    "Student": "student",
    "Pensioner": "retired",
    "Unemployed": "unemployed",
}
HOUSING = {
    "House / apartment": "own",
    "Co-op apartment": "own",
    "Rented apartment": "rent",
    "Municipal apartment": "rent",
    "With parents": "family",
    "Office apartment": "other",
}
STATUS_DAYS_LATE = {"0": 0, "1": 15, "2": 45, "3": 75, "4": 105}  # "5": written off, unpaid


def _day(days: pd.Series) -> pd.Series:
    """ISO dates of day offsets from the application; NaN and the 365243 code stay empty."""
    d = pd.to_numeric(days, errors="coerce")
    d = d.where(d.abs() < NOT_A_DAY - 1)
    out = pd.Timestamp(APPLICATION_DATE) + pd.to_timedelta(d, unit="D")
    return out.dt.strftime("%Y-%m-%d").astype(object).where(d.notna(), None)


def _month(months: pd.Series) -> pd.Series:
    """ISO date of month offsets (MONTHS_BALANCE) from the application date."""
    base = pd.Timestamp(APPLICATION_DATE)
    return pd.Series(
        [(base + pd.DateOffset(months=int(m))).strftime("%Y-%m-%d") for m in months],
        index=months.index,
        dtype=object,
    )


def _read(src: Path, name: str) -> pd.DataFrame:
    path = src / f"{name}.csv"
    if not path.is_file():
        raise FileNotFoundError(f"{src}: {name}.csv is missing")
    return pd.read_csv(path, encoding="utf-8-sig", low_memory=False)


def _pid(ids: pd.Series) -> pd.Series:
    return "HC" + ids.astype(np.int64).astype(str)


def _people(app: pd.DataFrame, bureau: pd.DataFrame, prev: pd.DataFrame) -> pd.DataFrame:
    earliest = pd.concat(
        [
            bureau.groupby("SK_ID_CURR")["DAYS_CREDIT"].min(),
            prev[prev["NAME_CONTRACT_STATUS"] == "Approved"]
            .groupby("SK_ID_CURR")["DAYS_DECISION"]
            .min(),
        ],
        axis=1,
    ).min(axis=1)
    first = earliest.reindex(app["SK_ID_CURR"]).fillna(0).clip(upper=0).to_numpy()
    born = pd.Timestamp(APPLICATION_DATE) + pd.to_timedelta(app["DAYS_BIRTH"], unit="D")
    return pd.DataFrame(
        {
            "person_id": _pid(app["SK_ID_CURR"]),
            "birth_year": born.dt.year.astype("Int64"),
            "first_seen": _day(pd.Series(first, index=app.index)),
        }
    )


def _accounts(app: pd.DataFrame, bureau: pd.DataFrame, prev: pd.DataFrame) -> pd.DataFrame:
    b_kind = bureau["CREDIT_TYPE"].map(BUREAU_KIND).fillna("loan")
    b_revolving = b_kind == "card"
    b_term = ((bureau["DAYS_CREDIT_ENDDATE"] - bureau["DAYS_CREDIT"]) / 30.44).round()
    b = pd.DataFrame(
        {
            "account_id": "B" + bureau["SK_ID_BUREAU"].astype(str),
            "person_id": _pid(bureau["SK_ID_CURR"]),
            "kind": b_kind,
            "lender": "other lender (credit bureau)",
            "opened": _day(bureau["DAYS_CREDIT"]),
            "closed": _day(bureau["DAYS_ENDDATE_FACT"].where(bureau["CREDIT_ACTIVE"] != "Active")),
            "credit_limit": bureau["AMT_CREDIT_SUM"].where(b_revolving),
            "principal": bureau["AMT_CREDIT_SUM"].where(~b_revolving),
            "term_months": b_term.where(~b_revolving & (b_term >= 1) & (b_term <= 600)),
        }
    )
    ok = prev[prev["NAME_CONTRACT_STATUS"] == "Approved"]
    p_kind = ok["NAME_CONTRACT_TYPE"].map(PREVIOUS_KIND).fillna("loan")
    p_revolving = p_kind == "card"
    p_term = ok["CNT_PAYMENT"].where(~p_revolving & (ok["CNT_PAYMENT"] >= 1))
    p = pd.DataFrame(
        {
            "account_id": "P" + ok["SK_ID_PREV"].astype(str),
            "person_id": _pid(ok["SK_ID_CURR"]),
            "kind": p_kind,
            "lender": "home-credit",
            "opened": _day(ok["DAYS_DECISION"]),
            "closed": _day(ok["DAYS_TERMINATION"].where(ok["DAYS_TERMINATION"] <= 0)),
            "credit_limit": ok["AMT_CREDIT"].where(p_revolving),
            "principal": ok["AMT_CREDIT"].where(~p_revolving),
            "term_months": p_term,
        }
    )
    c_kind = app["NAME_CONTRACT_TYPE"].map(CURRENT_KIND).fillna("loan")
    c_term = (app["AMT_CREDIT"] / app["AMT_ANNUITY"] * 12).round()
    c = pd.DataFrame(
        {
            "account_id": "C" + app["SK_ID_CURR"].astype(str),
            "person_id": _pid(app["SK_ID_CURR"]),
            "kind": c_kind,
            "lender": "home-credit",
            "opened": APPLICATION_DATE.isoformat(),
            "closed": None,
            "credit_limit": app["AMT_CREDIT"].where(c_kind == "card"),
            "principal": app["AMT_CREDIT"].where(c_kind != "card"),
            "term_months": c_term.where((c_kind != "card") & (c_term >= 1) & (c_term <= 600)),
        }
    )
    out = pd.concat([b, p, c], ignore_index=True)
    out["term_months"] = out["term_months"].astype("Int64")
    return out


def _instalments(inst: pd.DataFrame) -> pd.DataFrame:
    keys = ["SK_ID_PREV", "NUM_INSTALMENT_VERSION", "NUM_INSTALMENT_NUMBER", "DAYS_INSTALMENT"]
    one = inst.groupby(keys, as_index=False).agg(
        due=("AMT_INSTALMENT", "max"),
        paid=("AMT_PAYMENT", "sum"),
        paid_day=("DAYS_ENTRY_PAYMENT", "max"),
    )
    per_day = one.groupby(["SK_ID_PREV", "DAYS_INSTALMENT"], as_index=False).agg(
        due=("due", "sum"), paid=("paid", "sum"), paid_day=("paid_day", "max")
    )
    paid = per_day["paid"].fillna(0).clip(lower=0)
    return pd.DataFrame(
        {
            "account_id": "P" + per_day["SK_ID_PREV"].astype(str),
            "due_date": _day(per_day["DAYS_INSTALMENT"]),
            "amount_due": per_day["due"].clip(lower=0),
            "paid_date": _day(per_day["paid_day"].where(paid > 0)),
            "amount_paid": paid,
            "balance": np.nan,
        }
    )


def _card_months(cc: pd.DataFrame) -> pd.DataFrame:
    cc = cc.drop_duplicates(["SK_ID_PREV", "MONTHS_BALANCE"])
    due = _month(cc["MONTHS_BALANCE"])
    paid = cc["AMT_PAYMENT_CURRENT"].fillna(0).clip(lower=0)
    late = pd.to_timedelta(cc["SK_DPD"].fillna(0).clip(lower=0), unit="D")
    paid_on = (pd.to_datetime(due) + late).dt.strftime("%Y-%m-%d").astype(object)
    return pd.DataFrame(
        {
            "account_id": "P" + cc["SK_ID_PREV"].astype(str),
            "due_date": due,
            "amount_due": cc["AMT_INST_MIN_REGULARITY"].fillna(0).clip(lower=0),
            "paid_date": paid_on.where(paid > 0, None),
            "amount_paid": paid,
            "balance": cc["AMT_BALANCE"].clip(lower=0),
        }
    )


def _bureau_months(bb: pd.DataFrame) -> pd.DataFrame:
    bb = bb[bb["STATUS"].astype(str).isin([*STATUS_DAYS_LATE, "5"])].copy()
    status = bb["STATUS"].astype(str)
    due = _month(bb["MONTHS_BALANCE"])
    late = status.map(STATUS_DAYS_LATE)
    paid_on = (pd.to_datetime(due) + pd.to_timedelta(late, unit="D")).dt.strftime("%Y-%m-%d")
    return pd.DataFrame(
        {
            "account_id": "B" + bb["SK_ID_BUREAU"].astype(str),
            "due_date": due,
            "amount_due": 0.0,
            "paid_date": paid_on.astype(object).where(late.notna(), None),
            "amount_paid": 0.0,
            "balance": np.nan,
        }
    )


def _person_tables(app: pd.DataFrame) -> dict[str, pd.DataFrame]:
    pid = _pid(app["SK_ID_CURR"])
    incomes = pd.DataFrame(
        {
            "person_id": pid,
            "as_of": APPLICATION_DATE.isoformat(),
            "monthly_income": app["AMT_INCOME_TOTAL"] / 12.0,
            "source": "self_declared",
            "verified": False,
        }
    )
    has_job = app["DAYS_EMPLOYED"] <= 0
    sector = app["ORGANIZATION_TYPE"].where(app["ORGANIZATION_TYPE"] != "XNA")
    employment = pd.DataFrame(
        {
            "person_id": pid,
            "since": _day(app["DAYS_EMPLOYED"]),
            "until": None,
            "status": app["NAME_INCOME_TYPE"].map(EMPLOYMENT).fillna("employed"),
            "sector": sector,
        }
    )[has_job.to_numpy()]
    addresses = pd.DataFrame(
        {
            "person_id": pid,
            "since": _day(app["DAYS_REGISTRATION"]),
            "until": None,
            "region": None,
            "housing": app["NAME_HOUSING_TYPE"].map(HOUSING).fillna("other"),
        }
    )
    checks = []
    for kind, flag, days in (
        ("phone", "FLAG_MOBIL", "DAYS_LAST_PHONE_CHANGE"),
        ("email", "FLAG_EMAIL", None),
        ("national_id", None, "DAYS_ID_PUBLISH"),
    ):
        rows = app if flag is None else app[app[flag] == 1]
        when = _day(rows[days]) if days else pd.Series(APPLICATION_DATE.isoformat(), rows.index)
        checks.append(
            pd.DataFrame(
                {
                    "person_id": _pid(rows["SK_ID_CURR"]),
                    "kind": kind,
                    "verified_at": when,
                    "status": "verified",
                }
            )
        )
    return {
        "incomes": incomes,
        "employment": employment,
        "addresses": addresses,
        "identity_verifications": pd.concat(checks, ignore_index=True),
    }


def convert(src: str | Path) -> dict[str, pd.DataFrame]:
    """The contract tables (by name) and ``_labels`` built from the sample in ``src``."""
    root = Path(src)
    t = {name: _read(root, name) for name in FILES}
    app, bureau, prev = t["application"], t["bureau"], t["previous_application"]
    for col in ("SK_ID_CURR", "DEFAULTED", "DAYS_BIRTH", "AMT_INCOME_TOTAL"):
        if col not in app.columns:
            raise ValueError(f"{root}/application.csv: column {col!r} missing")
    out = {
        "people": _people(app, bureau, prev),
        "accounts": _accounts(app, bureau, prev),
        "repayments": pd.concat(
            [
                _instalments(t["installments_payments"]),
                _card_months(t["credit_card_balance"]),
                _bureau_months(t["bureau_balance"]),
            ],
            ignore_index=True,
        ),
        **_person_tables(app),
    }
    bad = app[app["DEFAULTED"] == 1]
    out["outcomes"] = pd.DataFrame(
        {
            "person_id": _pid(bad["SK_ID_CURR"]),
            "event_date": _day(pd.Series(DEFAULT_AFTER_DAYS, index=bad.index)),
            "kind": "default_90dpd",
            "account_id": "C" + bad["SK_ID_CURR"].astype(str),
        }
    )
    out["_labels"] = pd.DataFrame(
        {"person_id": _pid(app["SK_ID_CURR"]), "default": app["DEFAULTED"].astype(np.int8)}
    )
    return out


def write(tables: dict[str, pd.DataFrame], out: str | Path, fmt: str = "csv") -> list[Path]:
    """One file per table in ``out`` (``<table>.csv`` or ``.parquet``); returns the paths."""
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"format must be 'csv' or 'parquet', got {fmt!r}")
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, df in tables.items():
        path = folder / f"{name}.{fmt}"
        if fmt == "csv":
            df.to_csv(path, index=False, na_rep="")
        else:
            df.to_parquet(path, index=False)
        paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m openbureau.datasets.home_credit_relational",
        description="Map Home Credit's relational sample into openbureau's contract tables.",
    )
    parser.add_argument("src", type=Path, help="folder with application.csv, bureau.csv, ...")
    parser.add_argument("out", type=Path, help="output folder (one file per contract table)")
    parser.add_argument("--format", choices=("csv", "parquet"), default="csv")
    args = parser.parse_args(argv)
    try:
        tables = convert(args.src)
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for path in write(tables, args.out, args.format):
        print(f"{path}: {len(tables[path.stem]):,} rows")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
