"""dbt on DuckDB: the baseline builds with every test passing and the marts hold the truth."""

from __future__ import annotations

import hashlib
from pathlib import Path

from tests.support.dbt_fixtures import (
    Warehouse,
    copy_warehouse,
    dbt,
    execute,
    query,
)


def test_build_runs_every_model_and_test(base: Warehouse, tmp_path: Path) -> None:
    wh = copy_warehouse(base, tmp_path)
    result = dbt(wh.path, "build")
    assert result.returncode == 0, result.output[-3000:]
    statuses = {uid: r["status"] for uid, r in result.results.items()}
    assert {s for s in statuses.values()} <= {"success", "pass"}, statuses
    models = {uid.split(".")[-1] for uid in statuses if uid.startswith("model.")}
    assert {"customers", "plans", "subscriptions", "invoices", "invoice_items", "payments",
            "refunds", "payment_events", "payment_transactions", "invoices_history",
            "payments_history", "subscriptions_history", "payment_events_history"} <= models
    assert sum(uid.startswith("test.") for uid in statuses) > 80


def test_marts_hold_latest_version_per_environment_and_id(base: Warehouse) -> None:
    rows = query(base.path, "select status, amount_paid, paid_at is not null, typeof(total) "
                            "from analytics.invoices where environment = 'sandbox' "
                            "and id = 'in_5_0'")
    assert rows == [("paid", 1100, True, "BIGINT")]
    # Sandbox and production ids collide: both rows exist, each with its own lineage.
    rows = query(base.path, "select environment, _pa_run_id from analytics.customers "
                            "where id = 'cus_29_0' order by environment")
    assert rows == [("production", "run_prod"), ("sandbox", "run_d29")]
    counts = query(base.path, "select (select count(*) from analytics.invoices), "
                              "(select count(distinct id) from raw.invoices), "
                              "(select count(*) from analytics.invoices_history), "
                              "(select count(*) from raw.invoices)")
    assert counts[0][0] == counts[0][1] and counts[0][2] == counts[0][3]


def test_history_intervals_chain_versions(base: Warehouse) -> None:
    rows = query(base.path, "select status, valid_from, valid_to, is_current "
                            "from analytics.invoices_history where id = 'in_5_0' "
                            "order by valid_from")
    assert [r[0] for r in rows] == ["open", "paid"]
    assert rows[0][2] == rows[1][1] and rows[1][2] is None and rows[1][3]


def test_customer_pii_is_salted_hash_in_marts_and_clear_only_in_raw(base: Warehouse) -> None:
    columns = {r[0] for r in query(base.path, "select column_name from information_schema."
                                              "columns where table_schema = 'analytics' and "
                                              "table_name = 'customers'")}
    assert not {"email", "name", "phone", "address"} & columns
    assert {"email_hash", "name_hash", "phone_hash", "address_hash"} <= columns
    (email_hash,) = query(base.path, "select email_hash from analytics.customers where "
                                     "environment = 'sandbox' and id = 'cus_3_1'")[0]
    expected = hashlib.sha256(b"partnerapi-dev-salt" + b"cus_3_1@example.com").hexdigest()
    assert email_hash == expected
    assert query(base.path, "select _pa_raw->>'email' from raw.customers "
                            "where id = 'cus_3_1'") == [("cus_3_1@example.com",)]


def test_source_freshness_passes_on_fresh_data(base: Warehouse, tmp_path: Path) -> None:
    wh = copy_warehouse(base, tmp_path)
    result = dbt(wh.path, "source", "freshness")
    assert result.returncode == 0, result.output[-3000:]
    assert set(result.status("source.partnerapi.raw")) == {"pass"}


def test_build_passes_before_the_audit_streams_ever_ran(base: Warehouse, tmp_path: Path) -> None:
    """The reconciliation job (id snapshots), quarantine and drift streams create their raw
    tables only when first selected or first used: the project must build without them."""
    wh = copy_warehouse(base, tmp_path)
    execute(wh.path, "drop table raw.id_snapshots; drop table raw.id_snapshot_runs; "
                     "drop table raw.quarantine; drop table raw.schema_drift")
    result = dbt(wh.path, "build")
    assert result.returncode == 0, result.output[-3000:]
    assert query(wh.path, "select count(*) from monitoring.delete_guard") == [(0,)]
    assert query(wh.path, "select count(*) from analytics.customers where is_deleted") == [(0,)]
