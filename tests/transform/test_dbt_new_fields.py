"""Fields the vendor adds become columns on their own (issue 16): through the real loader and
incremental dbt builds - no code change, no --full-refresh - typed from the values the tap
saw (raw.schema_drift), null where a version never had the field, PII safe by default."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from tests.support.dbt_fixtures import (
    Batch,
    Warehouse,
    base_warehouse,
    copy_warehouse,
    customer,
    dbt,
    execute,
    invoice,
    load,
    query,
    ts,
)

# The one line of configuration per field (dbt_project.yml `pii_classes`), here as --vars.
CLASSES = {"customers.preferred_locale": "clear", "customers.loyalty_points": "clear",
           "customers.tax_id": "hashed"}


def build(wh: Warehouse, classes: dict[str, str] | None = None, *args: str) -> None:
    result = dbt(wh.path, "build", "--vars", json.dumps({"pii_classes": classes or CLASSES}),
                 *args)
    assert result.returncode == 0, result.output[-4000:]
    # Only the drift report warns: a customers field nobody has classified yet.
    assert {uid for uid, r in result.results.items() if r["status"] not in ("success", "pass")
            } <= {uid for uid in result.results if "schema_drift_report" in uid}


def columns(wh: Warehouse, table: str, schema: str = "analytics") -> dict[str, str]:
    return dict(query(wh.path, "select column_name, data_type from information_schema.columns "
                               f"where table_schema = '{schema}' and table_name = '{table}'"))


@pytest.fixture(scope="module")
def drifted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Warehouse, Warehouse]:
    """Run 1: customers start carrying `preferred_locale` (string), an unclassified
    `birth_date` and a `tax_id` classified hashed. Run 2, one run later: `loyalty_points`
    (integer). Each run is loaded and built incrementally; the first state is kept."""
    base = base_warehouse(tmp_path_factory.getbasetemp())
    wh = copy_warehouse(base, tmp_path_factory.mktemp("drift"))
    first = Batch(run_id="run_drift1")
    at = wh.now + timedelta(minutes=5)
    first.add("customers", customer("cus_1_0", wh.now, preferred_locale="fr-FR",
                                    birth_date="1990-01-02", tax_id="DE123",
                                    updated_at=ts(wh.now)), at)
    first.add("customers", customer("cus_new", wh.now, preferred_locale=None), at)
    first.add("customers", customer("cus_2_0", wh.now, updated_at=ts(wh.now)), at)
    first.add("invoices", invoice("in_3_0", "cus_3_0", "sub_3_0", wh.now, status="void",
                                  updated_at=ts(wh.now), dunning={"attempts": 2}), at)
    load(wh.path, first)
    build(wh)
    after_first = copy_warehouse(wh, tmp_path_factory.mktemp("drift_first"))

    second = Batch(run_id="run_drift2")
    later = wh.now + timedelta(minutes=10)
    second.add("customers", customer("cus_1_0", wh.now, preferred_locale="fr-FR",
                                     birth_date="1990-01-02", tax_id="DE123", loyalty_points=120,
                                     updated_at=ts(later)), later)
    second.add("customers", customer("cus_3_0", wh.now, loyalty_points=7,
                                     updated_at=ts(later)), later)
    load(wh.path, second)
    build(wh)
    return after_first, wh


def test_a_new_string_field_is_a_column_after_the_next_incremental_run(drifted) -> None:
    first, _ = drifted
    for table in ("customers", "customers_history"):
        assert columns(first, table)["preferred_locale"] == "VARCHAR", table
        assert "loyalty_points" not in columns(first, table)
    assert columns(first, "stg_customers_versions", "staging")["preferred_locale"] == "VARCHAR"
    rows = query(first.path, "select id, preferred_locale from analytics.customers where "
                             "environment = 'sandbox' and id in ('cus_1_0', 'cus_new', "
                             "'cus_2_0', 'cus_5_1') order by id")
    assert rows == [("cus_1_0", "fr-FR"), ("cus_2_0", None), ("cus_5_1", None),
                    ("cus_new", None)]
    # Another resource's new object field: a JSON column (clear: invoices carry no PII).
    assert columns(first, "invoices")["dunning"] == "JSON"
    assert query(first.path, "select dunning->>'attempts' from analytics.invoices "
                             "where id = 'in_3_0'") == [("2",)]


def test_a_second_field_of_another_type_one_run_later(drifted) -> None:
    _, wh = drifted
    for table in ("customers", "customers_history"):
        cols = columns(wh, table)
        assert (cols["preferred_locale"], cols["loyalty_points"]) == ("VARCHAR", "BIGINT")
    rows = query(wh.path, "select id, preferred_locale, loyalty_points from analytics.customers "
                          "where environment = 'sandbox' and id in ('cus_1_0', 'cus_3_0', "
                          "'cus_new', 'cus_4_0') order by id")
    assert rows == [("cus_1_0", "fr-FR", 120), ("cus_3_0", None, 7), ("cus_4_0", None, None),
                    ("cus_new", None, None)]
    history = query(wh.path, "select preferred_locale, loyalty_points, is_current "
                             "from analytics.customers_history where environment = 'sandbox' "
                             "and id = 'cus_1_0' order by valid_from")
    assert history == [(None, None, False), ("fr-FR", None, False), ("fr-FR", 120, True)]
    assert query(wh.path, "select count(*) from analytics.customers_history") == query(
        wh.path, "select count(*) from raw.customers")


def test_pii_fields_are_hashed_or_left_out_until_classified(drifted) -> None:
    _, wh = drifted
    for table in ("customers", "customers_history"):
        cols = columns(wh, table)
        assert "tax_id" not in cols and "tax_id_hash" in cols, table
        assert not {"birth_date", "birth_date_hash"} & cols.keys(), table
    (tax_id_hash,) = query(wh.path, "select tax_id_hash from analytics.customers "
                                    "where environment = 'sandbox' and id = 'cus_1_0'")[0]
    assert tax_id_hash not in (None, "DE123") and len(tax_id_hash) == 64
    # Staging (restricted, like raw) keeps every field.
    assert query(wh.path, "select birth_date from staging.stg_customers where id = 'cus_1_0' "
                          "and environment = 'sandbox'") == [("1990-01-02",)]


def test_the_drift_report_says_when_and_how_each_field_arrived(drifted) -> None:
    _, wh = drifted
    rows = query(wh.path, "select stream, field_path, column_type, pii_class, mapped_as, "
                          "runs_seen, needs_review from monitoring.schema_drift_report "
                          "order by all")
    assert rows == [
        ("customers", "birth_date", "varchar", "dropped", "column", 2, True),
        ("customers", "loyalty_points", "bigint", "clear", "column", 1, False),
        ("customers", "preferred_locale", "varchar", "clear", "column", 2, False),
        ("customers", "tax_id", "varchar", "hashed", "column", 2, False),
        ("invoices", "dunning", "json", "clear", "column", 1, False)]
    first_seen = dict(query(wh.path, "select field_path, first_seen_at "
                                     "from monitoring.schema_drift_report"))
    assert first_seen["loyalty_points"] - first_seen["preferred_locale"] == timedelta(minutes=5)


def test_the_incremental_result_is_the_full_refresh_result(drifted, tmp_path: Path) -> None:
    _, wh = drifted
    fresh = copy_warehouse(wh, tmp_path)
    build(fresh, None, "--full-refresh")
    for table in ("customers", "customers_history", "invoices"):
        assert columns(fresh, table) == columns(wh, table)
        # Which dbt run wrote a row (_pa_transformed_at) differs between two builds by design.
        cols = ", ".join(f'"{c}"' for c in columns(wh, table) if c != "_pa_transformed_at")
        sql = f"select {cols} from analytics.{table} order by all"
        assert query(fresh.path, sql) == query(wh.path, sql), table


def test_a_warehouse_loaded_in_the_v1_raw_layout_keeps_building(drifted,
                                                               tmp_path: Path) -> None:
    """Migration: raw tables of the old layout (typed copies, page cursor and window on
    every row) and marts built from them. New v2 rows land in the same tables; staging reads
    `_pa_raw` only; the marts' per-row cursor column is dropped by the next build (a merged
    row would keep its old version's cursor), the ledger row its request id names has it."""
    _, wh = drifted
    old = copy_warehouse(wh, tmp_path)
    execute(old.path, "alter table raw.invoices add column status varchar; "
                      "alter table raw.invoices add column _pa_cursor varchar; "
                      "update raw.invoices set status = 'stale', _pa_cursor = 'c1'; "
                      "alter table analytics.invoices add column _pa_cursor varchar; "
                      "update analytics.invoices set _pa_cursor = 'c1'")
    run = Batch(run_id="run_v2")
    run.add("invoices", invoice("in_4_0", "cus_4_0", "sub_4_0", old.now, status="void",
                                updated_at=ts(old.now + timedelta(minutes=20))),
            old.now + timedelta(minutes=20))
    load(old.path, run)
    build(old)
    assert query(old.path, "select status from analytics.invoices where environment = "
                           "'sandbox' and id in ('in_4_0', 'in_5_0') order by id") == [
        ("void",), ("paid",)]
    assert "_pa_cursor" not in columns(old, "invoices")
