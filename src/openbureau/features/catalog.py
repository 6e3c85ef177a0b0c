"""The catalog: every feature spec in a fixed order, the groups that compute them, a version.

The order is the column order of every feature matrix (factor by factor), so models and
explanations can rely on it. The version hashes each declaration and the SQL Ibis compiles
for each group, so it changes exactly when a definition does, and a score can name the
feature definitions it was computed with.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict

import ibis
import ibis.expr.types as ir

from openbureau.contract import FACTORS
from openbureau.features import behavior, capacity, history, identity, network
from openbureau.features.frame import Frame, contract_tables, frame_spine
from openbureau.features.matrix import assemble
from openbureau.features.spec import (
    DERIVED,
    KEYS,
    FeatureGroup,
    FeatureParams,
    FeatureSpec,
)
from openbureau.features.sqlcache import cached_text
from openbureau.network.config import NETWORK_VERSION

_MODULES = {
    "history": history,
    "behavior": behavior,
    "capacity": capacity,
    "identity": identity,
    "network": network,
}
GROUPS: tuple[FeatureGroup, ...] = tuple(g for m in _MODULES.values() for g in m.GROUPS)
CATALOG: tuple[FeatureSpec, ...] = tuple(
    spec for f in FACTORS for m in _MODULES.values() for spec in m.SPECS if spec.factor == f
)
# The SQL dialect the version is compiled in; any dialect would do, it only has to be fixed.
_VERSION_DIALECT = "duckdb"


def feature_specs() -> tuple[FeatureSpec, ...]:
    """Every feature spec, in the column order of the feature matrix."""
    return CATALOG


def feature_names(specs: Sequence[FeatureSpec] = CATALOG) -> list[str]:
    return [s.name for s in specs]


def unbound_spine() -> ir.Table:
    return ibis.table({"person_id": "!string", "as_of": "!date"}, name="spine")


def unbound_frame(params: FeatureParams) -> Frame:
    """The frame over unbound tables: what a definition is, whatever backend runs it."""
    tables = contract_tables()
    return Frame.of(frame_spine(tables, unbound_spine()), tables, params)


def catalog_problems(
    specs: Sequence[FeatureSpec] = CATALOG, groups: Sequence[FeatureGroup] = GROUPS
) -> list[str]:
    """What is inconsistent between specs and groups (empty when the catalog is sound)."""
    problems = []
    names = [s.name for s in specs]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        problems.append(f"duplicate feature names: {dupes}")
    group_names = [g.name for g in groups]
    if len(set(group_names)) != len(group_names) or DERIVED in group_names:
        problems.append(f"group names must be unique and not {DERIVED!r}: {group_names}")
    frame = unbound_frame(FeatureParams())
    produced: dict[str, str] = {}
    for g in groups:
        columns = g.build(frame).columns
        missing = [k for k in KEYS if k not in columns]
        if missing:
            problems.append(f"group {g.name!r} does not return {missing}")
        for c in columns:
            if c in KEYS:
                continue
            if c in produced:
                problems.append(f"column {c!r} produced by {produced[c]!r} and {g.name!r}")
            produced[c] = g.name
    declared = {s.name: s for s in specs}
    for s in specs:
        if s.group != DERIVED and produced.get(s.name) != s.group:
            problems.append(f"feature {s.name!r}: group {s.group!r} does not produce it")
        if s.group == DERIVED and s.name in produced:
            problems.append(f"derived feature {s.name!r} is also produced by a group")
    for column, group in produced.items():
        if not column.startswith("_") and column not in declared:
            problems.append(f"group {group!r} produces {column!r}, which no spec declares")
    return problems


@functools.cache
def check_catalog() -> None:
    """Raise if the built-in catalog is inconsistent (checked once per process)."""
    problems = catalog_problems()
    if problems:
        raise RuntimeError("feature catalog is inconsistent: " + "; ".join(problems))


def catalog_version(
    params: FeatureParams | None = None,
    *,
    specs: Sequence[FeatureSpec] | None = None,
    groups: Sequence[FeatureGroup] | None = None,
) -> str:
    """A stable 16-hex-digit hash of every spec, the params, and the SQL of each group.

    >>> catalog_version() == catalog_version()
    True
    """
    params = params or FeatureParams()
    if specs is None and groups is None:
        return _default_version(params)
    return _version(tuple(specs or CATALOG), tuple(groups or GROUPS), params)


@functools.cache
def _default_version(params: FeatureParams) -> str:
    # The built-in catalog's version only changes with the code: cached on disk per code.
    return cached_text("catalog-version", lambda: _version(CATALOG, GROUPS, params), params)


def _version(
    specs: tuple[FeatureSpec, ...], groups: tuple[FeatureGroup, ...], params: FeatureParams
) -> str:
    frame = unbound_frame(params)
    payload = {
        "specs": [s.record() for s in specs],
        "params": asdict(params),  # the NetworkConfig included
        "network_code": NETWORK_VERSION,
        "groups": {g.name: _sql(g.build(frame)) for g in groups},
        "matrix": _sql(assemble(frame, specs, groups)),
    }
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def _sql(expr: ir.Table) -> str:
    return str(ibis.to_sql(expr, dialect=_VERSION_DIALECT))
