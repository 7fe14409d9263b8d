"""JSON schemas of the Partner API resources, written from the vendor's contract.

Shared pieces are defined once; nested objects stay objects. ``DOCUMENTED`` lists the
fields the vendor documents for each resource: the drift check (``drift.py``) compares
payloads against it, and the typed record carries exactly these fields plus lineage.
"""

from __future__ import annotations

import copy
import typing as t

Schema = dict[str, t.Any]


def _t(kind: str, *, nullable: bool = False, **extra: t.Any) -> Schema:
    return {"type": [kind, "null"] if nullable else [kind], **extra}


def string(*, nullable: bool = False, enum: list[str] | None = None) -> Schema:
    schema = _t("string", nullable=nullable)
    if enum:
        schema["enum"] = [*enum, None] if nullable else list(enum)
    return schema


def integer(*, nullable: bool = False) -> Schema:
    return _t("integer", nullable=nullable)


def boolean(*, nullable: bool = False) -> Schema:
    return _t("boolean", nullable=nullable)


def timestamp(*, nullable: bool = False) -> Schema:
    return _t("string", nullable=nullable, format="date-time")


def obj(properties: dict[str, Schema] | None = None, *, nullable: bool = False,
        free_form: bool = False) -> Schema:
    schema = _t("object", nullable=nullable)
    if properties is not None:
        schema["properties"] = properties
    if free_form:
        schema["additionalProperties"] = True
    return schema


def array(items: Schema, *, nullable: bool = False) -> Schema:
    return _t("array", nullable=nullable, items=items)


# Shared pieces.
MONEY = integer()  # minor units
CURRENCY = string()  # lowercase ISO 4217
METADATA = obj(free_form=True)
CREATED_UPDATED = {"created_at": timestamp(), "updated_at": timestamp()}

RESOURCE_PROPERTIES: dict[str, dict[str, Schema]] = {
    "customers": {
        "id": string(),
        "email": string(nullable=True),
        "name": string(nullable=True),
        "phone": string(nullable=True),
        "address": obj({"line1": string(nullable=True), "city": string(nullable=True),
                        "postal_code": string(nullable=True),
                        "country": string(nullable=True)}, nullable=True),
        "currency": CURRENCY,
        "balance": MONEY,
        "tax_exempt": string(enum=["none", "exempt", "reverse"]),
        "metadata": METADATA,
        **CREATED_UPDATED,
    },
    "plans": {
        "id": string(),
        "product_name": string(),
        "nickname": string(nullable=True),
        "amount": MONEY,
        "currency": CURRENCY,
        "interval": string(enum=["month", "year"]),
        "interval_count": integer(),
        "active": boolean(),
        "trial_period_days": integer(nullable=True),
        **CREATED_UPDATED,
    },
    "subscriptions": {
        "id": string(),
        "customer_id": string(),
        "plan_id": string(),
        "status": string(enum=["trialing", "active", "past_due", "canceled", "unpaid"]),
        "quantity": integer(),
        "current_period_start": timestamp(),
        "current_period_end": timestamp(),
        "cancel_at_period_end": boolean(),
        "canceled_at": timestamp(nullable=True),
        "trial_end": timestamp(nullable=True),
        "items": array(obj({"plan_id": string(), "quantity": integer()})),
        "discount": obj({"coupon": string(nullable=True),
                         "percent_off": _t("number", nullable=True)}, nullable=True),
        "metadata": METADATA,
        **CREATED_UPDATED,
    },
    "invoices": {
        "id": string(),
        "customer_id": string(),
        "subscription_id": string(nullable=True),
        "number": string(),
        "status": string(enum=["draft", "open", "paid", "void", "uncollectible"]),
        "currency": CURRENCY,
        "subtotal": MONEY,
        "tax": MONEY,
        "total": MONEY,
        "amount_due": MONEY,
        "amount_paid": MONEY,
        "period_start": timestamp(),
        "period_end": timestamp(),
        "due_date": timestamp(nullable=True),
        "paid_at": timestamp(nullable=True),
        **CREATED_UPDATED,
    },
    "invoice_items": {
        "id": string(),
        "invoice_id": string(),
        "subscription_id": string(nullable=True),
        "plan_id": string(nullable=True),
        "description": string(nullable=True),
        "quantity": integer(),
        "unit_amount": MONEY,
        "amount": MONEY,
        "currency": CURRENCY,
        "period": obj({"start": timestamp(), "end": timestamp()}),
        "proration": boolean(),
        **CREATED_UPDATED,
    },
    "payments": {
        "id": string(),
        "invoice_id": string(nullable=True),
        "customer_id": string(),
        "transaction_id": string(),
        "amount": MONEY,
        "currency": CURRENCY,
        "status": string(enum=["pending", "succeeded", "failed", "refunded",
                               "partially_refunded", "disputed"]),
        "method": obj({"type": string(), "card_brand": string(nullable=True),
                       "last4": string(nullable=True)}),
        "failure_code": string(nullable=True),
        "amount_refunded": MONEY,
        "captured_at": timestamp(nullable=True),
        **CREATED_UPDATED,
    },
    "refunds": {
        "id": string(),
        "payment_id": string(),
        "transaction_id": string(),
        "amount": MONEY,
        "currency": CURRENCY,
        "reason": string(nullable=True),
        "status": string(enum=["pending", "succeeded", "failed"]),
        **CREATED_UPDATED,
    },
    "events": {
        "event_id": string(),
        "transaction_id": string(),
        "event_type": string(enum=["AUTHORIZED", "CAPTURED", "VOIDED", "REFUNDED",
                                   "CHARGEBACK_OPENED", "DISPUTE_UPDATED",
                                   "CHARGEBACK_WON", "CHARGEBACK_LOST"]),
        "event_version": integer(),
        "occurred_at": timestamp(),
        # The payload's shape evolves monthly and differs per event type (the vendor
        # says so): it is free-form, so its sub-fields are neither drift nor breaking.
        "payload": obj(free_form=True),
        **CREATED_UPDATED,
    },
}

ID_FIELDS = {name: ("event_id" if name == "events" else "id") for name in RESOURCE_PROPERTIES}
DELETABLE_RESOURCES = ("customers", "plans", "invoice_items")

LINEAGE_PROPERTIES: dict[str, Schema] = {
    "environment": string(enum=["production", "sandbox"]),
    "_pa_raw": obj(free_form=True),
    "_pa_version": string(),
    "_pa_run_id": string(),
    "_pa_extracted_at": timestamp(),
    "_pa_request_id": string(nullable=True),
    "_pa_cursor": string(nullable=True),
    "_pa_window_start": timestamp(nullable=True),
    "_pa_window_end": timestamp(nullable=True),
}


def resource_schema(resource: str) -> Schema:
    """The typed schema of a resource stream: documented fields plus lineage."""
    properties = copy.deepcopy(RESOURCE_PROPERTIES[resource])
    properties.update(copy.deepcopy(LINEAGE_PROPERTIES))
    return {"type": "object", "properties": properties}


def _strings(*names: str, nullable: bool = False) -> dict[str, Schema]:
    return {name: string(nullable=nullable) for name in names}


#: One row per landed webhook notification (docs/webhooks.md). ``_pa_raw`` is the
#: notification's ``data.object`` and ``_pa_version`` its hash by the resource streams'
#: rule, so a version pushed and the same version polled carry the same key.
WEBHOOK_SCHEMA: Schema = {"type": "object", "properties": {
    **_strings("environment", "notification_id", "type", "resource", "action",
               "landing_key", "body_sha256", "raw_body", "_pa_run_id", "_pa_request_id"),
    "document_version": integer(),
    "object_id": string(nullable=True),
    "created_at": timestamp(nullable=True),
    "received_at": timestamp(),
    "signature_timestamp": integer(nullable=True),
    # True when data.object has the documented shape of a known resource; false when a
    # documented field is missing (the version must not reach staging); null otherwise.
    "object_conforms": boolean(nullable=True),
    "object_issue": string(nullable=True),
    "_pa_raw": obj(free_form=True, nullable=True),
    "_pa_version": string(nullable=True),
    "_pa_extracted_at": timestamp(),
}}
WEBHOOK_KEYS = ["environment", "notification_id"]

AUDIT_SCHEMAS: dict[str, Schema] = {
    "coverage_ledger": {"type": "object", "properties": {
        **_strings("environment", "stream", "run_id", "request_id"),
        "window_start": timestamp(nullable=True),
        "window_end": timestamp(nullable=True),
        "page_number": integer(),
        **_strings("cursor", "next_cursor", nullable=True),
        "records": integer(),
        "first_updated_at": timestamp(nullable=True),
        "last_updated_at": timestamp(nullable=True),
        "covered_from": timestamp(nullable=True),
        "covered_to": timestamp(nullable=True),
        "is_last_page": boolean(),
        "completed_at": timestamp(),
    }},
    "id_snapshots": {"type": "object", "properties": {
        **_strings("environment", "resource", "snapshot_id", "id", "run_id"),
        "updated_at": timestamp(nullable=True),
        "extracted_at": timestamp(),
    }},
    "id_snapshot_runs": {"type": "object", "properties": {
        **_strings("environment", "resource", "snapshot_id", "run_id"),
        "started_at": timestamp(),
        "completed_at": timestamp(),
        "id_count": integer(),
        "status": string(enum=["complete"]),
    }},
    "quarantine": {"type": "object", "properties": {
        **_strings("environment", "stream", "reason", "_pa_version", "_pa_run_id"),
        "record_id": string(nullable=True),
        "updated_at": timestamp(nullable=True),
        "missing_fields": array(string()),
        "unexpected_fields": array(string()),
        "_pa_raw": obj(free_form=True),
        "_pa_request_id": string(nullable=True),
        "_pa_extracted_at": timestamp(),
    }},
    "schema_drift": {"type": "object", "properties": {
        **_strings("environment", "stream", "field_path", "run_id"),
        "first_seen_at": timestamp(),
        "example_record_id": string(nullable=True),
    }},
}

AUDIT_KEYS: dict[str, list[str]] = {
    "coverage_ledger": ["environment", "stream", "run_id", "request_id"],
    "id_snapshots": ["environment", "resource", "snapshot_id", "id"],
    "id_snapshot_runs": ["environment", "resource", "snapshot_id"],
    "quarantine": ["environment", "stream", "record_id", "_pa_version"],
    "schema_drift": ["environment", "stream", "field_path", "run_id"],
}
