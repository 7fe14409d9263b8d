"""Data-quality gates fire on the faults they exist for: volume drops, ledger gaps,
quarantined records and stale sources."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from tests.support.dbt_fixtures import (
    Batch,
    Warehouse,
    copy_warehouse,
    dbt,
    execute,
    invoice,
    load,
    query,
    ts,
)


def test_anomaly_test_warns_on_a_volume_drop(base: Warehouse, tmp_path: Path) -> None:
    wh = copy_warehouse(base, tmp_path)
    yesterday = (wh.now - timedelta(days=1)).date()
    # A lost load: yesterday's invoice versions never reached raw.
    execute(wh.path, f"delete from raw.invoices where cast(updated_at as date) = '{yesterday}'")
    result = dbt(wh.path, "build", "--select", "daily_volume+")
    assert result.returncode == 0, result.output[-3000:]  # a warning, not an error
    assert result.status("assert_no_volume_anomaly") == ["warn"]
    rows = query(wh.path, "select resource, z_score from monitoring.daily_volume "
                          f"where is_checked and day = '{yesterday}' and abs(z_score) > 3")
    assert [r[0] for r in rows] == ["invoices"] and rows[0][1] < -3


def test_coverage_test_fails_on_a_removed_ledger_row(base: Warehouse, tmp_path: Path) -> None:
    wh = copy_warehouse(base, tmp_path)
    day10 = (wh.now - timedelta(days=10)).replace(hour=0)
    execute(wh.path, "delete from raw.coverage_ledger where stream = 'invoices' "
                     "and run_id = 'run_d10' and page_number = 1")
    result = dbt(wh.path, "build", "--select", "ledger_coverage_gaps+")
    assert result.returncode != 0
    assert result.status("is_empty_ledger_coverage_gaps") == ["fail"]
    gaps = query(wh.path, "select environment, stream, gap_from, gap_to "
                          "from monitoring.ledger_coverage_gaps")
    naive = day10.replace(tzinfo=None)
    assert gaps == [("sandbox", "invoices", naive, naive + timedelta(minutes=30))]


def test_quarantined_record_fails_the_build(base: Warehouse, tmp_path: Path) -> None:
    wh = copy_warehouse(base, tmp_path)
    run = Batch(run_id="run_q")
    raw = {"id": "in_q", "amount_due_minor": 1100}
    run.audit("quarantine", {
        "stream": "invoices", "record_id": "in_q", "updated_at": None,
        "reason": "documented field missing", "missing_fields": ["amount_due"],
        "unexpected_fields": ["amount_due_minor"], "_pa_raw": raw, "_pa_version": "v_q",
        "_pa_run_id": "run_q", "_pa_request_id": "req_q", "_pa_extracted_at": None})
    load(wh.path, run)
    result = dbt(wh.path, "build", "--select", "stg_quarantine")
    assert result.returncode != 0
    assert result.status("is_empty_stg_quarantine") == ["fail"]


def test_freshness_errors_when_nothing_was_read_for_a_day(base: Warehouse,
                                                          tmp_path: Path) -> None:
    wh = copy_warehouse(base, tmp_path)
    execute(wh.path, "update raw.coverage_ledger set completed_at = completed_at - interval 3 day")
    execute(wh.path, "update raw.events set _sdc_batched_at = _sdc_batched_at - interval 3 day")
    result = dbt(wh.path, "source", "freshness")
    assert result.returncode != 0
    assert result.status("source.partnerapi.raw.coverage_ledger") == ["error"]
    assert result.status("source.partnerapi.raw.events") == ["error"]


def test_the_cycles_tests_read_the_rows_of_the_latest_run(base: Warehouse,
                                                          tmp_path: Path) -> None:
    """docs/transform.md, "Tests on the cycle and on the sweep": with `test_scope: delta` a
    mart's tests read the rows its latest run merged (its newest `_pa_transformed_at`), with
    `full` every row."""
    wh = copy_warehouse(base, tmp_path)
    run = Batch(run_id="run_next")
    day4 = wh.now.replace(hour=0) - timedelta(days=4)
    run.add("invoices", invoice("in_4_0", "cus_4_0", "sub_4_0", day4, status="void",
                                updated_at=ts(wh.now)), wh.now + timedelta(minutes=5))
    load(wh.path, run)
    assert dbt(wh.path, "build", "--select", "invoices_history", "invoices").returncode == 0
    latest = {r[0] for r in query(wh.path, "select id from analytics.invoices where "
                                          "_pa_transformed_at = (select max(_pa_transformed_at) "
                                          "from analytics.invoices)")}
    assert "in_4_0" in latest and "in_3_0" not in latest
    # A row of an earlier run breaks accepted_values: the cycle does not read it, the daily
    # build does.
    execute(wh.path, "update analytics.invoices set status = 'bogus' where id = 'in_3_0'")
    cycle = dbt(wh.path, "build", "--select", "invoices")
    assert cycle.returncode == 0, cycle.output[-3000:]
    assert cycle.status("accepted_values_invoices_status") == ["pass"]
    daily = dbt(wh.path, "build", "--select", "invoices", "--vars", "{test_scope: full}")
    assert daily.returncode != 0
    assert daily.status("accepted_values_invoices_status") == ["fail"]
    # The same fault in a row of the latest run fails the cycle.
    execute(wh.path, "update analytics.invoices set status = 'open' where id = 'in_3_0'")
    execute(wh.path, "update analytics.invoices set status = 'bogus' where id = 'in_4_0'")
    cycle = dbt(wh.path, "build", "--select", "invoices")
    assert cycle.status("accepted_values_invoices_status") == ["fail"]


def test_a_marts_key_test_fails_on_a_duplicate_or_a_null_and_names_the_check(
        base: Warehouse, tmp_path: Path) -> None:
    """`primary_key` (macros/generic_tests.sql): one test node per mart checks its key
    unique and not null and its other not-null columns; each failing row names its check."""
    wh = copy_warehouse(base, tmp_path)
    full = ("--select", "invoices", "--vars", "{test_scope: full}")
    assert dbt(wh.path, "test", *full).status("primary_key_invoices") == ["pass"]
    execute(wh.path, "insert into analytics.invoices select * from analytics.invoices "
                     "where id = 'in_3_0' and environment = 'sandbox'")
    execute(wh.path, "update analytics.invoices set _pa_version = null "
                     "where id = 'in_4_0' and environment = 'sandbox'")
    result = dbt(wh.path, "test", *full)
    assert result.returncode != 0
    (failed,) = [r for uid, r in result.results.items() if "primary_key_invoices" in uid]
    assert (failed["status"], failed["failures"]) == ("fail", 2)
    rows = query(wh.path, failed["compiled_code"])
    assert sorted((r[1], r[2]) for r in rows) == [("in_3_0", "duplicate key"),
                                                 ("in_4_0", "null _pa_version")]
