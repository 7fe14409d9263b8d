"""Client-side pacing shared by every stream of the process.

The vendor's limit (1,000 requests/min per client_id) is shared with every other process
using the same key, so this process keeps to its own budget (``requests_per_minute``),
slows down when the server says the shared window is nearly spent, and after a ``429``
waits exactly what ``Retry-After`` says - never less, because early retries are rejected
again and still count against the limit.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
import typing as t

from tap_partnerapi.clock import http_date_epoch

# A request sent at t and one sent at t+60s can both land in one server window when their
# network latencies differ; half a second of margin keeps the sliding window honest.
WINDOW_SECONDS = 60.5
MAX_SLOWDOWN_SECONDS = 60.0

logger = logging.getLogger("tap_partnerapi.pacing")


def parse_retry_after(value: str | None, server_epoch: float | None) -> float | None:
    """Seconds to wait for a ``Retry-After`` in seconds or as an HTTP-date.

    An HTTP-date is measured against the response's own ``Date`` (the vendor's clock), not
    ours; the ``Date`` header is truncated to the second, so the wait can only come out
    longer than needed, never shorter.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    target = http_date_epoch(text)
    if target is None:
        return None
    reference = server_epoch if server_epoch is not None else time.time()
    return max(0.0, target - reference)


class RateLimiter:
    """A sliding-window budget plus server-driven slowdown and ``429`` blocks."""

    def __init__(
        self,
        requests_per_minute: int,
        *,
        low_watermark: float = 0.1,
        sleep: t.Callable[[float], None] = time.sleep,
        monotonic: t.Callable[[], float] = time.monotonic,
    ) -> None:
        if requests_per_minute < 1:
            raise ValueError("requests_per_minute must be at least 1")
        self.requests_per_minute = requests_per_minute
        self.low_watermark = low_watermark
        self._sleep = sleep
        self._now = monotonic
        self._sent: collections.deque[float] = collections.deque(maxlen=requests_per_minute)
        self._not_before = 0.0  # slowdown spacing or a 429 block
        self._retry_after_until = 0.0  # the 429 block alone (progress reports tell them apart)
        self._lock = threading.Lock()
        self.total_waited = 0.0
        self.requests = 0

    def acquire(self, on_wait: t.Callable[[float, float], None] | None = None) -> float:
        """Block until one more request fits the budget; return the seconds waited.

        ``on_wait(seconds, of_which_retry_after)`` is told before a wait starts."""
        with self._lock:
            now = self._now()
            wait = max(0.0, self._not_before - now)
            if len(self._sent) == self._sent.maxlen:
                wait = max(wait, self._sent[0] + WINDOW_SECONDS - now)
            if wait > 0:
                if on_wait is not None:
                    on_wait(wait, min(wait, max(0.0, self._retry_after_until - now)))
                self._sleep(wait)
                now = self._now()
            self._sent.append(now)
            self.requests += 1
            self.total_waited += wait
            return wait

    def observe(self, headers: t.Mapping[str, str], server_epoch: float | None) -> None:
        """Slow down when the shared window (all clients of the key) is nearly spent."""
        remaining = _int_header(headers, "X-RateLimit-Remaining")
        reset = _int_header(headers, "X-RateLimit-Reset")
        limit = _int_header(headers, "X-RateLimit-Limit")
        if remaining is None or reset is None:
            return
        reference = server_epoch if server_epoch is not None else time.time()
        until_reset = min(MAX_SLOWDOWN_SECONDS, max(0.0, reset - reference))
        threshold = max(1, int((limit or self.requests_per_minute) * self.low_watermark))
        if remaining > threshold:
            return
        # Spread what is left of the window evenly; with nothing left, wait for the refill
        # (+1 s: Reset and Date are whole seconds).
        spacing = until_reset + 1.0 if remaining <= 0 else until_reset / remaining
        with self._lock:
            self._not_before = max(self._not_before, self._now() + spacing)

    def block_for(self, seconds: float) -> None:
        """Nobody in this process sends before ``seconds`` have passed (after a 429)."""
        with self._lock:
            self._retry_after_until = max(self._retry_after_until, self._now() + seconds)
            self._not_before = max(self._not_before, self._retry_after_until)


def _int_header(headers: t.Mapping[str, str], name: str) -> int | None:
    value = headers.get(name)
    if value is None:
        return None
    try:
        return int(float(value))
    except ValueError:
        return None
