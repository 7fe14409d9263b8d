"""The vendor's push loop: every change the simulation writes is delivered as a signed
notification to a registered URL, shortly after it happens, retried until acknowledged.

``partnerapi-sandbox serve --webhook-url URL`` runs one (secrets from the environment variable
``PARTNERAPI_SANDBOX_WEBHOOK_SECRETS``, comma-separated: never on the command line, where
``ps`` would show them). Like the real vendor it resends some notifications
(``duplicates``) and delivers concurrently, so order is not guaranteed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any

from partnerapi_sandbox.webhook_delivery import ChangeFeed, WebhookSender

SECRETS_ENV = "PARTNERAPI_SANDBOX_WEBHOOK_SECRETS"
log = logging.getLogger("partnerapi_sandbox.webhook_push")


class Pusher:
    """Drains a :class:`ChangeFeed` every ``interval`` seconds and delivers the batch."""

    def __init__(self, sandbox: Any, url: str, secrets: Sequence[str], *,
                 interval: float = 0.5, duplicates: float = 0.1, concurrency: int = 4) -> None:
        if not secrets:
            raise ValueError(f"webhook pushing needs at least one secret ({SECRETS_ENV})")
        self.feed = ChangeFeed(seed=getattr(sandbox, "seed", 0)).attach(sandbox)
        self.sender = WebhookSender(url, secrets)
        self.interval = interval
        self.duplicates = duplicates
        self.concurrency = concurrency
        self.delivered = 0
        self._retry: list[dict[str, Any]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="webhook-push", daemon=True)

    def start(self) -> Pusher:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Deliver what is still queued, then stop."""
        self._stop.set()
        self._thread.join(timeout=60)

    def flush(self) -> int:
        """Deliver every queued notification now; returns how many were queued. Ones the
        receiver never acknowledged are queued again (the vendor retries for 3 days)."""
        pending = self._retry + self.feed.drain()
        self._retry = []
        if not pending:
            return 0
        report = self.sender.deliver_all(pending, concurrency=self.concurrency,
                                         duplicates=self.duplicates, out_of_order=True)
        acknowledged = {r.notification_id for r in report.results if r.delivered}
        self._retry = [n for n in pending if n["id"] not in acknowledged]
        self.delivered += len(pending) - len(self._retry)
        log.info("webhooks: %d notification(s) pushed, %d to retry", len(pending),
                 len(self._retry))
        return len(pending)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.flush()
        self.flush()
