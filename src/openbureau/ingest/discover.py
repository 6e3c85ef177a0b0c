"""Which files a path holds, in which format, for which contract table.

A file belongs to the table its name starts with (``people.csv``,
``transactions-2024-03.parquet``) or, failing that, to the table its folder is
named after (``transactions/part-00001.parquet``, as Spark and the simulator
write). Names starting with ``_`` or ``.`` are skipped, as Hadoop tools do
(``_SUCCESS``, ``_truth/``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from openbureau.contract import TABLES

FORMATS = {
    ".csv": "csv",
    ".csv.gz": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".jsonl.gz": "jsonl",
    ".ndjson.gz": "jsonl",
}

# Longest names first so that a table never matches a shorter table's prefix.
_TABLE_NAMES = sorted((t.name for t in TABLES), key=len, reverse=True)


@dataclass(frozen=True)
class SourceFile:
    path: Path
    format: str | None
    table: str | None


def file_format(path: Path) -> str | None:
    name = path.name.lower()
    for suffix in sorted(FORMATS, key=len, reverse=True):
        if name.endswith(suffix):
            return FORMATS[suffix]
    return None


def _table_from_name(name: str) -> str | None:
    stem = name.lower()
    for table in _TABLE_NAMES:
        if stem == table or re.match(rf"{re.escape(table)}([._\-]|$)", stem):
            return table
    return None


def table_for(path: Path) -> str | None:
    """The contract table a file feeds, from its name or its folder's name.

    >>> table_for(Path("in/transactions-2024-03.csv"))
    'transactions'
    >>> table_for(Path("sim/relationships/part-00000.parquet"))
    'relationships'
    >>> table_for(Path("misc/notes.csv")) is None
    True
    """
    return _table_from_name(path.name) or _table_from_name(path.parent.name)


def _hidden(path: Path, root: Path) -> bool:
    parts = path.relative_to(root).parts
    return any(p.startswith(("_", ".")) for p in parts)


def discover(paths: list[Path]) -> list[SourceFile]:
    """Every file under ``paths``; raises FileNotFoundError for a path that is not there."""
    found: list[SourceFile] = []
    for root in paths:
        if not root.exists():
            raise FileNotFoundError(f"no such file or folder: {root}")
        if root.is_file():
            candidates = [root]
        else:
            candidates = sorted(p for p in root.rglob("*") if p.is_file() and not _hidden(p, root))
        for path in candidates:
            found.append(SourceFile(path, file_format(path), table_for(path)))
    return found
