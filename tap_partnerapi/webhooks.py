"""``webhook_notifications``: the receiver's landing area, read incrementally.

The receiver (``partnerapi-webhooks``) lands one JSON document per accepted notification
under ``environment=<env>/date=…/hour=…/<received_at>-<id>.json``; key order is received
order. A delivery that claimed its key earlier can finish its rename a little later than
one that claimed after it, so every run re-reads ``webhooks_lookback_minutes`` behind the
bookmark; the key (environment, notification_id) makes those re-reads upserts, never new
rows. Polling stays the source of truth: these rows only make updates and deletes visible
sooner (docs/webhooks.md).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import typing as t

from partnerapi_sdk_hooks import StreamAccess
from partnerapi_webhooks import reader
from tap_partnerapi.clock import normalize_ts, parse_ts
from tap_partnerapi.drift import ShapeChecker
from tap_partnerapi.schema import RESOURCE_PROPERTIES, WEBHOOK_KEYS, WEBHOOK_SCHEMA
from tap_partnerapi.versions import version_of

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    from tap_partnerapi.services import RunServices

DOCUMENT_VERSION = 1
_LOGGED_PER_RUN = 5


class UnreadableDocument(ValueError):
    """A landed file that is not a document this tap understands (kept in quarantine)."""


class WebhookNotificationsStream(StreamAccess):
    """One record per landed notification, with the pushed record version as ``_pa_raw``."""

    name = "webhook_notifications"
    replication_key = "received_at"
    # The lookback re-reads rows older than the bookmark: the SDK must not treat that as
    # an unsorted stream error, and the bookmark only moves once the listing is read.
    is_sorted = False
    selected_by_default = True

    def __init__(self, tap: t.Any, services: RunServices) -> None:
        #: The run's shared pieces (services.py): environment, run id, stats, audit sink.
        self.services = services
        super().__init__(tap=tap, name=self.name, schema=WEBHOOK_SCHEMA)
        self.primary_keys = WEBHOOK_KEYS
        self.checkers = {name: ShapeChecker(props)
                         for name, props in RESOURCE_PROPERTIES.items()}
        self._warned = 0

    def get_records(self, context: t.Any) -> Iterator[dict[str, t.Any]]:
        run = self.services
        landing = self.config.get("webhooks_landing")
        if not landing:
            self.logger.info("webhooks_landing is not set: no webhook notifications to read")
            return
        area = reader.open_reader(str(landing))
        if not area.exists():
            self.logger.warning("webhooks_landing %s does not exist (yet): nothing to read; "
                                "is it the receiver's PARTNERAPI_WEBHOOK_LANDING?", landing)
            return
        stats = run.stats_for(self.name)
        stats.start()
        try:
            bookmark = self.get_starting_replication_key_value(context)
            since = parse_ts(bookmark) if bookmark else None
            lookback = dt.timedelta(minutes=float(self.config.get("webhooks_lookback_minutes",
                                                                  10)))
            keys = area.list_keys(run.environment, since=since, lookback=lookback)
            self.logger.info("Reading %d landed notification(s) from %s (received since %s, "
                             "minus %s lookback)", len(keys), landing, bookmark or "the start",
                             lookback)
            for key in keys:
                try:
                    text = area.read_text(key)
                except FileNotFoundError:
                    continue  # a crashed delivery's orphan, removed by its retry
                try:
                    record = self.record_of(text, key)
                except UnreadableDocument as exc:
                    self._quarantine(key, text, str(exc))
                    continue
                stats.records += 1
                stats.versions_new += 1
                yield record
        except Exception:
            stats.failed = True
            raise
        finally:
            stats.finish()

    def record_of(self, text: str, key: str) -> dict[str, t.Any]:
        """The raw row of one landed document; raises :class:`UnreadableDocument`."""
        run = self.services
        try:
            doc = json.loads(text)
            notification = json.loads(doc["raw_body"])
            received_at = normalize_ts(doc["received_at"])
        except (ValueError, KeyError, TypeError) as exc:
            raise UnreadableDocument(f"not a landed notification document ({exc!r})") from exc
        if doc.get("document_version") != DOCUMENT_VERSION:
            raise UnreadableDocument(
                f"document_version {doc.get('document_version')!r} (this tap reads "
                f"{DOCUMENT_VERSION})")
        if hashlib.sha256(doc["raw_body"].encode("utf-8")).hexdigest() != doc.get("body_sha256"):
            raise UnreadableDocument("raw_body does not match body_sha256 (altered after "
                                     "landing)")
        if doc.get("environment") != run.environment:
            raise UnreadableDocument(f"environment {doc.get('environment')!r} under the "
                                     f"{run.environment} prefix")
        data = notification.get("data") if isinstance(notification, dict) else None
        obj = data.get("object") if isinstance(data, dict) else None
        conforms, issue = self._conformance(doc.get("resource"), obj)
        if conforms is False and self._warned < _LOGGED_PER_RUN:
            self._warned += 1
            self.logger.warning("Webhook %s (%s): %s; kept in raw, not used as a version",
                                doc.get("notification_id"), doc.get("type"), issue)
        created_at = doc.get("created_at")
        return {
            "environment": doc["environment"],
            "notification_id": doc["notification_id"],
            "type": doc["type"], "resource": doc["resource"], "action": doc["action"],
            "object_id": doc.get("object_id"),
            "created_at": _timestamp_or_none(created_at),
            "received_at": received_at,
            "signature_timestamp": doc.get("signature_timestamp"),
            "landing_key": doc.get("landing_key") or key,
            "body_sha256": doc["body_sha256"],
            "raw_body": doc["raw_body"],
            "document_version": doc["document_version"],
            "object_conforms": conforms,
            "object_issue": issue,
            "_pa_raw": obj if isinstance(obj, dict) else None,
            "_pa_version": version_of(obj) if isinstance(obj, dict) else None,
            "_pa_run_id": run.run_id,
            "_pa_extracted_at": received_at,
            "_pa_request_id": f"webhook:{doc['notification_id']}",
        }

    def _conformance(self, resource: t.Any, obj: t.Any) -> tuple[bool | None, str | None]:
        """Same rule as the polled streams: a missing documented field (the id included) is
        breaking."""
        checker = self.checkers.get(resource) if isinstance(resource, str) else None
        if checker is None:
            return None, f"unknown resource {resource!r}"
        if not isinstance(obj, dict):
            return False, "data.object is not an object"
        verdict = checker.check(obj)
        if verdict.missing:
            return False, verdict.reason()
        return True, None

    def _quarantine(self, key: str, text: str, reason: str) -> None:
        """A landed file we cannot read is kept, whole, in ``quarantine``: never dropped."""
        run = self.services
        stats = run.stats_for(self.name)
        stats.quarantined += 1
        self.logger.error("Landed file %s quarantined: %s", key, reason)
        held = {"landing_key": key, "text": text}
        run.audit("quarantine").emit({
            "environment": run.environment, "stream": self.name, "record_id": key,
            "updated_at": None, "reason": f"unreadable landed notification: {reason}",
            "missing_fields": [], "unexpected_fields": [],
            "_pa_raw": held, "_pa_version": version_of(held),
            "_pa_run_id": run.run_id, "_pa_request_id": f"webhook-file:{key}",
            "_pa_extracted_at": run.server_now(),
        })


def _timestamp_or_none(value: t.Any) -> str | None:
    """The vendor's ``created_at``, normalised; a value we cannot parse stays in raw_body."""
    if not isinstance(value, str):
        return None
    try:
        return normalize_ts(value)
    except ValueError:
        return None
