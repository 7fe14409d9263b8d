"""Incremental marts converge: reloads, overlapping backfills and late versions end where a
full refresh ends."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from tests.support.dbt_fixtures import (
    Batch,
    Warehouse,
    copy_warehouse,
    customer,
    dbt,
    execute,
    invoice,
    load,
    query,
    refund,
    ts,
)

MARTS = ("customers", "plans", "subscriptions", "invoices", "invoice_items", "payments",
         "refunds", "payment_events", "payment_transactions", "invoices_history",
         "payments_history", "subscriptions_history", "payment_events_history")
LINEAGE = ("_pa_run_id", "_pa_request_id", "_pa_extracted_at", "_pa_loaded_at",
           "_pa_transformed_at")


def mart_snapshot(db_path: Path, table: str, exclude: tuple[str, ...] = ()) -> list[tuple]:
    """Every row of a mart, sorted, optionally without some columns. Columns by name: a
    column the vendor added is appended by an incremental run, placed before lineage by a
    full refresh. Never `_pa_transformed_at`: which dbt run wrote a row differs between any
    two builds by design."""
    exclude = (*exclude, "_pa_transformed_at")
    cols = [r[0] for r in query(db_path, f"select column_name from information_schema.columns "
                                         f"where table_schema = 'analytics' and table_name = "
                                         f"'{table}' order by column_name")]
    keep = ", ".join(f'"{c}"' for c in cols if c not in exclude)
    return query(db_path, f"select {keep} from analytics.{table} order by all")


def snapshot(path: Path, exclude: tuple[str, ...] = ()) -> dict[str, list[tuple]]:
    return {mart: mart_snapshot(path, mart, exclude) for mart in MARTS}


def build(wh: Warehouse, *args: str) -> None:
    result = dbt(wh.path, "build", *args)
    assert result.returncode == 0, result.output[-3000:]


def test_loading_the_same_data_twice_leaves_marts_identical(base: Warehouse,
                                                            tmp_path: Path) -> None:
    wh = copy_warehouse(base, tmp_path)
    # When each row reached raw changes with the reload; nothing else may.
    before = snapshot(wh.path, exclude=("_pa_loaded_at",))
    load(wh.path, *wh.batches)
    build(wh)
    assert snapshot(wh.path, exclude=("_pa_loaded_at",)) == before


def test_overlapping_backfill_changes_nothing_but_lineage(base: Warehouse,
                                                          tmp_path: Path) -> None:
    wh = copy_warehouse(base, tmp_path)
    before = snapshot(wh.path, exclude=LINEAGE)
    backfill = Batch(run_id="run_backfill")
    redelivered = wh.now + timedelta(minutes=5)
    for old in wh.batches[-12:]:  # the last ten days, production and the snapshot run
        if old.environment != "sandbox":
            continue
        for stream, rows in old.records.items():
            for row in rows:
                if "_pa_raw" in row and stream != "quarantine":
                    backfill.add(stream, row["_pa_raw"], redelivered)
    assert sum(len(r) for r in backfill.records.values()) > 100
    load(wh.path, backfill)
    build(wh)
    assert snapshot(wh.path, exclude=LINEAGE) == before
    # The merge did run: re-delivered versions now name the backfill's requests.
    assert query(wh.path, "select count(*) from analytics.invoices "
                          "where _pa_run_id = 'run_backfill'")[0][0] > 10


@pytest.fixture(scope="module")
def late(base: Warehouse, tmp_path_factory: pytest.TempPathFactory) -> Warehouse:
    """Baseline plus a run delivering an older version, a newer one, a new customer and an
    undocumented field, merged incrementally."""
    wh = copy_warehouse(base, tmp_path_factory.mktemp("late"))
    day5 = wh.now.replace(hour=0) - timedelta(days=5)
    run = Batch(run_id="run_late")
    later = wh.now + timedelta(minutes=10)
    run.add("invoices", invoice("in_5_0", "cus_5_0", "sub_5_0", day5, status="draft",
                                updated_at=ts(day5 - timedelta(seconds=30))), later)
    run.add("invoices", invoice("in_6_0", "cus_6_0", "sub_6_0", day5, status="void",
                                updated_at=ts(wh.now)), later)
    run.add("invoices", invoice("in_7_0", "cus_7_0", "sub_7_0", day5, status="paid",
                                amount_paid=1100, updated_at=ts(wh.now),
                                tax_details={"rate": "0.1"}), later)
    run.add("customers", customer("cus_new", wh.now), later)
    load(wh.path, run)
    build(wh)
    return wh


def test_late_older_version_never_replaces_the_current_one(late: Warehouse) -> None:
    assert query(late.path, "select status from analytics.invoices where id = 'in_5_0'") == [
        ("paid",)]
    history = query(late.path, "select status, is_current from analytics.invoices_history "
                               "where id = 'in_5_0' order by valid_from")
    assert history == [("draft", False), ("open", False), ("paid", True)]


def test_new_versions_and_records_are_merged(late: Warehouse) -> None:
    assert query(late.path, "select status, _pa_run_id from analytics.invoices "
                            "where id = 'in_6_0'") == [("void", "run_late")]
    assert query(late.path, "select count(*) from analytics.customers where id = 'cus_new'"
                 ) == [(1,)]


def test_unmapped_raw_field_is_reported_as_drift(late: Warehouse) -> None:
    rows = query(late.path, "select stream, field_path, example_record_id "
                            "from monitoring.schema_drift_report")
    assert rows == [("invoices", "tax_details", "in_7_0")]


def test_full_refresh_gives_the_incremental_result(late: Warehouse, tmp_path: Path) -> None:
    incremental = snapshot(late.path)
    fresh = copy_warehouse(late, tmp_path)
    build(fresh, "--full-refresh")
    assert snapshot(fresh.path) == incremental


def test_an_incremental_run_reads_the_delta_and_the_overlap_only(base: Warehouse,
                                                                 tmp_path: Path) -> None:
    """Slicing (docs/transform.md, "What a cycle reads"): a run re-reads only the keys of raw
    rows stamped since the mart's watermark less the overlap - a version a loader stamped
    before it was visible is still merged - and never the other keys."""
    wh = copy_warehouse(base, tmp_path)
    # A record loaded a day ago, then edited in place in raw without a new load stamp: in no
    # later delta. A run that re-read all of raw (or this key) would show "void"; a sliced
    # one keeps "paid". (The rest of the fixture was loaded minutes before the marts were
    # built: inside a 15-minute overlap, so re-read.)
    execute(wh.path, """update raw.invoices set _pa_raw = json_merge_patch(_pa_raw,
                        '{"status": "void"}'), _sdc_batched_at = _sdc_batched_at - interval 1 day
                        where id = 'in_3_0'""")
    day4 = wh.now.replace(hour=0) - timedelta(days=4)
    run = Batch(run_id="run_next")
    run.add("invoices", invoice("in_4_0", "cus_4_0", "sub_4_0", day4, status="void",
                                updated_at=ts(wh.now)), wh.now + timedelta(minutes=5))
    load(wh.path, run)
    # A version stamped 10 minutes before the mart's newest row: a loader that stamps when
    # it batches and commits later (target-snowflake with add_record_metadata), for which
    # incremental_overlap_minutes is set (15 here; 0, the default, is exact for ours).
    newer = invoice("in_8_0", "cus_8_0", "sub_8_0", day4, status="uncollectible",
                    updated_at=ts(wh.now + timedelta(minutes=1)))
    execute(wh.path, f"""
        insert into raw.invoices (environment, id, _pa_version, updated_at, _pa_request_id,
                                  _pa_raw, _sdc_batched_at)
        select 'sandbox', 'in_8_0', 'v_in_8_0_late', '{newer["updated_at"]}', 'req_late',
               '{json.dumps(newer)}',
               (select max(_pa_loaded_at) - interval 10 minute from analytics.invoices)""")
    build(wh, "--vars", "{incremental_overlap_minutes: 15}")
    status = dict(query(wh.path, "select id, status from analytics.invoices "
                                 "where id in ('in_3_0', 'in_4_0', 'in_8_0')"))
    assert status == {"in_3_0": "paid", "in_4_0": "void", "in_8_0": "uncollectible"}
    # The full rebuild reads everything, the edited row included: the two differ only there.
    build(wh, "--full-refresh", "--select", "invoices_history", "invoices")
    assert query(wh.path, "select status from analytics.invoices where id = 'in_3_0'") == [
        ("void",)]


def test_a_touched_key_is_rebuilt_from_its_new_raw_rows_and_the_rows_the_mart_holds(
        base: Warehouse, tmp_path: Path) -> None:
    """Slicing reads the JSON of the delta only (incremental_slice, docs/transform.md): a
    key's new versions are typed from raw; the versions the mart already holds for it come
    from the mart, only their interval moves. A late version older than the current one slots
    in between without replacing it - in a history mart and in a current mart that has none
    (refunds)."""
    wh = copy_warehouse(base, tmp_path)
    # The old versions of the two keys edited in place in raw, with no new load stamp: a run
    # that re-typed them from raw would show the edit; the full rebuild at the end does.
    for table, key, patch in (("invoices", "in_3_0", '{"number": "EDITED"}'),
                              ("refunds", "re_3", '{"reason": "EDITED"}')):
        execute(wh.path, f"""update raw.{table} set _pa_raw = json_merge_patch(_pa_raw,
                             '{patch}'), _sdc_batched_at = _sdc_batched_at - interval 1 day
                             where id = '{key}'""")
    day3 = wh.now.replace(hour=0) - timedelta(days=3)
    run = Batch(run_id="run_touch")
    at = wh.now + timedelta(minutes=5)
    run.add("invoices", invoice("in_3_0", "cus_3_0", "sub_3_0", day3, status="void",
                                updated_at=ts(wh.now)), at)
    run.add("invoices", invoice("in_3_0", "cus_3_0", "sub_3_0", day3, status="draft",
                                updated_at=ts(day3 - timedelta(seconds=30))), at)
    run.add("refunds", refund("re_3", "pay_3_0", "txn_3_0", day3, status="pending",
                              updated_at=ts(day3 - timedelta(minutes=1))), at)
    load(wh.path, run)
    build(wh)

    history = query(wh.path, "select status, number, valid_from, valid_to, is_current "
                             "from analytics.invoices_history where id = 'in_3_0' "
                             "and environment = 'sandbox' order by valid_from")
    assert [(s, n, c) for s, n, _, _, c in history] == [
        ("draft", "N-in_3_0", False), ("open", "N-in_3_0", False), ("paid", "N-in_3_0", False),
        ("void", "N-in_3_0", True)]
    assert [row[3] for row in history[:-1]] == [row[2] for row in history[1:]]
    assert query(wh.path, "select status, number from analytics.invoices "
                          "where id = 'in_3_0' and environment = 'sandbox'") == [
        ("void", "N-in_3_0")]
    assert query(wh.path, "select status, reason from analytics.refunds "
                          "where id = 're_3' and environment = 'sandbox'") == [
        ("succeeded", None)]

    build(wh, "--full-refresh", "--select", "invoices_history", "invoices", "refunds")
    assert query(wh.path, "select distinct number from analytics.invoices_history "
                          "where id = 'in_3_0' and status in ('open', 'paid')") == [("EDITED",)]
    assert query(wh.path, "select status, reason from analytics.refunds "
                          "where id = 're_3' and environment = 'sandbox'") == [
        ("succeeded", "EDITED")]
