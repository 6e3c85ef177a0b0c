"""How a row of each contract table reaches a person, read from the contract's references.

A column referencing ``people.person_id`` (or the people table's own key) names the
person directly; a column referencing another table's key reaches the person through that
table (a repayment's ``account_id`` through ``accounts.person_id``). Used wherever work is
done for some people only (incremental re-scoring: whose inputs changed; the catalog on a
subset of people: whose rows to read). A table that reaches no person is an error, so a
new contract table cannot be silently ignored.
"""

from __future__ import annotations

from dataclasses import dataclass

from openbureau.contract.schema import Table
from openbureau.contract.tables import TABLES_BY_NAME

PERSON_REF = "people.person_id"


@dataclass(frozen=True)
class PersonLink:
    """``column`` of the table names the person, or (with ``via``) names a row of table
    ``via`` by its key ``via_key``, whose ``via_person`` column names the person."""

    column: str
    via: str | None = None
    via_key: str | None = None
    via_person: str | None = None


def person_links(table: Table) -> tuple[PersonLink, ...]:
    """Every way a row of ``table`` names a person (a relationship names two)."""
    direct = tuple(
        PersonLink(f.name)
        for f in table.fields
        if f.references == PERSON_REF or (table.name == "people" and f.name == "person_id")
    )
    if direct:
        return direct
    links = []
    for f in table.fields:
        if not f.references:
            continue
        parent_name, key = f.references.split(".")
        parent = TABLES_BY_NAME[parent_name]
        person = next((p.name for p in parent.fields if p.references == PERSON_REF), None)
        if person is not None:
            links.append(PersonLink(f.name, parent_name, key, person))
    if not links:
        raise ValueError(
            f"contract table {table.name} reaches no person (no column references "
            f"{PERSON_REF} or a table that does)"
        )
    return tuple(links)


def rows_of_people_sql(table: Table, people: str, where: str = "TRUE") -> str:
    """SQL selecting the contract columns of ``table``'s rows (alias ``t``) that reach a
    person in the relation ``people`` (a column ``person_id``) and satisfy ``where``."""
    columns = ", ".join(f't."{f.name}"' for f in table.fields)
    reach = []
    for link in person_links(table):
        if link.via is None:
            reach.append(f't."{link.column}" IN (SELECT person_id FROM {people})')
        else:
            reach.append(
                f't."{link.column}" IN (SELECT p."{link.via_key}" FROM "{link.via}" p '
                f'WHERE p."{link.via_person}" IN (SELECT person_id FROM {people}))'
            )
    return f'SELECT {columns} FROM "{table.name}" t WHERE ({" OR ".join(reach)}) AND ({where})'


def person_ids_sql(table: Table, where: str) -> list[str]:
    """SQL selecting ``person_id`` for each way a row of ``table`` (alias ``t``) that
    satisfies ``where`` names a person."""
    paths = []
    for link in person_links(table):
        cond = f'({where}) AND t."{link.column}" IS NOT NULL'
        if link.via is None:
            paths.append(
                f'SELECT t."{link.column}" AS person_id FROM "{table.name}" t WHERE {cond}'
            )
        else:
            paths.append(
                f'SELECT p."{link.via_person}" AS person_id FROM "{table.name}" t '
                f'JOIN "{link.via}" p ON p."{link.via_key}" = t."{link.column}" WHERE {cond}'
            )
    return paths
