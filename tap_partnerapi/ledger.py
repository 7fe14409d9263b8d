"""Coverage ledger rows: proof that every ``updated_at`` interval requested was read.

One row per completed page. ``covered_from`` is the window start for a listing's first
page, else the previous page's ``last_updated_at``; ``covered_to`` is the page's
``last_updated_at``, or for the last page the window end (open-ended: the later of the
last record's ``updated_at`` and the server's time of the request). The union of
``[covered_from, covered_to]`` per (environment, stream) has no gap when nothing was
skipped (docs/design.md).
"""

from __future__ import annotations

import typing as t

from tap_partnerapi.clock import timestamp_or_none

if t.TYPE_CHECKING:
    from tap_partnerapi.pagination import Page


class LedgerTracker:
    """Builds the ledger rows of one listing (a window, restarts included)."""

    def __init__(self, *, environment: str, stream: str, run_id: str,
                 window_start: str | None) -> None:
        self.environment = environment
        self.stream = stream
        self.run_id = run_id
        self._covered_from = window_start

    def restart(self, safe_point: str | None) -> None:
        """A cursor was refused; the listing resumes at ``safe_point`` (inclusive)."""
        self._covered_from = safe_point

    def row(self, page: Page, completed_at: str) -> dict[str, t.Any]:
        data = page.data
        first = _edge(data)
        last = _edge(reversed(data))
        if not page.is_last:
            covered_to = last if last is not None else self._covered_from
        elif page.window_end is not None:
            covered_to = page.window_end
        else:
            covered_to = max(filter(None, (last, page.server_now)))
        row = {
            "environment": self.environment,
            "stream": self.stream,
            "run_id": self.run_id,
            "window_start": page.window_start,
            "window_end": page.window_end,
            "page_number": page.page_number,
            "cursor": page.cursor,
            "next_cursor": page.next_cursor,
            "records": len(data),
            "first_updated_at": first,
            "last_updated_at": last,
            "covered_from": self._covered_from,
            "covered_to": covered_to,
            "request_id": page.request_id or f"missing-{page.page_number}",
            "is_last_page": page.is_last,
            "completed_at": completed_at,
        }
        if last is not None:
            self._covered_from = last
        return row


def _edge(records: t.Iterable[t.Any]) -> str | None:
    """The first valid ``updated_at`` from this end (a quarantined record's may be bad)."""
    for record in records:
        value = timestamp_or_none(record.get("updated_at"))
        if value is not None:
            return value
    return None


def find_gaps(rows: t.Iterable[dict[str, t.Any]]) -> list[tuple[str, str, str, str]]:
    """``(environment, stream, gap_from, gap_to)`` for every uncovered ``updated_at`` span
    between the first and last covered instant of each (environment, stream)."""
    spans: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for row in rows:
        if row.get("covered_from") and row.get("covered_to"):
            spans.setdefault((row["environment"], row["stream"]), []).append(
                (row["covered_from"], row["covered_to"]))
    gaps = []
    for (environment, stream), intervals in sorted(spans.items()):
        intervals.sort()
        reach = intervals[0][1]
        for start, end in intervals[1:]:
            if start > reach:
                gaps.append((environment, stream, reach, start))
            reach = max(reach, end)
    return gaps
