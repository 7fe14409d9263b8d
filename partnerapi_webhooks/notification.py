"""The notification body: validation and the landed document built from it."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

# Ids become part of a file name / object key: refuse anything that could escape a folder.
# Always applied with fullmatch: `$` also matches before a trailing newline, so "evt_1\n"
# passed `match` with an anchored pattern and was landed under a name holding a newline.
_ID_RE = re.compile(r"[A-Za-z0-9_\-]{1,128}")
_TYPE_RE = re.compile(r"([a-z][a-z0-9_]*)\.([a-z][a-z0-9_]*)")
DOCUMENT_VERSION = 1


class NotificationError(Exception):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.status = 400
        self.message = message


@dataclass(frozen=True)
class Notification:
    id: str
    type: str
    resource: str
    action: str
    created_at: str | None
    object_id: str | None


def format_ts(moment: datetime) -> str:
    """The project's timestamp format: 6 fractional digits and ``Z``, so string order = time."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse(body: bytes) -> Notification:
    try:
        payload = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise NotificationError("malformed_json", f"body is not UTF-8 JSON: {exc}") from exc
    if not isinstance(payload, dict):
        raise NotificationError("invalid_notification", "body is not a JSON object")
    notification_id = payload.get("id")
    if not isinstance(notification_id, str) or not _ID_RE.fullmatch(notification_id):
        raise NotificationError("invalid_notification", "missing or invalid 'id'")
    kind = payload.get("type")
    match = _TYPE_RE.fullmatch(kind) if isinstance(kind, str) else None
    if match is None:
        raise NotificationError("invalid_notification", "'type' must be '<resource>.<action>'")
    data = payload.get("data")
    record = data.get("object") if isinstance(data, dict) else None
    if not isinstance(record, dict):
        raise NotificationError("invalid_notification", "missing 'data.object'")
    # Unknown resources and actions are landed as they are: the vendor may add them without
    # notice (additive change), and dropping them would lose data we already acknowledged.
    object_id = record.get("event_id") if match.group(1) == "events" else record.get("id")
    created_at = payload.get("created_at")
    return Notification(
        id=notification_id,
        type=kind,
        resource=match.group(1),
        action=match.group(2),
        created_at=created_at if isinstance(created_at, str) else None,
        object_id=object_id if isinstance(object_id, str) else None,
    )


def key_floor(environment: str, moment: datetime) -> str:
    """``environment=E/date=D/hour=H/<moment compact>``: the keys of notifications received
    before ``moment`` sort before it, those received at or after it sort after it."""
    moment = moment.astimezone(UTC)
    return (
        f"environment={environment}/date={moment:%Y-%m-%d}/hour={moment:%H}/"
        f"{moment:%Y%m%dT%H%M%S%fZ}"
    )


def landing_key(environment: str, received_at: datetime, notification_id: str) -> str:
    """``environment=E/date=D/hour=H/<received_at compact>-<id>.json``.

    Lexicographic key order is received order within an environment, which is what the tap's
    incremental read relies on (see docs/webhooks.md).
    """
    return f"{key_floor(environment, received_at)}-{notification_id}.json"


def build_document(
    notification: Notification,
    *,
    environment: str,
    body: bytes,
    received_at: datetime,
    signature_timestamp: int,
    key: str,
) -> bytes:
    document: dict[str, Any] = {
        "document_version": DOCUMENT_VERSION,
        "environment": environment,
        "notification_id": notification.id,
        "type": notification.type,
        "resource": notification.resource,
        "action": notification.action,
        "object_id": notification.object_id,
        "created_at": notification.created_at,
        "received_at": format_ts(received_at),
        "signature_timestamp": signature_timestamp,
        "landing_key": key,
        "body_sha256": hashlib.sha256(body).hexdigest(),
        # The exact bytes the vendor signed (already proven UTF-8): lineage, and re-verifiable.
        "raw_body": body.decode("utf-8"),
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"
