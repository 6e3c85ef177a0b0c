"""Validation of a staged file as one SQL query run inside DuckDB, generated from the contract.

Every rule is a vectorised condition, so a file of millions of rows is checked in the
engine without a Python loop. The error list (field, reason, message) and the raw
row as JSON are built only for rows that fail a rule: for a clean file that work is
skipped entirely. Two stages: each value on its own (types, required, enums, ranges,
dates, cross-field checks), then keys and references, where only rows that passed the
first stage may claim a key.

The staged file is registered as ``stage`` with every column renamed ``r$<name>``, so
typed values can take the contract names the cross-field checks are written in.
"""

from __future__ import annotations

from dataclasses import dataclass

from openbureau.contract import Field, Table
from openbureau.ingest.readers import ROW

KIND_WORDS = {
    "string": "text",
    "int": "whole number",
    "float": "number",
    "bool": "true/false",
    "date": "date (YYYY-MM-DD)",
    "timestamp": "timestamp (YYYY-MM-DD hh:mm:ss)",
}
RAW_PREFIX = "r$"


def q(name: str) -> str:
    """Quote an identifier for DuckDB."""
    return '"' + name.replace('"', '""') + '"'


def lit(text: str) -> str:
    """Quote a string literal for DuckDB."""
    return "'" + text.replace("'", "''") + "'"


def raw_name(column: str) -> str:
    return RAW_PREFIX + column


@dataclass(frozen=True)
class Rule:
    """A failing condition and the error it produces (message is a SQL expression)."""

    condition: str
    field: str
    reason: str
    message: str

    def error_sql(self) -> str:
        return (
            f"CASE WHEN {self.condition} THEN {{'field': {lit(self.field)}, "
            f"'reason': {lit(self.reason)}, 'message': {self.message}}} END"
        )


def _raw_text(f: Field, staged_types: dict[str, str]) -> str:
    """The staged value as trimmed text, NULL when empty or absent."""
    if f.name not in staged_types:
        return "CAST(NULL AS VARCHAR)"
    col = q(raw_name(f.name))
    if staged_types[f.name] == "VARCHAR":
        return f"NULLIF(TRIM({col}), '')"
    return f"CAST({col} AS VARCHAR)"


def _typed(f: Field, staged_types: dict[str, str]) -> str:
    if f.name not in staged_types:
        return f"CAST(NULL AS {f.duckdb_type})"
    col = q(raw_name(f.name))
    if staged_types[f.name] != "VARCHAR":
        return f"TRY_CAST({col} AS {f.duckdb_type})"
    raw = _raw_text(f, staged_types)
    if f.kind == "int":  # DuckDB would round '12.5' to 13; a count must be whole
        return (
            f"CASE WHEN regexp_full_match({raw}, '[+-]?[0-9]+(\\.0*)?') "
            f"THEN TRY_CAST(TRY_CAST({raw} AS DOUBLE) AS BIGINT) END"
        )
    if f.enum is not None:
        return f"lower({raw})"
    if f.kind == "string":
        return raw
    return f"TRY_CAST({raw} AS {f.duckdb_type})"


def _is_missing(f: Field, staged_types: dict[str, str]) -> str:
    if f.name not in staged_types:
        return "true"
    if staged_types[f.name] == "VARCHAR":
        return f"NULLIF(TRIM({q(raw_name(f.name))}), '') IS NULL"
    return f"{q(raw_name(f.name))} IS NULL"


def _value_rules(f: Field, staged_types: dict[str, str]) -> list[Rule]:
    name, typed = f.name, q(f.name)
    raw = _raw_text(f, staged_types)
    missing = _is_missing(f, staged_types)
    rules = []
    if f.required:
        rules.append(Rule(missing, name, "missing_value", lit(f"{name} is empty; it is required")))
    if f.name not in staged_types:
        return rules
    rules.append(
        Rule(
            f"NOT ({missing}) AND {typed} IS NULL",
            name,
            "wrong_type",
            f"concat({lit(name + ': ')}, to_json({raw}), {lit(' is not a ' + KIND_WORDS[f.kind])})",
        )
    )
    if f.kind == "float":
        rules.append(
            Rule(
                f"(isnan({typed}) OR isinf({typed}))",
                name,
                "wrong_type",
                f"concat({lit(name + ': ')}, to_json({raw}), ' is not a finite number')",
            )
        )
    if f.minimum is not None:
        rules.append(
            Rule(
                f"{typed} < {f.minimum}",
                name,
                "negative_amount" if f.minimum == 0 else "out_of_range",
                f"concat({lit(name + ' is ')}, CAST({typed} AS VARCHAR), "
                f"{lit(', below the minimum ' + format(f.minimum, 'g'))})",
            )
        )
    if f.maximum is not None:
        rules.append(
            Rule(
                f"{typed} > {f.maximum}",
                name,
                "out_of_range",
                f"concat({lit(name + ' is ')}, CAST({typed} AS VARCHAR), "
                f"{lit(', above the maximum ' + format(f.maximum, 'g'))})",
            )
        )
    if f.enum is not None:
        allowed = ", ".join(lit(v) for v in f.enum)
        rules.append(
            Rule(
                f"{typed} NOT IN ({allowed})",
                name,
                "not_in_enum",
                f"concat({lit(name + ': ')}, to_json({raw}), "
                f"{lit(' is not one of ' + ', '.join(f.enum))})",
            )
        )
    if f.not_in_future:
        bound = "CAST($now AS DATE)" if f.kind == "date" else "$now"
        rules.append(
            Rule(
                f"{typed} > {bound}",
                name,
                "future_date",
                f"concat({lit(name + ' ')}, CAST({typed} AS VARCHAR), "
                f"' is in the future (ingest time ', CAST($now AS VARCHAR), ')')",
            )
        )
    return rules


def _key_rules(table: Table) -> tuple[list[Rule], list[str]]:
    """Duplicate-key and reference rules, and the joins they need."""
    keys = [q(k) for k in table.key]
    key_list = ", ".join(keys)
    key_shown = " || ', ' || ".join(
        f"{lit(k + '=')} || coalesce(CAST(v.{q(k)} AS VARCHAR), 'NULL')" for k in table.key
    )
    joins = [
        # only the keys that occur twice among valid rows; usually none, so this stays cheap
        f"LEFT JOIN (SELECT {key_list}, min({q(ROW)}) AS _first_row FROM valued WHERE NOT _bad "
        f"GROUP BY ALL HAVING count(*) > 1) dup USING ({key_list})",
        f"LEFT JOIN (SELECT {key_list}, min(_batch_id) AS _stored_batch FROM {q(table.name)} "
        f"SEMI JOIN valued USING ({key_list}) GROUP BY ALL) stored USING ({key_list})",
    ]
    rules = [
        Rule(
            f"NOT v._bad AND v.{q(ROW)} > dup._first_row",
            table.key[-1],
            "duplicate_key",
            f"concat('duplicate key (', {key_shown}, '): same key as row ', "
            "CAST(dup._first_row AS VARCHAR), ' of this file')",
        ),
        Rule(
            "stored._stored_batch IS NOT NULL",
            table.key[-1],
            "duplicate_key",
            f"concat('duplicate key (', {key_shown}, '): already stored by batch ', "
            "CAST(stored._stored_batch AS VARCHAR))",
        ),
    ]
    for i, f in enumerate(f for f in table.fields if f.references):
        assert f.references is not None
        ref_table, ref_col = f.references.split(".")
        alias = f"ref{i}"
        joins.append(
            f"LEFT JOIN (SELECT DISTINCT {q(ref_col)} AS _k, true AS _found "
            f"FROM {q(ref_table)}) {alias} ON {alias}._k = v.{q(f.name)}"
        )
        rules.append(
            Rule(
                f"v.{q(f.name)} IS NOT NULL AND {alias}._found IS NULL",
                f.name,
                "unknown_reference",
                f"concat('dangling reference: {f.name} ', to_json(v.{q(f.name)}), "
                f"' is not in {ref_table}')",
            )
        )
    return rules, joins


def _any(rules: list[Rule]) -> str:
    return " OR ".join(f"coalesce({r.condition}, false)" for r in rules) or "false"


def _errors(rules: list[Rule]) -> str:
    return f"list_filter([{', '.join(r.error_sql() for r in rules)}], lambda e: e IS NOT NULL)"


def validation_query(table: Table, staged_types: dict[str, str]) -> str:
    """The query of the validated file: typed fields, ``_row``, and for failing rows
    ``_all_errors`` (a non-empty list) and ``_raw`` (the staged row as JSON)."""
    value_rules = [r for f in table.fields for r in _value_rules(f, staged_types)]
    value_rules += [
        Rule(f"NOT ({c.sql})", c.field, "failed_check", lit(c.message)) for c in table.checks
    ]
    key_rules, joins = _key_rules(table)
    typed_cols = ", ".join(f"{_typed(f, staged_types)} AS {q(f.name)}" for f in table.fields)
    raw_cols = ", ".join(q(raw_name(c)) for c in staged_types)
    raw_json = ", ".join(f"{q(c)} := v.{q(raw_name(c))}" for c in staged_types)
    failing = f"(v._bad OR {_any(key_rules)})"
    return f"""
WITH typed AS (
    SELECT {q(ROW)}, {raw_cols}, {typed_cols} FROM stage
), valued AS MATERIALIZED (
    SELECT *, {_any(value_rules)} AS _bad FROM typed
)
SELECT {", ".join(f"v.{q(f.name)}" for f in table.fields)}, v.{q(ROW)},
       CASE WHEN {failing}
            THEN list_concat({_errors(value_rules)}, {_errors(key_rules)}) END AS _all_errors,
       CASE WHEN {failing} THEN to_json(struct_pack({raw_json})) END AS _raw
FROM valued v
{chr(10).join(joins)}
"""


def insert_accepted_sql(table: Table) -> str:
    cols = ", ".join(q(f.name) for f in table.fields)
    return (
        f"INSERT INTO {q(table.name)} ({cols}, _batch_id, _file_id, _row) "
        f"SELECT {cols}, $batch, $file, {q(ROW)} FROM final WHERE _all_errors IS NULL"
    )


INSERT_QUARANTINE_SQL = """
INSERT INTO quarantine
SELECT $batch, $file, $table, $source, "_row",
       _all_errors[1].field, _all_errors[1].reason, _all_errors[1].message,
       to_json(_all_errors), _raw
FROM final WHERE _all_errors IS NOT NULL
"""

REASON_COUNTS_SQL = """
SELECT _all_errors[1].reason, count(*) FROM final WHERE _all_errors IS NOT NULL
GROUP BY 1 ORDER BY 2 DESC
"""
