"""Network features for a bring-your-own table: an edges file, labels as seeds, out of fold.

The table's labels are the only "recorded defaults" such a table has, so they feed the
network features the way past defaults do in the bureau, with one rule that keeps the
evaluation honest: on each cross-validation fold, the test rows' labels are hidden (never
seeds), and each training row's own label cannot reach it (inner folds, see
``openbureau.network.network_features``). Test rows see every training label, as a new
applicant would see everyone already on file.

Edges are undirected relationships between ids of the table's id column (ids the table
does not hold are kept as nodes without a label: they carry walks but never a default).
A weight is an interaction count; a negative weight (a distrust rating in a signed network)
is not a relationship and is left out, and counted. The file must hold only relationships
the people consented to; openbureau cannot check
that for a foreign file, so it says so in the report.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from openbureau.evaluate.table import TableError

COLUMNS = ("source", "target", "weight", "timestamp")
INNER_FOLDS = 5


@dataclass(frozen=True)
class Edges:
    """Edges as int node indices: nodes 0..n_rows-1 are the table's rows, the rest extra."""

    src: np.ndarray
    dst: np.ndarray
    interactions: np.ndarray
    since_days: np.ndarray | None  # days since 1970-01-01, or None without timestamps
    n_nodes: int
    source: str
    dropped_self_loops: int
    dropped_negative: int

    @property
    def n_edges(self) -> int:
        return int(self.src.shape[0])


def _where(path: Path, rows: np.ndarray, limit: int = 3) -> str:
    """CSV line numbers (header = line 1) of the first bad rows."""
    lines = ", ".join(str(int(r) + 2) for r in rows[:limit])
    more = f" and {rows.size - limit} more" if rows.size > limit else ""
    return f"line {lines}{more}"


def _days(path: Path, col: pa.ChunkedArray) -> np.ndarray:
    """Timestamps as days since 1970: epoch seconds (numbers) or ISO dates/times (text)."""
    if pa.types.is_integer(col.type) or pa.types.is_floating(col.type):
        secs = col.to_numpy(zero_copy_only=False).astype(np.float64)
        return np.floor(secs / 86_400.0)
    if pa.types.is_timestamp(col.type) or pa.types.is_date(col.type):
        secs = pc.cast(pc.cast(col, pa.timestamp("s")), pa.int64())
        return secs.to_numpy(zero_copy_only=False) // 86_400
    try:
        stamps = pc.strptime(col, format="%Y-%m-%d", unit="s", error_is_null=True)
        parsed = pc.cast(stamps, pa.int64())
    except pa.ArrowInvalid as exc:  # pragma: no cover - defensive
        raise TableError(f"{path}: column timestamp: {exc}") from None
    values = parsed.to_numpy(zero_copy_only=False)
    failed = pc.and_(pc.is_null(parsed), pc.invert(pc.is_null(col)))
    bad = np.flatnonzero(failed.to_numpy(zero_copy_only=False))
    if bad.size:
        raise TableError(
            f"{path}: column timestamp: not epoch seconds or a YYYY-MM-DD date at "
            f"{_where(path, bad)}"
        )
    return values // 86_400


def read_edges(path: str | Path, ids: np.ndarray) -> Edges:
    """Read an edges CSV against the table's ids; errors name the file, line and column."""
    path = Path(path)
    if not path.is_file():
        raise TableError(f"{path}: no such edges file")
    try:
        t = pacsv.read_csv(
            path,
            convert_options=pacsv.ConvertOptions(
                column_types={"source": pa.string(), "target": pa.string()},
                strings_can_be_null=True,
            ),
        )
    except pa.ArrowInvalid as exc:
        raise TableError(f"{path}: not a readable CSV: {exc}") from None
    missing = [c for c in ("source", "target") if c not in t.column_names]
    if missing:
        raise TableError(
            f"{path}: missing column(s) {missing}; an edges file has columns "
            f"{', '.join(COLUMNS)} (weight and timestamp optional)"
        )
    for c in ("source", "target"):
        nulls = np.flatnonzero(pc.is_null(t[c]).to_numpy(zero_copy_only=False))
        if nulls.size:
            raise TableError(f"{path}: column {c}: empty id at {_where(path, nulls)}")
    weight = np.ones(t.num_rows)
    if "weight" in t.column_names:
        w = t["weight"]
        if not (pa.types.is_integer(w.type) or pa.types.is_floating(w.type)):
            raise TableError(f"{path}: column weight: must be numbers, got {w.type}")
        weight = w.to_numpy(zero_copy_only=False).astype(np.float64)
        bad = np.flatnonzero(~np.isfinite(weight))
        if bad.size:
            raise TableError(f"{path}: column weight: missing or not finite at {_where(path, bad)}")
    since = _days(path, t["timestamp"]) if "timestamp" in t.column_names else None
    negative = np.zeros(t.num_rows, bool)
    if "weight" in t.column_names:  # a negative weight (a distrust rating) is no relationship
        negative = t["weight"].to_numpy(zero_copy_only=False).astype(np.float64) < 0

    table_ids = pd.Index(pd.Series(ids).astype(str))
    src_s = t["source"].to_numpy(zero_copy_only=False).astype(str)
    dst_s = t["target"].to_numpy(zero_copy_only=False).astype(str)
    extra = pd.Index(np.unique(np.concatenate([src_s, dst_s]))).difference(table_ids)
    index = table_ids.append(extra)
    src = index.get_indexer(src_s).astype(np.int64)
    dst = index.get_indexer(dst_s).astype(np.int64)
    loops = src == dst
    keep = ~loops & ~negative
    return Edges(
        src=src[keep],
        dst=dst[keep],
        interactions=np.rint(weight[keep]).astype(np.int64),
        since_days=None if since is None else since[keep],
        n_nodes=int(index.shape[0]),
        source=str(path),
        dropped_self_loops=int(loops.sum()),
        dropped_negative=int((negative & ~loops).sum()),
    )


def fold_network_features(
    edges: Edges, y: np.ndarray, train: np.ndarray, seed: int, config: object | None = None
) -> pd.DataFrame:
    """Network features of every table row, seeded only by the labels of ``train`` rows.

    Training rows are split into inner folds (their own label never reaches them); test
    rows and extra nodes sit in a fold of their own with no seeds, so they see every
    training label.
    """
    from openbureau.network import FEATURES, NetworkConfig, network_features

    n_rows = y.shape[0]
    n = edges.n_nodes
    defaulted = np.zeros(n, bool)
    defaulted[train] = y[train] == 1
    borrower = np.zeros(n, bool)
    borrower[:n_rows] = True
    fold = np.full(n, INNER_FOLDS, np.int64)
    rng = np.random.default_rng(seed)
    fold[train] = rng.integers(0, INNER_FOLDS, train.shape[0])
    cfg = config if config is not None else NetworkConfig()
    as_of = None
    since = None
    if edges.since_days is not None and edges.since_days.size:
        import datetime as dt

        last = int(np.nanmax(edges.since_days))
        as_of = dt.date(1970, 1, 1) + dt.timedelta(days=last + 1)
        since = edges.since_days.astype(np.int64)
    out = network_features(
        edges.src,
        edges.dst,
        n,
        defaulted,
        borrower,
        fold,
        since=since,
        interactions=edges.interactions,
        as_of=as_of,
        config=cfg,  # type: ignore[arg-type]
    )
    return pd.DataFrame({name: out[name][:n_rows] for name in FEATURES})
