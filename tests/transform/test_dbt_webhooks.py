"""Webhook notifications in dbt: pushed versions reach the marts early, pull stays the
source of truth, delete notices flag records until a later id snapshot decides.

Rows of `raw.webhook_notifications` are built as the tap's stream writes them (its own
Singer schema) and loaded through the real target-duckdb-bulk; dbt runs incrementally on a copy
of the session's baseline (docs/webhooks.md, "dbt: using the notifications")."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.support import fakesnow as sf
from tests.support.dbt_fixtures import (
    Batch,
    Warehouse,
    baseline,
    copy_warehouse,
    customer,
    dbt,
    empty_audit_tables,
    load,
    now_hour,
    payment,
    query,
    snapshot_batch,
    ts,
)

LINEAGE = ("_pa_run_id", "_pa_request_id", "_pa_extracted_at", "_pa_loaded_at",
           "_pa_transformed_at")
DELETE_NOTICE = "whk_del_cus_6_0"


def naive(moment: datetime) -> datetime:
    return moment.replace(tzinfo=None)


def refunded_pay_3_0(now: datetime) -> dict[str, Any]:
    """A version of pay_3_0 newer than the polled one (status refunded)."""
    day = now.replace(hour=0) - timedelta(days=3)
    return payment("pay_3_0", "in_3_0", "cus_3_0", "txn_3_0", day, status="refunded",
                   amount_refunded=1100, updated_at=ts(now))


def pushed_batch(now: datetime) -> Batch:
    """One tap run of webhook_notifications: every case the marts must get right."""
    w = Batch(run_id="run_webhooks")
    received = now + timedelta(minutes=5)
    # (a) a newer version, pushed twice under two notification ids (the same bytes).
    w.webhook("payments", "updated", refunded_pay_3_0(now), received, created_at=now,
              notification_id="whk_pay_3_0")
    w.webhook("payments", "updated", refunded_pay_3_0(now), received + timedelta(seconds=1),
              created_at=now, notification_id="whk_pay_3_0_again")
    # (b) an older version, delivered after the polled newer one.
    day4 = now.replace(hour=0) - timedelta(days=4)
    w.webhook("payments", "updated",
              payment("pay_4_0", "in_4_0", "cus_4_0", "txn_4_0", day4, status="pending",
                      captured_at=None, updated_at=ts(day4 - timedelta(seconds=30))),
              received, created_at=day4 - timedelta(seconds=30))
    # (c) delete notices newer than every version and than the baseline's snapshot.
    for cid, nid in (("cus_4_0", "whk_del_cus_4_0"), ("cus_6_0", DELETE_NOTICE)):
        w.webhook("customers", "deleted", customer(cid, now), received, created_at=now,
                  notification_id=nid)
    # (e) a customer created seconds ago: pushed, but not listed by the vendor yet.
    w.webhook("customers", "created", customer("cus_pushed_only", now), received,
              created_at=now, notification_id="whk_new_customer")
    # (d) a stale notice: the record was updated after it (the update arrived first).
    day5 = now.replace(hour=0) - timedelta(days=5)
    w.webhook("customers", "updated", customer("cus_5_0", day5, balance=500,
                                               updated_at=ts(now)),
              received, created_at=now)
    w.webhook("customers", "deleted", customer("cus_5_0", day5),
              received + timedelta(seconds=2), created_at=now - timedelta(minutes=10))
    # (f) a version missing a documented field (vendor rename): never a version.
    renamed = payment("pay_5_0", "in_5_0", "cus_5_0", "txn_5_0", day5, status="failed",
                      updated_at=ts(now))
    renamed["amount_minor"] = renamed.pop("amount")
    w.webhook("payments", "updated", renamed, received, created_at=now, conforms=False,
              issue="documented field(s) missing: amount", notification_id="whk_renamed")
    # Unknown action and unknown resource: landed, kept in raw, ignored.
    day6 = now.replace(hour=0) - timedelta(days=6)
    w.webhook("payments", "captured", payment("pay_6_0", "in_6_0", "cus_6_0", "txn_6_0", day6,
                                              status="disputed", updated_at=ts(now)),
              received, created_at=now, notification_id="whk_unknown_action")
    w.webhook("disputes", "created", {"id": "dp_1", "updated_at": ts(now)}, received,
              created_at=now, conforms=None, issue="unknown resource 'disputes'")
    return w


def production_notice(now: datetime) -> Batch:
    """A delete notice in production for an id that exists only in the sandbox."""
    p = Batch(run_id="run_webhooks_prod", environment="production")
    p.webhook("customers", "deleted", customer("cus_7_0", now), now + timedelta(minutes=5),
              created_at=now)
    return p


def build(wh: Warehouse, *args: str) -> None:
    result = dbt(wh.path, "build", *args)
    assert result.returncode == 0, result.output[-4000:]


def row(wh: Warehouse, table: str, columns: str, key: str) -> tuple:
    rows = query(wh.path, f"select {columns} from analytics.{table} "
                          f"where environment = 'sandbox' and id = '{key}'")
    assert len(rows) == 1, rows
    return rows[0]


def history(wh: Warehouse, key: str) -> list[tuple]:
    return query(wh.path, "select status, is_current, _pa_request_id from "
                          f"analytics.payments_history where id = '{key}' order by valid_from")


def delete_flag(wh: Warehouse, key: str) -> tuple:
    return row(wh, "customers", "is_deleted, deleted_source, deleted_detected_at", key)


def analytics(wh: Warehouse, exclude: tuple[str, ...] = ()) -> dict[str, list[tuple]]:
    """Every analytics table, every row, sorted; never `_pa_transformed_at` (which dbt run
    wrote a row differs between any two builds by design)."""
    exclude = (*exclude, "_pa_transformed_at")
    out = {}
    for (table,) in query(wh.path, "select table_name from information_schema.tables "
                                   "where table_schema = 'analytics' order by 1"):
        cols = [c for (c,) in query(wh.path, "select column_name from information_schema."
                                             f"columns where table_schema = 'analytics' and "
                                             f"table_name = '{table}' order by ordinal_position")
                if c not in exclude]
        select = ", ".join(f'"{c}"' for c in cols)
        out[table] = query(wh.path, f"select {select} from analytics.{table} order by all")
    return out


@pytest.fixture(scope="module")
def pushed(base: Warehouse, tmp_path_factory: pytest.TempPathFactory) -> Warehouse:
    """Baseline, then one run that loaded only webhook notifications; incremental build."""
    wh = copy_warehouse(base, tmp_path_factory.mktemp("pushed"))
    load(wh.path, pushed_batch(wh.now), production_notice(wh.now))
    build(wh)
    return wh


@pytest.fixture(scope="module")
def polled(pushed: Warehouse, tmp_path_factory: pytest.TempPathFactory) -> Warehouse:
    """Then a poll brings pay_3_0's pushed version, and a complete snapshot that started
    after the delete notices lists cus_4_0 but not cus_6_0; incremental build."""
    wh = copy_warehouse(pushed, tmp_path_factory.mktemp("polled"))
    poll = Batch(run_id="run_poll")
    poll.add("payments", refunded_pay_3_0(wh.now), wh.now + timedelta(minutes=10))
    snap = snapshot_batch(wh.batches, wh.now + timedelta(hours=1), "snap_after",
                          drop={"customers": ["cus_6_0"]})
    load(wh.path, poll, snap)
    build(wh)
    return wh


def test_pushed_newer_version_reaches_current_and_history_marts(pushed: Warehouse) -> None:
    assert row(pushed, "payments", "status, amount_refunded, _pa_request_id, _pa_run_id",
               "pay_3_0") == ("refunded", 1100, "webhook:whk_pay_3_0_again", "run_webhooks")
    assert history(pushed, "pay_3_0") == [
        ("succeeded", False, "req_run_d03_7"), ("refunded", True, "webhook:whk_pay_3_0_again")]
    # Two notifications of the same bytes are one version.
    assert query(pushed.path, "select count(*) from staging.stg_payments_versions "
                              "where id = 'pay_3_0'") == [(2,)]


def test_pushed_older_version_does_not_replace_the_polled_one(pushed: Warehouse) -> None:
    assert row(pushed, "payments", "status, _pa_request_id", "pay_4_0") == (
        "succeeded", "req_run_d04_7")
    assert [h[:2] for h in history(pushed, "pay_4_0")] == [
        ("pending", False), ("succeeded", True)]


def test_delete_notice_flags_the_record_without_a_snapshot(pushed: Warehouse) -> None:
    for cid in ("cus_4_0", "cus_6_0"):
        assert delete_flag(pushed, cid) == (True, "webhook", naive(pushed.now))
    # Ids collide across environments: production's notice touches nothing here.
    assert delete_flag(pushed, "cus_7_0") == (False, None, None)
    assert query(pushed.path, "select count(*) from analytics.customers where is_deleted"
                 ) == [(2,)]


def test_stale_delete_notice_does_not_flag(pushed: Warehouse) -> None:
    assert delete_flag(pushed, "cus_5_0") == (False, None, None)
    assert row(pushed, "customers", "balance, _pa_request_id", "cus_5_0")[0] == 500


def test_nonconforming_and_unknown_notifications_never_reach_staging(
        pushed: Warehouse) -> None:
    assert query(pushed.path, "select count(*) from staging.stg_webhook_notifications "
                              "where environment = 'sandbox'") == [(11,)]
    leaked = query(pushed.path, """
        select v.id from staging.stg_payments_versions v
        join staging.stg_webhook_notifications n
          on n.environment = v.environment and n._pa_version = v._pa_version
        where n.notification_id in ('whk_renamed', 'whk_unknown_action')""")
    assert leaked == []
    for pid, request in (("pay_5_0", "req_run_d05_7"), ("pay_6_0", "req_run_d06_7")):
        assert row(pushed, "payments", "status, _pa_request_id", pid) == ("succeeded", request)


def test_polled_copy_of_a_pushed_version_changes_only_lineage(
        pushed: Warehouse, polled: Warehouse) -> None:
    columns = [c for (c,) in query(polled.path, "select column_name from information_schema"
                                                ".columns where table_schema = 'analytics' "
                                                "and table_name = 'payments'")
               if c not in LINEAGE]
    select = ", ".join(f'"{c}"' for c in columns)
    assert row(polled, "payments", select, "pay_3_0") == row(pushed, "payments", select,
                                                             "pay_3_0")
    assert row(polled, "payments", "_pa_request_id, _pa_run_id", "pay_3_0") == (
        "req_run_poll_1", "run_poll")
    assert history(polled, "pay_3_0") == [
        ("succeeded", False, "req_run_d03_7"), ("refunded", True, "req_run_poll_1")]


def test_later_snapshot_decides_over_delete_notices(
        polled: Warehouse, tmp_path: Path) -> None:
    # Listed by a snapshot one hour after the notice: the delete may not show in listings
    # yet (visibility lag up to 48 h), so the notice still stands.
    assert delete_flag(polled, "cus_4_0") == (True, "webhook", naive(polled.now))
    # Missed by it: reconciliation confirms, and its detection time replaces the notice's.
    completed = naive(polled.now + timedelta(hours=1, minutes=5))
    assert delete_flag(polled, "cus_6_0") == (True, "reconciliation", completed)

    # Known only from its webhook, so not yet proven visible: a snapshot that does not list
    # it says nothing about it (it would be a false delete).
    assert delete_flag(polled, "cus_pushed_only") == (False, None, None)

    # Still listed 49 hours after the notice: the record lives, the notice was wrong.
    later = copy_warehouse(polled, tmp_path)
    load(later.path, snapshot_batch(later.batches, later.now + timedelta(hours=49),
                                    "snap_49h", drop={"customers": ["cus_6_0"]}))
    build(later, "--select", "+customers")
    assert delete_flag(later, "cus_4_0") == (False, None, None)
    assert delete_flag(later, "cus_6_0")[:2] == (True, "reconciliation")


def test_full_refresh_gives_the_incremental_result(polled: Warehouse, tmp_path: Path) -> None:
    fresh = copy_warehouse(polled, tmp_path)
    build(fresh, "--full-refresh")
    assert analytics(fresh) == analytics(polled)


def test_webhook_versions_and_delete_notices_on_the_snowflake_emulation(
        fakesnow_port: int, tmp_path: Path) -> None:
    now = now_hour()
    batches = [*baseline(now), empty_audit_tables(), pushed_batch(now)]
    sf.snowflake_sql(fakesnow_port, "select 1", sf.raw_tables(tmp_path / "raw.json", batches))
    result = dbt(tmp_path / "unused.duckdb", "run", "--target", "fakesnow",
                 "--select", "+payments", "+payments_history", "+customers",
                 utility="dbt-snowflake", extra_env={"FAKESNOW_PORT": str(fakesnow_port)})
    assert result.returncode == 0, result.output[-5000:]

    def mart(sql: str) -> list[list]:
        return sf.snowflake_sql(fakesnow_port, sql)

    assert mart("select status, _pa_request_id from ANALYTICS.PAYMENTS where environment = "
                "'sandbox' and id in ('pay_3_0', 'pay_4_0', 'pay_5_0') order by id") == [
        ["refunded", "webhook:whk_pay_3_0_again"], ["succeeded", "req_run_d04_7"],
        ["succeeded", "req_run_d05_7"]]
    assert mart("select id, deleted_source from ANALYTICS.CUSTOMERS where is_deleted "
                "order by id") == [["cus_4_0", "webhook"], ["cus_6_0", "webhook"]]
    assert mart("select count(*) from ANALYTICS.PAYMENTS_HISTORY where id = 'pay_4_0'") == [
        [2]]
