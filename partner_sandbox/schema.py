"""Schema changes on demand, applied when a record is served.

`additive`: new optional fields appear, top-level and nested (the vendor's normal drift).
`rename`: invoices lose `amount_due`, which becomes `amount_due_minor` (the breaking change the
contract names). `none`: the documented shape.
"""

from __future__ import annotations

from typing import Any

MODES = ("none", "additive", "rename")

FIELDS: dict[str, tuple[str, ...]] = {
    "customers": ("id", "email", "name", "phone", "address", "currency", "balance", "tax_exempt",
                  "metadata", "created_at", "updated_at"),
    "plans": ("id", "product_name", "nickname", "amount", "currency", "interval",
              "interval_count", "active", "trial_period_days", "created_at", "updated_at"),
    "subscriptions": ("id", "customer_id", "plan_id", "status", "quantity",
                      "current_period_start", "current_period_end", "cancel_at_period_end",
                      "canceled_at", "trial_end", "items", "discount", "metadata", "created_at",
                      "updated_at"),
    "invoices": ("id", "customer_id", "subscription_id", "number", "status", "currency",
                 "subtotal", "tax", "total", "amount_due", "amount_paid", "period_start",
                 "period_end", "due_date", "paid_at", "created_at", "updated_at"),
    "invoice_items": ("id", "invoice_id", "subscription_id", "plan_id", "description",
                      "quantity", "unit_amount", "amount", "currency", "period", "proration",
                      "created_at", "updated_at"),
    "payments": ("id", "invoice_id", "customer_id", "transaction_id", "amount", "currency",
                 "status", "method", "failure_code", "amount_refunded", "captured_at",
                 "created_at", "updated_at"),
    "refunds": ("id", "payment_id", "transaction_id", "amount", "currency", "reason", "status",
                "created_at", "updated_at"),
    "events": ("event_id", "transaction_id", "event_type", "event_version", "occurred_at",
               "created_at", "updated_at", "payload"),
}

# (top-level additions, nested additions as (object path, field, value))
_ADDITIONS: dict[str, tuple[dict[str, Any], tuple[tuple[tuple[str, ...], str, Any], ...]]] = {
    "customers": ({"preferred_locales": ["en"]}, ((("address",), "state", None),)),
    "plans": ({"billing_scheme": "per_unit"}, ()),
    "subscriptions": ({"collection_method": "charge_automatically"}, ()),
    "invoices": ({"hosted_invoice_url": None}, ()),
    "invoice_items": ({"discountable": True}, ((("period",), "timezone", "UTC"),)),
    "payments": ({"statement_descriptor": "PARTNER*BILLING"},
                 ((("method",), "exp_year", 2030),)),
    "refunds": ({"receipt_number": None}, ()),
    "events": ({"api_version": "2026-11-01"}, ((("payload", "merchant"), "country", "US"),
                                               (("payload",), "network",
                                                {"name": "visanet", "trace_id": "nt_0001"}))),
}


def added_fields(resource: str) -> tuple[str, ...]:
    return tuple(_ADDITIONS[resource][0])


def apply(mode: str, resource: str, record: dict[str, Any]) -> dict[str, Any]:
    if mode == "additive":
        top, nested = _ADDITIONS[resource]
        record.update(top)
        for path, name, value in nested:
            obj: Any = record
            for part in path:
                obj = obj.get(part) if isinstance(obj, dict) else None
            if isinstance(obj, dict):
                obj[name] = value
    elif mode == "rename" and resource == "invoices" and "amount_due" in record:
        record["amount_due_minor"] = record.pop("amount_due")
    return record
