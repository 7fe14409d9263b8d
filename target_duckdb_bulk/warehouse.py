"""The DuckDB side: one connection per target process, tables kept in step with the streams'
SCHEMA messages, and one transaction per batch that stages the batch with DuckDB's own
readers and upserts it.

A batch is never half visible: staging, the delete of the keys it replaces and the insert
are one transaction, committed before the SDK emits the state that covers it. A process
killed mid-batch leaves the previous commit; the re-run sends the batch again and the upsert
makes the result the same.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import duckdb
from singer_sdk.exceptions import MissingKeyPropertiesError

from target_duckdb_bulk.columns import (
    cast_expr,
    column_name,
    column_type,
    literal,
    quote,
    read_type,
)

log = logging.getLogger(__name__)

#: Every table's load stamp: the time of the transaction that wrote the row (UTC). The name
#: is singer-sdk's metadata column, so dbt reads the same column from target-snowflake
#: (``add_record_metadata``). Incremental models slice raw on it (docs/transform.md):
#: unlike any time in the record, it only grows with commits, whatever order taps ran in.
LOAD_STAMP = "_sdc_batched_at"


@dataclass(frozen=True)
class TableSpec:
    """A stream's table: ``columns`` maps each schema property (the JSON key) to its column
    name and DuckDB type; ``keys`` are the key properties' column names."""

    catalog: str
    schema: str
    table: str
    columns: dict[str, tuple[str, str]]
    keys: tuple[str, ...]

    @property
    def qualified(self) -> str:
        # Catalog too: a schema named like the database file is otherwise ambiguous.
        return f"{quote(self.catalog)}.{quote(self.schema)}.{quote(self.table)}"

    @classmethod
    def for_stream(cls, catalog: str, schema: str, stream: str, json_schema: dict[str, Any],
                   key_properties: Sequence[str]) -> TableSpec:
        props = json_schema.get("properties", {}) or {}
        columns = {name: (column_name(name), column_type(prop or {}))
                   for name, prop in props.items()}
        table = stream.lower().replace("-", "_").replace(".", "_")
        return cls(catalog, schema, table, columns,
                   tuple(column_name(k) for k in key_properties))


@dataclass(frozen=True)
class Source:
    """What to stage: DuckDB reads ``paths`` itself. ``kind``: ``spool`` (the record path's
    ``{"s": seq, "m": <RECORD message>}`` lines), ``jsonl`` (BATCH files: one record a line, gzip or
    not) or ``parquet``."""

    kind: str
    paths: tuple[str, ...]


class Warehouse:
    def __init__(self, path: str, *, memory_limit: str | None, threads: int | None,
                 temp_directory: str | None) -> None:
        self.path = path
        self.con = duckdb.connect(path)
        self.lock = threading.Lock()  # sinks drain one at a time on the one connection
        settings = {"TimeZone": "UTC", "preserve_insertion_order": False}
        if memory_limit:
            settings["memory_limit"] = memory_limit
        if threads:
            settings["threads"] = threads
        if temp_directory:
            settings["temp_directory"] = temp_directory
        for name, value in settings.items():
            text = literal(value) if isinstance(value, str) else value
            self.con.execute(f"SET {name} = {text}")

        # Batches load on one worker thread, in order, while the main thread reads the next
        # batch (DuckDB releases the GIL): reading and loading overlap instead of taking
        # turns, and the tap is not held up while a batch commits.
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="duckdb-load")
        self._pending: Future[Any] | None = None
        (self.catalog,) = self.con.execute("SELECT current_database()").fetchone()  # type: ignore[misc]

    def submit(self, fn: Callable[[], Any]) -> None:
        """Run ``fn`` (a batch load) on the worker once the previous one has committed: at
        most one batch loading and one filling, so memory stays flat."""
        self.wait()
        self._pending = self._worker.submit(fn)

    def wait(self) -> None:
        """Block until the batch in flight has committed; re-raise its error. Called before
        any STATE message goes out, so state never runs ahead of the rows it covers."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def close(self) -> None:
        try:
            self.wait()
        finally:
            self._worker.shutdown()
            self.con.close()

    # -- tables --------------------------------------------------------------------------

    def existing_columns(self, spec: TableSpec) -> dict[str, str]:
        rows = self.con.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_catalog = ? AND table_schema = ? AND table_name = ? "
            "ORDER BY ordinal_position", [spec.catalog, spec.schema, spec.table]).fetchall()
        return {name.lower(): dtype.upper() for name, dtype in rows}

    def ensure_table(self, spec: TableSpec) -> None:
        """Create the table, or add the columns a grown SCHEMA brings. A column whose type
        changed is kept under ``<name>_<YYYYmmdd_HHMM>`` and a new one added, as
        target-duckdb 0.8.0 did: nothing already loaded is lost or re-typed."""
        self.wait()
        with self.lock:
            self.con.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(spec.catalog)}."
                             f"{quote(spec.schema)}")
            existing = self.existing_columns(spec)
            wanted = dict(spec.columns.values())
            wanted.setdefault(LOAD_STAMP, "TIMESTAMP")
            if not existing:
                cols = ", ".join(f"{quote(c)} {t}" for c, t in wanted.items())
                log.info("Creating table %s (%d columns)", spec.qualified, len(wanted))
                self.con.execute(f"CREATE TABLE IF NOT EXISTS {spec.qualified} ({cols})")
                return
            for col, sql_type in wanted.items():
                have = existing.get(col)
                if have is not None and _same_type(have, sql_type):
                    continue
                if have is not None:
                    kept = f"{col}_{time.strftime('%Y%m%d_%H%M')}"
                    log.warning("Column %s.%s changes type %s -> %s: the old column is kept "
                                "as %s", spec.qualified, col, have, sql_type, kept)
                    self.con.execute(f"ALTER TABLE {spec.qualified} RENAME COLUMN "
                                     f"{quote(col)} TO {quote(kept)}")
                log.info("Adding column %s.%s %s", spec.qualified, col, sql_type)
                self.con.execute(f"ALTER TABLE {spec.qualified} ADD COLUMN {quote(col)} {sql_type}")

    # -- batches -------------------------------------------------------------------------

    def _select(self, spec: TableSpec, source: Source) -> tuple[str, str]:
        """(FROM clause, ordering expression) that reads ``source`` as the table's columns
        (cast to the table's types), plus ``__seq`` ordering duplicates of one key."""
        paths = "[" + ", ".join(literal(p) for p in source.paths) + "]"
        if source.kind == "spool":
            fields = ", ".join(f"{quote(name)} {read_type(t)}"
                               for name, (_, t) in spec.columns.items())
            reader = (f"read_json({paths}, format='newline_delimited', "
                      f"columns={{'s': 'UBIGINT', 'm': 'STRUCT(record STRUCT({fields}))'}})")
            exprs = [f"{cast_expr(f'm.record.{quote(name)}', t)} AS {quote(col)}"
                     for name, (col, t) in spec.columns.items()]
            return f"(SELECT {', '.join(exprs)}, s AS __seq FROM {reader})", "__seq"
        if source.kind == "jsonl":
            cols = ", ".join(f"{literal(name)}: {literal(read_type(t))}"
                             for name, (_, t) in spec.columns.items())
            reader = (f"read_json({paths}, format='newline_delimited', columns={{{cols}}}, "
                      "filename='__file')")
            exprs = [f"{cast_expr(quote(name), t)} AS {quote(col)}"
                     for name, (col, t) in spec.columns.items()]
            seq = f"list_position({paths}, __file)"
            return f"(SELECT {', '.join(exprs)}, {seq} AS __seq FROM {reader})", "__seq"
        if source.kind == "parquet":
            reader = (f"read_parquet({paths}, filename='__file', file_row_number=true, "
                      "union_by_name=true)")
            present = {r[0] for r in self.con.execute(
                f"SELECT column_name FROM (DESCRIBE SELECT * FROM {reader})").fetchall()}
            exprs = []
            for name, (col, t) in spec.columns.items():
                if name not in present:
                    exprs.append(f"CAST(NULL AS {t}) AS {quote(col)}")
                elif t in ("TIMESTAMP", "TIME"):
                    exprs.append(f"{cast_expr(f'CAST({quote(name)} AS VARCHAR)', t)} AS "
                                 f"{quote(col)}")
                else:
                    exprs.append(f"CAST({quote(name)} AS {t}) AS {quote(col)}")
            seq = f"list_position({paths}, __file) * 4294967296 + file_row_number"
            return f"(SELECT {', '.join(exprs)}, {seq} AS __seq FROM {reader})", "__seq"
        raise ValueError(f"unknown source kind {source.kind!r}")

    def load(self, spec: TableSpec, source: Source, *, method: str = "upsert",
             truncate_first: bool = False) -> tuple[int, int]:
        """Stage ``source`` and merge it into the table in one transaction; (rows read,
        rows written). Duplicates of one key within the batch collapse into the last one
        read. ``method``: upsert (replace the rows with the same key) or append-only."""
        cols = ", ".join(quote(c) for c, _ in spec.columns.values())
        stamped = LOAD_STAMP not in {c for c, _ in spec.columns.values()}
        # now() is the transaction's start: a row is stamped before it is visible, never after.
        stamp = (f", {quote(LOAD_STAMP)}", ", CAST(now() AS TIMESTAMP)") if stamped else ("", "")
        keys = [quote(k) for k in spec.keys]
        from_clause, order = self._select(spec, source)
        stage = "__bulk_stage"
        upsert = bool(keys) and method != "append-only"
        dedup = (f" QUALIFY row_number() OVER (PARTITION BY {', '.join(keys)} "
                 f"ORDER BY {order} DESC) = 1") if upsert else ""
        with self.lock:
            con = self.con
            con.execute("BEGIN TRANSACTION")
            try:
                con.execute(f"CREATE OR REPLACE TEMP TABLE {stage} AS SELECT * FROM {from_clause}")
                (read,) = con.execute(f"SELECT count(*) FROM {stage}").fetchone()  # type: ignore[misc]
                if keys:
                    missing = " OR ".join(f"{k} IS NULL" for k in keys)
                    (bad,) = con.execute(  # type: ignore[misc]
                        f"SELECT count(*) FROM {stage} WHERE {missing}").fetchone()
                    if bad:
                        raise MissingKeyPropertiesError(
                            f"{bad} record(s) of {spec.qualified} have no value for a key "
                            f"property ({', '.join(spec.keys)}): batch not loaded")
                if truncate_first:
                    con.execute(f"DELETE FROM {spec.qualified}")
                elif upsert:
                    on = " AND ".join(f"t.{k} = s.{k}" for k in keys)
                    con.execute(f"DELETE FROM {spec.qualified} AS t USING {stage} AS s "
                                f"WHERE {on}")
                (written,) = con.execute(  # type: ignore[misc]
                    f"INSERT INTO {spec.qualified} ({cols}{stamp[0]}) "
                    f"SELECT {cols}{stamp[1]} FROM {stage}{dedup}"
                ).fetchone()
                con.execute(f"DROP TABLE {stage}")
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        return int(read), int(written)


def _same_type(have: str, want: str) -> bool:
    have, want = have.upper(), want.upper()
    if have == want:
        return True
    # information_schema spells TIMESTAMP as "TIMESTAMP" and JSON as "JSON"; HUGEINT as
    # "HUGEINT": a VARCHAR column read back from an old loader may say "CHARACTER VARYING".
    return {have, want} <= {"VARCHAR", "CHARACTER VARYING"}
