"""The vendor's public surface: `/oauth/token`, `/v1/<resource>`, `/v1/<resource>/<id>`.

Order of checks per request mirrors a real gateway: identify the client, rate-limit it,
authenticate, maybe misbehave (faults), then route.
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

from partnerapi_sandbox.auth import Auth
from partnerapi_sandbox.clock import SimClock
from partnerapi_sandbox.counters import Counters
from partnerapi_sandbox.faults import FaultInjector
from partnerapi_sandbox.listing import Listing, list_page
from partnerapi_sandbox.ratelimit import Decision, RateLimiter, ceil_seconds
from partnerapi_sandbox.responses import Response, error, json_response
from partnerapi_sandbox.store import RESOURCES, dumps, loads
from partnerapi_sandbox.timeutil import US, http_date

TOKEN_REQUESTS_PER_MINUTE = 10
ANONYMOUS = "-anonymous-"


@dataclass
class ApiSettings:
    """The knobs the API reads on every request (``Sandbox.configure`` changes them live)."""

    token_lifetime_seconds: int = 900
    hang_seconds: float = 35.0
    max_retry_after_seconds: float = 60.0


class Api:
    """``forbidden`` is the sandbox's own set (``Sandbox.forbid`` changes it in place); the
    store, its lock and the drift in force are the listing's."""

    def __init__(self, *, auth: Auth, limiter: RateLimiter, faults: FaultInjector,
                 clock: SimClock, counters: Counters, settings: ApiSettings,
                 forbidden: set[str], listing: Listing) -> None:
        self.auth, self.limiter, self.faults = auth, limiter, faults
        self.clock, self.counters, self.settings = clock, counters, settings
        self.forbidden, self.listing = forbidden, listing
        self.token_limiter = RateLimiter(TOKEN_REQUESTS_PER_MINUTE)
        self._ids = itertools.count(1)
        self._retry_format = itertools.count()

    def request_id(self) -> str:
        # Globally unique like the vendor's: two sandboxes with one seed must not collide.
        return f"req_{secrets.token_hex(6)}{next(self._ids):06d}"

    def handle(self, method: str, target: str, headers: Mapping[str, str], body: bytes,
               request_id: str) -> Response:
        parts = urlsplit(target)
        path = parts.path
        if path == "/oauth/token":
            return self._token(method, headers, body, request_id)
        now = self.clock.op_now()
        token, why = self.auth.resolve(headers.get("Authorization"), now)
        client = token.client_id if token else ANONYMOUS
        decision = self.limiter.hit(client, now)
        self.counters.request()
        if not decision.allowed:
            return self._too_many(decision, request_id)
        resp = self._authorized(method, path, parts.query, headers, token, why, request_id)
        return self._with_limits(resp, decision)

    def _authorized(self, method: str, path: str, query: str, headers: Mapping[str, str],
                    token: object, why: str, request_id: str) -> Response:
        if token is None:
            message = {"missing": "no bearer token", "unknown": "unknown token",
                       "expired": "token has expired", "revoked": "token has been revoked"}[why]
            return error(401, "invalid_token", message, request_id,
                         headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
        client_id = token.client_id  # type: ignore[attr-defined]
        segments = [unquote(s) for s in path.split("/") if s]
        if method != "GET":
            return error(405, "invalid_request", "only GET is supported here", request_id)
        if len(segments) not in (2, 3) or segments[0] != "v1" or segments[1] not in RESOURCES:
            return error(404, "not_found", f"no such endpoint: {path}", request_id)
        resource = segments[1]
        allowed = self.auth.clients[client_id].resources
        if resource in self.forbidden or (allowed is not None and resource not in allowed):
            return error(403, "forbidden", f"this client may not read {resource}", request_id)
        listing = len(segments) == 2
        fault = self.faults.pick(client_id, f"{path}?{query}", listing)
        if fault == "token_revoked":
            self.auth.revoke(headers.get("Authorization", ""))
            return error(401, "invalid_token", "token has been revoked", request_id,
                         headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
        if fault == "rate_limit_burst":
            ceiling = self.settings.max_retry_after_seconds
            seconds = self.faults.uniform(min(5.0, ceiling), ceiling)
            return self._too_many(self.limiter.block(client_id, self.clock.op_now(), seconds),
                                  request_id)
        if fault in ("timeout", "slow"):
            resp = self._route(resource, segments, query, request_id, None)
            resp.delay, resp.hang_up = self.settings.hang_seconds, fault == "timeout"
            return resp
        if fault in ("http_500", "http_502", "http_503"):
            return self._server_error(int(fault[-3:]), request_id)
        return self._route(resource, segments, query, request_id, fault)

    def _route(self, resource: str, segments: list[str], query: str, request_id: str,
               fault: str | None) -> Response:
        listing = self.listing
        if len(segments) == 2:
            return list_page(listing, resource, parse_qs(query, keep_blank_values=True),
                             request_id, fault)
        with listing.lock:
            version = listing.store.tables[resource].current.get(segments[2])
        if version is None:
            return error(404, "not_found", f"no such {resource[:-1]}: {segments[2]}", request_id)
        body = version.body
        if not listing.drift.documented_shape(resource):
            body = dumps(listing.drift.apply(resource, loads(body)))
        return Response(200, body, truncate=fault == "truncated_body")

    def _server_error(self, status: int, request_id: str) -> Response:
        if status == 502:
            # A proxy answered, not the API: an HTML body, as real gateways send.
            return Response(502, b"<html><body><h1>502 Bad Gateway</h1></body></html>",
                            content_type="text/html")
        kind = "internal_error" if status == 500 else "service_unavailable"
        return error(status, kind, "transient failure, try again", request_id)

    def _too_many(self, decision: Decision, request_id: str) -> Response:
        self.counters.rate_limited()
        seconds = ceil_seconds(decision.retry_after)
        # The vendor uses both documented formats; the HTTP-date is on the simulated clock,
        # like the Date header, so wait (Retry-After - Date).
        if next(self._retry_format) % 2:
            now_us = self.clock.now_us
            retry_after = http_date(now_us - now_us % US + seconds * US)
        else:
            retry_after = str(seconds)
        resp = error(429, "rate_limited", "too many requests", request_id,
                     headers={"Retry-After": retry_after})
        return self._with_limits(resp, decision)

    def _with_limits(self, resp: Response, d: Decision) -> Response:
        # Reset is epoch seconds on the simulated clock, consistent with the Date header.
        reset = self.clock.now_us // US + ceil_seconds(d.reset_in)
        resp.headers.setdefault("X-RateLimit-Limit", str(d.limit))
        resp.headers.setdefault("X-RateLimit-Remaining", str(d.remaining))
        resp.headers.setdefault("X-RateLimit-Reset", str(reset))
        return resp

    def _token(self, method: str, headers: Mapping[str, str], body: bytes,
               request_id: str) -> Response:
        now = self.clock.op_now()
        cid, secret, grant = self.auth.credentials(body, headers.get("Authorization"))
        key = cid or ANONYMOUS
        self.counters.request(token=True)
        shared = self.limiter.hit(key, now)
        own = self.token_limiter.hit(key, now)
        if not shared.allowed:
            return self._too_many(shared, request_id)
        if not own.allowed:
            return self._too_many(own, request_id)
        if method != "POST":
            return self._with_limits(error(405, "invalid_request", "use POST", request_id),
                                     shared)
        if grant != "client_credentials":
            resp = error(400, "unsupported_grant_type", "grant_type must be client_credentials",
                         request_id)
        elif self.auth.check_client(cid, secret) is None:
            resp = error(401, "invalid_client", "unknown client or wrong secret", request_id)
        else:
            lifetime = self.settings.token_lifetime_seconds
            token = self.auth.issue(cid or "", now, lifetime)
            resp = json_response(200, {"access_token": token, "token_type": "Bearer",
                                       "expires_in": lifetime},
                                 headers={"Cache-Control": "no-store"})
        return self._with_limits(resp, shared)
