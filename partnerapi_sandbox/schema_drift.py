"""Schema changes on demand, applied when a record is served.

`additive`: new optional fields appear, top-level and nested (the vendor's normal drift).
On top of any mode, ``extra`` fields (``Sandbox.add_field``: a resource, a name, a kind) make
one more top-level field appear from the moment they are added - the "second new field, of
another type, one run later" of a drift scenario.
`rename`: invoices lose `amount_due`, which becomes `amount_due_minor` (the breaking change the
contract names). `none`: the documented shape.
"""

from __future__ import annotations

import hashlib
from typing import Any

from tap_partnerapi.contract import RESOURCES as CONTRACT

MODES = ("none", "additive", "rename")

#: The documented fields of each resource, in the order the vendor writes them: the
#: contract's (tap_partnerapi/contract.py is the one definition of it; the factories in
#: records.py are checked against its kinds, nullability and enums by
#: tests/pipeline/test_contract.py).
FIELDS: dict[str, tuple[str, ...]] = {
    name: tuple(f.name for f in resource.fields) for name, resource in CONTRACT.items()}

#: Kinds a field added on demand (``Sandbox.add_field``) can have.
NEW_FIELD_KINDS = ("string", "integer", "number", "boolean", "timestamp", "object", "array")

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


def new_field_value(kind: str, name: str, record_id: Any) -> Any:
    """The value of an added field on one record: a pure function of (name, id), so every
    read of a version serves the same bytes; one record in five has it null."""
    digest = hashlib.blake2b(f"{name}:{record_id}".encode(), digest_size=8).digest()
    h = int.from_bytes(digest, "big")
    if h % 5 == 0:
        return None
    return {
        "string": lambda: f"{name}-{h % 97}",
        "integer": lambda: h % 10_000,
        "number": lambda: (h % 100_000) / 100,
        "boolean": lambda: bool(h & 1),
        "timestamp": lambda: f"2026-{1 + h % 12:02d}-{1 + h % 28:02d}T{h % 24:02d}:"
                             f"{h % 60:02d}:{h % 59:02d}.{h % 1_000_000:06d}Z",
        "object": lambda: {"code": f"c{h % 13}", "rank": h % 7},
        "array": lambda: [f"t{h % 5}", f"t{h % 11}"],
    }[kind]()


def apply(mode: str, resource: str, record: dict[str, Any],
          extra: dict[str, str] | None = None) -> dict[str, Any]:
    """The record as served under ``mode`` plus the ``extra`` fields ({name: kind})."""
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
    if extra:
        record_id = record.get(CONTRACT[resource].id_field)
        for name, kind in extra.items():
            record[name] = new_field_value(kind, name, record_id)
    return record


class Drift:
    """The drift in force - a mode and the fields added on demand - and what it makes of a
    stored record when the API (or a pushed notification, or the truth) serves it."""

    def __init__(self, mode: str = "none") -> None:
        self.mode = "none"
        # resource -> {field: kind}: top-level fields added on demand (add_field).
        self.extra_fields: dict[str, dict[str, str]] = {}
        self.set_mode(mode)

    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"schema mode must be one of {MODES}")
        self.mode = mode

    def add_field(self, resource: str, name: str, kind: str) -> None:
        if resource not in FIELDS:
            raise ValueError(f"resource must be one of {list(FIELDS)}")
        if kind not in NEW_FIELD_KINDS:
            raise ValueError(f"kind must be one of {NEW_FIELD_KINDS}")
        taken = {*FIELDS[resource], *added_fields(resource), "amount_due_minor"}
        if not name.isidentifier() or name in taken:
            raise ValueError(f"{name!r} is not a new field name for {resource}")
        self.extra_fields.setdefault(resource, {})[name] = kind

    def documented_shape(self, resource: str) -> bool:
        """True when records are served exactly as stored (no drift applies)."""
        return self.mode == "none" and not self.extra_fields.get(resource)

    def apply(self, resource: str, record: dict[str, Any]) -> dict[str, Any]:
        """``record`` (modified in place) with the drift in force applied."""
        return apply(self.mode, resource, record, self.extra_fields.get(resource))

    def served(self, resource: str, record: dict[str, Any]) -> dict[str, Any]:
        """``apply``, skipped when nothing applies (the common case: no copy, no work)."""
        return record if self.documented_shape(resource) else self.apply(resource, record)

    def selectable_fields(self, resource: str) -> set[str]:
        """The names ``fields=`` accepts for ``resource`` now."""
        allowed = set(FIELDS[resource])
        if self.mode == "additive":
            allowed |= set(added_fields(resource))
        allowed |= set(self.extra_fields.get(resource, ()))
        if self.mode == "rename" and resource == "invoices":
            allowed = (allowed - {"amount_due"}) | {"amount_due_minor"}
        return allowed
