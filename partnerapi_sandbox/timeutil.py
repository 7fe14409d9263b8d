"""Timestamps as the vendor writes them.

Internally every instant is an int of microseconds since the Unix epoch: exact, cheap to
compare, and free of float rounding. On the wire it is `YYYY-MM-DDTHH:MM:SS.ffffffZ` (always 6
fractional digits, always `Z`) so that string order is time order.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from email.utils import formatdate

US = 1_000_000
MINUTE = 60 * US
HOUR = 60 * MINUTE
DAY = 24 * HOUR

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


_DAYS: dict[int, str] = {}
# Records often format the same instant twice (created == updated). One tuple, swapped
# atomically, so server threads never read a mismatched pair.
_last: tuple[int, str] = (-1, "")


def fmt_us(us: int) -> str:
    # Hot path of data generation: the date part is cached per day, the rest is arithmetic.
    global _last
    last = _last
    if us == last[0]:
        return last[1]
    days, rest = divmod(us, DAY)
    day = _DAYS.get(days)
    if day is None:
        day = _DAYS[days] = time.strftime("%Y-%m-%dT", time.gmtime(days * 86_400))
    secs, frac = divmod(rest, US)
    hours, secs = divmod(secs, 3600)
    minutes, secs = divmod(secs, 60)
    text = f"{day}{hours:02d}:{minutes:02d}:{secs:02d}.{frac:06d}Z"
    _last = (us, text)
    return text


def parse_ts(text: str) -> int:
    """Parse an RFC 3339 timestamp (any precision, `Z` or offset) into epoch microseconds.

    Raises ValueError for anything else, including naive timestamps: the vendor rejects them.
    """
    raw = text.strip()
    if raw.endswith(("Z", "z")):
        raw = raw[:-1] + "+00:00"
    dt = datetime.fromisoformat(raw)
    if dt.tzinfo is None:
        raise ValueError(f"timestamp without a UTC offset: {text!r}")
    delta = dt - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * US + delta.microseconds


def http_date(us: int) -> str:
    """RFC 9110 IMF-fixdate, e.g. `Sat, 21 Nov 2026 10:00:07 GMT`."""
    return formatdate(us // US, usegmt=True)


def coerce_start(value: object) -> int:
    """`start_time=` accepts None (wall clock, truncated to the second), a datetime, or a string."""
    if value is None:
        return int(time.time()) * US
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        delta = value - _EPOCH
        return (delta.days * 86_400 + delta.seconds) * US + delta.microseconds
    if isinstance(value, int | float):
        return int(value * US)
    return parse_ts(str(value))
