"""Per-feature reference distributions of a development sample, so CSI (the PSI of one
model input) and missing-value rates can be compared long after training.

Numeric features get right-closed bins cut at the development deciles, ``(-inf, e0]``,
``(e0, e1]``, ..., ``(e_k, inf)``: right-closed so that a feature that is mostly zero (a
count of late payments) keeps its zeros in a bin of their own and a move away from zero
still shows. Categorical features get one bucket per development category and one for
anything unseen. Both end with a bucket for missing values (NaN or null), so a feature
that starts going missing moves its CSI as well as its missing rate.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

EPS = 1e-6
KINDS = ("numeric", "categorical")


def _column(values: pa.Array | pa.ChunkedArray | np.ndarray) -> pa.ChunkedArray | pa.Array:
    if isinstance(values, np.ndarray):
        return pa.array(values, from_pandas=True)
    return values


def numeric_values(values: pa.Array | pa.ChunkedArray | np.ndarray) -> np.ndarray:
    """float64 NumPy values with NaN for every null, whatever the input type."""
    if isinstance(values, np.ndarray) and values.dtype.kind in "fiub":
        return values.astype(float, copy=False)
    col = pc.cast(_column(values), pa.float64())
    col = pc.fill_null(col, float("nan"))
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    return np.asarray(col.to_numpy(zero_copy_only=False), dtype=float)


@dataclass(frozen=True)
class FeatureBins:
    """One feature's development distribution: bucket shares, the last one for missing."""

    name: str
    kind: str
    edges: tuple[float, ...]
    categories: tuple[str, ...]
    expected: tuple[float, ...]
    rows: int

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(
                f"feature {self.name!r}: kind must be one of {KINDS}, not {self.kind!r}"
            )
        buckets = len(self.edges) + 2 if self.kind == "numeric" else len(self.categories) + 2
        if len(self.expected) != buckets:
            raise ValueError(
                f"feature {self.name!r}: {len(self.expected)} expected shares for {buckets} buckets"
            )
        if list(self.edges) != sorted(set(self.edges)):
            raise ValueError(f"feature {self.name!r}: edges must be strictly increasing")

    @property
    def missing(self) -> float:
        """The development share of missing values."""
        return self.expected[-1]

    def counts(self, values: pa.Array | pa.ChunkedArray | np.ndarray) -> np.ndarray:
        """How many values fall in each bucket (the last one counts missing values)."""
        if self.kind == "numeric":
            x = numeric_values(values)
            missing = np.isnan(x)
            idx = np.searchsorted(np.asarray(self.edges, dtype=float), x[~missing], side="left")
            counts = np.bincount(idx, minlength=len(self.edges) + 1)
            return np.append(counts, missing.sum())
        col = pc.cast(_column(values), pa.string())
        where = pc.index_in(col, value_set=pa.array(self.categories, pa.string()))
        missing = int(col.null_count)
        known = where.drop_null()
        if isinstance(known, pa.ChunkedArray):
            known = known.combine_chunks()
        counts = np.bincount(
            np.asarray(known.to_numpy(zero_copy_only=False), dtype=np.int64),
            minlength=len(self.categories),
        )
        unseen = len(col) - missing - int(counts.sum())
        return np.append(counts, [unseen, missing])

    def shares(self, values: pa.Array | pa.ChunkedArray | np.ndarray) -> np.ndarray:
        counts = self.counts(values)
        return counts / max(int(counts.sum()), 1)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "rows": self.rows}
        if self.kind == "numeric":
            out["edges"] = list(self.edges)
        else:
            out["categories"] = list(self.categories)
        out["expected"] = list(self.expected)
        out["missing"] = self.missing
        return out

    @classmethod
    def from_dict(cls, name: str, data: Mapping[str, Any]) -> FeatureBins:
        """Read one entry of development.json's ``feature_bins``, naming what is wrong."""
        if not isinstance(data, Mapping):
            raise ValueError(f"feature_bins[{name!r}] must be an object, got {type(data).__name__}")
        missing = [k for k in ("kind", "expected") if k not in data]
        if missing:
            raise ValueError(f"feature_bins[{name!r}] lacks {missing}")
        return cls(
            name=name,
            kind=str(data["kind"]),
            edges=tuple(float(e) for e in data.get("edges", ())),
            categories=tuple(str(c) for c in data.get("categories", ())),
            expected=tuple(float(e) for e in data["expected"]),
            rows=int(data.get("rows", 0)),
        )


def is_categorical(column: pa.ChunkedArray | pa.Array) -> bool:
    t = column.type
    return bool(pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_dictionary(t))


def feature_bins(name: str, values: pa.Array | pa.ChunkedArray, n_bins: int = 10) -> FeatureBins:
    """The reference bins of one development column (its type decides the kind)."""
    if isinstance(n_bins, bool) or not isinstance(n_bins, int):
        raise TypeError(f"n_bins must be an int, got {type(n_bins).__name__}")
    if n_bins < 2:
        raise ValueError(f"n_bins must be at least 2, got {n_bins}")
    rows = len(values)
    if rows == 0:
        raise ValueError(f"feature {name!r}: cannot cut bins from an empty sample")
    if is_categorical(values):
        col = pc.cast(values, pa.string())
        categories = tuple(sorted(str(c) for c in pc.unique(col.drop_null()).to_pylist()))
        ref = FeatureBins(name, "categorical", (), categories, (0.0,) * (len(categories) + 2), rows)
    else:
        x = numeric_values(values)
        known = x[~np.isnan(x)]
        edges: tuple[float, ...] = ()
        if known.size:
            inner = np.quantile(known, np.linspace(0, 1, n_bins + 1)[1:-1])
            edges = tuple(float(e) for e in np.unique(inner))
        ref = FeatureBins(name, "numeric", edges, (), (0.0,) * (len(edges) + 2), rows)
    shares = ref.shares(values)
    return FeatureBins(
        ref.name, ref.kind, ref.edges, ref.categories, tuple(map(float, shares)), rows
    )


def feature_reference(
    table: pa.Table, names: Iterable[str], n_bins: int = 10
) -> dict[str, FeatureBins]:
    """Reference bins of each named column of the development table."""
    absent = [n for n in names if n not in table.column_names]
    if absent:
        raise ValueError(f"the development table has no column(s) {absent}")
    return {n: feature_bins(n, table.column(n), n_bins) for n in names}


def csi(ref: FeatureBins, values: pa.Array | pa.ChunkedArray | np.ndarray) -> float:
    """Characteristic stability index of ``values`` against the development bins (the PSI
    formula over the feature's buckets, missing included).

    >>> ref = feature_bins("x", pa.array(np.arange(1000.0)))
    >>> round(csi(ref, np.arange(1000.0)), 6)
    0.0
    >>> csi(ref, np.arange(600.0, 1600.0)) > 0.25
    True
    """
    return stability_index(ref.expected, ref.shares(values))


def stability_index(expected: Iterable[float], observed: Iterable[float]) -> float:
    """The PSI formula over bucket shares, empty buckets floored at EPS."""
    e = np.clip(np.asarray(list(expected), dtype=float), EPS, None)
    o = np.clip(np.asarray(list(observed), dtype=float), EPS, None)
    return float(np.sum((o - e) * np.log(o / e)))


def missing_share(values: pa.Array | pa.ChunkedArray | np.ndarray) -> float:
    """The share of missing values (NaN or null)."""
    n = len(values)
    if n == 0:
        return 0.0
    if isinstance(values, np.ndarray) and values.dtype.kind == "f":
        return float(np.isnan(values).mean())
    col = _column(values)
    if pa.types.is_floating(col.type):
        return float(np.isnan(numeric_values(col)).mean())
    return col.null_count / n
