"""docs/data-contract.md, generated from the contract so the page cannot go stale.

Regenerate with ``openbureau contract --markdown > docs/data-contract.md``; a test
fails when the committed page differs from what the code declares.
"""

from __future__ import annotations

from openbureau.contract.prohibited import PROHIBITED_MARKERS
from openbureau.contract.reasons import FILE_REASONS, ROW_REASONS
from openbureau.contract.schema import Field, Table
from openbureau.contract.tables import TABLES

INTRO = """\
# The openbureau data contract

This page is generated from `src/openbureau/contract/` (`openbureau contract --markdown`).
It tells a data engineer at a lender how to map their data to what openbureau ingests.

## Files
- **Formats:** CSV (comma-separated, UTF-8, header row, `.csv` or `.csv.gz`), Parquet
  (`.parquet`), JSON Lines (one object per line, `.jsonl`, `.ndjson`, `.json`, or gzipped).
- **Which table:** a file feeds the table its name starts with (`people.csv`,
  `transactions-2024-03.parquet`) or, failing that, the table its folder is named after
  (`transactions/part-00001.parquet`). Names starting with `_` or `.` are skipped.
- **Columns** are matched to field names without regard to case or surrounding blanks.
  Columns the contract does not know are ignored and listed in the ingest report.
  Optional columns may be left out entirely.
- **Empty values:** an empty cell, `NULL` or `null` (CSV), `null` or a missing key (JSON).
- **Types:** dates `YYYY-MM-DD`; timestamps `YYYY-MM-DD hh:mm:ss` in UTC; numbers with
  `.` as the decimal point and no thousands separator; booleans `true`/`false`
  (also `1`/`0`, `yes`/`no`); enum values are matched without regard to case.
- **Amounts** are in the bureau's one reporting currency.
- **Later knowledge** (`closed`, `paid_date`, `satisfied_date`, `until`) is read as of each
  scoring date: a value on or after that date was not yet known then and counts as empty.
- **Rows** are numbered as in the source: the line number for CSV (header = line 1) and
  JSON Lines, the 1-based row index for Parquet. A CSV value may not span lines.

## What happens to each row
Every row read is either **accepted** or **quarantined** with its file, row, field and
reason: `read = accepted + quarantined`, always. One ingest is one batch, stored
entirely or not at all; a file whose exact content was ingested before is skipped.

| row reason | meaning |
|---|---|
{row_reasons}

A file is **refused as a whole**, and nothing of it stored, for these reasons:

| file reason | meaning |
|---|---|
{file_reasons}

## Prohibited attributes
A file with a column whose name carries any of these is refused before a row is read,
whatever else it holds. They never enter the store, the quarantine or a model.

| category | column-name words that mark it |
|---|---|
{prohibited}

## Tables
Load order: {order}. A reference (`→ table.field`) must point to a row already stored
or in the same batch.
"""


def field_rule(f: Field) -> str:
    """The rules on one field, in words."""
    rules = []
    if f.enum:
        rules.append("one of " + ", ".join(f"`{v}`" for v in f.enum))
    if f.minimum is not None and f.maximum is not None:
        rules.append(f"{f.minimum:g} to {f.maximum:g}")
    elif f.minimum is not None:
        rules.append(f"≥ {f.minimum:g}")
    elif f.maximum is not None:
        rules.append(f"≤ {f.maximum:g}")
    if f.not_in_future:
        rules.append("not in the future")
    if f.references:
        rules.append(f"→ {f.references}")
    return "; ".join(rules)


def _table_section(t: Table) -> str:
    lines = [
        f"### `{t.name}` — factor: {t.factor}",
        "",
        t.description,
        "",
        f"Key: ({', '.join(t.key)}), unique.",
        "",
        "| field | type | required | rule | meaning | example |",
        "|---|---|---|---|---|---|",
    ]
    for f in t.fields:
        lines.append(
            f"| `{f.name}` | {f.kind} | {'yes' if f.required else ''} | {field_rule(f)} | "
            f"{f.description} | {f.example} |"
        )
    if t.checks:
        lines += ["", "Row rules: " + "; ".join(f"{c.sql} ({c.message})" for c in t.checks)]
    return "\n".join(lines) + "\n"


def contract_markdown() -> str:
    intro = INTRO.format(
        row_reasons="\n".join(f"| `{k}` | {v} |" for k, v in ROW_REASONS.items()),
        file_reasons="\n".join(f"| `{k}` | {v} |" for k, v in FILE_REASONS.items()),
        prohibited="\n".join(f"| {k} | {', '.join(v)} |" for k, v in PROHIBITED_MARKERS.items()),
        order=", ".join(f"`{t.name}`" for t in TABLES),
    )
    return intro + "\n" + "\n".join(_table_section(t) for t in TABLES)
