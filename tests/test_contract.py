"""The contract: well-formed tables, refused attributes, and a page that matches the code."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from openbureau.contract import TABLES, TABLES_BY_NAME, Field, Table, get_table, prohibited_category
from openbureau.contract.docs import contract_markdown
from openbureau.ingest import ingest
from openbureau.store import Store

from factories import person, write_csv

ROOT = Path(__file__).resolve().parents[1]


def test_every_reference_points_to_an_earlier_table_key():
    seen: set[str] = set()
    for table in TABLES:
        for f in table.fields:
            if f.references:
                ref_table, ref_col = f.references.split(".")
                assert ref_table in seen or ref_table == table.name, (table.name, f.name)
                assert TABLES_BY_NAME[ref_table].key == (ref_col,), f.references
        seen.add(table.name)


def test_schemas_mark_required_fields_not_null():
    for table in TABLES:
        for f in table.schema:
            assert f.nullable == (f.name not in table.required)


def test_the_five_factors_all_have_tables():
    factors = {t.factor for t in TABLES}
    assert {"history", "behavior", "capacity", "identity", "network"} <= factors


def test_no_contract_field_is_itself_prohibited():
    for table in TABLES:
        for name in table.field_names:
            assert prohibited_category(name) is None, (table.name, name)


def test_get_table_rejects_unknown_names():
    with pytest.raises(ValueError, match=r"unknown contract table 'loans'.*people"):
        get_table("loans")


def test_table_and_field_parameter_checks():
    with pytest.raises(ValueError, match="unknown kind"):
        Field("x", "decimal", "d")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="enums must be strings"):
        Field("x", "int", "d", enum=("1",))
    with pytest.raises(ValueError, match="key fields"):
        Table("t", "history", "d", (Field("a", "string", "d"),), key=("b",))


@pytest.mark.parametrize(
    "column, category",
    [
        ("Religion", "religion or belief"),
        ("voterPartyAffiliation", "political opinion"),
        ("political_views", "political opinion"),
        ("ETHNIC_GROUP", "ethnicity or race"),
        ("race", "ethnicity or race"),
        ("health_status", "health"),
        ("has-disability", "health"),
        ("fingerprint_hash", "biometrics"),
        ("face_id_template", "biometrics"),
        ("sexual_orientation", "sexual orientation or sex life"),
        ("trade_union_member", "trade-union membership"),
        ("tweet_text", "speech or post content"),
        ("last_post_content", "speech or post content"),
    ],
)
def test_prohibited_columns_are_recognised(column, category):
    found = prohibited_category(column)
    assert found is not None and found.category == category


@pytest.mark.parametrize(
    "column",
    [
        "monthly_income",
        "trace_id",
        "posted_date",
        "surface_area",
        "opened",
        "face_value",
        "credit_limit",
        "kind",
        "interactions",
        "merchant_category",
    ],
)
def test_ordinary_columns_are_not_flagged(column):
    assert prohibited_category(column) is None


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_prohibited_column_refuses_the_file_whatever_else_it_holds(tmp_path, fmt):
    rows = [{**person(i), "Religion": "x"} for i in range(3)]
    folder = tmp_path / "in"
    folder.mkdir()
    path = folder / f"people.{fmt}"
    if fmt == "csv":
        write_csv(path, rows)
    elif fmt == "jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    else:
        pq.write_table(pa.Table.from_pylist(rows), path)
    write_csv(folder / "people-clean.csv", [person(10)])
    with Store(tmp_path / "store") as store:
        report = ingest([folder], store)
        refused = [f for f in report.files if f.status == "rejected"]
        assert len(refused) == 1 and refused[0].error_code == "prohibited_columns"
        assert "'Religion' carries religion or belief" in refused[0].error_message
        # the clean file still lands; nothing of the refused one is stored anywhere
        assert store.table_counts()["people"] == 1
        assert store.scalar("SELECT count(*) FROM quarantine") == 0
        dump = json.dumps(store.records("SELECT * FROM ingest_files"), default=str)
        assert '"x"' not in dump


def test_prohibited_column_wins_over_other_file_problems(tmp_path):
    path = tmp_path / "people.csv"
    path.write_text("person_id,ethnicity\nP1,x\n")  # also misses first_seen
    with Store(tmp_path / "store") as store:
        report = ingest([path], store)
    assert report.files[0].error_code == "prohibited_columns"


def test_data_contract_page_is_current():
    page = (ROOT / "docs" / "data-contract.md").read_text(encoding="utf-8")
    assert page == contract_markdown(), (
        "docs/data-contract.md is stale: run `openbureau contract --markdown > "
        "docs/data-contract.md`"
    )


def test_data_contract_page_documents_every_field():
    page = contract_markdown()
    for table in TABLES:
        assert f"### `{table.name}`" in page
        for name in table.field_names:
            assert f"| `{name}` |" in page
