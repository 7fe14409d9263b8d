"""The embedded loader (target-duckdb-bulk) keeps every record, exactly once.

Records go through the real loader - through Meltano with the project's plugin settings
where the configuration matters, its installed executable for the many small runs - in
batches of 10, and the warehouse is read back with DuckDB.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess

import pytest

from tests.loader.loader_fixtures import (
    LOADER_BIN,
    SCHEMA_V1,
    SCHEMA_V2,
    load_direct,
    load_via_meltano,
    loader_config,
    record_messages,
    record_v1,
    record_v2,
    rows,
    schema_message,
    singer_text,
    state_message,
    table,
)

pytestmark = pytest.mark.usefixtures("loader_installed")

BATCH = 10


@pytest.mark.parametrize("n", [BATCH - 1, BATCH, BATCH + 1, 5 * BATCH + 3])
def test_n_records_make_n_rows_at_batch_boundaries(tmp_path, n) -> None:
    db = tmp_path / "wh.duckdb"
    records = [record_v1(i) for i in range(n)]
    load_direct(tmp_path, db, [schema_message("payments", SCHEMA_V1),
                               *record_messages("payments", records)])
    got = rows(db, "SELECT id FROM raw.payments ORDER BY id")
    assert [r[0] for r in got] == [r["id"] for r in records]


def test_meltano_settings_path_alias_and_batches(tmp_path) -> None:
    """Through Meltano: PARTNERAPI_DUCKDB_PATH picks the file, the project's schema `raw`,
    53 records in batches of 10 make 53 rows with every value intact, and the STATE comes
    out after them."""
    db = tmp_path / "elsewhere.duckdb"
    records = [record_v1(i) for i in range(53)]
    out = load_via_meltano(tmp_path, db, [
        schema_message("payments", SCHEMA_V1), *record_messages("payments", records),
        state_message({"bookmarks": {"payments": {"n": 53}}})], batch_size_rows=str(BATCH))
    assert json.loads(out.strip().splitlines()[-1]) == {"bookmarks": {"payments": {"n": 53}}}
    got = rows(db, "SELECT id, amount, method, tags, _pa_raw, updated_at FROM raw.payments "
                   "ORDER BY id")
    assert len(got) == 53
    first = records[0]
    assert json.loads(got[0][2]) == first["method"]
    assert json.loads(got[0][2])["card_brand"] == 'vi,"sa"\n€'
    assert json.loads(got[0][3]) == first["tags"]
    assert json.loads(got[0][4]) == first["_pa_raw"]
    # date-time -> naive UTC TIMESTAMP, microseconds kept.
    assert got[7][5] == dt.datetime.fromisoformat(records[7]["updated_at"]).replace(tzinfo=None)


def test_column_types_are_target_duckdb_s(tmp_path) -> None:
    """The types target-duckdb 0.8.0 created, which the dbt models read."""
    db = tmp_path / "wh.duckdb"
    load_direct(tmp_path, db, [schema_message("payments", SCHEMA_V1),
                               *record_messages("payments", [record_v1(1)])])
    types = dict(rows(db, "SELECT column_name, data_type FROM information_schema.columns "
                          "WHERE table_schema = 'raw' AND table_name = 'payments'"))
    assert types == {
        "environment": "VARCHAR", "id": "VARCHAR", "_pa_version": "VARCHAR",
        "amount": "HUGEINT", "fee_rate": "DOUBLE", "captured": "BOOLEAN",
        "currency": "VARCHAR", "updated_at": "TIMESTAMP", "method": "JSON", "tags": "JSON",
        "_pa_raw": "JSON", "_pa_run_id": "VARCHAR", "_pa_request_id": "VARCHAR",
        "_sdc_batched_at": "TIMESTAMP",
    }


def test_every_row_carries_the_time_of_the_commit_that_wrote_it(tmp_path) -> None:
    """`_sdc_batched_at` is what dbt's incremental models slice on (docs/transform.md): each
    batch's rows get its transaction's time (UTC), a later batch a later time, and a
    version loaded again the time of its new load."""
    db = tmp_path / "wh.duckdb"
    before = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    load_direct(tmp_path, db, [schema_message("payments", SCHEMA_V1),
                               *record_messages("payments", [record_v1(i) for i in range(3)])])
    first = dict(rows(db, "SELECT id, _sdc_batched_at FROM raw.payments"))
    assert len(set(first.values())) == 1
    (stamp,) = set(first.values())
    assert before - dt.timedelta(seconds=1) <= stamp <= dt.datetime.now(dt.UTC).replace(
        tzinfo=None)
    load_direct(tmp_path, db, [schema_message("payments", SCHEMA_V1),
                               *record_messages("payments", [record_v1(0), record_v1(7)])])
    second = dict(rows(db, "SELECT id, _sdc_batched_at FROM raw.payments"))
    assert second["pay_000001"] == stamp and second["pay_000002"] == stamp
    assert second["pay_000000"] > stamp and second["pay_000007"] == second["pay_000000"]


def test_a_version_already_loaded_changes_nothing(tmp_path) -> None:
    db = tmp_path / "wh.duckdb"
    records = [record_v1(i) for i in range(35)]
    messages = [schema_message("payments", SCHEMA_V1), *record_messages("payments", records)]
    load_direct(tmp_path, db, messages)
    before = table(db, "payments")
    load_direct(tmp_path, db, messages)
    assert table(db, "payments") == before

    # A new version of one record is a new row; the same key again replaces its own row.
    changed_raw = {**records[0]["_pa_raw"], "amount": 1}
    new_version = {**records[0], "amount": 1, "_pa_raw": changed_raw,
                   "_pa_version": "0" * 64}
    same_key = {**records[1], "_pa_run_id": "run-2"}
    load_direct(tmp_path, db, [schema_message("payments", SCHEMA_V1),
                               *record_messages("payments", [new_version, same_key])])
    assert len(table(db, "payments")) == 36
    assert rows(db, "SELECT _pa_run_id FROM raw.payments WHERE id = 'pay_000001'") == [("run-2",)]


def test_duplicates_within_one_batch_keep_the_last(tmp_path) -> None:
    db = tmp_path / "wh.duckdb"
    r = record_v1(7)
    load_direct(tmp_path, db, [schema_message("payments", SCHEMA_V1),
                               *record_messages("payments", [{**r, "_pa_run_id": f"run-{k}"}
                                                             for k in range(5)])],
                batch_size_rows=100)
    assert rows(db, "SELECT _pa_run_id FROM raw.payments") == [("run-4",)]


def test_schema_growth_adds_columns(tmp_path) -> None:
    db = tmp_path / "wh.duckdb"
    grown = json.loads(json.dumps(SCHEMA_V1))
    grown["properties"]["risk_score"] = {"type": ["number", "null"]}
    load_direct(tmp_path, db, [
        schema_message("payments", SCHEMA_V1),
        *record_messages("payments", [record_v1(i) for i in range(15)]),
        schema_message("payments", grown),
        *record_messages("payments", [{**record_v1(i), "risk_score": 0.5}
                                      for i in range(15, 30)])])
    got = rows(db, "SELECT count(*), count(risk_score) FROM raw.payments")
    assert got == [(30, 15)]


def test_raw_row_v2_records(tmp_path) -> None:
    """Shape-agnostic: raw row v2 (keys, lineage, the vendor's object) loads as is."""
    db = tmp_path / "wh.duckdb"
    records = [record_v2(i) for i in range(25)]
    load_direct(tmp_path, db, [schema_message("events", SCHEMA_V2),
                               *record_messages("events", records)])
    got = rows(db, "SELECT id, _pa_raw, _pa_extracted_at FROM raw.events ORDER BY id")
    assert [json.loads(g[1]) for g in got] == [r["_pa_raw"] for r in records]
    types = dict(rows(db, "SELECT column_name, data_type FROM information_schema.columns "
                          "WHERE table_name = 'events'"))
    assert types["_pa_raw"] == "JSON" and types["_pa_extracted_at"] == "TIMESTAMP"


def test_a_table_target_duckdb_created_keeps_loading(tmp_path) -> None:
    """Warehouses built by target-duckdb 0.8.0 have a PRIMARY KEY on the keys: re-loading a
    key (delete and insert in one transaction) must work on them."""
    import duckdb

    db = tmp_path / "wh.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("CREATE SCHEMA raw")
        con.execute('CREATE TABLE raw.events ("_pa_extracted_at" timestamp, "_pa_raw" json, '
                    '"_pa_request_id" varchar, "_pa_run_id" varchar, "_pa_version" varchar, '
                    '"environment" varchar, "id" varchar, "updated_at" timestamp, '
                    'PRIMARY KEY ("environment", "id", "_pa_version"))')
    messages = [schema_message("events", SCHEMA_V2),
                *record_messages("events", [record_v2(i) for i in range(12)])]
    load_direct(tmp_path, db, messages)
    load_direct(tmp_path, db, messages)
    assert rows(db, "SELECT count(*) FROM raw.events") == [(12,)]


def test_a_record_without_its_key_fails_loudly(tmp_path) -> None:
    db = tmp_path / "wh.duckdb"
    bad = {k: v for k, v in record_v1(1).items() if k != "id"}
    proc = subprocess.run(
        [str(LOADER_BIN), "--config", str(loader_config(tmp_path, db))],
        input=singer_text([schema_message("payments", SCHEMA_V1),
                           *record_messages("payments", [bad])]),
        capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert "key property" in proc.stderr and "payments" in proc.stderr
