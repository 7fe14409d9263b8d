"""The vendor's public surface: `/oauth/token`, `/v1/<resource>`, `/v1/<resource>/<id>`.

Order of checks per request mirrors a real gateway: identify the client, rate-limit it,
authenticate, maybe misbehave (faults), then route.
"""

from __future__ import annotations

import itertools
import secrets
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, unquote, urlsplit

from partnerapi_sandbox import schema_drift
from partnerapi_sandbox.listing import list_page
from partnerapi_sandbox.ratelimit import Decision, RateLimiter, ceil_seconds
from partnerapi_sandbox.responses import Response, error, json_response
from partnerapi_sandbox.store import RESOURCES, dumps, loads
from partnerapi_sandbox.timeutil import US, http_date

if TYPE_CHECKING:
    from collections.abc import Mapping

    from partnerapi_sandbox.sandbox import Sandbox

TOKEN_REQUESTS_PER_MINUTE = 10
ANONYMOUS = "-anonymous-"


class Api:
    def __init__(self, sb: Sandbox) -> None:
        self.sb = sb
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
        sb = self.sb
        now = sb.op_now()
        token, why = sb.auth.resolve(headers.get("Authorization"), now)
        client = token.client_id if token else ANONYMOUS
        decision = sb.limiter.hit(client, now)
        sb.count_request()
        if not decision.allowed:
            return self._too_many(decision, request_id)
        resp = self._authorized(method, path, parts.query, headers, token, why, request_id)
        return self._with_limits(resp, decision)

    def _authorized(self, method: str, path: str, query: str, headers: Mapping[str, str],
                    token: object, why: str, request_id: str) -> Response:
        sb = self.sb
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
        allowed = sb.auth.clients[client_id].resources
        if resource in sb.forbidden or (allowed is not None and resource not in allowed):
            return error(403, "forbidden", f"this client may not read {resource}", request_id)
        listing = len(segments) == 2
        fault = sb.faults.pick(client_id, f"{path}?{query}", listing)
        if fault == "token_revoked":
            sb.auth.revoke(headers.get("Authorization", ""))
            return error(401, "invalid_token", "token has been revoked", request_id,
                         headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
        if fault == "rate_limit_burst":
            seconds = sb.faults.uniform(min(5.0, sb.max_retry_after_seconds),
                                        sb.max_retry_after_seconds)
            return self._too_many(sb.limiter.block(client_id, sb.op_now(), seconds), request_id)
        if fault in ("timeout", "slow"):
            resp = self._route(resource, segments, query, request_id, None)
            resp.delay, resp.hang_up = sb.hang_seconds, fault == "timeout"
            return resp
        if fault in ("http_500", "http_502", "http_503"):
            return self._server_error(int(fault[-3:]), request_id)
        return self._route(resource, segments, query, request_id, fault)

    def _route(self, resource: str, segments: list[str], query: str, request_id: str,
               fault: str | None) -> Response:
        sb = self.sb
        if len(segments) == 2:
            return list_page(sb, resource, parse_qs(query, keep_blank_values=True), request_id,
                             fault)
        with sb.lock:
            version = sb.store.tables[resource].current.get(segments[2])
        if version is None:
            return error(404, "not_found", f"no such {resource[:-1]}: {segments[2]}", request_id)
        body = version.body
        if not sb.serves_documented_shape(resource):
            body = dumps(schema_drift.apply(sb.schema_mode, resource, loads(body),
                                      sb.extra_fields.get(resource)))
        return Response(200, body, truncate=fault == "truncated_body")

    def _server_error(self, status: int, request_id: str) -> Response:
        if status == 502:
            # A proxy answered, not the API: an HTML body, as real gateways send.
            return Response(502, b"<html><body><h1>502 Bad Gateway</h1></body></html>",
                            content_type="text/html")
        kind = "internal_error" if status == 500 else "service_unavailable"
        return error(status, kind, "transient failure, try again", request_id)

    def _too_many(self, decision: Decision, request_id: str) -> Response:
        self.sb.count_rate_limited()
        seconds = ceil_seconds(decision.retry_after)
        # The vendor uses both documented formats; the HTTP-date is on the simulated clock,
        # like the Date header, so wait (Retry-After - Date).
        if next(self._retry_format) % 2:
            retry_after = http_date(self.sb.now_us - self.sb.now_us % US + seconds * US)
        else:
            retry_after = str(seconds)
        resp = error(429, "rate_limited", "too many requests", request_id,
                     headers={"Retry-After": retry_after})
        return self._with_limits(resp, decision)

    def _with_limits(self, resp: Response, d: Decision) -> Response:
        # Reset is epoch seconds on the simulated clock, consistent with the Date header.
        reset = self.sb.now_us // US + ceil_seconds(d.reset_in)
        resp.headers.setdefault("X-RateLimit-Limit", str(d.limit))
        resp.headers.setdefault("X-RateLimit-Remaining", str(d.remaining))
        resp.headers.setdefault("X-RateLimit-Reset", str(reset))
        return resp

    def _token(self, method: str, headers: Mapping[str, str], body: bytes,
               request_id: str) -> Response:
        sb = self.sb
        now = sb.op_now()
        cid, secret, grant = sb.auth.credentials(body, headers.get("Authorization"))
        key = cid or ANONYMOUS
        sb.count_request(token=True)
        shared = sb.limiter.hit(key, now)
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
        elif sb.auth.check_client(cid, secret) is None:
            resp = error(401, "invalid_client", "unknown client or wrong secret", request_id)
        else:
            token = sb.auth.issue(cid or "", now, sb.token_lifetime_seconds)
            resp = json_response(200, {"access_token": token, "token_type": "Bearer",
                                       "expires_in": sb.token_lifetime_seconds},
                                 headers={"Cache-Control": "no-store"})
        return self._with_limits(resp, shared)
