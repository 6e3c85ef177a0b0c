"""Building blocks of the data contract: a typed field and a table.

The contract is declared once in Python so that the Arrow schemas, the ingest
validation rules, the simulator output and the data-contract page all come from
one source and cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pyarrow as pa

Kind = Literal["string", "int", "float", "bool", "date", "timestamp"]

ARROW_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "int": pa.int64(),
    "float": pa.float64(),
    "bool": pa.bool_(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us"),
}

# DuckDB types used when a staged value is cast during validation.
DUCKDB_TYPES: dict[str, str] = {
    "string": "VARCHAR",
    "int": "BIGINT",
    "float": "DOUBLE",
    "bool": "BOOLEAN",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
}


@dataclass(frozen=True)
class Field:
    """One column of a contract table, with every rule ingest enforces on it."""

    name: str
    kind: Kind
    description: str
    required: bool = True
    enum: tuple[str, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    not_in_future: bool = False
    references: str | None = None  # "table.column" that must already exist
    example: str = ""

    def __post_init__(self) -> None:
        if self.kind not in ARROW_TYPES:
            raise ValueError(f"field {self.name!r}: unknown kind {self.kind!r}")
        if self.enum is not None and self.kind != "string":
            raise ValueError(f"field {self.name!r}: enums must be strings")
        if self.references is not None and "." not in self.references:
            raise ValueError(f"field {self.name!r}: references must be 'table.column'")

    @property
    def arrow_type(self) -> pa.DataType:
        return ARROW_TYPES[self.kind]

    @property
    def duckdb_type(self) -> str:
        return DUCKDB_TYPES[self.kind]


@dataclass(frozen=True)
class Check:
    """A rule across two fields of a row, e.g. ``closed >= opened``."""

    name: str
    sql: str  # a boolean SQL expression over typed columns; NULL counts as passing
    field: str  # the field blamed when the rule fails
    message: str


@dataclass(frozen=True)
class Table:
    """A contract table: its fields, primary key and cross-field rules."""

    name: str
    factor: str
    description: str
    fields: tuple[Field, ...]
    key: tuple[str, ...]
    checks: tuple[Check, ...] = field(default=())

    def __post_init__(self) -> None:
        names = [f.name for f in self.fields]
        if len(set(names)) != len(names):
            raise ValueError(f"table {self.name!r}: duplicate field names")
        missing = [k for k in self.key if k not in names]
        if missing:
            raise ValueError(f"table {self.name!r}: key fields {missing} are not fields")

    @property
    def schema(self) -> pa.Schema:
        """The Arrow schema every accepted row of this table conforms to."""
        return pa.schema(
            [pa.field(f.name, f.arrow_type, nullable=not f.required) for f in self.fields]
        )

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields if f.required)

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(f"table {self.name!r} has no field {name!r}")

    @property
    def references(self) -> tuple[str, ...]:
        """Names of the tables this one points to, i.e. which must be loaded first."""
        return tuple(dict.fromkeys(f.references.split(".")[0] for f in self.fields if f.references))
