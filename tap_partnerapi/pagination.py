"""Cursor pagination over pages decoded once.

The SDK's ``JSONPathPaginator`` decodes the response body a second time to find the next
token; on 5,000-record pages that doubles the JSON work. Here the page is decoded once (in
``client.py``), checked, and the paginator reads the cursor from the decoded page.
"""

from __future__ import annotations

import dataclasses
import typing as t

from singer_sdk.pagination import BaseAPIPaginator

if t.TYPE_CHECKING:
    import requests


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


class CursorPaginator(BaseAPIPaginator[str | None]):
    """Follows ``next_cursor`` of already-decoded pages (``response.page``)."""

    def __init__(self) -> None:
        super().__init__(None)

    def get_next(self, response: requests.Response) -> str | None:
        page: Page = response.page  # type: ignore[attr-defined]
        return page.next_cursor

    def advance_page(self, page: Page) -> None:
        """Advance from a decoded page without touching the HTTP response."""
        self._page_count += 1
        if not page.next_cursor:
            self._finished = True
            return
        if page.next_cursor == self._value:
            # The same cursor twice would loop forever; the SDK's paginators refuse it too.
            msg = f"Loop detected in pagination: cursor {page.next_cursor!r} repeated"
            raise RuntimeError(msg)
        self._value = page.next_cursor
