"""The vendor side of webhooks: build, sign and deliver notifications, misbehaviours included.

Stdlib only, like the rest of the sandbox. Usable on its own with records you pass in::

    sender = WebhookSender("http://127.0.0.1:8088/webhooks/partnerapi", ["whsec_new", "whsec_old"])
    result = sender.deliver(build_notification("payments", "updated", payment))
    report = sender.deliver_all(notifications, concurrency=20, duplicates=0.1, out_of_order=True)

From the sandbox: ``feed = ChangeFeed().attach(sandbox)``, ``sandbox.advance(hours=1)``, then
``sender.deliver_all(feed.drain())``.

What the contract says the vendor does, and the options that reproduce it:

- ``Partner-Signature: t=<unix>,v1=<hex>``, HMAC-SHA256 over ``"<t>." + body``; one ``v1`` per
  secret passed (several during a rotation);
- non-2xx answers and connection errors are retried with exponential backoff, re-signed with a
  fresh ``t`` at each attempt (``max_attempts`` bounds what the real vendor spreads over 3 days);
- the same id more than once (``duplicates``) and out of order (``out_of_order``);
- forged or replayed traffic a receiver must refuse: ``stale``, ``future``, ``bad_signature``
  (sent once, never retried: an attacker, not the vendor).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import http.client
import json
import random
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

HEADER = "Partner-Signature"
ID_FIELDS = {"events": "event_id"}
GENUINE = ("normal", "duplicate")
ID_PREFIXES = {"payments": "pay", "invoices": "in", "customers": "cus", "events": "evt"}


def sign(body: bytes, secrets: Sequence[str], timestamp: int) -> str:
    """The header value: ``t=<timestamp>`` then one ``v1=`` per secret, in the order given."""
    parts = [f"t={timestamp}"]
    for secret in secrets:
        signed = f"{timestamp}.".encode("ascii") + body
        parts.append("v1=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest())
    return ",".join(parts)


def _now_ts() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def build_notification(
    resource: str,
    action: str,
    record: dict[str, Any],
    *,
    notification_id: str | None = None,
    created_at: str | None = None,
    rng: random.Random | None = None,
) -> dict[str, Any]:
    """``{"id": "whk_…", "type": "<resource>.<action>", "created_at", "data": {"object"}}``."""
    if action not in ("created", "updated", "deleted"):
        raise ValueError(f"unknown action {action!r}")
    if notification_id is None:
        notification_id = f"whk_{(rng or random).getrandbits(96):024x}"
    return {
        "id": notification_id,
        "type": f"{resource}.{action}",
        "created_at": created_at or _now_ts(),
        "data": {"object": record},
    }


def encode(notification: dict[str, Any]) -> bytes:
    return json.dumps(notification, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sample_notifications(count: int, *, seed: int = 7) -> list[dict[str, Any]]:
    """Synthetic but contract-shaped notifications (payments updated, customers deleted, …)."""
    rng = random.Random(seed)
    kinds = [
        ("payments", "updated"), ("payments", "created"), ("invoices", "updated"),
        ("customers", "updated"), ("customers", "deleted"), ("events", "created"),
    ]  # fmt: skip
    out = []
    for i in range(count):
        resource, action = kinds[i % len(kinds)]
        prefix = ID_PREFIXES[resource]
        ts = _now_ts()
        record: dict[str, Any] = {
            ID_FIELDS.get(resource, "id"): f"{prefix}_{rng.getrandbits(48):012x}",
            "created_at": ts,
            "updated_at": ts,
        }
        if resource == "payments":
            record.update(amount=rng.randrange(100, 100_000), currency="eur", status="succeeded")
        out.append(build_notification(resource, action, record, rng=rng))
    return out


class ChangeFeed:
    """Turns the sandbox's change events into notifications, to deliver when convenient.

    ``feed = ChangeFeed().attach(sandbox)`` registers with ``Sandbox.on_change``; listeners run
    inside ``advance()`` under the sandbox's lock, so this only queues (a deep copy of the
    record, with ``created_at`` on the simulated clock) and ``drain()`` hands them over.
    """

    def __init__(self, *, seed: int = 0) -> None:
        self._rng = random.Random(f"webhooks:{seed}")
        self._lock = threading.Lock()
        self._pending: list[dict[str, Any]] = []
        # The sandbox's `served`: pushed objects carry the schema drift listings serve.
        self._served: Callable[[str, dict[str, Any]], dict[str, Any]] | None = None

    def attach(self, sandbox: Any) -> ChangeFeed:
        sandbox.on_change(self)
        self._served = sandbox.served
        return self

    def __call__(self, resource: str, kind: str, record: dict[str, Any], at_us: int) -> None:
        at = datetime.fromtimestamp(at_us / 1_000_000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        snapshot = json.loads(json.dumps(record))
        if self._served is not None:
            snapshot = self._served(resource, snapshot)
        with self._lock:
            self._pending.append(
                build_notification(resource, kind, snapshot, created_at=at, rng=self._rng)
            )

    def drain(self) -> list[dict[str, Any]]:
        with self._lock:
            pending, self._pending = self._pending, []
        return pending


@dataclass
class Attempt:
    status: int | None  # None: connection error / timeout
    seconds: float
    error: str | None = None


@dataclass
class DeliveryResult:
    notification_id: str
    kind: str  # normal | duplicate | stale | future | bad_signature
    attempts: list[Attempt] = field(default_factory=list)

    @property
    def final_status(self) -> int | None:
        return self.attempts[-1].status if self.attempts else None

    @property
    def delivered(self) -> bool:
        status = self.final_status
        return status is not None and 200 <= status < 300


@dataclass
class Report:
    results: list[DeliveryResult]
    seconds: float

    def latencies(self) -> list[float]:
        return sorted(a.seconds for r in self.results for a in r.attempts if a.status is not None)

    def percentile(self, q: float) -> float:
        values = self.latencies()
        if not values:
            return float("nan")
        return values[min(len(values) - 1, max(0, round(q / 100 * len(values) + 0.5) - 1))]

    def statuses(self) -> Counter[int | None]:
        return Counter(a.status for r in self.results for a in r.attempts)

    def summary(self) -> dict[str, Any]:
        requests = sum(len(r.attempts) for r in self.results)
        return {
            "deliveries": len(self.results),
            "delivered": sum(r.delivered for r in self.results),
            # Genuine deliveries that never got a 2xx: must be 0 for a healthy receiver.
            "undelivered": sum(not r.delivered for r in self.results if r.kind in GENUINE),
            # Forged/replayed deliveries a receiver accepted: must be 0 too.
            "forged_accepted": sum(r.delivered for r in self.results if r.kind not in GENUINE),
            "requests": requests,
            "statuses": {str(k): v for k, v in sorted(self.statuses().items(), key=str)},
            "seconds": round(self.seconds, 3),
            "requests_per_second": round(requests / self.seconds, 1) if self.seconds else None,
            "p50_ms": round(self.percentile(50) * 1000, 2),
            "p99_ms": round(self.percentile(99) * 1000, 2),
            "max_ms": round(max(self.latencies(), default=float("nan")) * 1000, 2),
        }


class WebhookSender:
    def __init__(
        self,
        url: str,
        secrets: Sequence[str],
        *,
        max_attempts: int = 6,
        backoff_seconds: float = 0.05,
        backoff_max_seconds: float = 2.0,
        timeout_seconds: float = 10.0,
        seed: int = 0,
    ) -> None:
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme != "http" or not parsed.hostname:
            raise ValueError("the sandbox sender speaks plain http to a loopback receiver")
        self.host, self.port = parsed.hostname, parsed.port or 80
        self.path = parsed.path or "/"
        self.secrets = list(secrets)
        self.max_attempts = max_attempts
        self.backoff_seconds = backoff_seconds
        self.backoff_max_seconds = backoff_max_seconds
        self.timeout_seconds = timeout_seconds
        self._rng = random.Random(seed)
        self._rng_lock = threading.Lock()
        self._local = threading.local()

    def _connection(self) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout_seconds)
            self._local.conn = conn
        return conn

    def post(self, body: bytes, header: str | None) -> Attempt:
        """One HTTP request on this thread's keep-alive connection; never raises."""
        headers = {"Content-Type": "application/json"}
        if header is not None:
            headers[HEADER] = header
        started = time.perf_counter()
        conn = self._connection()
        try:
            conn.request("POST", self.path, body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            if response.getheader("connection", "").lower() == "close":
                conn.close()
            return Attempt(response.status, time.perf_counter() - started)
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            self._local.conn = None
            return Attempt(None, time.perf_counter() - started, f"{type(exc).__name__}: {exc}")

    def _backoff(self, attempt: int) -> float:
        with self._rng_lock:
            jitter = self._rng.uniform(0.5, 1.0)
        return min(self.backoff_max_seconds, self.backoff_seconds * 2 ** (attempt - 1)) * jitter

    def deliver(self, notification: dict[str, Any], *, kind: str = "normal") -> DeliveryResult:
        body = encode(notification)
        result = DeliveryResult(str(notification.get("id")), kind)
        if kind not in GENUINE:
            result.attempts.append(self.post(body, self._forged_header(body, kind)))
            return result
        for attempt in range(1, self.max_attempts + 1):
            outcome = self.post(body, sign(body, self.secrets, int(time.time())))
            result.attempts.append(outcome)
            if outcome.status is not None and 200 <= outcome.status < 300:
                break
            if attempt < self.max_attempts:
                time.sleep(self._backoff(attempt))
        return result

    def _forged_header(self, body: bytes, kind: str) -> str:
        now = int(time.time())
        if kind == "stale":
            return sign(body, self.secrets, now - 301 - 60)
        if kind == "future":
            return sign(body, self.secrets, now + 3600)
        if kind == "bad_signature":
            return sign(body, ["not-the-secret"], now)
        raise ValueError(f"unknown delivery kind {kind!r}")

    def deliver_all(
        self,
        notifications: Iterable[dict[str, Any]],
        *,
        concurrency: int = 20,
        duplicates: float = 0.0,
        out_of_order: bool = False,
        stale: float = 0.0,
        future: float = 0.0,
        bad_signature: float = 0.0,
        seed: int = 0,
    ) -> Report:
        """Deliver every notification (retrying until 2xx), plus the misbehaviours asked for.

        ``duplicates``, ``stale``, ``future``, ``bad_signature`` are per-notification rates of an
        *extra* delivery of that kind, so every notification is still delivered properly once.
        """
        rng = random.Random(seed)
        plan: list[tuple[dict[str, Any], str]] = []
        for notification in notifications:
            plan.append((notification, "normal"))
            for kind, rate in (
                ("duplicate", duplicates),
                ("stale", stale),
                ("future", future),
                ("bad_signature", bad_signature),
            ):
                if rate and rng.random() < rate:
                    plan.append((notification, kind))
        if out_of_order:
            rng.shuffle(plan)
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            results = list(pool.map(lambda item: self.deliver(item[0], kind=item[1]), plan))
        return Report(results, time.perf_counter() - started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m partnerapi_sandbox.webhook_delivery",
        description="Deliver synthetic signed notifications to a webhook receiver.",
    )
    parser.add_argument("--url", required=True, help="receiver URL, e.g. .../webhooks/partnerapi")
    parser.add_argument("--secret", action="append", required=True, help="repeat to rotate")
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--duplicates", type=float, default=0.0)
    parser.add_argument("--out-of-order", action="store_true")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    sender = WebhookSender(args.url, args.secret, seed=args.seed)
    report = sender.deliver_all(
        sample_notifications(args.count, seed=args.seed),
        concurrency=args.concurrency,
        duplicates=args.duplicates,
        out_of_order=args.out_of_order,
        seed=args.seed,
    )
    print(json.dumps(report.summary()))
    return 0 if all(r.delivered for r in report.results if r.kind == "normal") else 1


if __name__ == "__main__":
    raise SystemExit(main())
