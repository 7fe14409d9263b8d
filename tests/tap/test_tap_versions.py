"""Raw versions: lineage on every record, one raw row per distinct version, idempotent."""

from __future__ import annotations

import hashlib
import json

import duckdb
import pytest

from tests.support.tap_fixtures import TARGET_DUCKDB, load_duckdb, run_tap, tap_config

#: Raw row v2 (design.md, "Tap output"): exactly these keys, in this order. The run id and
#: reception time are the coverage ledger's row of `_pa_request_id` (bytes per event).
RAW_ROW = ("environment", "id", "_pa_version", "updated_at", "_pa_request_id", "_pa_raw")
#: What the loader adds to every table: when the row was committed.
LOAD_STAMP = "_sdc_batched_at"


def test_every_record_is_the_raw_row_with_lineage_and_its_content_hash(sandbox):
    sb = sandbox(seed=10)
    run = run_tap(
        tap_config(sb, page_size=100, run_id="run-42"), streams=["payments", "coverage_ledger"]
    )
    records = run.records("payments")
    assert records
    truth = sb.truth("payments")
    for rec in records:
        assert tuple(rec) == RAW_ROW  # no typed copy, no per-page lineage
        assert rec["_pa_raw"] == truth[rec["id"]]  # the vendor's object as received
        canonical = json.dumps(
            rec["_pa_raw"], sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode()
        assert rec["_pa_version"] == hashlib.sha256(canonical).hexdigest()
        assert rec["environment"] == "sandbox"
        assert rec["updated_at"] == rec["_pa_raw"]["updated_at"]
        assert rec["_pa_request_id"].startswith("req_")
    assert len({r["_pa_request_id"] for r in records}) == len(records) // 100 + (
        1 if len(records) % 100 else 0
    )
    # Cursor and window live in the ledger row the record's request id names.
    ledger = {
        (row["run_id"], row["request_id"]): row
        for row in run.records("coverage_ledger")
        if row["stream"] == "payments"
    }
    pages = [ledger[("run-42", r["_pa_request_id"])] for r in records]
    assert pages[0]["cursor"] is None  # a window's first page
    assert pages[-1]["cursor"] is not None
    assert all(p["records"] == 100 or p["is_last_page"] for p in pages)


def test_in_run_dedup_memory_is_bounded(sandbox):
    sb = sandbox(seed=10, faults={"duplicate_page": 0.6})
    run = run_tap(tap_config(sb, page_size=100, dedup_memory_records=150), streams=["events"])
    keys = [(r["event_id"], r["_pa_version"]) for r in run.records("events")]
    assert len(keys) == len(set(keys)) == len(sb.truth("events"))
    assert len(run.tap.streams["events"].dedup) <= 300
    assert run.tap.stats_for("events").versions_repeated > 0


def _rows(db, sql):
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


@pytest.fixture
def loader():
    if not TARGET_DUCKDB.exists():
        pytest.fail("target-duckdb-bulk is not installed: run `meltano install` first")


def test_reruns_and_repeated_pages_add_no_raw_row(sandbox, loader, tmp_path):
    sb = sandbox(seed=10)
    db = tmp_path / "wh.duckdb"
    config = tap_config(sb, page_size=100, start_date="2026-01-01T00:00:00Z")
    for i in range(3):  # the same window three times
        load_duckdb(
            db,
            run_tap(
                {**config, "run_id": f"r{i}"}, streams=["invoices", "coverage_ledger"]
            ).messages,
        )
    sb.set_faults({"duplicate_page": 0.6})
    load_duckdb(
        db, run_tap({**config, "run_id": "dup"}, streams=["invoices", "coverage_ledger"]).messages
    )
    (count, distinct) = _rows(
        db, "select count(*), count(distinct (environment, id, _pa_version)) from raw.invoices"
    )[0]
    assert count == distinct == len(sb.truth("invoices"))
    columns = {
        c
        for (c,) in _rows(
            db,
            "select column_name from information_schema.columns "
            "where table_schema = 'raw' and table_name = 'invoices'",
        )
    }
    assert columns == {*RAW_ROW, LOAD_STAMP}  # the raw table is the raw row, nothing typed
    # Each version's lineage names the latest run that delivered those exact bytes.
    assert _rows(
        db,
        "select distinct l.run_id from raw.invoices as r join raw.coverage_ledger "
        "as l on l.request_id = r._pa_request_id",
    ) == [("dup",)]


def test_a_record_updated_twice_has_three_raw_rows_in_order(sandbox, loader, tmp_path):
    sb = sandbox(seed=10)
    db = tmp_path / "wh.duckdb"
    config = tap_config(sb, start_date="2026-01-01T00:00:00Z")
    first = run_tap({**config, "run_id": "r1"}, streams=["invoices", "coverage_ledger"])
    load_duckdb(db, first.messages)
    target = sb.touch("invoices")["id"]
    second = run_tap(
        {**config, "run_id": "r2"}, state=first.state, streams=["invoices", "coverage_ledger"]
    )
    load_duckdb(db, second.messages)
    sb.advance(seconds=5)
    sb.touch("invoices", target)
    third = run_tap(
        {**config, "run_id": "r3"}, state=second.state, streams=["invoices", "coverage_ledger"]
    )
    load_duckdb(db, third.messages)
    rows = _rows(
        db,
        f"select r.updated_at, l.run_id, r._pa_request_id, r._pa_version from "
        f"raw.invoices as r join raw.coverage_ledger as l "
        f"on l.request_id = r._pa_request_id and l.stream = 'invoices' "
        f"where r.id = '{target}' order by r.updated_at",
    )
    assert len(rows) == 3
    assert [r[1] for r in rows] == ["r1", "r2", "r3"]
    assert all(r[2].startswith("req_") for r in rows)
    assert len({r[3] for r in rows}) == 3
