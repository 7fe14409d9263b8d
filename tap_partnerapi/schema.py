"""JSON schemas of the tap's streams.

``RESOURCE_PROPERTIES`` (the documented fields of each resource, as JSON schemas),
``ID_FIELDS`` and ``DELETABLE_RESOURCES`` are derived from ``tap_partnerapi.contract``, the
one definition of the vendor contract: the drift check (``drift.py``) compares payloads with
them. A resource stream's record is the raw row (``resource_schema``); the audit streams and
``webhook_notifications`` have their own shapes below.
"""

from __future__ import annotations

import typing as t

from tap_partnerapi.contract import DELETABLE, RESOURCES, Field

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


def _field_schema(field: Field) -> Schema:
    """The JSON schema of one documented field (nested shapes stay nested)."""
    if field.kind == "timestamp":
        schema = timestamp(nullable=field.nullable)
    elif field.kind == "string":
        schema = string(nullable=field.nullable, enum=list(field.enum) or None)
    elif field.kind == "object":
        schema = obj(None if field.fields is None else
                     {f.name: _field_schema(f) for f in field.fields},
                     nullable=field.nullable, free_form=field.fields is None)
    elif field.kind == "array":
        items = (obj({f.name: _field_schema(f) for f in field.fields})
                 if field.fields is not None else {})
        schema = array(items, nullable=field.nullable)
    else:
        schema = _t(field.kind, nullable=field.nullable)
    return schema


#: The documented fields of each resource as JSON schemas, derived from the contract.
RESOURCE_PROPERTIES: dict[str, dict[str, Schema]] = {
    resource.name: {f.name: _field_schema(f) for f in resource.fields}
    for resource in RESOURCES.values()
}

ID_FIELDS: dict[str, str] = {r.name: r.id_field for r in RESOURCES.values()}
DELETABLE_RESOURCES: tuple[str, ...] = DELETABLE


def resource_schema(resource: str) -> Schema:
    """The raw row of a resource stream (design.md, "Tap output"): the keys, updated_at,
    the request id and the vendor's object exactly as received. Typed columns are dbt's
    job; the run id and reception time are the coverage ledger's row of the request."""
    return {"type": "object", "properties": {
        "environment": string(enum=["production", "sandbox"]),
        ID_FIELDS[resource]: string(),
        "_pa_version": string(),
        "updated_at": timestamp(),
        "_pa_request_id": string(nullable=True),
        "_pa_raw": obj(free_form=True),
    }}


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
        # The JSON types of the field's values seen in the run, sorted, comma-separated
        # (contract.JSON_TYPES; e.g. "integer,null"): how dbt types the new column.
        "json_types": string(),
    }},
}

AUDIT_KEYS: dict[str, list[str]] = {
    "coverage_ledger": ["environment", "stream", "run_id", "request_id"],
    "id_snapshots": ["environment", "resource", "snapshot_id", "id"],
    "id_snapshot_runs": ["environment", "resource", "snapshot_id"],
    "quarantine": ["environment", "stream", "record_id", "_pa_version"],
    "schema_drift": ["environment", "stream", "field_path", "run_id"],
}
