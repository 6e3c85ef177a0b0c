"""Ingest: each malformed-input class gets its own specific error, and nothing is lost."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from openbureau.ingest import ingest
from openbureau.store import Store, store_status

from factories import (
    PEOPLE_HEADER,
    account,
    bill,
    person,
    write_csv,
    write_jsonl,
    write_parquet,
)


@pytest.fixture
def store(tmp_path: Path):
    with Store(tmp_path / "store") as s:
        yield s


def quarantine(store: Store) -> list[dict]:
    return store.records(
        'SELECT source_file, "row", field, reason, message, errors, raw FROM quarantine '
        'ORDER BY file_id, "row"'
    )


def only_file(report):
    assert len(report.files) == 1
    return report.files[0]


def seed_people(store: Store, tmp_path: Path, n: int = 3) -> list[str]:
    (tmp_path / "seed").mkdir()
    path = write_csv(tmp_path / "seed" / "people.csv", [person(i) for i in range(n)])
    report = ingest([path], store)
    assert report.clean
    return [person(i)["person_id"] for i in range(n)]


# --- file-level refusals -----------------------------------------------------------


def test_wrong_delimiter_is_named(store, tmp_path):
    path = tmp_path / "people.csv"
    path.write_text("person_id;birth_year;country;first_seen\nP1;1980;DE;2020-01-01\n")
    f = only_file(ingest([path], store))
    assert f.status == "rejected"
    assert f.error_code == "wrong_delimiter"
    assert "semicolon" in f.error_message
    assert store.table_counts()["people"] == 0


def test_tab_delimiter_is_named(store, tmp_path):
    path = tmp_path / "people.csv"
    path.write_text("person_id\tbirth_year\tcountry\tfirst_seen\nP1\t1980\tDE\t2020-01-01\n")
    f = only_file(ingest([path], store))
    assert (f.error_code, "tab" in f.error_message) == ("wrong_delimiter", True)


def test_bad_encoding_names_the_line(store, tmp_path):
    path = tmp_path / "people.csv"
    text = (
        "person_id,birth_year,country,first_seen\n"
        "P1,1980,DE,2020-01-01\n"
        "P2,1981,Zürich,2020-01-01\n"
    )
    path.write_bytes(text.encode("latin-1"))
    f = only_file(ingest([path], store))
    assert f.error_code == "not_utf8"
    assert "line 3" in f.error_message
    assert "0xfc" in f.error_message


def test_utf8_bom_is_accepted(store, tmp_path):
    path = tmp_path / "people.csv"
    path.write_bytes(b"\xef\xbb\xbfperson_id,first_seen\nP1,2020-01-01\n")
    f = only_file(ingest([path], store))
    assert (f.status, f.accepted) == ("ingested", 1)


def test_missing_required_columns_are_listed(store, tmp_path):
    path = write_csv(tmp_path / "people.csv", [{"person_id": "P1", "country": "DE"}])
    f = only_file(ingest([path], store))
    assert f.error_code == "missing_columns"
    assert "first_seen" in f.error_message


def test_duplicate_columns_refused(store, tmp_path):
    path = tmp_path / "people.csv"
    path.write_text("person_id,first_seen,Person_ID\nP1,2020-01-01,P2\n")
    f = only_file(ingest([path], store))
    assert f.error_code == "duplicate_columns"
    assert "Person_ID" in f.error_message


def test_truncated_parquet_refused(store, tmp_path):
    good = write_parquet(tmp_path / "full.parquet", "people", [person(i) for i in range(50)])
    cut = tmp_path / "people.parquet"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    f = only_file(ingest([cut], store))
    assert f.error_code == "corrupt_file"
    assert "Parquet" in f.error_message


def test_truncated_gzip_refused(store, tmp_path):
    raw = gzip.compress(("person_id,first_seen\n" + "P1,2020-01-01\n" * 2000).encode())
    path = tmp_path / "people.csv.gz"
    path.write_bytes(raw[: len(raw) // 2])
    f = only_file(ingest([path], store))
    assert f.error_code == "corrupt_file"


def test_unknown_table_and_format(store, tmp_path):
    write_csv(tmp_path / "customers.csv", [person(1)])
    (tmp_path / "people.xlsx").write_bytes(b"PK\x03\x04")
    report = ingest([tmp_path], store)
    codes = {Path(f.path).name: f.error_code for f in report.files}
    assert codes == {"customers.csv": "unknown_table", "people.xlsx": "unsupported_format"}


def test_empty_file_refused(store, tmp_path):
    path = tmp_path / "people.csv"
    path.write_text("")
    assert only_file(ingest([path], store)).error_code == "empty_file"


def test_missing_path_raises(store, tmp_path):
    with pytest.raises(FileNotFoundError, match="nope"):
        ingest([tmp_path / "nope"], store)


# --- row-level quarantine ----------------------------------------------------------


def test_truncated_row_is_quarantined_with_its_line(store, tmp_path):
    path = tmp_path / "people.csv"
    path.write_text(
        "person_id,birth_year,country,first_seen\n"
        "P1,1980,DE,2020-01-01\n"
        "\n"
        "P2,1981,DE,2020-01-01\n"
        "P3,19"  # the writer died here
    )
    f = only_file(ingest([path], store))
    assert (f.read, f.accepted, f.quarantined) == (3, 2, 1)
    [q] = quarantine(store)
    assert (q["row"], q["reason"]) == (5, "wrong_field_count")
    assert "truncated" in q["message"]
    assert json.loads(q["raw"]) == {"_text": "P3,19"}


def test_wrong_types_name_field_and_value(store, tmp_path):
    seed_people(store, tmp_path)
    path = write_csv(
        tmp_path / "accounts.csv",
        [
            account(1, "P00000", opened="31.03.2024"),
            account(2, "P00000", credit_limit="lots"),
            account(3, "P00000", term_months="12.5", kind="loan", principal=100),
            account(4, "P00000"),
        ],
    )
    f = only_file(ingest([path], store))
    assert (f.accepted, f.quarantined, f.reasons) == (1, 3, {"wrong_type": 3})
    messages = {q["field"]: q["message"] for q in quarantine(store)}
    assert messages["opened"] == 'opened: "31.03.2024" is not a date (YYYY-MM-DD)'
    assert messages["credit_limit"] == 'credit_limit: "lots" is not a number'
    assert messages["term_months"] == 'term_months: "12.5" is not a whole number'


def test_negative_amounts(store, tmp_path):
    seed_people(store, tmp_path)
    path = write_csv(
        tmp_path / "bills.csv",
        [
            bill(1, "P00000", amount_due=-30.0),
            bill(2, "P00000"),
        ],
    )
    f = only_file(ingest([path], store))
    assert f.reasons == {"negative_amount": 1}
    [q] = quarantine(store)
    assert (q["row"], q["field"]) == (2, "amount_due")
    assert "below the minimum 0" in q["message"]


def test_dates_in_the_future(store, tmp_path):
    path = write_csv(tmp_path / "people.csv", [person(1, first_seen="2999-01-01"), person(2)])
    f = only_file(ingest([path], store))
    assert f.reasons == {"future_date": 1}
    [q] = quarantine(store)
    assert q["field"] == "first_seen" and "in the future" in q["message"]


def test_future_timestamp(store, tmp_path):
    seed_people(store, tmp_path)
    row = {
        "txn_id": "T1",
        "person_id": "P00000",
        "ts": "2999-01-01 10:00:00",
        "amount": 5,
        "direction": "debit",
        "merchant_category": "groceries",
        "channel": "online",
    }
    ok = {**row, "txn_id": "T2", "ts": "2024-01-01 10:00:00"}
    f = only_file(ingest([write_csv(tmp_path / "transactions.csv", [row, ok])], store))
    assert (f.accepted, f.reasons) == (1, {"future_date": 1})


def test_duplicate_keys_within_file_and_against_store(store, tmp_path):
    first = write_csv(tmp_path / "people.csv", [person(1), person(2), person(1, country="FR")])
    f = only_file(ingest([first], store))
    assert (f.accepted, f.reasons) == (2, {"duplicate_key": 1})
    [q] = quarantine(store)
    assert q["row"] == 4 and "same key as row 2" in q["message"]

    again = write_csv(tmp_path / "people-2.csv", [person(2, country="AT"), person(3)])
    f = only_file(ingest([again], store))
    assert (f.accepted, f.reasons) == (1, {"duplicate_key": 1})
    assert "already stored by batch 1" in quarantine(store)[-1]["message"]
    assert store.scalar("SELECT country FROM people WHERE person_id = 'P00002'") == "DE"


def test_invalid_row_does_not_claim_a_key(store, tmp_path):
    path = write_csv(tmp_path / "people.csv", [person(1, first_seen="bad"), person(1)])
    f = only_file(ingest([path], store))
    assert (f.accepted, f.reasons) == (1, {"wrong_type": 1})


def test_dangling_foreign_keys(store, tmp_path):
    seed_people(store, tmp_path)
    path = write_csv(tmp_path / "accounts.csv", [account(1, "P00000"), account(2, "P99999")])
    f = only_file(ingest([path], store))
    assert f.reasons == {"unknown_reference": 1}
    [q] = quarantine(store)
    assert q["message"] == 'dangling reference: person_id "P99999" is not in people'
    rel = write_csv(
        tmp_path / "relationships.csv",
        [
            {
                "person_a": "P00000",
                "person_b": "P77777",
                "kind": "friend",
                "since": "2022-01-01",
                "consent_a": True,
                "consent_b": True,
                "interactions": 3,
            }
        ],
    )
    f = only_file(ingest([rel], store))
    assert f.reasons == {"unknown_reference": 1}
    assert quarantine(store)[-1]["field"] == "person_b"


def test_references_resolve_within_one_batch_in_load_order(store, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    # accounts sorts before people by name; the batch must still load people first
    write_csv(folder / "accounts.csv", [account(1, "P00001")])
    write_csv(folder / "people.csv", [person(1)])
    report = ingest([folder], store)
    assert report.clean and report.accepted == 2


def test_enum_range_required_and_cross_field_rules(store, tmp_path):
    seed_people(store, tmp_path)
    path = write_csv(
        tmp_path / "accounts.csv",
        [
            account(1, "P00000", kind="CARD"),  # case-insensitive: accepted as 'card'
            account(2, "P00000", kind="cardd"),
            account(3, "P00000", term_months=0),
            account(4, "P00000", opened=None),
            account(5, "P00000", closed="2020-01-01"),  # before opened
        ],
    )
    f = only_file(ingest([path], store))
    assert f.accepted == 1
    assert f.reasons == {"not_in_enum": 1, "out_of_range": 1, "missing_value": 1, "failed_check": 1}
    assert store.scalar("SELECT kind FROM accounts") == "card"
    by_field = {q["field"]: q["message"] for q in quarantine(store)}
    assert "is not one of loan, card" in by_field["kind"]
    assert by_field["closed"] == "closed is before opened"


def test_every_error_of_a_row_is_kept(store, tmp_path):
    seed_people(store, tmp_path)
    path = write_csv(
        tmp_path / "bills.csv",
        [
            bill(1, "P55555", kind="gas", amount_due=-1, due_date="2999-01-01"),
        ],
    )
    ingest([path], store)
    [q] = quarantine(store)
    reasons = [e["reason"] for e in json.loads(q["errors"])]
    assert sorted(reasons) == ["future_date", "negative_amount", "not_in_enum", "unknown_reference"]
    assert json.loads(q["raw"])["kind"] == "gas"


def test_malformed_json_lines(store, tmp_path):
    path = tmp_path / "people.jsonl"
    path.write_text(
        json.dumps(person(1))
        + "\n"
        + '{"person_id": "P2", "first_seen": \n'
        + "[1, 2]\n"
        + json.dumps(person(3, birth_year={"y": 1}))
        + "\n"
        + json.dumps(person(4))
        + "\n"
    )
    f = only_file(ingest([path], store))
    assert (f.read, f.accepted) == (5, 2)
    assert f.reasons == {"malformed_json": 2, "wrong_type": 1}
    assert [q["row"] for q in quarantine(store)] == [2, 3, 4]


def test_parquet_with_wrong_types_is_checked_row_by_row(store, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "people.parquet"
    pq.write_table(
        pa.table(
            {
                "person_id": ["P1", "P2"],
                "first_seen": ["2020-01-01", "yesterday"],
                "birth_year": [1980.0, 1990.5],
            }
        ),
        path,
    )
    f = only_file(ingest([path], store))
    assert (f.accepted, f.reasons) == (1, {"wrong_type": 1})
    [q] = quarantine(store)
    assert q["row"] == 2 and {e["field"] for e in json.loads(q["errors"])} == {
        "first_seen",
        "birth_year",
    }


def test_unknown_columns_are_ignored_and_reported(store, tmp_path):
    path = write_csv(tmp_path / "people.csv", [{**person(1), "favourite_colour": "blue"}])
    f = only_file(ingest([path], store))
    assert (f.accepted, f.ignored_columns) == (1, ["favourite_colour"])


def test_crlf_and_blank_lines_keep_line_numbers(store, tmp_path):
    path = tmp_path / "people.csv"
    path.write_bytes(
        b"person_id,first_seen\r\n\r\nP1,2020-01-01\r\n\r\n\r\nP2,bad\r\nP3,2020-01-01\r\n"
    )
    f = only_file(ingest([path], store))
    assert (f.accepted, f.quarantined) == (2, 1)
    assert quarantine(store)[0]["row"] == 6
    assert store.records('SELECT person_id, "_row" FROM people ORDER BY 1') == [
        {"person_id": "P1", "_row": 3},
        {"person_id": "P3", "_row": 7},
    ]


# --- accounting, idempotency, lineage ------------------------------------------------


def test_accounting_identity_on_mixed_files_in_all_formats(store, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    write_csv(folder / "people.csv", [person(i) for i in range(10)] + [person(99, first_seen="x")])
    write_jsonl(
        folder / "people-extra.jsonl",
        [person(i) for i in range(10, 15)] + [person(3)] + [person(16, birth_year=1800)],
    )
    write_parquet(
        folder / "accounts.parquet",
        "accounts",
        [account(i, f"P{i % 15:05d}") for i in range(20)]
        + [account(50, "P00404"), account(51, "P00001", credit_limit=-5.0)],
    )
    (folder / "bills.csv").write_text(
        "bill_id,person_id,kind,due_date,amount_due\nB1,P00001,rent,2024-01-01,900\nB2,P00002\n"
    )
    report = ingest([folder], store)
    assert report.read == report.accepted + report.quarantined
    assert (report.read, report.accepted, report.quarantined) == (42, 36, 6)
    assert sum(report.reasons.values()) == report.quarantined
    counts = store.table_counts()
    assert counts["people"] + counts["accounts"] + counts["bills"] == report.accepted
    assert store.scalar("SELECT count(*) FROM quarantine") == report.quarantined
    status = store_status(store)
    assert status["totals"] == {"batches": 1, "read": 42, "accepted": 36, "quarantined": 6}


def test_reingest_same_content_is_a_noop(store, tmp_path):
    rows = [person(i) for i in range(5)] + [person(9, first_seen="?")]
    path = write_csv(tmp_path / "people.csv", rows)
    first = ingest([path], store)
    before = (store.table_counts(), store.scalar("SELECT count(*) FROM quarantine"))
    second = ingest([path], store)
    copy = tmp_path / "copy"
    copy.mkdir()
    (copy / "people-again.csv").write_bytes(path.read_bytes())
    third = ingest([copy], store)
    assert first.batch_id == 1
    assert second.batch_id is None and third.batch_id is None
    assert [f.status for f in second.files + third.files] == ["skipped", "skipped"]
    assert second.files[0].already_in_batch == 1
    assert (store.table_counts(), store.scalar("SELECT count(*) FROM quarantine")) == before
    assert store.scalar("SELECT count(*) FROM ingest_batches") == 1


def test_refused_file_reingested_is_reported_but_not_relogged(store, tmp_path):
    path = tmp_path / "people.csv"
    path.write_text("person_id;first_seen\nP1;2020-01-01\n")
    ingest([path], store)
    again = ingest([path], store)
    assert again.files[0].error_code == "wrong_delimiter"
    assert again.batch_id is None
    assert store.scalar("SELECT count(*) FROM ingest_files") == 1


def test_lineage_columns_point_to_batch_file_and_row(store, tmp_path):
    path = write_csv(tmp_path / "people.csv", [person(1), person(2)])
    ingest([path], store)
    rows = store.records('SELECT person_id, _batch_id, _file_id, "_row" FROM people ORDER BY 1')
    assert rows == [
        {"person_id": "P00001", "_batch_id": 1, "_file_id": 1, "_row": 2},
        {"person_id": "P00002", "_batch_id": 1, "_file_id": 1, "_row": 3},
    ]
    logged = store.records("SELECT path, sha256, status FROM ingest_files")
    assert logged[0]["path"] == str(path.resolve()) and logged[0]["status"] == "ingested"


def test_store_folder_inside_the_input_is_not_ingested(tmp_path):
    write_csv(tmp_path / "people.csv", [person(1)])
    with Store(tmp_path / "store") as s:
        report = ingest([tmp_path], s)
    assert [Path(f.path).name for f in report.files] == ["people.csv"]


def test_hidden_and_underscore_paths_are_skipped(store, tmp_path):
    write_csv(tmp_path / "people.csv", [person(1)])
    (tmp_path / "_truth").mkdir()
    write_csv(tmp_path / "_truth" / "people.csv", [person(2)])
    (tmp_path / "_SUCCESS").write_text("")
    report = ingest([tmp_path], store)
    assert [Path(f.path).name for f in report.files] == ["people.csv"]


def test_people_header_constant_matches_contract():
    from openbureau.contract import get_table

    assert tuple(PEOPLE_HEADER) == get_table("people").field_names
