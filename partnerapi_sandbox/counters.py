"""What the sandbox served (``GET /_sandbox/counters``): tests and benchmarks count requests
with it instead of trusting the client's own figures."""

from __future__ import annotations

import threading

NAMES = ("requests", "token_requests", "pages", "records_served", "rate_limited")


class Counters:
    """Thread-safe: the HTTP server answers each connection in its own thread."""

    def __init__(self) -> None:
        self._counts = dict.fromkeys(NAMES, 0)
        self._lock = threading.Lock()

    def request(self, token: bool = False) -> None:
        with self._lock:
            self._counts["requests"] += 1
            if token:
                self._counts["token_requests"] += 1

    def page(self, records: int) -> None:
        with self._lock:
            self._counts["pages"] += 1
            self._counts["records_served"] += records

    def rate_limited(self) -> None:
        with self._lock:
            self._counts["rate_limited"] += 1

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)
