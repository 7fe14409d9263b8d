"""Schema changes on demand: additive fields (top-level and nested) and the invoices rename."""

from __future__ import annotations

import requests

from partnerapi_sandbox.schema_drift import FIELDS
from partnerapi_sandbox.store import RESOURCES

FORM = {"grant_type": "client_credentials", "client_id": "demo-client",
        "client_secret": "demo-secret"}


_tokens: dict[str, str] = {}  # the token endpoint allows 10/min: cache, as the contract asks


def first_page(sb, resource: str, **params: object) -> requests.Response:  # type: ignore[no-untyped-def]
    if sb.url not in _tokens:
        _tokens[sb.url] = requests.post(f"{sb.url}/oauth/token", data=FORM,
                                        timeout=10).json()["access_token"]
    tok = _tokens[sb.url]
    return requests.get(f"{sb.url}/v1/{resource}", params={"page_size": 50, **params},
                        headers={"Authorization": f"Bearer {tok}"}, timeout=10)


def test_documented_shape_by_default(sandbox):
    sb = sandbox()
    for resource in RESOURCES:
        for record in first_page(sb, resource).json()["data"]:
            assert tuple(record) == FIELDS[resource], resource


def test_additive_adds_top_level_and_nested_fields(sandbox):
    sb = sandbox()
    r = requests.post(f"{sb.url}/_sandbox/schema", json={"mode": "additive"}, timeout=10)
    assert r.json()["schema_mode"] == "additive"
    for resource in RESOURCES:
        for record in first_page(sb, resource).json()["data"]:
            assert set(FIELDS[resource]) < set(record), "documented fields stay"
    customer = first_page(sb, "customers").json()["data"][0]
    assert "state" in customer["address"] and "preferred_locales" in customer
    event = first_page(sb, "events").json()["data"][0]
    assert "country" in event["payload"]["merchant"] and "network" in event["payload"]
    assert event == sb.truth("events")[event["event_id"]], "truth shows what is served"
    sb.set_schema_mode("none")
    assert tuple(first_page(sb, "customers").json()["data"][0]) == FIELDS["customers"]


def test_rename_replaces_amount_due_on_invoices_only(sandbox):
    sb = sandbox(schema_mode="rename")
    invoices = first_page(sb, "invoices").json()["data"]
    assert all("amount_due" not in i and isinstance(i["amount_due_minor"], int)
               for i in invoices)
    assert tuple(first_page(sb, "payments").json()["data"][0]) == FIELDS["payments"]
    assert first_page(sb, "invoices", fields="amount_due").status_code == 400
    rows = first_page(sb, "invoices", fields="amount_due_minor").json()["data"]
    assert set(rows[0]) == {"id", "amount_due_minor"}
    sb.set_schema_mode("none")
    assert "amount_due" in first_page(sb, "invoices").json()["data"][0]


def test_a_field_added_later_is_served_everywhere_and_in_the_truth(sandbox):
    """The admin API's `fields` knob: one more top-level field, any schema mode."""
    sb = sandbox(schema_mode="additive")
    r = requests.post(f"{sb.url}/_sandbox/fields", timeout=10,
                      json={"resource": "payments", "name": "risk_score", "kind": "number"})
    assert r.json()["extra_fields"] == {"payments": {"risk_score": "number"}}
    page = first_page(sb, "payments").json()["data"]
    truth = sb.truth("payments")
    assert all(p == truth[p["id"]] and "statement_descriptor" in p for p in page)
    assert {type(p["risk_score"]) for p in page} <= {float, type(None)}
    assert first_page(sb, "payments").json()["data"] == page, "the same bytes on every read"
    rows = first_page(sb, "payments", fields="risk_score").json()["data"]
    assert set(rows[0]) == {"id", "risk_score"}
    sb.set_schema_mode("none")  # the added field stays: it is not part of a mode
    assert "risk_score" in first_page(sb, "payments").json()["data"][0]
    bad = requests.post(f"{sb.url}/_sandbox/fields", timeout=10,
                        json={"resource": "payments", "name": "x", "kind": "date"})
    assert bad.status_code == 400


def test_the_cli_adds_fields_at_start():
    from partnerapi_sandbox.cli import build_parser

    args = build_parser().parse_args(["serve", "--add-field", "customers.loyalty_points:integer"])
    assert args.add_field == [("customers", "loyalty_points", "integer")]
