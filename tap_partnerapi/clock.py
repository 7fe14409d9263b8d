"""Timestamps in the project's one format, and "now" as the vendor's server sees it.

Every timestamp the tap writes (records, bookmarks, ledger) is ``YYYY-MM-DDTHH:MM:SS.ffffffZ``
so that string order is time order (docs/design.md). "Now" comes from the server's ``Date``
header because the vendor's clock (and the sandbox's simulated clock) is what decides which
records are visible; the local clock is only the fallback.
"""

from __future__ import annotations

import datetime as dt
import time
from email.utils import parsedate_to_datetime

UTC = dt.UTC


def format_ts(value: dt.datetime) -> str:
    """Render a datetime in the single bookmark/record format (6 digits, ``Z``)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_ts(value: str) -> dt.datetime:
    """Parse an RFC 3339 timestamp or a bare date; naive values are UTC."""
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    parsed = dt.datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def normalize_ts(value: str) -> str:
    """Any accepted timestamp string, rewritten in the single format."""
    return format_ts(parse_ts(value))


def timestamp_or_none(value: object) -> str | None:
    """``value`` in the single format if it is a timestamp string, else None: a record's
    ``updated_at`` may break the contract, and must then move no bookmark or ledger."""
    if not isinstance(value, str):
        return None
    if len(value) == 27 and value[-1] == "Z" and value[10] == "T":
        return value
    try:
        return normalize_ts(value)
    except ValueError:
        return None


def http_date_epoch(value: str | None) -> float | None:
    """Epoch seconds of an HTTP-date (``Date``, ``Retry-After``), or None if unparsable."""
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


class ServerClock:
    """Tracks the offset between the vendor's clock and ours, from ``Date`` headers."""

    def __init__(self) -> None:
        self._offset: float | None = None

    def observe(self, date_header: str | None) -> float | None:
        """Record the server time of a response; returns it as epoch seconds."""
        server_epoch = http_date_epoch(date_header)
        if server_epoch is not None:
            self._offset = server_epoch - time.time()
        return server_epoch

    @property
    def known(self) -> bool:
        return self._offset is not None

    def now_epoch(self) -> float:
        return time.time() + (self._offset or 0.0)

    def now(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.now_epoch(), tz=UTC)
