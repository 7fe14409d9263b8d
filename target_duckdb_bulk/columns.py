"""JSON Schema property -> DuckDB column type, the mapping target-duckdb 0.8.0 used.

Existing warehouses (and the dbt models reading them) were built by target-duckdb 0.8.0:
objects and arrays are JSON, ``date-time`` is TIMESTAMP (UTC, no time zone), integers
HUGEINT unless a ``maximum`` says smaller, numbers DOUBLE, an integer-or-string VARCHAR.
Column names are the property names lower-cased, always quoted.
"""

from __future__ import annotations

from typing import Any


def _types(prop: dict[str, Any]) -> set[str]:
    raw = prop.get("type", [])
    types = {raw} if isinstance(raw, str) else set(raw)
    for alternative in prop.get("anyOf", []) or []:
        types |= _types(alternative)
    return types


def _format(prop: dict[str, Any]) -> str | None:
    if prop.get("format"):
        return str(prop["format"])
    for alternative in prop.get("anyOf", []) or []:
        if alternative.get("format"):
            return str(alternative["format"])
    return None


def column_type(prop: dict[str, Any]) -> str:
    types, fmt = _types(prop), _format(prop)
    if "object" in types or "array" in types:
        return "JSON"
    if fmt == "date-time":
        return "TIMESTAMP"
    if fmt == "time":
        return "TIME"
    if "number" in types:
        return "DOUBLE"
    if "integer" in types and "string" in types:
        return "VARCHAR"
    if "integer" in types:
        maximum = prop.get("maximum")
        if maximum is None:
            return "HUGEINT"
        if maximum <= 32767:
            return "SMALLINT"
        if maximum <= 2147483647:
            return "INTEGER"
        return "BIGINT"
    if "boolean" in types:
        return "BOOLEAN"
    return "VARCHAR"


def column_name(prop_name: str) -> str:
    return prop_name.lower()


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def read_type(sql_type: str) -> str:
    """How a column is read from JSON before it is cast into the table: date-times and
    times as text (cast explicitly, so that an offset is applied, not dropped)."""
    return "VARCHAR" if sql_type in ("TIMESTAMP", "TIME") else sql_type


def cast_expr(expr: str, sql_type: str) -> str:
    """``expr`` (as read by :func:`read_type`) converted to the column's type. A date-time
    with an offset becomes UTC (the session time zone is UTC), as the target-duckdb tables
    hold naive UTC timestamps."""
    if sql_type == "TIMESTAMP":
        return f"CAST(CAST({expr} AS TIMESTAMPTZ) AS TIMESTAMP)"
    if sql_type == "TIME":
        return f"CAST({expr} AS TIME)"
    return expr
