"""The same dbt project builds on Snowflake's dialect: dbt-snowflake against fakesnow's
server on loopback, with raw tables shaped as a Snowflake loader leaves them (VARIANT for
objects, TIMESTAMP_NTZ for date-times, upper-case names)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from tests.support.dbt_fixtures import (
    Batch,
    baseline,
    customer,
    dbt,
    empty_audit_tables,
    invoice,
    now_hour,
    ts,
)
from tests.support.fakesnow import raw_tables, snowflake_sql

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
