"""Client-side pacing shared by every stream of the process.

The vendor's limit (1,000 requests/min per client_id) is shared with every other process
using the same key, so this process keeps to its own budget (``requests_per_minute``),
slows down when the server says the shared window is nearly spent, and after a ``429``
waits exactly what ``Retry-After`` says - never less, because early retries are rejected
again and still count against the limit.

A ``low`` priority process (a backfill) paces on the shared window instead: it spreads what
is left of it, minus a reserve, evenly until ``X-RateLimit-Reset``, so alone it uses nearly
the whole budget. It counts its own requests in the window; when the vendor's count shows
another process of the client id at work, it leaves a much larger reserve for a while, so
the higher-priority run finds the tokens it needs (docs/tap.md, "Sharing the budget").
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
PRIORITIES = ("normal", "low")
# Requests of our own still in flight look like someone else's in the vendor's count: the
# page being prefetched, and one abandoned at a stream switch.
OTHERS_TOLERANCE = 2
# Reset and Date are whole seconds: the window can refill up to a second before we think.
RESET_ROUNDING_SECONDS = 1.0

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
        priority: str = "normal",
        reserve: float = 0.05,
        yield_reserve: float = 0.6,
        sleep: t.Callable[[float], None] = time.sleep,
        monotonic: t.Callable[[], float] = time.monotonic,
    ) -> None:
        if requests_per_minute < 1:
            raise ValueError("requests_per_minute must be at least 1")
        self.requests_per_minute = requests_per_minute
        self.low_watermark = low_watermark
        if priority not in PRIORITIES:
            raise ValueError(f"priority must be one of {', '.join(PRIORITIES)}")
        self.priority = priority
        self.reserve = reserve
        self.yield_reserve = yield_reserve
        # low priority: the vendor's count and ours in the current window.
        self._window_used = 0
        self._own_in_window = 0
        self._others_seen_at = -float("inf")
        self.yielded = 0  # windows in which another process was seen (low priority)
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
        if self.priority == "low":
            self._pace_low(remaining, until_reset, limit or self.requests_per_minute)
            return
        threshold = max(1, int((limit or self.requests_per_minute) * self.low_watermark))
        if remaining > threshold:
            return
        # Spread what is left of the window evenly; with nothing left, wait for the refill
        # (+1 s: Reset and Date are whole seconds).
        spacing = until_reset + 1.0 if remaining <= 0 else until_reset / remaining
        with self._lock:
            self._not_before = max(self._not_before, self._now() + spacing)

    @property
    def yielding(self) -> bool:
        """Another process of the client id was at work within the last window."""
        return self._now() - self._others_seen_at < WINDOW_SECONDS

    def _pace_low(self, remaining: int, until_reset: float, limit: int) -> None:
        """Spread the window's remaining requests, less a reserve, until its reset."""
        with self._lock:
            now = self._now()
            used = limit - remaining
            # The vendor's count fell: a new window (responses can arrive out of order by
            # as many as are in flight, hence the tolerance).
            if used < self._window_used - OTHERS_TOLERANCE or (
                    used < self._window_used and used <= OTHERS_TOLERANCE):
                self._own_in_window = 0
            self._window_used = used
            self._own_in_window += 1
            if used - self._own_in_window > OTHERS_TOLERANCE:
                if not self.yielding:
                    self.yielded += 1
                    logger.info("Another process of this client id is using the rate limit "
                                "(%d of %d requests in this window are not ours): yielding "
                                "to it, leaving %d per window", used - self._own_in_window,
                                limit, int(limit * self.yield_reserve))
                self._others_seen_at = now
            reserve = max(1, int(limit * (self.yield_reserve if self.yielding
                                          else self.reserve)))
            spendable = remaining - reserve
            if remaining <= OTHERS_TOLERANCE:
                # Someone may empty the window: only its refill is safe (the estimate is
                # never early: Date is truncated, Reset rounded up).
                spacing = until_reset
            elif spendable <= 0:
                # Only the reserve is left: wait for the refill, and rather half a second
                # early (one request from the reserve) than late (a second of budget lost).
                spacing = max(0.0, until_reset - RESET_ROUNDING_SECONDS / 2)
            else:
                spacing = max(0.0, until_reset - RESET_ROUNDING_SECONDS) / spendable
            self._not_before = max(self._not_before, now + spacing)

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
