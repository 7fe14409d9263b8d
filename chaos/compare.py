"""Every mart, the raw layer and the coverage ledger checked against the sandbox's ground truth.

How a current-state mart row is judged equal to the vendor's record:

* ``_pa_version`` must be the sha256 of the truth record's canonical JSON. The tap derives it
  from the untouched payload, so this one comparison covers *every* field, undocumented
  ones and the PII the mart only holds hashed.
* Every top-level field of the truth - the contract's and every field the vendor added - is
  then checked against the mart's columns by its PII class (tap_partnerapi/contract.py):
  ``clear``: a column named as the field equals the truth's value (timestamps in the
  contract's string form, JSON columns as parsed JSON; null where the record never had the
  field); ``hashed``: only ``<field>_hash`` exists and holds ``sha256(salt ||
  lower(trim(value)))`` with the development salt the local dbt target uses (the address as
  ``line1|city|postal_code|country``, plus ``address_country`` in clear), never the field in
  clear; ``dropped``: neither column exists. A field the vendor added has its resource's
  ``new_field_class`` until classified; the mart's columns tell how it was classified (a
  column of its name: clear; ``<field>_hash``: hashed; neither: dropped, which only a
  resource whose new fields default to ``dropped`` may do). A cast or a merge that picked
  the wrong row shows up even when the version column is right.
* ``*_history`` marts hold a column for every field the current mart has, with the current
  mart's values on their current rows.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections import Counter, defaultdict
from typing import Any

import duckdb

from tap_partnerapi.contract import RESOURCES as CONTRACT

# resource -> (current mart, id column, deletable, history mart or None)
MARTS: dict[str, tuple[str, str, bool, str | None]] = {
    # The issue 16 acceptance: new fields reach customers_history too.
    "customers": ("customers", "id", True, "customers_history"),
    "plans": ("plans", "id", True, None),
    "subscriptions": ("subscriptions", "id", False, "subscriptions_history"),
    "invoices": ("invoices", "id", False, "invoices_history"),
    "invoice_items": ("invoice_items", "id", True, None),
    "payments": ("payments", "id", False, "payments_history"),
    "refunds": ("refunds", "id", False, None),
    "events": ("payment_events", "event_id", False, "payment_events_history"),
}
PII_SALT = "partnerapi-dev-salt"  # transform/macros/pii.sql: the local targets' fallback
LINEAGE_OR_FLAGS = {"environment", "_pa_version", "_pa_run_id", "_pa_request_id", "_pa_loaded_at",
                    "_pa_extracted_at", "_pa_transformed_at", "_pa_cursor", "_pa_window_start",
                    "_pa_window_end",
                    "is_deleted", "deleted_detected_at", "deleted_source", "address_country"}
MAX_EXAMPLES = 5


def version_of(record: dict[str, Any]) -> str:
    """design.md: sha256 hex of the canonical JSON (sorted keys, no spaces, UTF-8)."""
    canonical = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def pii_hash(value: str | None) -> str | None:
    if value is None:
        return None
    return hashlib.sha256((PII_SALT + value.strip().lower()).encode()).hexdigest()


def _norm(value: Any, is_json: bool = False) -> Any:
    """A warehouse value in the contract's form, to compare with the truth's JSON."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(value, str) and (is_json or value[:1] in "{["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


@dataclasses.dataclass
class Findings:
    """Mismatches by kind, with a few examples each, and what was compared."""

    compared: Counter[str] = dataclasses.field(default_factory=Counter)
    mismatches: Counter[str] = dataclasses.field(default_factory=Counter)
    examples: dict[str, list[str]] = dataclasses.field(default_factory=lambda: defaultdict(list))
    info: Counter[str] = dataclasses.field(default_factory=Counter)

    def bad(self, kind: str, example: str) -> None:
        self.mismatches[kind] += 1
        if len(self.examples[kind]) < MAX_EXAMPLES:
            self.examples[kind].append(example)

    @property
    def total(self) -> int:
        return sum(self.mismatches.values())

    def report(self) -> str:
        if not self.total:
            return "no mismatch"
        lines = []
        for kind, n in sorted(self.mismatches.items()):
            lines.append(f"{kind}: {n}, e.g. {'; '.join(self.examples[kind])}")
        return "\n".join(lines)


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict[str, Any]]:
    cur = con.execute(sql)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _tables(con: duckdb.DuckDBPyConnection, schema: str) -> set[str]:
    return {r[0] for r in con.execute(
        "select table_name from information_schema.tables where table_schema = ?",
        [schema]).fetchall()}


Truth = dict[str, dict[str, dict[str, Any]]]  # resource -> id -> record


def _columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> dict[str, str]:
    """column name -> data type (upper case, as information_schema says)."""
    return {name: str(kind).upper() for name, kind in con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = ? and table_name = ?", [schema, table]).fetchall()}


def _truth_fields(resource: str, variants: list[dict[str, dict[str, Any]]]) -> list[str]:
    """The contract's fields, then every other top-level field any truth record has."""
    documented = [f.name for f in CONTRACT[resource].fields]
    seen = {name for truth in variants for record in truth.values() for name in record}
    return documented + sorted(seen - set(documented))


#: (field, PII class) for every top-level field of the truth, as the mart holds it.
Plan = list[tuple[str, str]]


def field_plan(f: Findings, resource: str, table: str, fields: list[str],
               columns: dict[str, str]) -> Plan:
    """How each field must appear in ``table`` (see the module docstring); the columns a
    field's class forbids or requires are checked here once per table."""
    contract = CONTRACT[resource]
    documented = {field.name: field.pii for field in contract.fields}
    plan: Plan = []
    for name in fields:
        pii = documented.get(name)
        if pii is None:  # a field the vendor added: its class shows in the columns
            if name in columns:
                pii = "clear"
            elif f"{name}_hash" in columns:
                pii = "hashed"
            elif contract.new_field_class == "dropped":
                f.info[f"{table}: {name} dropped (not classified)"] += 1
                pii = "dropped"
            else:
                f.bad("column_missing", f"{table}.{name} (a field the vendor added)")
                continue
        if pii == "clear" and name not in columns:
            f.bad("column_missing", f"{table}.{name}")
            continue
        if pii != "clear" and name in columns:
            f.bad("pii_in_clear", f"{table}.{name} is {pii} but has a clear column")
            continue
        if pii == "hashed" and f"{name}_hash" not in columns:
            f.bad("column_missing", f"{table}.{name}_hash")
            continue
        if pii == "dropped" and f"{name}_hash" in columns:
            f.bad("pii_in_clear", f"{table}.{name} is dropped but has {name}_hash")
            continue
        plan.append((name, pii))
    return plan


def compare_warehouse(db_path: str, truths: list[Truth], deleted: dict[str, set[str]],
                      environment: str = "sandbox") -> Findings:
    """``truths``: the vendor's records from the sandbox's admin API, as served now, then
    as served before each step of schema drift (same ids; a mart row may match any).
    ``deleted[resource]``: the hard-deleted ids."""
    truth = truths[0]
    f = Findings()
    with duckdb.connect(db_path, read_only=True) as con:
        analytics, raw = _tables(con, "analytics"), _tables(con, "raw")
        for resource, (mart, id_col, deletable, history) in MARTS.items():
            if mart not in analytics or resource not in raw:
                f.bad("table_missing", f"analytics.{mart} or raw.{resource}")
                continue
            variants = [t[resource] for t in truths]
            columns = _columns(con, "analytics", mart)
            plan = field_plan(f, resource, mart, _truth_fields(resource, variants), columns)
            json_columns = {c for c, kind in columns.items() if kind in ("JSON", "VARIANT")}
            rows = _rows(con, f'select * from analytics."{mart}" '
                              f"where environment = '{environment}'")
            _check_current(f, resource, mart, id_col, deletable, rows, variants,
                           deleted.get(resource, set()), plan, json_columns)
            _check_raw(f, con, resource, id_col, environment)
            if history and history not in analytics:
                f.bad("table_missing", f"analytics.{history}")
            elif history:
                _check_history(f, con, resource, mart, history, id_col, environment)
                _check_history_fields(f, con, resource, mart, history, id_col, environment,
                                      plan)
        _check_transactions(f, con, truth["events"], environment)
        _check_ledger(f, con, raw, environment)
        if "quarantine" in raw:
            n = con.execute("select count(*) from raw.quarantine").fetchone()[0]
            if n:
                f.bad("quarantined", f"{n} rows in raw.quarantine")
    return f


def _check_current(f: Findings, resource: str, mart: str, id_col: str, deletable: bool,
                   rows: list[dict[str, Any]], variants: list[dict[str, dict[str, Any]]],
                   deleted: set[str], plan: Plan, json_columns: set[str]) -> None:
    truth = variants[0]
    by_id: dict[str, dict[str, Any]] = {}
    for row in rows:
        key = row[id_col]
        if key in by_id:
            f.bad("duplicate_key", f"{mart}:{key}")
        by_id[key] = row
    f.compared[mart] = len(truth) + len(deleted & by_id.keys())
    for key, record in truth.items():
        row = by_id.get(key)
        if row is None:
            f.bad("missing", f"{mart}:{key} (updated_at {record.get('updated_at')})")
            continue
        matching = [v[key] for v in variants if version_of(v[key]) == row["_pa_version"]]
        if matching:
            record = matching[0]
        else:
            f.bad("stale_version", f"{mart}:{key} mart updated_at "
                  f"{_norm(row['updated_at'])} vs vendor {record.get('updated_at')}")
            continue
        _check_fields(f, mart, key, row, record, plan, json_columns)
        if deletable and row["is_deleted"]:
            f.bad("live_flagged_deleted", f"{mart}:{key}")
    for key, row in by_id.items():
        if key in truth:
            continue
        if key not in deleted:
            f.bad("unexpected_row", f"{mart}:{key}")
        elif deletable and not row["is_deleted"]:
            f.bad("delete_not_flagged", f"{mart}:{key}")
        elif deletable:
            f.info[f"{mart}: deleted and flagged"] += 1
    # Deleted before we ever saw them (created and deleted between two runs): nothing to flag.
    f.info[f"{mart}: deleted, never loaded"] += len(deleted - by_id.keys())


def _hashed(name: str, value: Any) -> tuple[bool, str | None]:
    """(comparable, the expected ``<name>_hash``) for a hashed field's value."""
    if name == "address":
        return True, None if value is None else pii_hash("|".join(
            str(value.get(k) or "") for k in ("line1", "city", "postal_code", "country")))
    if value is None or isinstance(value, str):
        return True, pii_hash(value)
    return False, None  # the hash of a non-string's JSON text depends on its rendering


def _check_fields(f: Findings, mart: str, key: str, row: dict[str, Any],
                  record: dict[str, Any], plan: Plan, json_columns: set[str]) -> None:
    known = set(LINEAGE_OR_FLAGS)
    for name, pii in plan:
        value = record.get(name)  # absent (a field this version never had): null
        known.update((name, f"{name}_hash"))
        if pii == "clear":
            if _norm(row[name], name in json_columns) != value:
                f.bad("field_differs", f"{mart}:{key}.{name} "
                      f"{_norm(row[name], name in json_columns)!r} vs {value!r}")
        elif pii == "hashed":
            comparable, expected = _hashed(name, value)
            if comparable and row[f"{name}_hash"] != expected:
                f.bad("field_differs", f"{mart}:{key}.{name}_hash")
            if name == "address" and row.get("address_country") != (value or {}).get("country"):
                f.bad("field_differs", f"{mart}:{key}.address_country")
    for column, value in row.items():
        if column not in known and _norm(value) is not None:
            f.bad("unexpected_column", f"{mart}:{key}.{column} = {_norm(value)!r}")


def _check_raw(f: Findings, con: duckdb.DuckDBPyConnection, resource: str, id_col: str,
               environment: str) -> None:
    dupes = con.execute(
        f'select "{id_col}", _pa_version, count(*) from raw."{resource}" '
        f"where environment = ? group by all having count(*) > 1", [environment]).fetchall()
    for key, version, n in dupes:
        f.bad("raw_version_duplicated", f"raw.{resource}:{key}:{version[:12]} x{n}")
    f.compared[f"raw.{resource}"] = con.execute(
        f'select count(*) from raw."{resource}" where environment = ?',
        [environment]).fetchone()[0]


def _check_history(f: Findings, con: duckdb.DuckDBPyConnection, resource: str, mart: str,
                   history: str, id_col: str, environment: str) -> None:
    """One row per raw version; the current one is the current mart's version."""
    raw_versions = con.execute(
        f'select count(distinct ("{id_col}", _pa_version)) from raw."{resource}" '
        f"where environment = ?", [environment]).fetchone()[0]
    hist = con.execute(
        f'select count(*), count(distinct ("{id_col}", _pa_version)) from analytics."{history}" '
        f"where environment = ?", [environment]).fetchone()
    f.compared[history] = hist[0]
    if hist[0] != hist[1]:
        f.bad("duplicate_key", f"{history}: {hist[0] - hist[1]} repeated versions")
    if hist[0] != raw_versions:
        f.bad("history_incomplete", f"{history}: {hist[0]} rows vs {raw_versions} raw versions")
    wrong = con.execute(
        f'select h."{id_col}" from analytics."{history}" h '
        f'join analytics."{mart}" m on m.environment = h.environment '
        f'and m."{id_col}" = h."{id_col}" '
        f"where h.environment = ? and h.is_current and h._pa_version <> m._pa_version",
        [environment]).fetchall()
    for (key,) in wrong:
        f.bad("history_current_differs", f"{history}:{key}")


def _check_history_fields(f: Findings, con: duckdb.DuckDBPyConnection, resource: str,
                          mart: str, history: str, id_col: str, environment: str,
                          plan: Plan) -> None:
    """Every field the current mart holds is a column of the history mart too, with the
    current mart's value on the current row."""
    columns = _columns(con, "analytics", history)
    for name, pii in plan:
        if pii == "dropped":
            if name in columns or f"{name}_hash" in columns:
                f.bad("pii_in_clear", f"{history}.{name} is dropped but has a column")
            continue
        column = name if pii == "clear" else f"{name}_hash"
        if pii == "hashed" and name in columns:
            f.bad("pii_in_clear", f"{history}.{name} is hashed but has a clear column")
        if column not in columns:
            f.bad("column_missing", f"{history}.{column}")
            continue
        differs = con.execute(
            f'select count(*) from analytics."{history}" h '
            f'join analytics."{mart}" m on m.environment = h.environment '
            f'and m."{id_col}" = h."{id_col}" where h.environment = ? and h.is_current '
            f'and cast(h."{column}" as varchar) is distinct from cast(m."{column}" as varchar)',
            [environment]).fetchone()[0]
        if differs:
            f.bad("history_field_differs", f"{history}.{column}: {differs} current rows")


def _check_transactions(f: Findings, con: duckdb.DuckDBPyConnection,
                        events: dict[str, dict[str, Any]], environment: str) -> None:
    """payment_transactions: one row per transaction, counting every event the vendor has."""
    expected = Counter(e["transaction_id"] for e in events.values())
    rows = con.execute(
        "select transaction_id, event_count from analytics.payment_transactions "
        "where environment = ?", [environment]).fetchall()
    f.compared["payment_transactions"] = len(expected)
    seen: Counter[str] = Counter()
    for txn, count in rows:
        seen[txn] += 1
        if seen[txn] == 2:
            f.bad("duplicate_key", f"payment_transactions:{txn}")
        if expected.get(txn) != count:
            f.bad("transaction_differs", f"payment_transactions:{txn} {count} events vs "
                  f"{expected.get(txn)}")
    for txn in expected.keys() - seen.keys():
        f.bad("missing", f"payment_transactions:{txn}")


def _check_ledger(f: Findings, con: duckdb.DuckDBPyConnection, raw: set[str],
                  environment: str) -> None:
    """The union of [covered_from, covered_to] per stream has no hole (design.md)."""
    if "coverage_ledger" not in raw:
        f.bad("ledger_gap", "raw.coverage_ledger missing")
        return
    rows = con.execute(
        "select stream, cast(covered_from as varchar), cast(covered_to as varchar) "
        "from raw.coverage_ledger where environment = ? "
        "order by stream, covered_from, covered_to", [environment]).fetchall()
    reach: dict[str, str] = {}
    for stream, start, end in rows:
        f.compared["coverage_ledger"] += 1
        if stream in reach and start > reach[stream]:
            f.bad("ledger_gap", f"{stream}: nothing covers ({reach[stream]}, {start})")
        reach[stream] = max(reach.get(stream, end), end)
    gaps = con.execute("select count(*) from monitoring.ledger_coverage_gaps").fetchone()[0] \
        if "ledger_coverage_gaps" in _tables(con, "monitoring") else 0
    if gaps:
        f.bad("ledger_gap", f"monitoring.ledger_coverage_gaps has {gaps} rows")
