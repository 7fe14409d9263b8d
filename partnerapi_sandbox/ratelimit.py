"""Fixed one-minute windows per client id, with the vendor's punishing `Retry-After`.

Requests sent before `Retry-After` has passed are rejected again and still count, exactly as
the contract warns; a client that retries early only digs itself deeper.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

WINDOW_SECONDS = 60.0


@dataclass
class Bucket:
    window_start: float
    used: int = 0
    blocked_until: float = 0.0


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset_in: float  # seconds until the window refills
    retry_after: float  # seconds; 0 when allowed


class RateLimiter:
    def __init__(self, limit: int, window_seconds: float = WINDOW_SECONDS) -> None:
        self.limit = limit
        # The vendor's window is a minute; tests of pacing may shrink it (same rules).
        self.window_seconds = float(window_seconds)
        self._buckets: dict[str, Bucket] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, now: float) -> Decision:
        with self._lock:
            b = self._buckets.get(key)
            if b is None or now - b.window_start >= self.window_seconds:
                blocked = b.blocked_until if b else 0.0
                b = self._buckets[key] = Bucket(now, 0, blocked)
            b.used += 1
            reset_in = b.window_start + self.window_seconds - now
            remaining = max(0, self.limit - b.used)
            if now < b.blocked_until:
                return Decision(False, self.limit, 0, reset_in, b.blocked_until - now)
            if b.used > self.limit:
                b.blocked_until = now + reset_in
                return Decision(False, self.limit, 0, reset_in, reset_in)
            return Decision(True, self.limit, remaining, reset_in, 0.0)

    def block(self, key: str, now: float, seconds: float) -> Decision:
        """A vendor incident: reject this client for `seconds` regardless of its usage (the
        request that hits it was already counted)."""
        with self._lock:
            b = self._buckets.setdefault(key, Bucket(now))
            b.blocked_until = max(b.blocked_until, now + seconds)
            reset_in = max(0.0, b.window_start + self.window_seconds - now)
            return Decision(False, self.limit, 0, reset_in, b.blocked_until - now)


def ceil_seconds(seconds: float) -> int:
    return max(1, math.ceil(seconds))
