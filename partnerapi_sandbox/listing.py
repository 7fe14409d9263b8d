"""`GET /v1/<resource>`: filters, keyset paging, `fields=`, and the page-level faults."""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from partnerapi_sandbox.clock import SimClock
from partnerapi_sandbox.counters import Counters
from partnerapi_sandbox.cursors import Cursor, CursorCodec, InvalidCursor
from partnerapi_sandbox.faults import FaultInjector
from partnerapi_sandbox.responses import Response, error
from partnerapi_sandbox.schema_drift import Drift
from partnerapi_sandbox.store import Store, Table, dumps, loads
from partnerapi_sandbox.timeutil import fmt_us, parse_ts

MAX_PAGE_SIZE = 5000
DEFAULT_PAGE_SIZE = 100


class BadRequest(ValueError):
    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass
class Query:
    since: str | None
    before: str | None
    page_size: int
    cursor: Cursor | None
    fields: tuple[str, ...] | None


@dataclass
class Listing:
    """What serving a page reads and touches: the store (under ``lock``), the cursors, the
    faults, the drift in force, the simulated clock, the counters, and the sandbox's way of
    moving a record into the window being read (fault ``moved_record``)."""

    store: Store
    lock: AbstractContextManager[Any]
    cursors: CursorCodec
    faults: FaultInjector
    drift: Drift
    clock: SimClock
    counters: Counters
    move_record: Callable[[str, str | None, str | None, tuple[str, str] | None], bool]


def _single(params: dict[str, list[str]], name: str) -> str | None:
    values = params.get(name)
    if not values:
        return None
    if len(values) > 1:
        raise BadRequest("invalid_request", f"parameter {name!r} given more than once")
    return values[0]


def _timestamp(params: dict[str, list[str]], name: str) -> str | None:
    raw = _single(params, name)
    if raw is None:
        return None
    try:
        return fmt_us(parse_ts(raw))
    except ValueError as exc:
        raise BadRequest("invalid_request", f"{name} must be an RFC 3339 timestamp") from exc


def parse_query(listing: Listing, resource: str, params: dict[str, list[str]]) -> Query:
    since, before = _timestamp(params, "updated_since"), _timestamp(params, "updated_before")
    raw_size = _single(params, "page_size")
    try:
        page_size = DEFAULT_PAGE_SIZE if raw_size is None else int(raw_size)
    except ValueError as exc:
        raise BadRequest("invalid_request", "page_size must be an integer") from exc
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise BadRequest("invalid_request", f"page_size must be within 1..{MAX_PAGE_SIZE}")
    fields = None
    raw_fields = _single(params, "fields")
    if raw_fields is not None:
        allowed = listing.drift.selectable_fields(resource)
        wanted = [f for f in raw_fields.split(",") if f]
        unknown = [f for f in wanted if f not in allowed]
        if unknown:
            raise BadRequest("invalid_request", f"unknown fields: {','.join(unknown)}")
        idf = "event_id" if resource == "events" else "id"
        fields = tuple(dict.fromkeys([idf, *wanted]))
    cursor = None
    raw_cursor = _single(params, "cursor")
    if raw_cursor is not None:
        try:
            cursor = listing.cursors.decode(raw_cursor, listing.clock.now_us)
        except InvalidCursor as exc:
            raise BadRequest("invalid_cursor", str(exc)) from exc
        if (cursor.resource, cursor.since, cursor.before) != (resource, since, before):
            raise BadRequest("invalid_cursor",
                             "cursor does not belong to this query: send the same filters")
    return Query(since, before, page_size, cursor, fields)


def _project(drift: Drift, table: Table, ids: list[str], keys: list[tuple[str, str]],
             fields: tuple[str, ...] | None) -> list[bytes]:
    if fields is not None and set(fields) <= {table.id_field, "updated_at"}:
        # The cheap id listing: answered from the index without touching the records.
        out = []
        for u, i in keys:
            row = {table.id_field: i, "updated_at": u} if "updated_at" in fields else {
                table.id_field: i}
            out.append(json.dumps(row, separators=(",", ":")).encode())
        return out
    current = table.current
    bodies = [current[i].body for i in ids]
    if fields is None and drift.documented_shape(table.resource):
        return bodies
    out = []
    for body in bodies:
        record = drift.apply(table.resource, loads(body))
        if fields is not None:
            record = {f: record[f] for f in fields if f in record}
        out.append(dumps(record))
    return out


def list_page(listing: Listing, resource: str, params: dict[str, list[str]], request_id: str,
              fault: str | None) -> Response:
    try:
        q = parse_query(listing, resource, params)
    except BadRequest as exc:
        listing.faults.uncount(fault)
        return error(400, exc.kind, str(exc), request_id)
    table = listing.store.tables[resource]
    with listing.lock:
        after = q.cursor.last if q.cursor else None
        if fault == "moved_record" and not listing.move_record(resource, q.since, q.before, after):
            listing.faults.uncount(fault)
            fault = None
        lower, end = table.window(q.since, q.before, None)
        start = lower
        if q.cursor is not None:
            start, end = table.window(q.since, q.before, q.cursor.last)
        if fault == "duplicate_page":
            # Start a few records early: the client sees records it already has.
            back = min(start - lower, q.page_size - 1, 50)
            if q.cursor is None or back < 1:
                listing.faults.uncount(fault)
                fault = None
            else:
                start -= listing.faults.randint(1, back)
        stop = min(start + q.page_size, end)
        keys = table.keys[start:stop]
        has_more = stop < end
        rows = _project(listing.drift, table, [i for _, i in keys], keys, q.fields)
    count = len(rows)
    if fault == "partial_page" and count < 1:
        listing.faults.uncount(fault)
        fault = None
    if fault == "partial_page":
        drop = listing.faults.randint(1, max(1, count // 3))
        keep = sorted(listing.faults.sample(range(count), count - drop))
        rows = [rows[i] for i in keep]
    next_cursor = None
    if has_more:
        next_cursor = listing.cursors.encode(
            Cursor(resource, keys[-1], q.since, q.before, listing.clock.now_us))
    body = b"".join([b'{"data":[', b",".join(rows), b'],"count":', str(count).encode(),
                     b',"has_more":', b"true" if has_more else b"false", b',"next_cursor":',
                     json.dumps(next_cursor).encode(), b"}"])
    listing.counters.page(len(rows))
    if fault == "http_504":
        return error(504, "gateway_timeout", "upstream timed out", request_id)
    return Response(200, body, truncate=fault == "truncated_body")
