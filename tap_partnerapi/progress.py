"""Progress of a syncing stream: a line at most every ``PROGRESS_SECONDS``, and one for every
wait on the rate budget or a ``Retry-After`` longer than ``LONG_WAIT_SECONDS``.

A paced or long run otherwise looks hung: the readable per-stream lines only come at the
end (summary.py) and the tap can sit 30 s or more on its budget or a vendor's
``Retry-After`` without a word.
"""

from __future__ import annotations

import logging
import time
import typing as t

if t.TYPE_CHECKING:
    from tap_partnerapi.summary import StreamStats

PROGRESS_SECONDS = 10.0
LONG_WAIT_SECONDS = 5.0

logger = logging.getLogger("tap_partnerapi.progress")


class Progress:
    """One stream's progress reporting (its stats are the run summary's)."""

    def __init__(self, stream: str, stats: StreamStats,
                 log: logging.Logger | logging.LoggerAdapter = logger) -> None:
        self.stream = stream
        self.stats = stats
        self.log = log
        self._last = time.monotonic()

    def page_done(self) -> None:
        """After each page: a progress line when the last one is PROGRESS_SECONDS old."""
        now = time.monotonic()
        if now - self._last < PROGRESS_SECONDS:
            return
        self._last = now
        stats = self.stats
        seconds = stats.seconds()
        self.log.info(
            "Progress %s: %d records, %d pages, %.0f records/s, waited %.1fs on the rate "
            "budget and %.1fs on Retry-After", self.stream, stats.records, stats.pages,
            stats.records / seconds if seconds > 0 else 0.0, stats.budget_wait_seconds,
            stats.retry_after_wait_seconds)

    def on_wait(self, seconds: float, retry_after: float) -> None:
        """Told by the rate limiter before it holds this stream's next request back."""
        self.stats.retry_after_wait_seconds += retry_after
        if seconds > LONG_WAIT_SECONDS:
            cause = "the vendor's Retry-After" if retry_after >= seconds / 2 else \
                "the rate budget (requests_per_minute / the vendor's remaining quota)"
            self.log.info("Waiting %.1fs on %s before the next %s request", seconds, cause,
                          self.stream)
