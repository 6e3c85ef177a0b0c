"""Validation of a staged file as SQL run inside DuckDB, generated from the contract.

Every rule is a vectorised expression, so a file of millions of rows is checked in
the engine without a Python loop. Each row ends with a list of errors (field,
reason, message); an empty list means the row is accepted. Two passes: first each
value on its own (types, required, enums, ranges, dates, cross-field checks), then
keys and references, where only rows that passed the first pass may claim a key.
"""

from __future__ import annotations

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


def q(name: str) -> str:
    """Quote an identifier for DuckDB."""
    return '"' + name.replace('"', '""') + '"'


def lit(text: str) -> str:
    """Quote a string literal for DuckDB."""
    return "'" + text.replace("'", "''") + "'"


def _error(condition: str, field: str, reason: str, message_sql: str) -> str:
    return (
        f"CASE WHEN {condition} THEN {{'field': {lit(field)}, 'reason': {lit(reason)}, "
        f"'message': {message_sql}}} END"
    )


def _raw_text(f: Field, staged_types: dict[str, str]) -> str:
    """The staged value as trimmed text, NULL when empty or absent."""
    if f.name not in staged_types:
        return "CAST(NULL AS VARCHAR)"
    if staged_types[f.name] == "VARCHAR":
        return f"NULLIF(TRIM({q(f.name)}), '')"
    return f"CAST({q(f.name)} AS VARCHAR)"


def _typed(f: Field, staged_types: dict[str, str]) -> str:
    if f.name not in staged_types:
        return f"CAST(NULL AS {f.duckdb_type})"
    raw = _raw_text(f, staged_types)
    if staged_types[f.name] != "VARCHAR":
        return f"TRY_CAST({q(f.name)} AS {f.duckdb_type})"
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


def _value_errors(f: Field, staged_types: dict[str, str]) -> list[str]:
    name, raw, typed = f.name, q(f.name + "$raw"), q(f.name)
    errors = []
    if f.required:
        errors.append(
            _error(f"{raw} IS NULL", name, "missing_value", lit(f"{name} is empty; it is required"))
        )
    if f.name not in staged_types:
        return errors
    errors.append(
        _error(
            f"{raw} IS NOT NULL AND {typed} IS NULL",
            name,
            "wrong_type",
            f"concat({lit(name + ': ')}, to_json({raw}), {lit(' is not a ' + KIND_WORDS[f.kind])})",
        )
    )
    if f.kind == "float":
        errors.append(
            _error(
                f"(isnan({typed}) OR isinf({typed}))",
                name,
                "wrong_type",
                f"concat({lit(name + ': ')}, to_json({raw}), ' is not a finite number')",
            )
        )
    if f.minimum is not None:
        reason = "negative_amount" if f.minimum == 0 else "out_of_range"
        errors.append(
            _error(
                f"{typed} < {f.minimum}",
                name,
                reason,
                f"concat({lit(name + ' is ')}, CAST({typed} AS VARCHAR), "
                f"{lit(', below the minimum ' + format(f.minimum, 'g'))})",
            )
        )
    if f.maximum is not None:
        errors.append(
            _error(
                f"{typed} > {f.maximum}",
                name,
                "out_of_range",
                f"concat({lit(name + ' is ')}, CAST({typed} AS VARCHAR), "
                f"{lit(', above the maximum ' + format(f.maximum, 'g'))})",
            )
        )
    if f.enum is not None:
        allowed = ", ".join(lit(v) for v in f.enum)
        errors.append(
            _error(
                f"{typed} IS NOT NULL AND {typed} NOT IN ({allowed})",
                name,
                "not_in_enum",
                f"concat({lit(name + ': ')}, to_json({raw}), "
                f"{lit(' is not one of ' + ', '.join(f.enum))})",
            )
        )
    if f.not_in_future:
        bound = "CAST($now AS DATE)" if f.kind == "date" else "$now"
        errors.append(
            _error(
                f"{typed} > {bound}",
                name,
                "future_date",
                f"concat({lit(name + ' ')}, CAST({typed} AS VARCHAR), "
                f"' is in the future (ingest time ', CAST($now AS VARCHAR), ')')",
            )
        )
    return errors


def check_values_sql(table: Table, staged_types: dict[str, str]) -> str:
    """SQL creating temp table ``checked``: typed columns, raw JSON and first-pass errors."""
    typed_cols = [f"{_typed(f, staged_types)} AS {q(f.name)}" for f in table.fields]
    raw_cols = [f"{_raw_text(f, staged_types)} AS {q(f.name + '$raw')}" for f in table.fields]
    raw_json = ", ".join(f"{q(c)} := {q(c)}" for c in staged_types)
    errors = [e for f in table.fields for e in _value_errors(f, staged_types)]
    errors += [
        _error(f"NOT coalesce({c.sql}, true)", c.field, "failed_check", lit(c.message))
        for c in table.checks
    ]
    return f"""
CREATE OR REPLACE TEMP TABLE checked AS
WITH typed AS (
    SELECT {q(ROW)}, to_json(struct_pack({raw_json})) AS _raw,
           {", ".join(typed_cols + raw_cols)}
    FROM stage
)
SELECT *, list_filter([{", ".join(errors)}], lambda e: e IS NOT NULL) AS _errors
FROM typed
"""


def check_keys_sql(table: Table) -> str:
    """SQL creating temp table ``final``: adds duplicate-key and reference errors."""
    keys = [q(k) for k in table.key]
    key_list = ", ".join(keys)
    key_shown = " || ', ' || ".join(
        f"{lit(k + '=')} || coalesce(CAST({q(k)} AS VARCHAR), 'NULL')" for k in table.key
    )
    joins = [
        f"LEFT JOIN (SELECT {key_list}, min(_batch_id) AS _stored_batch FROM {q(table.name)} "
        f"SEMI JOIN checked USING ({key_list}) GROUP BY ALL) stored USING ({key_list})"
    ]
    extra = [
        _error(
            "_clean AND _dup_rank > 1",
            table.key[-1],
            "duplicate_key",
            f"concat('duplicate key (', {key_shown}, '): same key as row ', "
            "CAST(_first_row AS VARCHAR), ' of this file')",
        ),
        _error(
            "_stored_batch IS NOT NULL",
            table.key[-1],
            "duplicate_key",
            f"concat('duplicate key (', {key_shown}, '): already stored by batch ', "
            "CAST(_stored_batch AS VARCHAR))",
        ),
    ]
    for i, f in enumerate(f for f in table.fields if f.references):
        assert f.references is not None
        ref_table, ref_col = f.references.split(".")
        alias = f"ref{i}"
        joins.append(
            f"LEFT JOIN (SELECT DISTINCT {q(ref_col)} AS _k, true AS _found "
            f"FROM {q(ref_table)}) {alias} ON {alias}._k = c.{q(f.name)}"
        )
        extra.append(
            _error(
                f"c.{q(f.name)} IS NOT NULL AND {alias}._found IS NULL",
                f.name,
                "unknown_reference",
                f"concat('dangling reference: {f.name} ', to_json(c.{q(f.name)}), "
                f"' is not in {ref_table}')",
            )
        )
    return f"""
CREATE OR REPLACE TEMP TABLE final AS
WITH ranked AS (
    SELECT *, len(_errors) = 0 AS _clean,
           row_number() OVER (PARTITION BY {key_list}, len(_errors) = 0 ORDER BY {q(ROW)})
               AS _dup_rank,
           min({q(ROW)}) OVER (PARTITION BY {key_list}, len(_errors) = 0) AS _first_row
    FROM checked
)
SELECT c.*, list_concat(c._errors, list_filter([{", ".join(extra)}], lambda e: e IS NOT NULL))
           AS _all_errors
FROM ranked c
{chr(10).join(joins)}
"""


def insert_accepted_sql(table: Table) -> str:
    cols = ", ".join(q(f.name) for f in table.fields)
    return (
        f"INSERT INTO {q(table.name)} ({cols}, _batch_id, _file_id, _row) "
        f"SELECT {cols}, $batch, $file, {q(ROW)} FROM final WHERE len(_all_errors) = 0"
    )


INSERT_QUARANTINE_SQL = """
INSERT INTO quarantine
SELECT $batch, $file, $table, $source, "_row",
       _all_errors[1].field, _all_errors[1].reason, _all_errors[1].message,
       to_json(_all_errors), _raw
FROM final WHERE len(_all_errors) > 0
"""
