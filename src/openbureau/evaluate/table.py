"""Read a labelled table and check it against its factor map, before any model sees it.

Every refusal names the file, the column and why, so a data engineer can fix the table or
the map without reading code. Text columns are allowed only where an order is known: listed
``categories`` give codes in their order (any direction); a text column without them may
only have direction 'none' and is coded per training fold by its smoothed default rate
(see ``TextCoder``). Empty cells are missing values (NaN); the model gives them a bin.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from openbureau.evaluate.factormap import FactorMap, MappedFeature, sql_reads

SEGMENT_COLUMN = "_segment"
READABLE = (".csv", ".csv.gz", ".csv.zip", ".zip", ".parquet", ".pq")


class TableError(ValueError):
    """A table that cannot be evaluated; the message names the file, the column and why."""


@dataclass(frozen=True)
class Prepared:
    """A checked table: numeric features (text kept for per-fold coding), labels, segments."""

    data: pd.DataFrame  # one column per feature, float64, or object for text features
    y: np.ndarray  # int8, 1 = default
    ids: np.ndarray | None
    segment: np.ndarray | None  # segment names (object) or None
    segment_names: tuple[str, ...] | None  # in the factor map's order
    label: str
    label_values: dict[str, Any]  # {"default": value, "good": value}
    text: dict[str, tuple[str, ...] | None]  # text features: listed order or None (by rate)
    source: str
    # the table columns (raw or derived) the segment rules read, to recompute segments
    context: pd.DataFrame | None = None

    @property
    def n_rows(self) -> int:
        return int(self.y.shape[0])


def _is_csv(path: Path) -> bool:
    name = path.name.lower()
    return not (name.endswith(".parquet") or name.endswith(".pq"))


def _where(path: Path, rows: np.ndarray, limit: int = 3) -> str:
    """'rows 3, 7 (lines 5, 9)': how to find rows in the file."""
    rows = np.asarray(rows)[:limit]
    if _is_csv(path):
        return "line(s) " + ", ".join(str(int(r) + 2) for r in rows)
    return "row(s) " + ", ".join(str(int(r) + 1) for r in rows)


def read_table(path: str | Path) -> pd.DataFrame:
    """A CSV (plain, .gz or single-file .zip) or Parquet file as a DataFrame."""
    p = Path(path)
    if not p.is_file():
        raise TableError(f"{p}: no such file")
    name = p.name.lower()
    if not name.endswith(READABLE):
        raise TableError(f"{p}: unsupported format; expected one of {', '.join(READABLE)}")
    try:
        if not _is_csv(p):
            return pd.read_parquet(p)
        head = pd.read_csv(p, header=None, nrows=1, dtype=str, keep_default_na=False)
        names = [str(c) for c in head.iloc[0].tolist()] if len(head) else []
        dup = sorted({c for c in names if names.count(c) > 1})
        if dup:
            raise TableError(f"{p}: column(s) {dup} appear more than once in the header")
        return pd.read_csv(p, low_memory=False)
    except TableError:
        raise
    except UnicodeDecodeError:
        raise TableError(f"{p}: not UTF-8 text") from None
    except Exception as exc:  # pandas/pyarrow raise many kinds for a broken file
        raise TableError(f"{p}: cannot be read as a table: {exc}") from None


def _label(
    df: pd.DataFrame, path: Path, column: str, positive: Any
) -> tuple[np.ndarray, dict[str, Any]]:
    col = df[column]
    missing = np.flatnonzero(col.isna().to_numpy())
    if missing.size:
        raise TableError(
            f"{path}: label column {column!r} is empty on {missing.size} row(s), "
            f"e.g. {_where(path, missing)}"
        )
    values = pd.unique(col)
    shown = ", ".join(repr(v.item() if hasattr(v, "item") else v) for v in sorted(values, key=str))
    if len(values) != 2:
        many = len(values) > 2
        raise TableError(
            f"{path}: label column {column!r} must be binary (default vs not); it holds "
            f"{len(values)} distinct value(s): {shown[:200]}"
            + ("" if many else " (both classes are needed)")
        )
    as_str = col.astype(str)
    if positive is not None:
        pos = str(positive)
        if pos not in set(as_str):
            raise TableError(
                f"{path}: label column {column!r} holds {shown}, not the positive value {pos!r}"
            )
        y = (as_str == pos).to_numpy()
    else:
        numeric = pd.to_numeric(col, errors="coerce")
        if col.dtype == bool:
            y = col.to_numpy()
        elif numeric.notna().all() and set(numeric.unique()) == {0, 1}:
            y = (numeric == 1).to_numpy()
        else:
            raise TableError(
                f"{path}: label column {column!r} holds {shown}; say which value means "
                "default with `positive:` in the factor map (or --positive)"
            )
    default_value = col[y].iloc[0]
    good_value = col[~y].iloc[0]
    conv = {
        k: (v.item() if hasattr(v, "item") else v)
        for k, v in {"default": default_value, "good": good_value}.items()
    }
    return y.astype(np.int8), conv


def _numeric(col: pd.Series) -> pd.Series | None:
    """The column as float64, or None if it holds text that is not a number."""
    if col.dtype == bool:
        return col.astype(np.float64)
    if pd.api.types.is_numeric_dtype(col.dtype):
        return col.astype(np.float64)
    if col.dropna().map(lambda v: isinstance(v, bool)).all() and col.notna().any():
        return col.map({True: 1.0, False: 0.0}).astype(np.float64)
    num = pd.to_numeric(col, errors="coerce")
    if num.notna().sum() == col.notna().sum():
        return num.astype(np.float64)
    return None


def _feature_column(
    df: pd.DataFrame, path: Path, f: MappedFeature, fmap: FactorMap
) -> tuple[pd.Series, bool]:
    """The feature's values and whether they are text."""
    col = df[f.name]
    num = _numeric(col)
    if f.categories is not None:
        text = col.astype(object).where(col.notna(), None)
        as_str = text.map(lambda v: None if v is None else str(v))
        unknown = sorted(set(as_str.dropna()) - set(f.categories))
        if unknown:
            raise TableError(
                f"{path}: column {f.name!r} holds value(s) {unknown[:5]} not in its "
                f"categories in {fmap.source}: {list(f.categories)}"
            )
        return as_str, True
    if num is not None:
        bad = np.flatnonzero(np.isinf(num.to_numpy()))
        if bad.size:
            raise TableError(
                f"{path}: column {f.name!r} holds infinite values, e.g. {_where(path, bad)}"
            )
        return num, False
    probe = pd.to_numeric(col, errors="coerce")
    is_text = col.notna() & probe.isna()
    if probe.notna().any():
        rows = np.flatnonzero(is_text.to_numpy())
        sample = sorted({str(v) for v in col[is_text].head(50)})[:3]
        raise TableError(
            f"{path}: column {f.name!r} mixes numbers and text: {sample} at "
            f"{_where(path, rows)}; fix the values or list `categories:` for it"
        )
    if f.meta.direction != "none":
        sample = sorted({str(v) for v in col.dropna().head(200)})[:4]
        raise TableError(
            f"{path}: column {f.name!r} holds text ({sample}...) but has direction "
            f"{f.meta.direction!r}; a direction needs an order: list `categories:` from "
            f"lowest to highest in {fmap.source}, or use direction 'none'"
        )
    return col.astype(object).where(col.notna(), None).map(
        lambda v: None if v is None else str(v)
    ), True


def _duck(df: pd.DataFrame) -> Any:
    import duckdb

    con = duckdb.connect()
    con.execute("SET enable_external_access = false")
    con.execute("SET preserve_insertion_order = true")
    con.register("t", df)
    return con


def _derived(df: pd.DataFrame, path: Path, fmap: FactorMap) -> pd.DataFrame:
    out = {}
    if not fmap.derived:
        return pd.DataFrame(index=df.index)
    con = _duck(df)
    try:
        for f in fmap.derived:
            try:
                res = con.execute(f"SELECT CAST(({f.sql}) AS DOUBLE) FROM t").fetchnumpy()
            except Exception as exc:
                msg = str(exc).splitlines()[0]
                raise TableError(
                    f"{fmap.source}: derived.{f.name}: cannot evaluate {f.sql!r} on {path}: {msg}"
                ) from None
            col = next(iter(res.values()))  # a masked array where SQL gave NULL
            if np.ma.isMaskedArray(col):
                col = np.ma.filled(col.astype(np.float64), np.nan)
            values = np.array(col, dtype=np.float64)
            values[~np.isfinite(values)] = np.nan
            out[f.name] = values
    finally:
        con.close()
    return pd.DataFrame(out, index=df.index)


def segment_codes(df: pd.DataFrame, fmap: FactorMap) -> np.ndarray:
    """Index of the first segment rule each row matches (-1: none); DuckDB errors pass on."""
    cases = []
    for i, r in enumerate(fmap.segments):
        cases.append(f"WHEN ({r.when}) THEN {i}" if r.when else f"WHEN TRUE THEN {i}")
    sql = "SELECT CASE " + " ".join(cases) + " ELSE -1 END FROM t"
    con = _duck(df)
    try:
        return np.asarray(next(iter(con.execute(sql).fetchnumpy().values())), dtype=np.int64)
    finally:
        con.close()


def segment_context(df: pd.DataFrame, fmap: FactorMap) -> pd.DataFrame | None:
    """The columns of ``df`` the segment rules read (DuckDB names are case-insensitive)."""
    if not fmap.segments:
        return None
    reads = {c.lower() for r in fmap.segments for c in r.reads}
    cols = [c for c in df.columns if str(c).lower() in reads]
    return df[cols].reset_index(drop=True)


def rule_numbers(fmap: FactorMap) -> np.ndarray:
    """Every number the segment rules compare with."""
    found = [v for r in fmap.segments if r.when for v in sql_reads(r.when)[1]]
    return np.array(found, dtype=np.float64)


def sweep_values(x: np.ndarray, n: int, *edges: np.ndarray) -> np.ndarray:
    """Sorted distinct finite values to move an input over: ``n`` quantiles of ``x`` and
    both sides of every value in ``edges`` (a model's breaks, the rules' numbers), so every
    step of the model and every segment boundary is crossed."""
    x = x[np.isfinite(x)]
    parts = [np.quantile(x, np.linspace(0.0, 1.0, n))] if x.size else []
    for v in edges:
        v = v[np.isfinite(v)]
        parts += [v, np.nextafter(v, np.inf), np.nextafter(v, -np.inf)]
    grid = np.unique(np.concatenate(parts)) if parts else np.array([])
    return grid[np.isfinite(grid)]


def segment_order_violations(
    df: pd.DataFrame, fmap: FactorMap, rows: int = 1000, grid: int = 40, seed: int = 0
) -> list[str]:
    """Under ``segment_order: increasing``: directional inputs that move rows backwards.

    For sampled rows, every directional feature a rule reads is set to values over its
    range (quantiles, and both sides of every number in the rules); moving it the
    favourable way (up if 'increasing', down if 'decreasing') must never send a row to an
    earlier (riskier) segment. With that and the model's order, the score is monotone across
    the boundaries.
    """
    numbers = rule_numbers(fmap)
    read = {c.lower() for r in fmap.segments for c in r.reads}
    cols = {str(c).lower(): c for c in df.columns}
    pick = np.random.default_rng(seed).permutation(df.shape[0])[: min(rows, df.shape[0])]
    sample = df.iloc[pick].reset_index(drop=True)
    bad = []
    for f in fmap.features:
        col = cols.get(f.name.lower())
        if f.meta.sign == 0 or f.name.lower() not in read or col is None:
            continue
        values: np.ndarray
        if f.categories is not None:
            values = np.asarray(f.categories, dtype=object)
        else:
            x = pd.to_numeric(df[col], errors="coerce").to_numpy(np.float64)
            values = sweep_values(x, grid, numbers)
        g = len(values)
        if g < 2:
            continue
        rep = sample.loc[sample.index.repeat(g)].reset_index(drop=True)
        rep[col] = np.tile(values, sample.shape[0])
        codes = segment_codes(rep, fmap).reshape(sample.shape[0], g)
        steps = np.diff(codes, axis=1) * f.meta.sign  # < 0: an earlier, riskier segment
        if (steps < 0).any():
            i, k = np.argwhere(steps < 0)[0]
            a, b = codes[i, k], codes[i, k + 1]
            bad.append(
                f"raising {f.name} (direction {f.meta.direction}) from {values[k]!r} to "
                f"{values[k + 1]!r} moves a row from segment {fmap.segments[a].name!r} to "
                f"{fmap.segments[b].name!r}"
            )
    return bad


def _segment(df: pd.DataFrame, path: Path, fmap: FactorMap) -> np.ndarray | None:
    if not fmap.segments:
        return None
    try:
        codes = segment_codes(df, fmap)
    except Exception as exc:
        msg = str(exc).splitlines()[0]
        raise TableError(
            f"{fmap.source}: segment: cannot evaluate the rules on {path}: {msg}"
        ) from None
    none = np.flatnonzero(codes < 0)
    if none.size:
        raise TableError(
            f"{path}: {none.size} row(s) match no segment rule in {fmap.source}, e.g. "
            f"{_where(path, none)}; end the rules with one that has no 'when'"
        )
    counts = np.bincount(codes, minlength=len(fmap.segments))
    empty = [fmap.segments[i].name for i in np.flatnonzero(counts == 0)]
    if empty:
        raise TableError(f"{path}: segment(s) {empty} of {fmap.source} match no row")
    return np.asarray(fmap.segment_names, dtype=object)[codes]


def prepare(
    df: pd.DataFrame,
    path: str | Path,
    fmap: FactorMap,
    label: str,
    *,
    id_column: str | None = None,
    positive: Any = None,
) -> Prepared:
    """Check ``df`` (read from ``path``) against ``fmap`` and build the model's inputs."""
    p = Path(path)
    cols = [str(c) for c in df.columns]
    df = df.set_axis(cols, axis=1)
    if label not in cols:
        raise TableError(f"{p}: no label column {label!r}; columns: {cols[:20]}")
    if id_column is not None and id_column not in cols:
        raise TableError(f"{p}: no id column {id_column!r}; columns: {cols[:20]}")
    for role, name in (("label", label), ("id", id_column)):
        if name is not None and (name in fmap.columns or name in fmap.ignore):
            where = "factors" if name in fmap.columns else "ignore"
            if role == "label" or where == "factors":
                raise TableError(
                    f"{fmap.source}: {where}.{name}: the {role} column may not be listed there"
                )
    missing = [c for c in fmap.columns if c not in cols]
    if missing:
        raise TableError(
            f"{fmap.source}: factors: column(s) {missing} are not in {p} (columns: {cols[:20]})"
        )
    gone = [c for c in fmap.ignore if c not in cols]
    if gone:
        raise TableError(f"{fmap.source}: ignore: column(s) {gone} are not in {p}")
    derived_clash = [f.name for f in fmap.derived if f.name in cols]
    if derived_clash:
        raise TableError(
            f"{fmap.source}: derived: {derived_clash} already name columns of {p}; rename them"
        )
    known = {label, *fmap.columns, *fmap.ignore} | ({id_column} if id_column else set())
    loose = [c for c in cols if c not in known]
    if loose:
        raise TableError(
            f"{p}: column(s) {loose[:20]}{' ...' if len(loose) > 20 else ''} are neither "
            f"mapped to a factor nor ignored; list each under factors: or ignore: in "
            f"{fmap.source}"
        )
    y, label_values = _label(df, p, label, positive)
    ids = None
    if id_column is not None:
        ids = df[id_column].to_numpy()
        dup = df[id_column].duplicated(keep=False).to_numpy()
        if dup.any():
            raise TableError(
                f"{p}: id column {id_column!r} repeats values, e.g. "
                f"{df[id_column][dup].head(3).tolist()} at {_where(p, np.flatnonzero(dup))}"
            )
    derived = _derived(df, p, fmap)
    full = pd.concat([df, derived], axis=1) if len(derived.columns) else df
    data: dict[str, pd.Series] = {}
    text: dict[str, tuple[str, ...] | None] = {}
    for f in fmap.features:
        if f.sql is not None:
            data[f.name] = derived[f.name]
            continue
        values, is_text = _feature_column(df, p, f, fmap)
        data[f.name] = values
        if is_text:
            text[f.name] = f.categories
    segment = _segment(full, p, fmap)
    if fmap.segment_order == "increasing":
        wrong = segment_order_violations(full, fmap)
        if wrong:
            raise TableError(
                f"{fmap.source}: segment: with segment_order increasing the segments must "
                f"run from riskiest to safest, but on {p} {wrong[0]}; reorder the rules"
            )
    return Prepared(
        data=pd.DataFrame(data, index=df.index).reset_index(drop=True),
        y=y,
        ids=ids,
        segment=segment,
        segment_names=fmap.segment_names or None,
        label=label,
        label_values=label_values,
        text=text,
        source=str(p),
        context=segment_context(full, fmap),
    )


class TextCoder:
    """Codes text features as numbers, fitted on training rows only.

    Listed categories get their list position. Unlisted text (direction 'none' only) is
    ordered by its default rate on the training rows, shrunk towards the overall rate by
    ``prior`` pseudo-rows so a rare value cannot jump to an extreme; ties are broken by the
    value itself, so the coding is deterministic. Values unseen in training become NaN.
    """

    def __init__(self, text: dict[str, tuple[str, ...] | None], prior: float = 20.0) -> None:
        self.text = text
        self.prior = prior
        self.codes_: dict[str, dict[str, float]] = {}

    def fit(self, data: pd.DataFrame, y: np.ndarray) -> TextCoder:
        rate = float(y.mean())
        for name, cats in self.text.items():
            if cats is not None:
                self.codes_[name] = {c: float(i) for i, c in enumerate(cats)}
                continue
            col = data[name]
            seen = col.notna().to_numpy()
            stats = (
                pd.DataFrame({"v": col[seen].to_numpy(), "y": y[seen]})
                .groupby("v", sort=True)["y"]
                .agg(["sum", "count"])
            )
            smooth = (stats["sum"] + self.prior * rate) / (stats["count"] + self.prior)
            order = sorted(zip(smooth.to_numpy(), stats.index.tolist(), strict=True))
            self.codes_[name] = {v: float(i) for i, (_, v) in enumerate(order)}
        return self

    def transform(self, data: pd.DataFrame) -> pd.DataFrame:
        out = data.copy()
        for name, codes in self.codes_.items():
            out[name] = data[name].map(codes).astype(np.float64)
        return out

    def to_json(self) -> dict[str, list[str]]:
        """Each text feature's values in code order (code = position)."""
        return {n: sorted(c, key=c.__getitem__) for n, c in self.codes_.items()}
