"""Home Credit's relational sample mapped into the contract tables, then ingested."""

from __future__ import annotations

import pandas as pd
import pytest

from openbureau.datasets.home_credit_relational import TRAIN_AS_OF, convert, main, write
from openbureau.ingest import ingest
from openbureau.store import Store


def _sample(root):
    """Three applicants (one defaulted) and one orphan row per side table."""
    root.mkdir()
    app = pd.DataFrame(
        {
            "SK_ID_CURR": [100002, 100003, 100004],
            "DEFAULTED": [1, 0, 0],
            "NAME_CONTRACT_TYPE": ["Cash loans", "Cash loans", "Revolving loans"],
            "CODE_GENDER": ["M", "F", "M"],
            "AMT_INCOME_TOTAL": [202500.0, 270000.0, 67500.0],
            "AMT_CREDIT": [406597.5, 1293502.5, 135000.0],
            "AMT_ANNUITY": [24700.5, 35698.5, 6750.0],
            "NAME_INCOME_TYPE": ["Working", "State servant", "Pensioner"],
            "NAME_FAMILY_STATUS": ["Single / not married", "Married", "Married"],
            "NAME_HOUSING_TYPE": ["House / apartment", "Rented apartment", "With parents"],
            "DAYS_BIRTH": [-9461, -16765, -19046],
            "DAYS_EMPLOYED": [-637, -1188, 365243],
            "DAYS_REGISTRATION": [-3648.0, -1186.0, -4260.0],
            "DAYS_ID_PUBLISH": [-2120, -291, -2531],
            "FLAG_MOBIL": [1, 1, 1],
            "FLAG_EMAIL": [0, 1, 0],
            "ORGANIZATION_TYPE": ["Business Entity Type 3", "School", "XNA"],
            "DAYS_LAST_PHONE_CHANGE": [-1134.0, -828.0, 0.0],
        }
    )
    app.to_csv(root / "application.csv", index=False)
    pd.DataFrame(
        {
            "SK_ID_CURR": [100002, 100002, 100003, 999999],
            "SK_ID_BUREAU": [6158904, 6158905, 6158906, 6158907],
            "CREDIT_ACTIVE": ["Closed", "Active", "Closed", "Closed"],
            "CREDIT_CURRENCY": ["currency 1"] * 4,
            "DAYS_CREDIT": [-1437, -1042, -500, -100],
            "CREDIT_DAY_OVERDUE": [0] * 4,
            "DAYS_CREDIT_ENDDATE": [-1072.0, 780.0, -100.0, 200.0],
            "DAYS_ENDDATE_FACT": [-1185.0, -900.0, -600.0, -50.0],  # row 3: closed < opened
            "AMT_CREDIT_SUM": [91323.0, 225000.0, 50000.0, 1000.0],
            "AMT_CREDIT_SUM_LIMIT": [0.0, 0.0, 0.0, 0.0],
            "CREDIT_TYPE": ["Consumer credit", "Credit card", "Car loan", "Microloan"],
            "AMT_ANNUITY": [0.0] * 4,
        }
    ).to_csv(root / "bureau.csv", index=False)
    # bureau_balance is published with a byte-order mark
    bb = pd.DataFrame(
        {
            "SK_ID_BUREAU": [6158904, 6158904, 6158905, 6158907],
            "MONTHS_BALANCE": [-47, -46, -3, -2],
            "STATUS": ["0", "C", "1", "0"],
        }
    )
    bb.to_csv(root / "bureau_balance.csv", index=False, encoding="utf-8-sig")
    pd.DataFrame(
        {
            "SK_ID_PREV": [1038818, 1810518, 2636178, 1111111],
            "SK_ID_CURR": [100002, 100003, 100004, 999999],
            "NAME_CONTRACT_TYPE": ["Consumer loans", "Cash loans", "Revolving loans", "Cash loans"],
            "AMT_CREDIT": [179055.0, 1035882.0, 45000.0, 1.0],
            "NAME_CONTRACT_STATUS": ["Approved", "Approved", "Approved", "Approved"],
            "DAYS_DECISION": [-606, -746, -815, -10],
            "CNT_PAYMENT": [24.0, 12.0, 0.0, 6.0],
            "DAYS_TERMINATION": [-17.0, 365243.0, 365243.0, 365243.0],
        }
    ).to_csv(root / "previous_application.csv", index=False)
    pd.DataFrame(
        {
            "SK_ID_PREV": [1038818, 1038818, 1038818, 1810518, 1111111],
            "SK_ID_CURR": [100002, 100002, 100002, 100003, 999999],
            "NUM_INSTALMENT_VERSION": [1, 1, 1, 1, 1],
            "NUM_INSTALMENT_NUMBER": [1, 2, 2, 1, 1],
            "DAYS_INSTALMENT": [-565.0, -535.0, -535.0, -716.0, -5.0],
            "DAYS_ENTRY_PAYMENT": [-587.0, -549.0, -530.0, -716.0, -5.0],
            "AMT_INSTALMENT": [9251.775, 9251.775, 9251.775, 98356.995, 1.0],
            "AMT_PAYMENT": [9251.775, 5000.0, 4251.775, 98356.995, 1.0],
        }
    ).to_csv(root / "installments_payments.csv", index=False, encoding="utf-8-sig")
    pd.DataFrame(
        {
            "SK_ID_PREV": [2636178, 2636178],
            "SK_ID_CURR": [100004, 100004],
            "MONTHS_BALANCE": [-2, -1],
            "AMT_BALANCE": [1000.0, 0.0],
            "AMT_INST_MIN_REGULARITY": [50.0, 0.0],
            "AMT_PAYMENT_CURRENT": [50.0, None],
            "SK_DPD": [3, 0],
        }
    ).to_csv(root / "credit_card_balance.csv", index=False, encoding="utf-8-sig")
    return root


def test_convert_maps_each_source_table_into_the_contract(tmp_path):
    t = convert(_sample(tmp_path / "src"))
    assert t["people"]["person_id"].tolist() == ["HC100002", "HC100003", "HC100004"]
    assert t["people"]["birth_year"].tolist() == [1992, 1972, 1966]
    acc = t["accounts"].set_index("account_id")
    assert acc.loc["B6158905", "kind"] == "card" and acc.loc["B6158905", "closed"] is None
    assert acc.loc["B6158904", "closed"] == "2015-03-04"  # 2018-06-01 - 1185 days
    assert acc.loc["P1810518", "closed"] is None  # 365243: no such date
    assert acc.loc["P2636178", "kind"] == "card" and acc.loc["P2636178", "credit_limit"] == 45000
    assert acc.loc["C100002", "principal"] == 406597.5
    rep = t["repayments"]
    two = rep[(rep["account_id"] == "P1038818") & (rep["due_date"] == "2016-12-13")]
    assert len(two) == 1 and two["amount_paid"].item() == pytest.approx(9251.775)  # parts summed
    assert two["paid_date"].item() == "2016-12-18"  # the last part's date
    late = rep[rep["account_id"] == "B6158905"]
    assert late["paid_date"].item() == "2018-03-16"  # status 1: about 15 days late
    assert not (rep["account_id"] == "B6158904").sum() > 1  # the closed month (C) carries none
    card = rep[rep["account_id"] == "P2636178"].sort_values("due_date")
    assert card["paid_date"].tolist() == ["2018-04-04", None]  # 3 days late, then nothing due
    assert t["employment"]["person_id"].tolist() == ["HC100002", "HC100003"]  # 365243: none
    assert t["outcomes"]["account_id"].tolist() == ["C100002"]
    assert t["_labels"]["default"].tolist() == [1, 0, 0]
    assert "CODE_GENDER" not in set().union(*(df.columns for df in t.values()))


def test_the_mapped_tables_ingest_with_full_accounting(tmp_path):
    out = tmp_path / "out"
    assert main([str(_sample(tmp_path / "src")), str(out)]) == 0
    assert (out / "_labels.csv").is_file()
    with Store(tmp_path / "store") as store:
        report = ingest(out, store)
    assert report.read == report.accepted + report.quarantined
    files = {f.table: f for f in report.files}
    assert "_labels" not in {f.path.rsplit("/", 1)[-1][:7] for f in report.files}
    assert files["people"].accepted == 3 and files["outcomes"].accepted == 1
    # the orphan applicant's bureau credit and previous loan, and the credit whose imputed
    # end date precedes its start, are quarantined with their reasons, never dropped
    assert files["accounts"].reasons == {"unknown_reference": 2, "failed_check": 1}
    assert files["repayments"].reasons == {"unknown_reference": 2}
    assert report.reasons == {"unknown_reference": 4, "failed_check": 1}
    # the outcomes are the labels of a point-in-time training set
    from openbureau.features import training_set

    with Store(tmp_path / "store", read_only=True) as store:
        data = training_set(store.con, [TRAIN_AS_OF])
    ids, ys = data.column("person_id").to_pylist(), data.column("label").to_pylist()
    labels = dict(zip(ids, ys, strict=True))
    assert labels == {"HC100002": 1, "HC100003": 0, "HC100004": 0}


def test_parquet_output_and_bad_source(tmp_path, capsys):
    tables = convert(_sample(tmp_path / "src"))
    paths = write(tables, tmp_path / "pq", "parquet")
    assert {p.suffix for p in paths} == {".parquet"}
    assert pd.read_parquet(tmp_path / "pq" / "people.parquet").shape[0] == 3
    with pytest.raises(ValueError, match="format must be"):
        write(tables, tmp_path / "x", "xlsx")
    assert main([str(tmp_path / "missing"), str(tmp_path / "o")]) == 2
    assert "application.csv is missing" in capsys.readouterr().err
