"""Turn a pyarrow Table, pandas DataFrame, mapping or numpy array into the model's arrays.

Scoring works feature by feature, so the matrix is laid out one row per feature (J, n):
each feature's values are contiguous. Segments become integer codes; an unknown segment
is an error, never a silent default.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

ALL_SEGMENT = "all"


@dataclass(frozen=True)
class Frame:
    """Features as (J, n) float64, NaN = missing, and each row's segment code."""

    values: np.ndarray
    segment: np.ndarray
    had_names: bool

    @property
    def n_rows(self) -> int:
        return int(self.segment.shape[0])


def _is_pandas(X: object) -> bool:
    return type(X).__module__.startswith("pandas") and hasattr(X, "columns")


def column_names(X: object) -> list[str] | None:
    """The column names of X, or None when X carries none (a numpy array)."""
    if isinstance(X, pa.Table | pa.RecordBatch):
        return list(X.column_names)
    if _is_pandas(X):
        cols = list(X.columns)  # type: ignore[attr-defined]
        # like scikit-learn: only all-string column labels are names
        return cols if all(isinstance(c, str) for c in cols) else None
    if isinstance(X, Mapping):
        return [str(k) for k in X]
    return None


def _segments_from_strings(raw: object, segments: Sequence[str], column: str) -> np.ndarray:
    arr = raw if isinstance(raw, pa.Array | pa.ChunkedArray) else pa.array(np.asarray(raw))
    if pa.types.is_dictionary(arr.type):
        arr = arr.cast(arr.type.value_type)
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        raise TypeError(f"column {column!r} must hold strings {tuple(segments)}, got {arr.type}")
    codes = pc.index_in(arr, value_set=pa.array(list(segments), type=arr.type))
    if codes.null_count:
        bad = pc.unique(pc.filter(arr, pc.is_null(codes))).to_pylist()[:5]
        raise ValueError(f"column {column!r} holds unknown segment(s) {bad}; allowed: {segments}")
    return np.asarray(codes.to_numpy(zero_copy_only=False), dtype=np.intp)


def _float_column(col: object, name: str) -> np.ndarray:
    if isinstance(col, pa.ChunkedArray | pa.Array):
        if not (
            pa.types.is_floating(col.type)
            or pa.types.is_integer(col.type)
            or pa.types.is_boolean(col.type)
            or pa.types.is_null(col.type)
        ):
            raise TypeError(f"feature {name!r} must be numeric, got {col.type}")
        col = col.cast(pa.float64())
        return np.asarray(col.to_numpy(zero_copy_only=False), dtype=np.float64)
    try:
        return np.asarray(col, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"feature {name!r} must be numeric: {exc}") from None


def to_frame(
    X: object, names: Sequence[str], segments: Sequence[str], segment_column: str
) -> Frame:
    """Select ``names`` from X by name (or by position for arrays) and code the segments."""
    cols = column_names(X)
    single = len(segments) == 1 and segments[0] == ALL_SEGMENT
    if cols is None:
        arr = np.asarray(X)
        if arr.dtype == object or not np.issubdtype(arr.dtype, np.number):
            try:
                arr = arr.astype(np.float64)
            except (TypeError, ValueError) as exc:
                raise TypeError(f"X must be numeric: {exc}") from None
        if arr.ndim != 2:
            raise ValueError(f"X must be 2-dimensional, got shape {arr.shape}")
        if arr.shape[1] != len(names):
            raise ValueError(
                f"X has {arr.shape[1]} features, but the model is expecting "
                f"{len(names)} features as input"
            )
        if not single:
            raise ValueError(
                f"a numpy array carries no {segment_column!r} column; pass a Table or "
                "DataFrame for a model fitted with segments"
            )
        values = np.ascontiguousarray(arr.T, dtype=np.float64)
        return Frame(values, np.zeros(arr.shape[0], np.intp), False)
    missing = [n for n in names if n not in cols]
    if missing:
        raise ValueError(f"X lacks feature column(s) {missing[:10]}")
    get = X.column if isinstance(X, pa.Table | pa.RecordBatch) else X.__getitem__  # type: ignore[attr-defined]
    if isinstance(X, pa.Table | pa.RecordBatch):
        n = X.num_rows
    elif isinstance(X, Mapping):  # one person as {name: value} or columns as {name: values}
        n = np.asarray(X[names[0]]).reshape(-1).shape[0] if names else 0
    else:
        n = len(X)  # type: ignore[arg-type]
    values = np.empty((len(names), n), dtype=np.float64)
    for j, name in enumerate(names):
        col = _float_column(get(name), name)
        if col.shape[0] != n:
            raise ValueError(f"feature {name!r} has {col.shape[0]} values for {n} rows")
        values[j] = col
    if single:
        seg = np.zeros(n, np.intp)
    elif segment_column not in cols:
        raise ValueError(f"X lacks the segment column {segment_column!r}")
    else:
        raw = get(segment_column)
        if _is_pandas(X):
            raw = pa.array(raw.astype(object).to_numpy(), type=pa.string(), from_pandas=True)
        elif isinstance(X, Mapping):
            raw = pa.array(np.asarray(raw, dtype=object).reshape(-1), type=pa.string())
        seg = _segments_from_strings(raw, segments, segment_column)
    return Frame(values, seg, True)


def has_column(X: object, name: str) -> bool:
    cols = column_names(X)
    return cols is not None and name in cols
