"""A person's records in the event store, and their score recomputed without some of them.

The store is append-only and never edited by the service. To score a person "without" a
disputed record, the contract tables are exposed through views of a read-only attachment
of the store that leave those rows out (found by lineage: ``_batch_id, _file_id, _row``),
and the person's feature row is rebuilt there with the very code ``openbureau score`` runs,
under the pack the version was scored with, then scored with the version's model.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from openbureau.contract import TABLES, TABLES_BY_NAME

FACTORS = ("history", "behavior", "capacity", "identity", "network")
# Every table a person's own rows live in, but the file itself (``people``): disputing
# that is asking to be deleted, which is not a dispute of a record.
DISPUTABLE: tuple[str, ...] = tuple(t.name for t in TABLES if t.name != "people")


class RecordError(LookupError):
    """A record that cannot be found, is not the person's, or a store that cannot be read."""


@dataclass(frozen=True)
class Lineage:
    table: str
    batch_id: int
    file_id: int
    row: int

    def as_dict(self) -> dict[str, int]:
        return {"batch_id": self.batch_id, "file_id": self.file_id, "row": self.row}


@dataclass(frozen=True)
class Record:
    lineage: Lineage
    key: dict[str, Any]
    values: dict[str, Any]


def _owner(table: str) -> str:
    """SQL (one ``?`` per person placeholder, see ``_owner_params``) selecting the person's rows."""
    names = TABLES_BY_NAME[table].field_names
    if "person_id" in names:
        return "person_id = $person"
    if table == "repayments":
        return "account_id IN (SELECT account_id FROM src.main.accounts WHERE person_id = $person)"
    if table == "relationships":
        return "(person_a = $person OR person_b = $person)"
    raise RecordError(f"table {table!r} has no link to a person")  # pragma: no cover


def _json(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


@contextmanager
def attached(store: Path, exclude: Iterable[Lineage] = ()) -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory DuckDB whose contract tables are views of the store minus ``exclude``."""
    db = Path(store) / "openbureau.duckdb"
    if not db.is_file():
        raise RecordError(f"the event store is not available to the service (no {db})")
    con = duckdb.connect(config={"memory_limit": "1GB", "threads": 2})
    try:
        path = str(db.resolve()).replace("'", "''")
        try:
            con.execute(f"ATTACH '{path}' AS src (READ_ONLY)")
        except duckdb.Error as exc:
            raise RecordError(f"the event store cannot be read now: {exc}") from None
        dropped: dict[str, list[Lineage]] = {}
        for lin in exclude:
            dropped.setdefault(lin.table, []).append(lin)
        for t in TABLES:
            where = " AND ".join(
                f"NOT (_batch_id = {int(x.batch_id)} AND _file_id = {int(x.file_id)} "
                f"AND _row = {int(x.row)})"
                for x in dropped.get(t.name, [])
            )
            con.execute(
                f'CREATE VIEW "{t.name}" AS SELECT * FROM src.main."{t.name}"'
                + (f" WHERE {where}" if where else "")
            )
        yield con
    finally:
        con.close()


def _fetch(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any]) -> list[dict]:
    cur = con.execute(sql, params)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def _record(table: str, row: dict[str, Any]) -> Record:
    t = TABLES_BY_NAME[table]
    values = {k: _json(row[k]) for k in t.field_names}
    return Record(
        Lineage(table, int(row["_batch_id"]), int(row["_file_id"]), int(row["_row"])),
        {k: values[k] for k in t.key},
        values,
    )


def find_record(
    store: Path,
    person_id: str,
    table: str,
    key: dict[str, Any] | None = None,
    lineage: dict[str, int] | None = None,
) -> Record:
    """The person's one record named by its key or its lineage; RecordError if there is none."""
    if table not in DISPUTABLE:
        raise RecordError(
            f"records of table {table!r} cannot be disputed; tables: {', '.join(DISPUTABLE)}"
        )
    t = TABLES_BY_NAME[table]
    params: dict[str, Any] = {"person": person_id}
    conds = [_owner(table)]
    if lineage is not None:
        for i, col in enumerate(("batch_id", "file_id", "row")):
            conds.append(f"_{col} = $l{i}")
            params[f"l{i}"] = int(lineage[col])
    if key is not None:
        missing = [k for k in t.key if k not in key]
        extra = [k for k in key if k not in t.key]
        if missing or extra:
            raise RecordError(
                f"the key of table {table!r} is ({', '.join(t.key)}); "
                + (f"missing {missing}" if missing else f"unknown {extra}")
            )
        for i, k in enumerate(t.key):
            conds.append(f'CAST("{k}" AS VARCHAR) = $k{i}')
            params[f"k{i}"] = str(key[k])
    with attached(store) as con:
        rows = _fetch(con, f'SELECT * FROM src.main."{table}" WHERE {" AND ".join(conds)}', params)
    if not rows:
        raise RecordError(f"you have no record in {table!r} with that key or lineage")
    return _record(table, rows[0])


def person_records(store: Path, person_id: str) -> dict[str, list[Record]]:
    """Every row of the store about the person, by table (the file itself included)."""
    out: dict[str, list[Record]] = {}
    with attached(store) as con:
        for t in TABLES:
            owner = "person_id = $person" if t.name == "people" else _owner(t.name)
            rows = _fetch(
                con, f'SELECT * FROM src.main."{t.name}" WHERE {owner}', {"person": person_id}
            )
            out[t.name] = [_record(t.name, r) for r in rows]
    return out


@dataclass(frozen=True)
class Rescored:
    score: float
    subscores: dict[str, float]
    reasons: list[dict[str, Any]]
    input_hash: str
    features: list[Any]  # the feature row, in the order of the version's feature columns


def feature_row(
    store: Path,
    person_id: str,
    as_of: dt.date,
    pack: Any,
    columns: list[str] | None,
    exclude: Iterable[Lineage],
) -> pa.Table:
    """The person's feature row as of ``as_of``, rebuilt from the store minus ``exclude``,
    with exactly the snapshot's columns (None: every column the pack keeps)."""
    from openbureau.features import build_features, feature_specs
    from openbureau.policy import drop_forbidden_columns

    spine = pa.table(
        {"person_id": pa.array([person_id], pa.string()), "as_of": pa.array([as_of], pa.date32())}
    )
    with attached(store, exclude) as con:
        features = build_features(con, spine, params=pack.feature_params())
    features = drop_forbidden_columns(features, {s.name: s.factor for s in feature_specs()}, pack)
    if features.num_rows != 1:
        raise RecordError(f"the store holds no file for person {person_id!r} as of {as_of}")
    return features if columns is None else features.select(["person_id", "as_of", *columns])


def rescore(
    model: Any,
    store: Path,
    person_id: str,
    as_of: dt.date,
    pack: Any,
    columns: list[str] | None,
    max_reasons: int,
    exclude: Iterable[Lineage] = (),
) -> Rescored:
    """The person's score as of ``as_of`` with the records in ``exclude`` left out."""
    from openbureau.features import feature_specs
    from openbureau.service.replay import _recompute

    X = feature_row(store, person_id, as_of, pack, columns, exclude)
    out = _recompute(model, X, max_reasons)
    factor_of = {s.name: s.factor for s in feature_specs()}
    return Rescored(
        score=float(out["score"]),
        subscores={f: float(out[f"points_{f}"]) for f in FACTORS},
        reasons=[
            {"code": c, "factor": factor_of.get(c, "unknown"), "text": t, "points": p}
            for c, t, p in out["reasons"]
        ],
        input_hash=str(out["input_hash"]),
        features=[_json(v) for v in X.drop_columns(["person_id", "as_of"]).to_pylist()[0].values()],
    )
