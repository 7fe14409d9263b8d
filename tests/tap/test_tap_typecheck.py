"""Every record is checked against the contract's types, nullability and enums: a breaking
value is quarantined with its field and request id (never emitted, never a crash); a new
enum value is additive: loaded and reported as drift."""

from __future__ import annotations

from tap_partnerapi.tap import QUARANTINE_EXIT_CODE
from tests.support.tap_fixtures import run_cli, tap_config

AUDIT = ["quarantine", "schema_drift", "coverage_ledger"]
#: The issue's examples (payments) plus nested, array and nullable cases elsewhere.
BREAKING = {
    ("payments", "amount"): "12.50",
    ("payments", "id"): None,
    ("payments", "currency"): 123,
    ("payments", "method"): "visa-4242",
    ("payments", "updated_at"): "yesterday",
    ("payments", "captured_at"): "2026-13-45T00:00:00Z",
    ("subscriptions", "items"): [{"plan_id": "plan_x", "quantity": "2"}],
    ("subscriptions", "cancel_at_period_end"): 1,
    ("invoices", "total"): 10.0,
    ("invoices", "status"): None,
}
FIELD_IN_REASON = {"items": "items[0].quantity"}


def test_breaking_values_are_quarantined_with_field_and_request_id(sandbox):
    sb = sandbox(seed=3)
    corrupted = {}
    for (resource, field), value in BREAKING.items():
        # Each on its own record: one problem per record, each found.
        taken = {rid for (res, _), rid in corrupted.items() if res == resource}
        record_id = sorted(set(sb.truth(resource)) - taken)[0]
        sb.corrupt(resource, record_id, **{field: value})
        corrupted[(resource, field)] = record_id
    updated_null = sorted(set(sb.truth("refunds")))[0]
    sb.corrupt("refunds", updated_null, updated_at=None)
    corrupted[("refunds", "updated_at")] = updated_null
    streams = sorted({resource for resource, _ in corrupted})
    run = run_cli(tap_config(sb), streams=[*streams, *AUDIT])
    assert run.returncode == QUARANTINE_EXIT_CODE, run.stderr[-3000:]
    assert "Traceback" not in run.stderr
    quarantined = {(q["stream"], q["_pa_raw"].get("id")): q for q in run.records("quarantine")}
    assert len(quarantined) == len(corrupted)
    for (resource, field), record_id in corrupted.items():
        key = (resource, None if field == "id" else record_id)
        q = quarantined[key]
        assert f"in {FIELD_IN_REASON.get(field, field)}:" in q["reason"], q["reason"]
        assert q["_pa_request_id"].startswith("req_")
        if field != "updated_at":
            assert q["updated_at"]  # the column stays a timestamp or null
        emitted = {r["id"] for r in run.records(resource)}
        assert record_id not in emitted, (resource, field)  # never half-typed
    # Everything else flows.
    for resource in streams:
        ids = {r["id"] for r in run.records(resource)}
        bad = {rid for (res, _), rid in corrupted.items() if res == resource}
        assert ids == set(sb.truth(resource)) - bad, resource
    assert run.summaries["payments"]["quarantined"] == 6


def test_a_value_outside_an_enum_is_loaded_and_reported_as_drift(sandbox):
    sb = sandbox(seed=3)
    record_id = sorted(sb.truth("payments"))[0]
    sb.corrupt("payments", record_id, status="exploded")
    event_id = sorted(sb.truth("events"))[0]
    sb.corrupt("events", event_id, event_type="CHARGEBACK_REOPENED")
    run = run_cli(tap_config(sb), streams=["payments", "events", *AUDIT])
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.records("quarantine") == []
    loaded = {r["id"]: r for r in run.records("payments")}
    assert loaded[record_id]["_pa_raw"]["status"] == "exploded"
    assert {r["event_id"] for r in run.records("events")} == set(sb.truth("events"))
    drift = {(d["stream"], d["field_path"], d["example_record_id"])
             for d in run.records("schema_drift")}
    assert drift == {("payments", "status='exploded'", record_id),
                     ("events", "event_type='CHARGEBACK_REOPENED'", event_id)}
