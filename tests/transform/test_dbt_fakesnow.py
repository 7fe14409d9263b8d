"""The same dbt project builds on Snowflake's dialect: dbt-snowflake against fakesnow's
server on loopback, with raw tables shaped as a Snowflake loader leaves them (VARIANT for
objects, TIMESTAMP_NTZ for date-times, upper-case names)."""

from __future__ import annotations

import json
import socket
import subprocess
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from dbt_fixtures import (
    ROOT,
    Batch,
    baseline,
    customer,
    dbt,
    empty_audit_tables,
    ensure_installed,
    invoice,
    now_hour,
    schema_of,
    ts,
)

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


@pytest.fixture(scope="module")
def fakesnow_port() -> Iterator[int]:
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


CLASSES = json.dumps({"pii_classes": {"customers.preferred_locale": "clear",
                                       "customers.loyalty_points": "clear"}})


def build(port: int, tmp_path: Path) -> None:
    result = dbt(tmp_path / "unused.duckdb", "build", "--target", "fakesnow", "--vars", CLASSES,
                 utility="dbt-snowflake", extra_env={"FAKESNOW_PORT": str(port)})
    assert result.returncode == 0, result.output[-5000:]
    statuses = {r["status"] for r in result.results.values()}
    assert statuses <= {"success", "pass"}, statuses
    assert len(result.results) > 100


def test_dbt_build_and_incremental_merge_on_the_snowflake_emulation(
        fakesnow_port: int, tmp_path: Path) -> None:
    now = now_hour()
    spec = raw_tables(tmp_path / "raw.json", [*baseline(now), empty_audit_tables()])
    snowflake_sql(fakesnow_port, "select 1", spec)
    build(fakesnow_port, tmp_path)
    rows = snowflake_sql(fakesnow_port, "select status, amount_paid from ANALYTICS.INVOICES "
                                        "where environment = 'sandbox' and id = 'in_5_0'")
    assert rows == [["paid", 1100]]
    rows = snowflake_sql(fakesnow_port, "select lifecycle_state, count(*) from "
                                        "ANALYTICS.PAYMENT_TRANSACTIONS group by 1")
    assert rows == [["captured", 118]]
    (count_before,) = snowflake_sql(fakesnow_port, "select count(*) from ANALYTICS.INVOICES")[0]

    # Second run: a newer version of one invoice, merged by the incremental models.
    late = Batch(run_id="run_sf_late")
    day = now - timedelta(days=6)
    late.add("invoices", invoice("in_6_0", "cus_6_0", "sub_6_0", day, status="void",
                                 updated_at=ts(now)), now + timedelta(minutes=10))
    # The vendor starts sending a new customers field (issue 16).
    late.add("customers", customer("cus_1_0", day, preferred_locale="fr-FR",
                                   updated_at=ts(now)), now + timedelta(minutes=10))
    snowflake_sql(fakesnow_port, "select 1", raw_tables(tmp_path / "late.json", [late], True))
    build(fakesnow_port, tmp_path)
    rows = snowflake_sql(fakesnow_port, "select status, _pa_run_id from ANALYTICS.INVOICES "
                                        "where environment = 'sandbox' and id = 'in_6_0'")
    assert rows == [["void", "run_sf_late"]]
    assert snowflake_sql(fakesnow_port, "select count(*) from ANALYTICS.INVOICES") == [
        [count_before]]
    rows = snowflake_sql(fakesnow_port, "select status, is_current from "
                                        "ANALYTICS.INVOICES_HISTORY where id = 'in_6_0' "
                                        "order by valid_from")
    assert rows == [["open", False], ["paid", False], ["void", True]]
    assert customer_columns(fakesnow_port)["PREFERRED_LOCALE"] == "TEXT"

    # One run later, a second new field of another type: a column too, no full refresh.
    third = Batch(run_id="run_sf_third")
    later = now + timedelta(minutes=20)
    third.add("customers", customer("cus_3_0", day, loyalty_points=7, updated_at=ts(later)),
              later)
    snowflake_sql(fakesnow_port, "select 1", raw_tables(tmp_path / "third.json", [third], True))
    build(fakesnow_port, tmp_path)
    for table in ("CUSTOMERS", "CUSTOMERS_HISTORY"):
        cols = customer_columns(fakesnow_port, table)
        assert (cols["PREFERRED_LOCALE"], cols["LOYALTY_POINTS"]) == ("TEXT", "NUMBER"), table
    rows = snowflake_sql(fakesnow_port, "select id, preferred_locale, loyalty_points from "
                                        "ANALYTICS.CUSTOMERS where environment = 'sandbox' and "
                                        "id in ('cus_1_0', 'cus_3_0', 'cus_4_0') order by id")
    assert rows == [["cus_1_0", "fr-FR", None], ["cus_3_0", None, 7], ["cus_4_0", None, None]]


def customer_columns(port: int, table: str = "CUSTOMERS") -> dict[str, str]:
    return dict(snowflake_sql(port, "select column_name, data_type from "
                                    "information_schema.columns where table_schema = "
                                    f"'ANALYTICS' and table_name = '{table}'"))
