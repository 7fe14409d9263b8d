"""dbt-snowflake against fakesnow's server on loopback: raw tables shaped as a Snowflake
loader leaves them (VARIANT for objects, TIMESTAMP_NTZ for date-times, upper-case names),
loaded and queried through fakesnow's own virtualenv. Used by the transform and pipeline
groups; the `fakesnow_port` fixture (tests/conftest.py) runs `fakesnow_server`."""

from __future__ import annotations

import json
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support.dbt_fixtures import ROOT, Batch, ensure_installed, schema_of

FAKESNOW = ROOT / ".meltano" / "utilities" / "fakesnow" / "venv"

# Runs inside fakesnow's own virtualenv (snowflake-connector-python lives there only).
LOADER = r"""
import json, sys, snowflake.connector
port, spec_path, sql = int(sys.argv[1]), sys.argv[2], sys.argv[3]
con = snowflake.connector.connect(user="fake", password="snow", account="fakesnow",
    host="127.0.0.1", port=port, protocol="http", database="PARTNERAPI", schema="RAW")
cur = con.cursor()
if spec_path != "-":
    cur.execute("create database if not exists PARTNERAPI")
    cur.execute("create schema if not exists PARTNERAPI.RAW")
    for table, spec in json.load(open(spec_path)).items():
        cols = spec["columns"]
        cur.execute(f"create or replace table RAW.{table}_LOAD ("
                    + ", ".join(f'"{c.upper()}" varchar' for c, _ in cols) + ")")
        if spec["rows"]:
            cur.executemany(f"insert into RAW.{table}_LOAD values ("
                            + ", ".join(["%s"] * len(cols)) + ")", spec["rows"])
        exprs = [(f'parse_json("{c.upper()}")' if t == "variant"
                  else f'cast("{c.upper()}" as {t})') + f' as "{c.upper()}"' for c, t in cols]
        # An append names its columns, as target-snowflake's MERGE does: the table may have
        # more (the load stamp dbt's on-run-start adds).
        names = ", ".join(f'"{c.upper()}"' for c, _ in cols)
        verb = (f"insert into RAW.{table} ({names})" if spec.get("append")
                else f"create or replace table RAW.{table} as")
        cur.execute(f"{verb} select " + ", ".join(exprs) + f" from RAW.{table}_LOAD")
        cur.execute(f"drop table RAW.{table}_LOAD")
print(json.dumps([list(r) for r in cur.execute(sql).fetchall()], default=str) if sql else "[]")
"""


def sf_type(prop: dict) -> str:
    kinds = prop["type"] if isinstance(prop["type"], list) else [prop["type"]]
    if "object" in kinds or "array" in kinds:
        return "variant"
    if prop.get("format") == "date-time":
        return "timestamp_ntz"
    return {"integer": "number", "boolean": "boolean"}.get(kinds[0], "varchar")


def cell(value: object, kind: str) -> str | None:
    if value is None:
        return None
    if kind == "variant":
        return json.dumps(value)
    if kind == "timestamp_ntz":
        return str(value).replace("T", " ").rstrip("Z")
    return str(value).lower() if isinstance(value, bool) else str(value)


def raw_tables(path: Path, batches: list[Batch], append: bool = False) -> Path:
    tables: dict[str, dict] = {}
    for batch in batches:
        for stream, rows in batch.records.items():
            props = schema_of(stream)[0]
            cols = [(name, sf_type(p)) for name, p in props.items()]
            spec = tables.setdefault(stream.upper(), {"columns": cols, "rows": [],
                                                      "append": append})
            spec["rows"] += [[cell(row.get(c), t) for c, t in cols] for row in rows]
    path.write_text(json.dumps(tables))
    return path


def snowflake_sql(port: int, sql: str, spec: Path | None = None) -> list[list]:
    proc = subprocess.run([str(FAKESNOW / "bin" / "python"), "-c", LOADER, str(port),
                           str(spec or "-"), sql], capture_output=True, text=True,
                          timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])



@contextmanager
def fakesnow_server() -> Iterator[int]:
    """fakesnow's server on a free loopback port; yields the port."""
    ensure_installed(("utility", "fakesnow"), ("utility", "dbt-snowflake"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([str(FAKESNOW / "bin" / "fakesnow"), "-s", "--host", "127.0.0.1",
                               "-p", str(port)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.2)
        else:
            pytest.fail("fakesnow server did not start")
        yield port
    finally:
        server.terminate()
        server.wait(timeout=30)
