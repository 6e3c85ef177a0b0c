"""Read one source file into an Arrow table ready for validation, with row numbers.

Readers only parse; they never judge a value. Each returns a :class:`Staged`
table whose columns are renamed to contract names (matched without regard to case
or surrounding blanks) and whose ``_row`` column is the row's position in the
source: the line number for CSV (the header is line 1) and JSON Lines, the
1-based row index for Parquet. Rows that cannot even be parsed come back as
:class:`RowError` so the batch can quarantine them. Problems with the file as a
whole raise :class:`FileRejected` before any row is read.
"""

from __future__ import annotations

import csv
import gzip
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from openbureau.contract import Table, find_prohibited
from openbureau.ingest.errors import FileRejected, RowError

ROW = "_row"
NULL_VALUES = ["", "NULL", "null"]
_OTHER_DELIMITERS = {";": "semicolon", "\t": "tab", "|": "pipe"}


@dataclass
class Staged:
    """A parsed file: contract-named (and extra) columns plus ``_row``."""

    data: pa.Table
    row_errors: list[RowError] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def read(self) -> int:
        return self.data.num_rows + len(self.row_errors)


def _normalise_columns(path: Path, table: Table, names: list[str]) -> tuple[list[str], list[str]]:
    """Contract names for ``names`` and the extra columns that will be ignored.

    The prohibited-attribute check runs here, on every name, before anything else:
    a file that carries such a column is refused whatever else it holds.
    """
    stripped = [n.strip() for n in names]
    prohibited = find_prohibited(stripped)
    if prohibited:
        raise FileRejected(
            str(path),
            "prohibited_columns",
            "; ".join(str(p) for p in prohibited)
            + ". openbureau never holds political opinion, religion, ethnicity, health, "
            "biometrics, sexual orientation, union membership or speech; remove the "
            "column(s) and ingest again",
        )
    lookup = {f.lower(): f for f in table.field_names}
    renamed = [lookup.get(n.lower(), n) for n in stripped]
    seen: set[str] = set()
    for original, name in zip(names, renamed, strict=True):
        if name in seen:
            raise FileRejected(str(path), "duplicate_columns", f"column {original!r} appears twice")
        seen.add(name)
    missing = [c for c in table.required if c not in seen]
    if missing:
        raise FileRejected(
            str(path),
            "missing_columns",
            f"table {table.name!r} needs column(s) {', '.join(missing)}; "
            f"the file has {', '.join(stripped) or 'none'}",
        )
    ignored = [n for n in renamed if n not in table.field_names]
    return renamed, ignored


def _read_bytes(path: Path) -> bytes:
    try:
        if path.name.lower().endswith(".gz"):
            with gzip.open(path, "rb") as fh:
                return fh.read()
        return path.read_bytes()
    except (OSError, EOFError) as exc:
        raise FileRejected(str(path), "corrupt_file", f"cannot be read: {exc}") from exc


def _check_utf8(path: Path, data: bytes) -> bytes:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        byte = data[exc.start]
        raise FileRejected(
            str(path),
            "not_utf8",
            f"byte 0x{byte:02x} on line {line} is not UTF-8; the file looks like another "
            "encoding (e.g. Windows-1252 or Latin-1): re-save it as UTF-8, e.g. "
            f"`iconv -f cp1252 -t utf-8 {path.name}`",
        ) from None
    if not data.strip():
        raise FileRejected(str(path), "empty_file", "the file is empty")
    return data


def _line_starts(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """1-based numbers of the non-blank lines, and all line start offsets."""
    buf = np.frombuffer(data, dtype=np.uint8)
    newlines = np.flatnonzero(buf == 10)
    starts = np.concatenate(([0], newlines + 1))
    ends = np.concatenate((newlines, [len(buf)]))
    lengths = ends - starts
    has_cr = np.zeros(len(starts), dtype=bool)
    nonzero = lengths > 0
    has_cr[nonzero] = buf[ends[nonzero] - 1] == 13
    blank = (lengths - has_cr) == 0
    return np.flatnonzero(~blank) + 1, starts


def read_csv(path: Path, table: Table) -> Staged:
    data = _check_utf8(path, _read_bytes(path))
    header_line = data.split(b"\n", 1)[0].decode("utf-8").rstrip("\r")
    names = next(csv.reader([header_line]))
    try:
        renamed, ignored = _normalise_columns(path, table, names)
    except FileRejected as exc:
        if exc.code == "missing_columns" and len(names) == 1:
            for delim, label in _OTHER_DELIMITERS.items():
                if delim in header_line:
                    raise FileRejected(
                        str(path),
                        "wrong_delimiter",
                        f"the header is {label}-separated ({header_line[:80]!r}); "
                        "openbureau reads comma-separated CSV: re-export with ',' as "
                        "the delimiter",
                    ) from None
        raise
    nonblank, _ = _line_starts(data)
    if len(nonblank) < 1:
        raise FileRejected(str(path), "empty_file", "the file has no header")

    def parse(use_threads: bool) -> tuple[pa.Table, list[pacsv.InvalidRow]]:
        invalid: list[pacsv.InvalidRow] = []

        def on_invalid(row: pacsv.InvalidRow) -> str:
            invalid.append(row)
            return "skip"

        result = pacsv.read_csv(
            pa.BufferReader(data),
            read_options=pacsv.ReadOptions(
                column_names=renamed, skip_rows=1, use_threads=use_threads
            ),
            parse_options=pacsv.ParseOptions(invalid_row_handler=on_invalid),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in renamed},
                null_values=NULL_VALUES,
                strings_can_be_null=True,
            ),
        )
        return result, invalid

    try:
        parsed, invalid = parse(use_threads=True)
        if invalid:  # only a single-threaded parse tells which lines were bad
            parsed, invalid = parse(use_threads=False)
    except pa.ArrowInvalid as exc:
        raise FileRejected(str(path), "corrupt_file", f"CSV cannot be parsed: {exc}") from exc

    # `InvalidRow.number` counts non-blank lines, header included; map to real lines.
    bad_positions = {int(r.number) - 1 for r in invalid}
    data_positions = np.arange(1, len(nonblank))
    if bad_positions:
        data_positions = data_positions[~np.isin(data_positions, list(bad_positions))]
    if len(data_positions) != parsed.num_rows:  # pragma: no cover - a parser surprise
        raise FileRejected(
            str(path),
            "corrupt_file",
            f"parsed {parsed.num_rows} rows but found {len(data_positions)} lines",
        )
    row_errors = [
        RowError(
            row=int(nonblank[int(r.number) - 1]),
            reason="wrong_field_count",
            message=(
                f"{r.actual_columns} fields where the header has {r.expected_columns}"
                + (" (truncated row?)" if r.actual_columns < r.expected_columns else "")
            ),
            raw=r.text,
        )
        for r in invalid
    ]
    rows = pa.array(nonblank[data_positions], type=pa.int64())
    return Staged(parsed.append_column(ROW, rows), row_errors, ignored)


def _json_value(value: object) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    raise TypeError(type(value).__name__)


def read_jsonl(path: Path, table: Table) -> Staged:
    """JSON Lines, one object per line.

    Parsed with the standard library line by line: a malformed line must become one
    quarantined row, and the columnar JSON readers fail (or skip) a whole block.
    """
    text = _check_utf8(path, _read_bytes(path)).decode("utf-8")
    records: list[tuple[int, dict[str, object]]] = []
    row_errors: list[RowError] = []
    columns: dict[str, None] = {}
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            row_errors.append(RowError(number, "malformed_json", f"not JSON: {exc.msg}", line))
            continue
        if not isinstance(obj, dict):
            row_errors.append(
                RowError(number, "malformed_json", f"a {type(obj).__name__}, not an object", line)
            )
            continue
        records.append((number, obj))
        columns.update(dict.fromkeys(obj))
    names = list(columns)
    renamed, ignored = _normalise_columns(path, table, names)
    values: dict[str, list[str | None]] = {n: [] for n in renamed}
    rows: list[int] = []
    for number, obj in records:
        try:
            converted = [_json_value(obj.get(n)) for n in names]
        except TypeError as exc:
            row_errors.append(
                RowError(number, "wrong_type", f"a field holds a nested {exc}", json.dumps(obj))
            )
            continue
        for name, value in zip(renamed, converted, strict=True):
            values[name].append(value)
        rows.append(number)
    data = pa.table({n: pa.array(v, type=pa.string()) for n, v in values.items()})
    return Staged(data.append_column(ROW, pa.array(rows, type=pa.int64())), row_errors, ignored)


def _stage_type(column: pa.ChunkedArray, wanted: pa.DataType | None) -> pa.ChunkedArray:
    """Keep a column whose Arrow type already fits the contract; stringify the rest."""
    if wanted is not None and (
        column.type == wanted
        or (pa.types.is_integer(column.type) and pa.types.is_floating(wanted))
        or (pa.types.is_integer(column.type) and pa.types.is_integer(wanted))
    ):
        return column
    return column.cast(pa.string())


def read_parquet(path: Path, table: Table) -> Staged:
    try:
        parsed = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise FileRejected(
            str(path), "corrupt_file", f"not a readable Parquet file (truncated?): {exc}"
        ) from exc
    renamed, ignored = _normalise_columns(path, table, parsed.column_names)
    parsed = parsed.rename_columns(renamed)
    columns = {}
    for name in renamed:
        wanted = table.field(name).arrow_type if name in table.field_names else None
        try:
            columns[name] = _stage_type(parsed.column(name), wanted)
        except pa.ArrowException:
            if wanted is not None:
                raise FileRejected(
                    str(path),
                    "corrupt_file",
                    f"column {name!r} has type {parsed.column(name).type}, expected {wanted}",
                ) from None
            continue  # an ignored nested column: listed as ignored, left out of raw
    data = pa.table(columns)
    rows = pa.array(np.arange(1, data.num_rows + 1), type=pa.int64())
    return Staged(data.append_column(ROW, rows), [], ignored)


READERS = {"csv": read_csv, "jsonl": read_jsonl, "parquet": read_parquet}


def read_file(path: Path, fmt: str, table: Table) -> Staged:
    return READERS[fmt](path, table)
