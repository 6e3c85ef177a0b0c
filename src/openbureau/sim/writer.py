"""Parquet parts: ``out/<table>/part-NNNNN.parquet``, written off the main thread.

Parquet encoding and compression release the GIL, so a writer thread overlaps them with
generating the next chunk.
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

COMPRESSION = "zstd"
MAX_PENDING = 2  # chunks in flight; bounds memory


def part_path(out: Path, table: str, part: int) -> Path:
    return out / table / f"part-{part:05d}.parquet"


def clear_outputs(out: Path, tables: list[str], manifest: str, *, overwrite: bool) -> None:
    """Make ``out`` ready: refuse to mix with earlier output unless told to replace it.

    Only files this simulator writes are removed; anything else is left alone.
    """
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"out is not a directory: {out}")
    ours = [p for t in tables for p in (out / t).glob("part-*.parquet")]
    if (out / manifest).exists():
        ours.append(out / manifest)
    if ours and not overwrite:
        raise FileExistsError(
            f"{out} already holds a simulation ({len(ours)} files); "
            "pass overwrite=True or choose another directory"
        )
    for p in ours:
        p.unlink()
    for t in tables:
        (out / t).mkdir(parents=True, exist_ok=True)


class PartWriter:
    """Writes parts in a background thread, at most ``MAX_PENDING`` chunks behind."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sim-writer")
        self._pending: deque[Future[None]] = deque()

    def write(self, table: str, part: int, data: pa.Table) -> None:
        path = part_path(self.out, table, part)
        self._pending.append(self._pool.submit(_write, data, path))
        # Each chunk submits one job per table; keep a bounded number of chunks queued.
        while len(self._pending) > MAX_PENDING * 16:
            self._pending.popleft().result()

    def close(self) -> None:
        try:
            while self._pending:
                self._pending.popleft().result()
        finally:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> PartWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _write(data: pa.Table, path: Path) -> None:
    tmp = path.with_suffix(".parquet.tmp")
    pq.write_table(data, tmp, compression=COMPRESSION, use_dictionary=_dictionary_columns(data))
    tmp.replace(path)


def _dictionary_columns(data: pa.Table) -> list[str]:
    """String columns that repeat (person ids, enums); unique ids only waste a dictionary."""
    unique_ids = {"account_id", "bill_id", "record_id", "txn_id"}
    return [f.name for f in data.schema if pa.types.is_string(f.type) and f.name not in unique_ids]
