"""Small valid contract files for ingest tests, written in any supported format."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from openbureau.contract import get_table

# The network safeguards shrink network shapes after compiling (model.bounded), so a test
# comparing the tables with the raw booster or scorecard puts them out of reach with a cap
# no shape gets near; tests/test_model_bounded.py checks the safeguards themselves.
UNBOUNDED = {"network_cap": 1e9}

PEOPLE_HEADER = ["person_id", "birth_year", "country", "first_seen"]


def person(i: int, **overrides: Any) -> dict[str, Any]:
    row = {
        "person_id": f"P{i:05d}",
        "birth_year": 1960 + i % 40,
        "country": "DE",
        "first_seen": "2020-01-15",
    }
    row.update(overrides)
    return row


def account(i: int, person_id: str, **overrides: Any) -> dict[str, Any]:
    row = {
        "account_id": f"A{i:05d}",
        "person_id": person_id,
        "kind": "card",
        "lender": "bank-1",
        "opened": "2021-03-01",
        "closed": None,
        "credit_limit": 1500.0,
        "principal": None,
        "term_months": None,
    }
    row.update(overrides)
    return row


def bill(i: int, person_id: str, **overrides: Any) -> dict[str, Any]:
    row = {
        "bill_id": f"B{i:06d}",
        "person_id": person_id,
        "kind": "phone",
        "due_date": "2024-05-01",
        "amount_due": 30.0,
        "paid_date": "2024-04-28",
        "amount_paid": 30.0,
    }
    row.update(overrides)
    return row


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def write_csv(path: Path, rows: list[dict[str, Any]], header: list[str] | None = None) -> Path:
    header = header or list(rows[0])
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        for row in rows:
            writer.writerow([_cell(row.get(h)) for h in header])
    return path


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def write_parquet(path: Path, table_name: str, rows: list[dict[str, Any]]) -> Path:
    """Typed Parquet exactly in the contract schema (dates as dates)."""
    schema = get_table(table_name).schema
    columns = {}
    for f in schema:
        values = [r.get(f.name) for r in rows]
        if pa.types.is_date32(f.type):
            columns[f.name] = pa.array(values, pa.string()).cast(pa.date32())
        elif pa.types.is_timestamp(f.type):
            columns[f.name] = pa.array(values, pa.string()).cast(f.type)
        else:
            columns[f.name] = pa.array(values, f.type)
    pq.write_table(pa.table(columns, schema=schema), path)
    return path
