"""Turning numpy columns into contract-typed Arrow arrays, ids included, without Python loops."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from openbureau.contract import get_table
from openbureau.sim.calendar import DAY_US


def digits(values: np.ndarray, width: int) -> pa.Array:
    """Zero-padded decimal strings of non-negative integers."""
    s = pc.cast(pa.array(np.asarray(values, dtype=np.int64)), pa.string())
    return pc.utf8_lpad(s, width=width, padding="0")


def person_ids(index: np.ndarray, width: int) -> pa.Array:
    """``P00000001`` for person index 0: ids count from one like a registry's."""
    return pc.binary_join_element_wise("P", digits(np.asarray(index) + 1, width), "")


def child_ids(
    prefix: str, owner_ids: pa.Array, owner: np.ndarray, seq: np.ndarray, seq_width: int
) -> pa.Array:
    """Ids such as ``A00000001-01``: the owner's digits, a dash, a per-owner sequence number.

    The dash keeps ids unique even when a sequence outgrows its padding.
    """
    owners = pc.utf8_slice_codeunits(owner_ids.take(pa.array(owner)), 1)
    return pc.binary_join_element_wise(prefix, owners, "-", digits(seq, seq_width), "")


def enum(values: Sequence[str], codes: np.ndarray) -> pa.Array:
    """Strings of an enum from integer codes."""
    return pa.array(list(values), pa.string()).take(pa.array(np.asarray(codes, dtype=np.int32)))


def dates(days: np.ndarray, null: np.ndarray | None = None) -> pa.Array:
    return pa.array(np.asarray(days, dtype=np.int32), pa.date32(), mask=null)


def floats(values: np.ndarray, null: np.ndarray | None = None, decimals: int = 2) -> pa.Array:
    return pa.array(np.round(np.asarray(values, dtype=np.float64), decimals), mask=null)


def timestamps(days: np.ndarray, seconds: np.ndarray) -> pa.Array:
    us = np.asarray(days, np.int64) * DAY_US + np.asarray(seconds, np.int64) * 1_000_000
    return pa.array(us, pa.timestamp("us"))


def table(name: str, columns: dict[str, pa.Array | np.ndarray]) -> pa.Table:
    """A table with exactly the contract schema of ``name`` (names, order, types, nullability)."""
    schema = get_table(name).schema
    missing = set(schema.names) ^ set(columns)
    if missing:
        raise ValueError(f"{name}: columns do not match the contract: {sorted(missing)}")
    return build(schema, columns)


def build(schema: pa.Schema, columns: dict[str, pa.Array | np.ndarray]) -> pa.Table:
    """A table of ``schema`` from numpy or Arrow columns, cast where types differ."""
    arrays = []
    for f in schema:
        col = columns[f.name]
        arr = col if isinstance(col, pa.Array) else pa.array(col)
        arrays.append(arr if arr.type == f.type else arr.cast(f.type))
    return pa.Table.from_arrays(arrays, schema=schema)
