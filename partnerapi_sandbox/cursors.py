"""Opaque keyset cursors.

A cursor carries the last returned (updated_at, id), the query's filters and the simulated
time it was issued, signed so that a client cannot forge or edit one. Keyset (not offset)
paging is what makes "the same cursor returns that page again" true while records move.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass

from partnerapi_sandbox.timeutil import DAY

CURSOR_TTL_US = DAY


class InvalidCursor(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Cursor:
    resource: str
    last: tuple[str, str]
    since: str | None
    before: str | None
    issued_us: int


class CursorCodec:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def encode(self, c: Cursor) -> str:
        payload = json.dumps([c.resource, *c.last, c.since, c.before, c.issued_us],
                             separators=(",", ":")).encode()
        mac = hmac.new(self._secret, payload, hashlib.sha256).digest()[:12]
        return base64.urlsafe_b64encode(mac + payload).decode().rstrip("=")

    def decode(self, token: str, now_us: int) -> Cursor:
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except ValueError as exc:
            raise InvalidCursor("cursor is not valid") from exc
        mac, payload = raw[:12], raw[12:]
        good = hmac.new(self._secret, payload, hashlib.sha256).digest()[:12]
        if len(raw) < 13 or not hmac.compare_digest(mac, good):
            raise InvalidCursor("cursor is not valid")
        resource, last_u, last_id, since, before, issued = json.loads(payload)
        if now_us - issued >= CURSOR_TTL_US:
            raise InvalidCursor("cursor has expired; restart the listing")
        return Cursor(resource, (last_u, last_id), since, before, issued)
