"""Schema drift: additive fields keep flowing; a renamed field quarantines its records."""

from __future__ import annotations

from tap_partnerapi.drift import json_type
from tap_partnerapi.tap import QUARANTINE_EXIT_CODE
from tests.support.tap_fixtures import run_cli, run_tap, tap_config

AUDIT = ["quarantine", "schema_drift"]


def test_rename_mode_quarantines_invoices_and_the_run_says_so(sandbox):
    sb = sandbox(seed=8, schema_mode="rename")
    run = run_cli(tap_config(sb), streams=["invoices", "payments", *AUDIT])
    assert run.returncode == QUARANTINE_EXIT_CODE
    assert run.records("invoices") == []  # never a typed row with a null amount_due
    quarantined = run.records("quarantine")
    assert {q["record_id"] for q in quarantined} == set(sb.truth("invoices"))
    sample = quarantined[0]
    assert sample["stream"] == "invoices"
    assert sample["missing_fields"] == ["amount_due"]
    assert sample["unexpected_fields"] == ["amount_due_minor"]
    assert "rename" in sample["reason"]
    assert "amount_due_minor" in sample["_pa_raw"]
    assert sample["_pa_request_id"].startswith("req_")
    # Other streams keep flowing.
    assert len(run.records("payments")) == len(sb.truth("payments"))
    summaries = run.summaries
    assert summaries["invoices"]["status"] == "quarantined"
    assert summaries["invoices"]["quarantined"] == len(sb.truth("invoices"))
    assert summaries["payments"]["status"] == "ok"
    # The state still moves for the valid stream; the quarantined one has no bookmark.
    assert "replication_key_value" in run.state["bookmarks"]["payments"]
    assert "replication_key_value" not in run.state["bookmarks"].get("invoices", {})


def test_rename_can_be_reported_without_failing_the_exit_status(sandbox):
    sb = sandbox(seed=8, schema_mode="rename")
    run = run_cli(tap_config(sb, fail_on_quarantine=False), streams=["invoices", *AUDIT])
    assert run.returncode == 0
    assert run.summaries["invoices"]["status"] == "quarantined"


def test_additive_mode_keeps_flowing_and_reports_new_fields(sandbox):
    sb = sandbox(seed=8, schema_mode="additive")
    streams = ["customers", "invoice_items", "payments", "events"]
    run = run_tap(tap_config(sb), streams=[*streams, *AUDIT])
    assert run.records("quarantine") == []
    for stream in streams:
        id_field = "event_id" if stream == "events" else "id"
        assert {r[id_field] for r in run.records(stream)} == set(sb.truth(stream))
    drift = {(d["stream"], d["field_path"]) for d in run.records("schema_drift")}
    assert {("customers", "preferred_locales"), ("customers", "address.state"),
            ("invoice_items", "discountable"), ("invoice_items", "period.timezone"),
            ("payments", "statement_descriptor"), ("payments", "method.exp_year"),
            ("events", "api_version")} <= drift
    # payload is free-form by contract ("evolves monthly"): not drift.
    assert not any(path.startswith("payload") for _, path in drift)
    customer = run.records("customers")[0]
    assert "preferred_locales" not in customer  # not a typed column...
    assert "preferred_locales" in customer["_pa_raw"]  # ...but kept, queryable
    assert run.tap.stats_for("customers").new_fields
    # What dbt needs to type each new field without reading raw again.
    types = {(d["stream"], d["field_path"]): d["json_types"] for d in run.records("schema_drift")}
    assert types[("customers", "preferred_locales")] == "array"
    assert types[("customers", "address.state")] == "null"
    assert types[("invoice_items", "discountable")] == "boolean"
    assert types[("invoice_items", "period.timezone")] == "string"
    assert types[("payments", "method.exp_year")] == "integer"
    assert types[("events", "api_version")] == "string"  # a date, not a timestamp


def _last_drift_rows(run) -> dict[tuple[str, str], dict]:
    """The rows an upserting loader keeps: the last one per key."""
    return {(d["stream"], d["field_path"]): d for d in run.records("schema_drift")}


def test_a_second_new_field_one_run_later_is_reported_with_its_types(sandbox):
    """Issue 16's scenario: additive drift, then a field of another type one run later.
    Its values are null on some records: the row is rewritten as the types widen, and the
    last row (the one an upserting loader keeps) lists every type the run saw."""
    sb = sandbox(seed=8, schema_mode="additive")
    first = run_tap(tap_config(sb, run_id="r1"), streams=["customers", *AUDIT])
    assert ("customers", "loyalty_points") not in _last_drift_rows(first)
    sb.add_field("customers", "loyalty_points", "integer")
    sb.add_field("customers", "last_seen_at", "timestamp")
    second = run_tap(tap_config(sb, run_id="r2", start_date="2020-01-01T00:00:00Z"),
                     streams=["customers", *AUDIT])
    rows = _last_drift_rows(second)
    for field, kind in (("loyalty_points", "integer"), ("last_seen_at", "timestamp")):
        row = rows[("customers", field)]
        assert row["run_id"] == "r2"
        assert row["json_types"] == f"{kind},null" or row["json_types"] == f"null,{kind}"
        assert row["json_types"] == ",".join(sorted(
            {json_type(r["_pa_raw"][field]) for r in second.records("customers")}))
        written = [d for d in second.records("schema_drift") if d["field_path"] == field]
        assert len({d["first_seen_at"] for d in written}) == 1  # rewrites keep the first
        assert 1 <= len(written) <= 2  # once, then once more when the types widened
