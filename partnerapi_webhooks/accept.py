"""The accept path: claim, land, mark landed — in that order (see dedup_store.py for why)."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import UTC, datetime

from partnerapi_webhooks.config import Settings
from partnerapi_webhooks.dedup_store import DedupStore
from partnerapi_webhooks.landing import Landing
from partnerapi_webhooks.notification import Notification, build_document, landing_key

log = logging.getLogger(__name__)
CRASH_EXIT_CODE = 70


@dataclass(frozen=True)
class Outcome:
    kind: str  # accepted | duplicate | in_progress
    status: int
    key: str | None


class Acceptor:
    def __init__(self, settings: Settings, store: DedupStore, landing: Landing) -> None:
        self.settings = settings
        self.store = store
        self.landing = landing

    def _crash_if(self, point: str) -> None:
        if self.settings.crash_point == point:
            log.warning("test crash point %s reached: exiting without answering", point)
            os._exit(CRASH_EXIT_CODE)  # a real crash: no cleanup, no response

    def accept(self, notification: Notification, body: bytes, signature_timestamp: int) -> Outcome:
        environment = self.settings.environment
        received_at = datetime.now(UTC)
        key = landing_key(environment, received_at, notification.id)
        claim = self.store.claim(
            environment,
            notification.id,
            key,
            lease_seconds=self.settings.claim_lease_seconds,
            landed=self.landing.exists,
        )
        if claim.kind == "duplicate":
            return Outcome("duplicate", 200, claim.key)
        if claim.kind == "in_progress":
            return Outcome("in_progress", 409, None)
        if claim.kind == "recovered":
            log.info("recovered %s landed before a crash at %s", notification.id, claim.key)
            return Outcome("accepted", 200, claim.key)
        document = build_document(
            notification,
            environment=environment,
            body=body,
            received_at=received_at,
            signature_timestamp=signature_timestamp,
            key=key,
        )
        try:
            self.landing.put(key, document)
        except BaseException:
            self.store.release(environment, notification.id, key)
            raise
        self._crash_if("after_landing")
        if not self.store.mark_landed(environment, notification.id, key):
            # Our lease expired and a retry took the id over: our object must not stay beside
            # the one the retry lands.
            self.landing.delete(key)
            return Outcome("in_progress", 409, None)
        self._crash_if("after_commit")
        return Outcome("accepted", 200, key)
