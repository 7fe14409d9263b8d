"""Cursor pagination over pages decoded once.

The SDK's ``JSONPathPaginator`` decodes the response body a second time to find the next
token; on 5,000-record pages that doubles the JSON work. Here the page is decoded once (in
``client.py``), checked, and the paginator reads the cursor from the decoded page. The
listing loop is the tap's own (``PartnerStream.iter_pages``: prefetch, retries, cursor
restarts), so the paginator is too: the SDK's ``BaseAPIPaginator`` only advances from an
HTTP response.
"""

from __future__ import annotations

import dataclasses
import typing as t


@dataclasses.dataclass(slots=True)
class Page:
    """One checked page of a listing, with what lineage and the ledger need."""

    data: list[dict[str, t.Any]]
    count: int
    next_cursor: str | None
    request_id: str | None
    extracted_at: str
    server_now: str
    cursor: str | None
    window_start: str | None
    window_end: str | None
    page_number: int = 0

    @property
    def is_last(self) -> bool:
        return not self.next_cursor


class CursorPaginator:
    """Follows ``next_cursor`` of checked pages; refuses a cursor that repeats."""

    __slots__ = ("count", "current_value", "finished")

    def __init__(self) -> None:
        self.current_value: str | None = None
        self.count = 0
        self.finished = False

    def advance_page(self, page: Page) -> None:
        self.count += 1
        if not page.next_cursor:
            self.finished = True
            return
        if page.next_cursor == self.current_value:
            # The same cursor twice would loop forever; the SDK's paginators refuse it too.
            msg = f"Loop detected in pagination: cursor {page.next_cursor!r} repeated"
            raise RuntimeError(msg)
        self.current_value = page.next_cursor
