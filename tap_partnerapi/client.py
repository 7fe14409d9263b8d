"""The one base stream: auth, pacing, retries, page integrity checks and lineage.

Every resource stream is a short declaration on top of :class:`PartnerStream`. A page is
decoded once, checked (``len(data) == count``), and only then handed on; anything the
vendor documents as transient is retried on the same cursor with exponential backoff and
jitter, bounded in attempts and in total time, and every retry is logged with its cause.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import threading
import time
import typing as t
from concurrent.futures import Future, ThreadPoolExecutor

import msgspec
import requests
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.streams import RESTStream

from partnerapi_sdk_hooks import DirectWriter, FastRecordPath
from tap_partnerapi.clock import format_ts, parse_ts, timestamp_or_none
from tap_partnerapi.errors import (
    InvalidClientError,
    InvalidCursorError,
    PartnerAPIError,
    RetriesExhaustedError,
    vendor_error,
)
from tap_partnerapi.pacing import parse_retry_after
from tap_partnerapi.pagination import CursorPaginator, Page
from tap_partnerapi.progress import Progress
from tap_partnerapi.writer import can_write_directly, write_direct

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    from tap_partnerapi.services import RunServices
    from tap_partnerapi.summary import StreamStats

MAX_RATE_LIMITED_ATTEMPTS = 100  # 429s are waited out exactly; max_retry_seconds bounds them
_decode = msgspec.json.Decoder().decode


class PartnerStream(FastRecordPath, RESTStream[str | None]):
    """Base stream for ``GET /v1/<resource>`` listings."""

    # Records are already JSON-typed and carry exactly the declared fields (see
    # ``streams.py``), so the SDK's recursive conformance (about half of the tap's CPU)
    # has nothing to do.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE
    # State is written at page boundaries (after the page's ledger row) by get_records.
    STATE_MSG_FREQUENCY = 10**12
    # Listings are ordered by (updated_at, id): a bookmark is resumable mid-stream. Not
    # checked: a record that moved can legitimately come back with an older updated_at
    # after a cursor restart, and that must not crash the run.
    is_sorted = True
    check_sorted = False
    replication_key = "updated_at"

    def __init__(self, tap: t.Any, services: RunServices, **kwargs: t.Any) -> None:
        #: The run's shared pieces (services.py): token, limiter, clock, stats, audit sink.
        self.services = services
        super().__init__(tap=tap, **kwargs)

    @property
    def url_base(self) -> str:
        return f"{self.config['api_url'].rstrip('/')}/v1/"

    @property
    def authenticator(self) -> t.Any:
        return self.services.authenticator

    @property
    def timeout(self) -> float:  # type: ignore[override]
        return float(self.config.get("request_timeout", 60))

    @property
    def http_headers(self) -> dict:
        return {"Accept": "application/json"}

    @property
    def stats(self) -> StreamStats:
        return self.services.stats_for(self.name)

    def direct_writer(self) -> DirectWriter | None:
        return write_direct if can_write_directly(self) else None

    @property
    def progress(self) -> Progress:
        if self._progress is None:
            self._progress = Progress(self.name, self.stats, self.logger)
        return self._progress

    def sync(self, context: t.Any = None) -> None:
        """As the SDK's, but a refusal of this one resource (403, 404 on its listing) ends
        only this stream: the others still sync and save their state, and the run fails at
        its end naming this stream and the vendor's request id."""
        try:
            super().sync(context)
        except PartnerAPIError as exc:
            if not exc.resource_scoped:
                raise
            self.services.stream_failed(self, exc)

    def advance_bookmark(self, context: t.Any, value: str | None) -> None:
        """Move the bookmark to ``value`` (an emitted record's updated_at), never back."""
        if not value or not self.replication_key:
            return
        state = self.get_context_state(context)
        if value > (state.get("replication_key_value") or ""):
            state["replication_key"] = self.replication_key
            state["replication_key_value"] = value
            self.state_manager.is_flushed = False

    _abandoned = threading.Event()  # replaced per listing by iter_pages
    _progress: Progress | None = None

    def get_replication_key_signpost(self, context: t.Any = None) -> None:
        # The SDK caps bookmarks at the *local* clock; the vendor's clock is what matters
        # and records are only ever emitted after they were visible, so no cap is needed.
        return None

    # -- one page, retried until it is whole ---------------------------------------------

    def fetch_page(self, params: dict[str, t.Any], *, context: t.Any, cursor: str | None,
                   window_start: str | None, window_end: str | None) -> Page:
        """GET one page; transient failures are retried on the same cursor."""
        run = self.services
        config = self.config
        max_retries = int(config.get("max_retries", 8))
        max_seconds = float(config.get("max_retry_seconds", 900))
        base = float(config.get("backoff_base_seconds", 1.0))
        cap = float(config.get("backoff_max_seconds", 60.0))
        url = self.get_url(context)
        started = time.monotonic()
        failures = 0
        rate_limited = 0
        after_401 = False
        stats = self.stats
        while True:
            if self._abandoned.is_set():
                raise RetriesExhaustedError(f"{self.name}: listing abandoned")
            prepared = self.build_prepared_request(
                method="GET", url=url, params=params, headers=self.http_headers)
            stats.rate_limit_wait_seconds += run.limiter.acquire(self.progress.on_wait)
            cause, detail = None, ""
            try:
                response = self.requests_session.send(prepared, timeout=self.timeout)
            except requests.exceptions.Timeout:
                cause = "timeout"
            except (requests.exceptions.ChunkedEncodingError,
                    requests.exceptions.ContentDecodingError) as exc:
                cause, detail = "truncated_body", type(exc).__name__
            except requests.exceptions.ConnectionError as exc:
                # requests reports a read timeout during the body as a ConnectionError.
                cause = "timeout" if "timed out" in str(exc) else "connection"
                detail = f"{type(exc).__name__} from {prepared.url}"
            else:
                self._request_counter.increment()
                page_or_cause = self._check_response(
                    response, params, cursor, window_start, window_end, after_401)
                after_401 = page_or_cause == "invalid_token"
                if isinstance(page_or_cause, Page):
                    return page_or_cause
                cause = page_or_cause
                detail = f"HTTP {response.status_code}, request_id=" \
                         f"{response.headers.get('X-Request-Id')}"
            stats.retries[cause] += 1
            elapsed = time.monotonic() - started
            if cause == "rate_limited":
                rate_limited += 1
                exhausted = rate_limited > MAX_RATE_LIMITED_ATTEMPTS
                wait = 0.0  # the limiter already holds every request back (Retry-After)
            elif cause == "invalid_token":
                exhausted, wait = False, 0.0
            else:
                failures += 1
                exhausted = failures > max_retries
                wait = min(cap, base * 2 ** (failures - 1)) * random.uniform(0.5, 1.0)
            if exhausted or elapsed + wait > max_seconds:
                raise RetriesExhaustedError(
                    f"{self.name}: giving up after {failures} transient failures and "
                    f"{rate_limited} rate-limited attempts in {elapsed:.0f}s; last cause "
                    f"{cause} ({detail}); cursor={cursor}")
            self.log("Retrying %s page (cursor=%s) after %s (%s); attempt %d, waiting %.2fs",
                     self.name, cursor, cause, detail or "no response",
                     failures + rate_limited + 1, wait, level=logging.WARNING)
            if wait:
                self._abandoned.wait(wait)

    def _check_response(self, response: requests.Response, params: dict[str, t.Any],
                        cursor: str | None, window_start: str | None,
                        window_end: str | None, after_401: bool) -> Page | str:
        """A whole page, or the retry cause; raises on fatal answers."""
        run = self.services
        headers = response.headers
        server_epoch = run.clock.observe(headers.get("Date"))
        status = response.status_code
        if status != 429:
            # A 429's Remaining is 0 until the window's end; its Retry-After governs.
            run.limiter.observe(headers, server_epoch)
        self.log_request_duration(response)
        request_id = headers.get("X-Request-Id")
        if status == 200:
            try:
                body = _decode(response.content)
            except msgspec.DecodeError:
                return "truncated_body"
            if not isinstance(body, dict) or not isinstance(body.get("data"), list):
                return "truncated_body"
            data = body["data"]
            count = body.get("count")
            next_cursor = body.get("next_cursor")
            if count != len(data) or (body.get("has_more") and not next_cursor):
                return "partial_page"
            now = format_ts(dt.datetime.now(dt.UTC))
            server_now = format_ts(dt.datetime.fromtimestamp(
                server_epoch, tz=dt.UTC)) if server_epoch is not None else now
            return Page(data=data, count=count, next_cursor=next_cursor,
                        request_id=request_id, extracted_at=now, server_now=server_now,
                        cursor=cursor, window_start=window_start, window_end=window_end)
        try:
            error_type, message, body_request_id = vendor_error(_decode(response.content))
        except msgspec.DecodeError:
            error_type = message = body_request_id = None
        request_id = body_request_id or request_id
        if status == 429:
            self.stats.http_429 += 1
            wait = parse_retry_after(headers.get("Retry-After"), server_epoch)
            run.limiter.block_for(1.0 if wait is None else wait)
            return "rate_limited"
        if status == 504:
            return "http_504"
        if status in (500, 502, 503) or status > 504:
            return "http_5xx"
        if status == 401:
            if error_type == "invalid_client":
                raise InvalidClientError(
                    "The vendor refused the client credentials (invalid_client): check the "
                    f"settings client_id and client_secret (request_id={request_id})",
                    status=status, error_type=error_type, request_id=request_id)
            if after_401:
                raise PartnerAPIError(
                    f"{self.name}: a second 401 in a row after renewing the token - the "
                    f"credentials are not accepted ({error_type}: {message}; "
                    f"request_id={request_id})",
                    status=status, error_type=error_type, request_id=request_id)
            run.authenticator.invalidate()
            return "invalid_token"
        if status == 400 and error_type == "invalid_cursor" and cursor:
            raise InvalidCursorError(request_id)
        raise PartnerAPIError(
            f"{self.name}: HTTP {status} {error_type or ''} from {response.request.path_url}"
            f": {message or response.reason} (request_id={request_id})",
            status=status, error_type=error_type, request_id=request_id)

    # -- a window, page by page ----------------------------------------------------------

    def iter_pages(self, context: t.Any, window_start: str | None, window_end: str | None,
                   *, extra_params: dict[str, t.Any] | None = None,
                   page_size: int | None = None,
                   on_restart: t.Callable[[str | None], None] | None = None,
                   ) -> Iterator[Page]:
        """Every page of ``[window_start, window_end)``; a refused cursor restarts the
        listing at the last safe point (the last completed page's ``updated_at``)."""
        size = page_size or int(self.config.get("page_size", 5000))
        self.reset_record_path()
        since = window_start
        safe_point = window_start
        paginator = CursorPaginator()
        page_number = 0
        restarts = 0
        # While the records of page N are processed, page N+1 is already being fetched:
        # the vendor's time to build a page overlaps ours to process one. One request in
        # flight per stream, as before; the page loop below stays strictly ordered.
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"fetch-{self.name}")
        self._abandoned = threading.Event()

        def request(cursor: str | None, since: str | None) -> Future[Page]:
            params: dict[str, t.Any] = {"page_size": size}
            if since:
                params["updated_since"] = since
            if window_end:
                params["updated_before"] = window_end
            if extra_params:
                params.update(extra_params)
            if cursor:
                params["cursor"] = cursor
            return pool.submit(self.fetch_page, params, context=context, cursor=cursor,
                               window_start=since, window_end=window_end)

        try:
            with self.get_http_request_counter() as counter:
                counter.with_context(context)
                self._request_counter = counter
                pending: Future[Page] | None = request(None, since)
                while pending is not None:
                    try:
                        page = pending.result()
                    except InvalidCursorError as exc:
                        restarts += 1
                        self.stats.retries["invalid_cursor"] += 1
                        if restarts > int(self.config.get("max_retries", 8)):
                            raise PartnerAPIError(
                                f"{self.name}: cursor refused {restarts} times "
                                f"(request_id={exc.request_id})", request_id=exc.request_id
                            ) from exc
                        self.log("Cursor refused as invalid/expired (request_id=%s); "
                                 "restarting the window at its last safe point %s",
                                 exc.request_id, safe_point, level=logging.WARNING)
                        since = safe_point
                        if on_restart:
                            on_restart(safe_point)
                        paginator = CursorPaginator()
                        pending = request(None, since)
                        continue
                    paginator.advance_page(page)
                    pending = None if paginator.finished else \
                        request(paginator.current_value, since)
                    page_number += 1
                    page.page_number = page_number
                    self.stats.pages += 1
                    yield page
                    self.progress.page_done()
                    last = page.data and timestamp_or_none(page.data[-1].get("updated_at"))
                    if last:
                        safe_point = last
        finally:
            # A closed generator (crash, record limit) must not wait for a page in flight,
            # nor leave it retrying for max_retry_seconds: the fetch gives up at once.
            self._abandoned.set()
            pool.shutdown(wait=False, cancel_futures=True)

    # -- windows and bookmarks -----------------------------------------------------------

    def window_for(self, context: t.Any) -> tuple[str | None, str | None] | None:
        """``(updated_since, updated_before)`` for this run, or None when already done."""
        state = self.get_context_state(context)
        bookmark = state.get("replication_key_value")
        overlap = dt.timedelta(hours=float(self.config.get("overlap_hours", 2)))
        if context:
            start, end = context["_pa_window_start"], context["_pa_window_end"]
            if bookmark and bookmark >= end:
                self.log("Window [%s, %s) already complete; skipped", start, end)
                return None
        else:
            start = self.services.start_date
            end = None
        if bookmark:
            resume = format_ts(parse_ts(bookmark) - overlap)
            start = max(start, resume) if start else resume
        return start, end
